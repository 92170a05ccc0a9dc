"""Per-question records to numbers: per subject, per category, overall, position bias and calibration; and their
rendering for the terminal.
(The JSON report is built from a summary in schema.py.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..core.prices import money
from .baseline import render_comparison
from .bias import PositionBias, position_bias
from .breakdown import breakdowns, render_breakdown
from .calibration import BINS, Calibration, calibration_of
from .tally import Tally, judge_kind_of, kind_of, replies_of
from .usage import render_cost, render_usage, usage_totals


@dataclass
class Summary:
    """A run's numbers: per subject, per category, overall, and the breakdowns a dataset allows."""

    subjects: dict[str, Tally] = field(default_factory=dict)
    categories: dict[str, Tally] = field(default_factory=dict)
    overall: Tally = field(default_factory=Tally)
    breakdowns: list = field(default_factory=list)  # report.breakdown: Redux error types, cultural labels
    first_tokens: int = 0  # chat log-probabilities: questions whose first token is known
    first_not_letter: int = 0  # ... and where it was not a choice letter
    stopped_here: int = 0  # of the errors: questions that met a stop (a rejected key, every server gone, the budget)
    internal: int = 0  # of the errors: questions that met a bug of pytest-mmlu's, not a backend fault
    usage: dict | None = None  # tokens and time (report.usage; schema.UsageTotals)
    bias: PositionBias = field(default_factory=PositionBias)
    calibration: Calibration | None = None  # where log-probabilities were read
    subject_calibration: dict[str, Calibration] = field(default_factory=dict)

    @property
    def subject_average(self) -> float | None:
        scores = [t.accuracy for t in self.subjects.values() if t.scored]
        return sum(scores) / len(scores) if scores else None

    def scope(self, name: str) -> Tally | None:
        if name == "overall":
            return self.overall
        return self.subjects.get(name) or self.categories.get(name)


def summarize(records: Iterable[dict], selected: Iterable[str], category_of: Callable[[str], str],
              wall_seconds: float | None = None) -> Summary:
    latest = {r["nodeid"]: r for r in records}
    kinds = {nodeid: (r["subject"], kind_of(r)) for nodeid, r in latest.items()}
    for nodeid in selected:
        if nodeid not in kinds:
            kinds[nodeid] = (nodeid.split("::")[-2], "not_run")
    summary = Summary()
    for subject, kind in kinds.values():
        for tally in (summary.subjects.setdefault(subject, Tally()),
                      summary.categories.setdefault(category_of(subject), Tally()), summary.overall):
            tally.add(kind)
    replies = [reply for r in latest.values() for reply in replies_of(r)]  # under --mmlu-permute: each order's
    for r in latest.values():
        scopes = (summary.subjects[r["subject"]], summary.categories[category_of(r["subject"])], summary.overall)
        for tally in scopes:
            tally.add_orders(r)
        for reply in replies_of(r):  # the judge's share, counted apart from the rules' letters
            judge_kind = judge_kind_of(reply)
            if judge_kind:
                for tally in scopes:
                    tally.add(judge_kind)
    summary.stopped_here = sum(1 for r in latest.values() if r.get("outcome") == "error" and r.get("fault"))
    summary.internal = sum(1 for r in latest.values() if r.get("outcome") == "error" and r.get("internal"))
    known = [r for r in replies if "first_is_letter" in r]
    summary.first_tokens, summary.first_not_letter = len(known), sum(not r["first_is_letter"] for r in known)
    summary.subjects = dict(sorted(summary.subjects.items()))
    summary.categories = dict(sorted(summary.categories.items()))
    summary.breakdowns = breakdowns(latest.values())
    summary.usage = usage_totals(latest.values(), wall_seconds)
    summary.bias = position_bias(replies)
    summary.calibration, summary.subject_calibration = calibration_of(replies)
    return summary


def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{value * 100:5.1f}%"


def _row(name: str, t: Tally, width: int, cost: float | None = None, orders: bool = False) -> str:
    low, high = t.interval
    ci = f"[{low * 100:5.1f}, {high * 100:5.1f}]" if t.scored else f"{'n/a':^14}"
    if orders:  # --mmlu-permute: the data's own order and the consistency beside the items' accuracy
        ci += f"  {_pct(t.original_accuracy):>9}  {_pct(t.consistency):>10}"
    extra = "".join(f"  {n} {label}" for n, label in ((t.unparsed, "unparsed"),
                                                          (t.errors, "error" if t.errors == 1 else "errors"),
                                                          (t.not_run, "not run")) if n)
    priced = f"  {money(cost)}" if cost is not None else ""
    return f"{name:<{width}} {f'{t.correct}/{t.scored}':>13}  {_pct(t.accuracy)}  {ci}{priced}{extra}"


OVERALL = "overall (question-weighted)"


