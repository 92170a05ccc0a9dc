"""`--mmlu-shard K/N`: one run's questions dealt over N machines. Within each subject the questions are dealt
round-robin in a seeded order, from a seeded first shard, so each subject's questions spread over the N shards
with counts differing by at most one, and a question's shard depends only on its subject's questions: the same
in every run, xdist worker and machine."""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from typing import Iterable

from .question import Question

FORM = "K/N with 1 <= K <= N, as in 2/4"


@dataclass(frozen=True, order=True)
class Shard:
    """Shard `index` of `count`, 1-based as users write it: 2/4."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def take(self, questions: Iterable[Question], seed: int = 1234) -> list[Question]:
        """The questions of this shard, in the order given."""
        questions = list(questions)
        by_subject: dict[str, list[int]] = {}
        for question in questions:
            by_subject.setdefault(question.subject, []).append(question.index)
        mine = set()
        for subject, indices in by_subject.items():
            order = sorted(indices)
            rng = random.Random(f"{seed}:shard:{subject}")
            rng.shuffle(order)
            first = rng.randrange(self.count)  # so a subject's extra question is not always shard 1's
            mine.update((subject, index) for position, index in enumerate(order)
                        if (first + position) % self.count == self.index - 1)
        return [q for q in questions if (q.subject, q.index) in mine]


def parse_shard(text: str) -> Shard:
    """`K/N` -> Shard; anything else raises argparse.ArgumentTypeError (a usage error, one line)."""
    raw = str(text).strip()
    k, slash, n = raw.partition("/")
    try:
        shard = Shard(int(k), int(n)) if slash else None
    except ValueError:
        shard = None
    if shard is None:
        raise argparse.ArgumentTypeError(f"--mmlu-shard {raw!r}: not K/N ({FORM})")
    if shard.count < 1 or not 1 <= shard.index <= shard.count:
        raise argparse.ArgumentTypeError(f"--mmlu-shard {raw!r}: shard {shard.index} of {shard.count} does not "
                                         f"exist ({FORM})")
    return shard
