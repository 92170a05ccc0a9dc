"""HAERAE-HUB/KMMLU: 45 subjects from Korean exams, one config per subject (data/<Subject>-<split>.csv),
splits train, dev and test; the answer is a number, 1 to 4."""

from __future__ import annotations

from ..core.subjects import KMMLU_SUBJECTS
from .family import Adapter
from .rows import Row, empty_options

CHOICES = ("A", "B", "C", "D")


def _number(answer) -> int | None:
    if isinstance(answer, float) and answer.is_integer():  # a CSV column with a gap reads as floats
        answer = int(answer)
    if isinstance(answer, str) and answer.strip().isdigit():
        answer = int(answer)
    return answer if isinstance(answer, int) and not isinstance(answer, bool) else None


def rows(columns: dict, language=None):
    n = len(columns.get("question", []))
    # the config names the subject; one file alone has only its Category ("Korean History")
    subjects = columns.get("subject") or [str(c or "").strip().replace(" ", "-") or None
                                          for c in columns.get("Category") or [None] * n]
    for i in range(n):
        choices = [columns[letter][i] for letter in CHOICES]
        answer = columns["answer"][i]
        number = _number(answer)
        problem = None if number in (1, 2, 3, 4) else f"answer {answer!r} is not one of 1-4"
        yield Row(subjects[i], columns["question"][i], choices, (number or 1) - 1,
                  skip=empty_options(choices), problem=problem)


KMMLU = Adapter(
    name="KMMLU", hub_ids=("haerae-hub/kmmlu",),
    columns=frozenset({"question", "answer", "A", "B", "C", "D", "Category"}),
    rows=rows, configs="subject", files="data/{config}-{split}.csv", shots_split="dev",
    subjects=tuple(sorted(KMMLU_SUBJECTS)), reading="multilingual", categories=KMMLU_SUBJECTS,
)
