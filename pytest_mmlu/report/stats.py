"""Statistics for accuracies: Wilson intervals, and McNemar's exact test for paired runs."""

from __future__ import annotations

import math

Z95 = 1.959964


def wilson_interval(correct: int, total: int, z: float = Z95) -> tuple[float, float]:
    if total <= 0:
        return 0.0, 1.0
    p = correct / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    # exact ends: float noise must not put 0/n above its own lower bound
    low = 0.0 if correct == 0 else max(0.0, centre - half)
    high = 1.0 if correct == total else min(1.0, centre + half)
    return low, high


def mcnemar_exact_p(b: int, c: int) -> float:
    """Two-sided exact binomial test on the discordant pairs (b: right then wrong, c: wrong then right)."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def percentile(values, q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between ranks (numpy's default); None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
