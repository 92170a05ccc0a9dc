"""Comparing letters from two computations of the same scores (two runs, or a run and a direct request).

Two forward passes over the same prompt need not give bit-identical logits: a server that reuses a
cached prefix evaluates the prompt in other batches, and float sums depend on their order. A letter may
then flip between two options whose scores are within a hair of each other. Agreement is asserted
wherever the model's preference is clear, and near-ties are allowed either letter."""
from __future__ import annotations

import math

TIE = 0.02  # nats: far above the drift between batchings (about 1e-4 here), far below a real preference


def near_ties(scores: dict[str, float], tie: float = TIE) -> set[str]:
    """The letters within `tie` of the best score."""
    best = max(scores.values())
    return {letter for letter, score in scores.items() if math.isfinite(score) and best - score <= tie}


def assert_same_letter(predicted: str, scores: dict[str, float], where: str = "") -> None:
    """`predicted` is the argmax of `scores`, or one of the letters tied with it."""
    assert predicted in near_ties(scores), f"{where}: {predicted} against {scores}"


def assert_runs_agree(first: list[dict], second: list[dict]) -> int:
    """Two reports' question records, in the same order, give the same letter wherever either run's
    log-probabilities show a clear preference. Returns how many questions were near-ties."""
    assert [q["nodeid"] for q in first] == [q["nodeid"] for q in second]
    ties = 0
    for a, b in zip(first, second):
        if a["predicted"] == b["predicted"]:
            continue
        assert a.get("logprobs") and b.get("logprobs"), (a, b)
        pair = {a["predicted"], b["predicted"]}
        assert pair <= near_ties(a["logprobs"]) and pair <= near_ties(b["logprobs"]), (a, b)
        ties += 1
    return ties
