"""edinburgh-dawg/mmlu-redux-2.0: 57 MMLU subjects x 100 questions, each with its `error_type`.
(Matching these annotations to the questions of a plain MMLU run, --mmlu-redux, is annotations.py.)"""

from __future__ import annotations

from .family import Adapter
from .rows import Row, answer_index

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
