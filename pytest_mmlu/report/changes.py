"""Questions whose letter changed between two runs, and how many of those changes were near-ties: the two letters
within NEAR_TIE nats of each other in both runs' log-probabilities, close enough for run-to-run noise to swap them.

Two runs of the same model on the same questions need not give bit-identical log-probabilities: a server that
batches requests together, or evaluates a prompt after another prompt's prefix, sums in another order
(bench/stability.py). Noise of at most d nats per letter can only swap two letters that were within 2d of each
other in both runs; a change between letters further apart than that is the model's, not the noise's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

# nats: the largest change of the gap between two letters measured between two runs of the same command (0.247,
# llama-cpp-python's server with its prompt cache, 4 requests in flight), rounded up; bench/RESULTS.md
NEAR_TIE = 0.25


def near_tie(first: Mapping[str, float] | None, second: Mapping[str, float] | None, was: str | None,
             now: str | None, margin: float = NEAR_TIE) -> bool | None:
    """Whether a question whose letter went from `was` to `now` was a near-tie: in each run's log-probabilities the
    two letters less than `margin` apart. None when either run kept no log-probabilities (generate scoring); False
    when a letter is missing from either (no answer read, or a letter outside a service's top tokens)."""
    if not first or not second:
        return None
    for scores in (first, second):
        if was not in scores or now not in scores:
            return False
        gap = scores[was] - scores[now]
        if not (math.isfinite(gap) and abs(gap) < margin):
            return False
    return True


@dataclass
class LetterChanges:
    """Of the questions compared in two runs: how many changed letter, of those how many kept log-probabilities in
    both runs, and of those how many were near-ties."""

    changed: int = 0
    with_logprobs: int = 0
    near_ties: int = 0
    margin: float = NEAR_TIE  # nats

    def add(self, before: Mapping, now: Mapping) -> None:
        """One question's records in the two runs (the report's `predicted` and `logprobs`)."""
        if before.get("predicted") == now.get("predicted"):
            return
        self.changed += 1
        tie = near_tie(before.get("logprobs"), now.get("logprobs"), before.get("predicted"), now.get("predicted"),
                       self.margin)
        if tie is not None:
            self.with_logprobs += 1
            self.near_ties += tie

    def describe(self) -> str:
        """'12 questions changed letter, 9 of them near-ties (within 0.25 nats in both runs)'; without
        log-probabilities only the first part."""
        head = f"{self.changed} question{'' if self.changed == 1 else 's'} changed letter"
        if not self.changed or not self.with_logprobs:
            return head
        within = f"(within {self.margin:g} nats in both runs)"
        if self.with_logprobs < self.changed:
            return f"{head}, {self.near_ties} of the {self.with_logprobs} with log-probabilities near-ties {within}"
        if self.changed == 1:
            return f"{head}, {'a' if self.near_ties else 'not a'} near-tie {within}"
        return f"{head}, {self.near_ties} of them near-ties {within}"


def letter_changes(pairs: Iterable[tuple[Mapping, Mapping]], margin: float = NEAR_TIE) -> LetterChanges:
    """The letter changes over (first run's record, second run's record) pairs of the same questions."""
    counts = LetterChanges(margin=margin)
    for before, now in pairs:
        counts.add(before, now)
    return counts