def render(summary: Summary, verdicts=(), comparison=None, width: int = 80, label: str | None = None) -> list[str]:
    name_width = max([len(s) for s in summary.subjects] + [len(OVERALL)]
                     + [len(name) for b in summary.breakdowns for name, _ in b.rows])
    o = summary.overall
    orders = bool(o.permuted)
    lines = [f"run: {label}"] if label else []
    lines += [f"{'subject':<{name_width}} {'correct/total':>13}  {'acc':>6}  "
              + (f"{'95% interval':<14}  {'own order':>9}  {'consistent':>10}" if orders else "95% interval")]
    costs = (summary.usage or {}).get("cost_by_subject") or {}
    lines += [_row(s, t, name_width, costs.get(s), orders) for s, t in summary.subjects.items()]
    lines += ["", "category"]
    lines += [_row(c, t, name_width, orders=orders) for c, t in summary.categories.items()]
    lines += ["", _row(OVERALL, o, name_width, orders=orders),
              f"{'overall (subject-averaged)':<{name_width}} {'':>13}  {_pct(summary.subject_average)}"]
    if orders:
        lines.append(f"orders: {o.permuted} questions asked in several orders of their choices; acc counts a "
                     f"question right only in every order; own order: right in the data's order; consistent: "
                     f"the same choice picked in every order")
    lines.append(f"questions: {o.selected} selected, {o.correct} correct, {o.wrong} wrong, "
                 f"{o.unparsed} unparsed, {o.errors} error{'' if o.errors == 1 else 's'}, {o.not_run} not run")
    usage = render_usage(summary.usage)
    if usage:
        lines.append(usage)
    cost = render_cost(summary.usage)
    if cost:
        lines.append(cost)
    if o.judged or o.judge_none or o.judge_faults:
        lines.append(f"judge: {o.judged + o.judge_none + o.judge_faults} replies the rules could not read: "
                     f"{o.judged} read by the judge, {o.judge_none} with no answer, {o.judge_faults} judge faults")
    if summary.first_tokens:
        lines.append(f"first token not a letter: {summary.first_not_letter} of {summary.first_tokens} "
                     f"{'replies' if orders else 'questions'} "
                     f"(the model wanted to say something else; the letters were read from its top tokens)")
    # a question that met a stop is said by the stop's own block
    faults = o.errors - summary.stopped_here - summary.internal
    if faults:
        lines.append(f"{faults} question{'s' if faults != 1 else ''} errored (backend faults, not counted "
                     f"as wrong); re-run to retry them")
    if summary.internal:
        lines.append(f"{summary.internal} question{'s' if summary.internal != 1 else ''} met an internal error "
                     f"(a bug of pytest-mmlu's, not the backend's; its traceback is above): please report it")
    if o.not_run:
        lines.append(f"{o.not_run} question{'s were' if o.not_run != 1 else ' was'} not run")
    lines += render_bias(summary.bias)
    if summary.calibration is not None:
        lines.append(render_calibration(summary.calibration))
    for b in summary.breakdowns:
        lines += render_breakdown(b, lambda label, t: _row(label, t, name_width))
    for v in verdicts:
        lines.append(f"gate {v.gate.describe()}: {'PASS' if v.holds else 'FAIL'} ({v.reason})")
    if comparison is not None:
        lines += [""] + render_comparison(comparison)
    return lines


def _shares(counts: dict[str, int], letters: list[str]) -> str:
    total = sum(counts.values())
    return " ".join(f"{x} {counts.get(x, 0) / total * 100:.0f}%" for x in letters) if total else "none"


def render_bias(bias: PositionBias) -> list[str]:
    """Two lines: the letters picked against the right ones, accuracy by position and the imbalance."""
    if not bias.questions:
        return []
    letters = bias.letters
    counts = sorted(bias.choices)
    mixed = f", {counts[0]} to {counts[-1]} choices" if len(counts) > 1 else ""
    accuracy = " ".join(f"{x} {bias.by_position[x].accuracy * 100:.0f}%" for x in letters if x in bias.by_position)
    lines = [f"position bias: picked {_shares(bias.predicted, letters)}; right answers "
             f"{_shares(bias.expected, letters)} ({bias.answered} answered{mixed})",
             f"position bias: accuracy by right answer {accuracy}; "]
    imbalance = bias.imbalance
    if imbalance is None:
        lines[-1] += "imbalance n/a (no wrong answer)"
    else:
        letter, ratio = imbalance
        lines[-1] += (f"imbalance {ratio:.2f}: {letter} took {ratio:.2f}x its even share of the {bias.wrong} wrong "
                      f"answers (1.00: no preference)")
    return lines


def render_calibration(c: Calibration) -> str:
    missing = f"; {c.letters_missing} with a letter missing from the top tokens" if c.letters_missing else ""
    return (f"calibration ({c.questions} questions with log-probabilities{missing}): confidence "
            f"{c.confidence * 100:.1f}% against accuracy {c.accuracy * 100:.1f}%, ECE {c.ece:.3f} ({BINS} bins), "
            f"Brier {c.brier:.3f}")
