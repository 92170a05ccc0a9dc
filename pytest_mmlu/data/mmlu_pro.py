"""TIGER-Lab/MMLU-Pro: up to ten options (A-J), 14 categories as subjects, CoT shots from `validation`."""

from __future__ import annotations

from ..core.subjects import MMLU_PRO_SUBJECTS
from .family import Adapter
from .rows import Row, answer_index

# the subject names: MMLU-Pro's categories in snake case; its "other" is `miscellaneous`, because
# `other` already names a category (the MMLU grouping of subjects)
SUBJECT_OF = {"biology": "biology", "business": "business", "chemistry": "chemistry",
              "computer science": "computer_science", "economics": "economics", "engineering": "engineering",
              "health": "health", "history": "history", "law": "law", "math": "math",
              "other": "miscellaneous", "philosophy": "philosophy", "physics": "physics",
              "psychology": "psychology"}
NOT_AN_OPTION = "N/A"  # padding in the data; the official code drops these options


def rows(columns: dict, language=None):
    n = len(columns.get("question", []))
    get = lambda name: columns.get(name) or [None] * n  # noqa: E731
    for qid, text, options, answer, index, cot, category in zip(
            get("question_id"), columns.get("question", []), get("options"), get("answer"),
            get("answer_index"), get("cot_content"), get("category")):
        category = (category or "").strip()
        subject = SUBJECT_OF.get(category.lower(), category.lower().replace(" ", "_") or None)
        meta = {"category": category}
        if qid is not None:
            meta["question_id"] = qid
        if cot:
            meta["cot"] = cot
        if not isinstance(options, (list, tuple)):
            yield Row(subject, text, options, answer, meta)
            continue
        given = answer_index(index if index is not None else answer, len(options))
        if given is None:
            yield Row(subject, text, options, index if index is not None else answer, meta)
            continue
        if answer is not None and answer_index(answer, len(options)) != given:
            yield Row(subject, text, options, given, meta,
                      problem=f"answer {answer!r} and answer_index {index!r} disagree")
            continue
        kept = [i for i, option in enumerate(options) if str(option).strip() != NOT_AN_OPTION]
        if given not in kept:
            yield Row(subject, text, options, given, meta, problem=f"the answer {answer!r} is an N/A option")
            continue
        yield Row(subject, text, [options[i] for i in kept], kept.index(given), meta)


MMLU_PRO = Adapter(
    name="MMLU-Pro", hub_ids=("tiger-lab/mmlu-pro",),
    columns=frozenset({"question", "options", "answer", "category"}),
    rows=rows, configs="single", files="data/{split}-*.parquet", shots_split="validation",
    prompts={"generate": "mmlu-pro", "logprobs": "harness"},
    subjects=tuple(sorted(SUBJECT_OF.values())), categories=MMLU_PRO_SUBJECTS,
)
