"""edinburgh-dawg/mmlu-redux-2.0: 57 MMLU subjects x 100 questions, each with its `error_type`;
and the matching of those annotations to the questions of a plain MMLU run (--mmlu-redux)."""

from __future__ import annotations

import re

from ..question import Question
from .family import Adapter
from .rows import DatasetError, Row, answer_index

OK = "ok"
WRONG_GROUNDTRUTH = "wrong_groundtruth"


def rows(columns: dict, language=None):
    n = len(columns.get("question", []))
    get = lambda name: columns.get(name) or [None] * n  # noqa: E731
    for subject, text, choices, answer, error_type, correct in zip(
            get("subject"), columns["question"], columns["choices"], columns["answer"],
            get("error_type"), get("correct_answer")):
        error_type = (error_type or "").strip() or None
        meta = {"error_type": error_type} if error_type else {}
        n_choices = len(choices) if isinstance(choices, (list, tuple)) else 4
        corrected = answer_index(correct, n_choices) if error_type == WRONG_GROUNDTRUTH and correct else None
        original = answer_index(answer, n_choices)
        if corrected is not None and original is not None and corrected != original:
            # scored against the annotators' corrected answer; the original label is kept
            meta["original_answer"] = "ABCDEFGHIJ"[original]
            answer = corrected
        yield Row(subject, text, choices, answer, meta)


REDUX = Adapter(
    name="MMLU-Redux", hub_ids=("edinburgh-dawg/mmlu-redux-2.0", "edinburgh-dawg/mmlu-redux"),
    columns=frozenset({"question", "choices", "answer", "error_type"}),
    rows=rows, configs="subject", files="{config}/{split}-*.parquet", shots_split=None,
)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().casefold()


def annotate(spec: str, questions: list[Question]) -> tuple[dict[tuple[str, int], str], dict]:
    """Redux's `error_type` for the run's questions, matched by subject and question text (and the
    choices where a text repeats), never by position; and what matched, for the report."""
    from . import open_source

    source = open_source(spec)
    if getattr(source, "adapter", None) is not REDUX:
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
