"""The comparison with a previous JSON report (--mmlu-baseline), question by question."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from ..core.errors import BaselineError, ReportError
from .changes import LetterChanges
from .schema import Record, read_report
from .stats import Z90, mcnemar_exact_p, paired_difference_interval


def load_baseline(path) -> dict[str, Record]:
    """The baseline's question records by node id, read through the one report reader."""
    path = Path(path)
    try:
        return read_report(path).questions
    except ReportError as exc:
        if exc.problem == "missing":
            raise BaselineError(f"baseline {path} does not exist") from None
        if exc.problem == "not_report":
            raise BaselineError(f"baseline {path} is not a pytest-mmlu report ({exc.detail})") from None
        if exc.problem == "newer":
            raise BaselineError(f"baseline {path} was written by a newer pytest-mmlu ({exc.detail}): "
                                f"upgrade pytest-mmlu") from None
        raise BaselineError(f"baseline {path} is not a readable JSON report ({exc.cause})") from None


@dataclass
class Paired:
    """One scope (overall, a subject, a category) on the questions both runs answered."""

    common: int = 0
    baseline_correct: int = 0
    current_correct: int = 0
    newly_wrong: int = 0  # right in the baseline, wrong now
    newly_right: int = 0
    letter_changes: LetterChanges | None = None  # with the questions' records: how many changed letter

    @property
    def delta(self) -> float | None:
        return (self.current_correct - self.baseline_correct) / self.common if self.common else None

    @property
    def p_value(self) -> float:
        return mcnemar_exact_p(self.newly_wrong, self.newly_right)

    def interval(self, z: float = Z90) -> tuple[float, float]:
        """The interval of the difference (current minus baseline, as a fraction): Newcombe's, 90% by default."""
        both = self.baseline_correct - self.newly_wrong
        neither = self.common - both - self.newly_wrong - self.newly_right
        return paired_difference_interval(both, self.newly_wrong, self.newly_right, neither, z)

    def add(self, was: bool, is_: bool, before: dict | None = None, now: dict | None = None) -> None:
        """One common question: right in the baseline, right now; its two records, for the letter change."""
        self.common += 1
        self.baseline_correct += was
        self.current_correct += is_
        self.newly_wrong += was and not is_
        self.newly_right += is_ and not was
        if before is not None and now is not None:
            self.letter_changes = self.letter_changes or LetterChanges()
            self.letter_changes.add(before, now)


@dataclass
class BaselineComparison:
    """This run against its baseline on the questions both answered: overall, and paired counts per scope."""

    common: int = 0
    baseline_correct: int = 0
    current_correct: int = 0
    newly_wrong: list[str] = field(default_factory=list)
    newly_right: list[str] = field(default_factory=list)
    only_in_baseline: int = 0
    only_in_current: int = 0
    errors_excluded: int = 0
    subject_deltas: dict[str, float] = field(default_factory=dict)
    mismatched: int = 0  # same node id, different expected letter: not the same question
    scopes: dict[str, Paired] = field(default_factory=dict)  # "overall", subjects, categories
    letter_changes: LetterChanges = field(default_factory=LetterChanges)  # questions whose letter changed

    @property
    def delta(self) -> float | None:
        return (self.current_correct - self.baseline_correct) / self.common if self.common else None

    @property
    def p_value(self) -> float:
        return mcnemar_exact_p(len(self.newly_wrong), len(self.newly_right))

    def to_json(self) -> dict:
        return {**asdict(self), "delta": self.delta, "p_value": self.p_value}


def _same_question(before: dict, now: dict) -> bool:
    expected = before.get("expected"), now.get("expected")
    return None in expected or expected[0] == expected[1]


def compare(baseline: dict[str, dict], current: dict[str, dict],
            category_of: Callable[[str], str] | None = None) -> BaselineComparison:
    c = BaselineComparison()
    c.scopes["overall"] = Paired()
    c.only_in_baseline = len(baseline.keys() - current.keys())
    c.only_in_current = len(current.keys() - baseline.keys())
    per_subject: dict[str, list[int]] = {}
    for nodeid in sorted(baseline.keys() & current.keys()):
        before, now = baseline[nodeid], current[nodeid]
        if "error" in (before["outcome"], now["outcome"]):
            c.errors_excluded += 1
            continue
        if not _same_question(before, now):
            c.mismatched += 1
            continue
        was, is_ = before["outcome"] == "passed", now["outcome"] == "passed"
        c.common += 1
        c.baseline_correct += was
        c.current_correct += is_
        if was and not is_:
            c.newly_wrong.append(nodeid)
        elif is_ and not was:
            c.newly_right.append(nodeid)
        subject = now.get("subject") or nodeid.split("::")[-2]
        scopes = ["overall", subject] + ([category_of(subject)] if category_of is not None else [])
        for scope in dict.fromkeys(scopes):  # a subject may share its category's name
            c.scopes.setdefault(scope, Paired()).add(was, is_, before, now)
        c.letter_changes.add(before, now)
        counts = per_subject.setdefault(subject, [0, 0, 0])
        counts[0] += 1
        counts[1] += was
        counts[2] += is_
    c.subject_deltas = {s: (n_now - n_was) / n for s, (n, n_was, n_now) in sorted(per_subject.items())}
    return c


def render_comparison(c: BaselineComparison) -> list[str]:
    if not c.common:
        return ["baseline: no question answered in both runs"]
    lines = [f"baseline: {c.baseline_correct / c.common * 100:.1f}% -> {c.current_correct / c.common * 100:.1f}% "
             f"({c.delta * 100:+.1f} points) on {c.common} questions answered in both runs; "
             f"{len(c.newly_wrong)} newly wrong, {len(c.newly_right)} newly right, "
             f"McNemar p = {c.p_value:.3g}",
             f"baseline: {c.letter_changes.describe()}"]
    drops = sorted((d, s) for s, d in c.subject_deltas.items() if d < 0)[:5]
    if drops:
        lines.append("largest drops: " + ", ".join(f"{s} {d * 100:+.1f}" for d, s in drops))
    lines += [f"  newly wrong: {nodeid}" for nodeid in c.newly_wrong[:10]]
    if len(c.newly_wrong) > 10:
        lines.append(f"  ... and {len(c.newly_wrong) - 10} more")
    if c.only_in_baseline or c.only_in_current or c.errors_excluded:
        lines.append(f"baseline: {c.only_in_baseline} questions only in the baseline, {c.only_in_current} only in "
                     f"this run, {c.errors_excluded} left out for errors")
    if c.mismatched:
        lines.append(f"baseline: {c.mismatched} questions left out: same node id, another expected letter "
                     f"(another dataset?)")
    return lines
