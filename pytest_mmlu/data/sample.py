"""Which questions of a subject a run asks: all, or a seeded sample that every process and run agrees on."""

from __future__ import annotations

import random

from ..core.question import Question


def sample(questions: list[Question], limit: int | None, seed: int = 1234) -> list[Question]:
    """At most `limit` questions, the same ones in every process and run, in index order."""
    if limit is None or limit >= len(questions):
        return list(questions)
    subject = questions[0].subject if questions else ""
    picked = random.Random(f"{seed}:{subject}").sample(range(len(questions)), limit)
    return [questions[i] for i in sorted(picked)]
