"""Accuracy split by what a dataset says about its questions: MMLU-Redux's error types (from Redux
data, or matched to a plain MMLU run with --mmlu-redux) and Global-MMLU's cultural-sensitivity labels."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from .tally import tally_of

OK = "ok"
CULTURAL = {"CS": "culturally sensitive (CS)", "CA": "culturally agnostic (CA)"}


@dataclass
class Breakdown:
    """Accuracy rows for one way of splitting the questions (Redux error types, cultural labels)."""

    key: str  # "redux" or "cultural", the name in the JSON report
    title: str
    rows: list  # (label, Tally)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"title": self.title, "rows": {label: t.to_json() for label, t in self.rows}, "notes": self.notes}


def redux(records: list[dict]) -> Breakdown | None:
    annotated = [r for r in records if r.get("error_type")]
    if not annotated:
        return None
    bad = [r for r in annotated if r["error_type"] != OK]
    rows = [("all questions", tally_of(records)),
            ("without known-bad questions", tally_of(r for r in records if r.get("error_type") in (None, OK)))]
    if len(annotated) < len(records):
        rows += [("annotated questions", tally_of(annotated)),
                 ("annotated, ok only", tally_of(r for r in annotated if r["error_type"] == OK))]
    types = Counter(r["error_type"] for r in annotated)
    rows += [(f"error type {name}", tally_of(r for r in annotated if r["error_type"] == name))
             for name in sorted(types, key=lambda n: (n != OK, n))]
    notes = [f"{len(annotated)} of {len(records)} questions annotated by MMLU-Redux ("
             + ", ".join(f"{n} {name}" for name, n in sorted(types.items(), key=lambda t: (t[0] != OK, t[0])))
             + f"); {len(bad)} known-bad (error type other than ok)"]
    corrected = sum(1 for r in records if r.get("original_answer"))
    if corrected:
        notes.append(f"{corrected} wrong_groundtruth questions are scored against the annotators' corrected "
                     f"answer, not the original MMLU label")
    return Breakdown("redux", "MMLU-Redux error types", rows, notes)


def cultural(records: list[dict]) -> Breakdown | None:
    labelled = [r for r in records if r.get("cultural_sensitivity") in CULTURAL]
    if not labelled:
        return None
    rows = [(text, tally_of(r for r in labelled if r["cultural_sensitivity"] == label))
            for label, text in CULTURAL.items()]
    if len(labelled) < len(records):
        rows.append(("not annotated", tally_of(r for r in records if r.get("cultural_sensitivity") not in CULTURAL)))
    return Breakdown("cultural", "Global-MMLU cultural sensitivity", rows)


def breakdowns(records: Iterable[dict]) -> list[Breakdown]:
    records = list(records)
    return [b for b in (redux(records), cultural(records)) if b is not None]


def render_breakdown(breakdown: Breakdown, row) -> list[str]:
    """`row(label, tally)` is the summary's own row format, so the columns line up."""
    return ["", breakdown.title] + [row(label, t) for label, t in breakdown.rows] + breakdown.notes
