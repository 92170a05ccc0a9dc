"""One count per kind of outcome (correct, wrong, unparsed, errors, not run, and the judge's share), which kind a
question record is, and which letters its question had: shared by the summary, the breakdowns, position bias and
calibration."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.question import ALL_LETTERS
from .stats import wilson_interval


@dataclass
class Tally:
    """Counts for one scope (a subject, a category, overall, a breakdown's row)."""

    correct: int = 0
    wrong: int = 0  # a readable wrong letter
    unparsed: int = 0  # no letter could be read: failed, counted apart
    errors: int = 0  # backend faults: never counted as wrong
    not_run: int = 0
    judged: int = 0  # of correct + wrong: letters the judge read from replies the rules could not read
    judge_none: int = 0  # of unparsed: the judge found no answer either
    judge_faults: int = 0  # of unparsed: the judge failed (down, timed out, answered nonsense)
    # --mmlu-permute, of the scored questions asked in several orders:
    permuted: int = 0
    original_correct: int = 0  # right in the data's own order
    consistent: int = 0  # the same choice picked in every order

    @property
    def scored(self) -> int:
        return self.correct + self.wrong + self.unparsed

    @property
    def selected(self) -> int:
        return self.scored + self.errors + self.not_run

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.scored if self.scored else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.correct, self.scored)

    @property
    def original_accuracy(self) -> float | None:
        return self.original_correct / self.permuted if self.permuted else None

    @property
    def consistency(self) -> float | None:
        return self.consistent / self.permuted if self.permuted else None

    def add(self, kind: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)

    def add_orders(self, record: dict) -> None:
        """A question asked in several orders (--mmlu-permute): its figures in the data's order and across."""
        if record.get("orders") and record["outcome"] in ("passed", "failed"):
            self.permuted += 1
            self.original_correct += record.get("original_outcome") == "passed"
            self.consistent += bool(record.get("consistent"))

    def to_json(self) -> dict:
        low, high = self.interval
        return {"accuracy": self.accuracy, "correct": self.correct, "total": self.scored, "wrong": self.wrong,
                "unparsed": self.unparsed, "errors": self.errors, "not_run": self.not_run,
                "judged": self.judged, "judge_none": self.judge_none, "judge_faults": self.judge_faults,
                "interval": [round(low, 6), round(high, 6)],
                **({"permuted": self.permuted, "original_correct": self.original_correct,
                    "original_accuracy": self.original_accuracy, "consistent": self.consistent,
                    "consistency": self.consistency} if self.permuted else {})}


def kind_of(record: dict) -> str:
    """Which count a question record adds to: correct, wrong, unparsed or errors."""
    if record["outcome"] == "passed":
        return "correct"
    if record["outcome"] == "error":
        return "errors"
    return "unparsed" if record.get("unparsed") else "wrong"


def judge_kind_of(record: dict) -> str | None:
    """The judge's share a record adds to (judged, judge_none, judge_faults), if the judge read it."""
    said = record.get("judge")
    if said is None or record["outcome"] not in ("passed", "failed"):
        return None
    return {"none": "judge_none", "fault": "judge_faults"}.get(said, "judged")


def tally_of(records) -> Tally:
    """One tally of these records."""
    tally = Tally()
    for r in records:
        tally.add(kind_of(r))
    return tally


def replies_of(record: dict) -> list[dict]:
    """The replies a question record stands for: itself, or (--mmlu-permute) one record per order it was asked in,
    with its subject and its choices in that order, as position bias, calibration and the usage figures count."""
    orders = record.get("orders")
    if not isinstance(orders, list) or not orders:
        return [record]
    choices = record.get("choices")
    out = []
    for o in orders:
        order = o.get("order") or []
        shown = [choices[j] for j in order] if isinstance(choices, list) and len(order) == len(choices) else choices
        out.append({**o, "nodeid": record.get("nodeid"), "subject": record.get("subject"), "choices": shown})
    return out


def letters_of(record: dict) -> tuple[str, ...]:
    """The letters of the record's question: one per choice where the record keeps its choices (since 0.2);
    before, four (MMLU's) unless a letter in the record (expected, predicted, log-probabilities) says more."""
    choices = record.get("choices")
    if isinstance(choices, list) and 2 <= len(choices) <= len(ALL_LETTERS):
        return ALL_LETTERS[:len(choices)]
    seen = [record.get("expected"), record.get("predicted"), *(record.get("logprobs") or {})]
    last = max((ALL_LETTERS.index(x) for x in seen if isinstance(x, str) and x in ALL_LETTERS), default=0)
    return ALL_LETTERS[:max(4, last + 1)]
