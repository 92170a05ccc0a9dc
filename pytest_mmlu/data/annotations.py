"""MMLU-Redux annotations matched to the questions of a plain MMLU run (--mmlu-redux): by subject and
question text, never by position."""

from __future__ import annotations

import re

from ..core.errors import DatasetError
from ..core.question import Question
from .family import FamilySource
from .redux import OK, REDUX
from .registry import open_source


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().casefold()


def annotate(spec: str, questions: list[Question]) -> tuple[dict[tuple[str, int], str], dict]:
    """Redux's `error_type` for the run's questions, matched by subject and question text (and the
    choices where a text repeats), never by position; and what matched, for the report."""
    source = open_source(spec)
    if not isinstance(source, FamilySource) or source.adapter is not REDUX:
        raise DatasetError(f"--mmlu-redux {spec}: not MMLU-Redux data (expected the columns "
                           f"question, choices, answer, error_type)")
    subjects = sorted({q.subject for q in questions} & set(source.subjects("test")))
    annotations = source.load("test", subjects)
    index: dict[tuple[str, str], list[Question]] = {}
    for q in questions:
        index.setdefault((q.subject, _norm(q.question)), []).append(q)
    found: dict[tuple[str, int], str] = {}
    unmatched = ambiguous = 0
    for subject, annotated in annotations.items():
        for a in annotated:
            candidates = index.get((subject, _norm(a.question)), [])
            if len(candidates) > 1:
                candidates = [q for q in candidates if [_norm(c) for c in q.choices] == [_norm(c) for c in a.choices]]
            if len(candidates) == 1:
                found[(subject, candidates[0].index)] = a.meta.get("error_type") or OK
            elif candidates:
                ambiguous += 1
            else:
                unmatched += 1
    info = {"source": source.describe(), "annotations": sum(len(v) for v in annotations.values()),
            "matched": len(found), "unmatched": unmatched, "ambiguous": ambiguous}
    return found, info


def describe(info: dict) -> str:
    """The header line of a run with --mmlu-redux."""
    return (f"MMLU-Redux annotations from {info['source']}: {info['matched']} of {info['annotations']} matched to "
            f"this run's questions by subject and text ({info['unmatched']} match none, "
            f"{info['ambiguous']} ambiguous)")
