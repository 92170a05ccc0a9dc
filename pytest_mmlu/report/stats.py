"""Statistics for accuracies: Wilson intervals; for paired runs McNemar's exact test and Newcombe's interval of the
difference; Holm's correction for a family of tests."""

from __future__ import annotations

import math

Z95 = 1.959964
Z90 = 1.644854  # two-sided 90%: the interval of two one-sided tests at 5%


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


def paired_difference_interval(both: int, first_only: int, second_only: int, neither: int,
                               z: float = Z90) -> tuple[float, float]:
    """Newcombe's hybrid score interval (1998, method 10) for the difference of two paired proportions,
    second minus first: each run's Wilson interval, squared and added with the runs' correlation.

    `first_only`: right in the first run only (b); `second_only`: right in the second only (c). Unlike the
    Wald interval from b and c, it stays inside [-1, 1] and keeps a width when no question changed."""
    n = both + first_only + second_only + neither
    if n <= 0:
        return -1.0, 1.0
    p1, p2 = (both + first_only) / n, (both + second_only) / n
    l1, u1 = wilson_interval(both + first_only, n, z)
    l2, u2 = wilson_interval(both + second_only, n, z)
    margins = (both + first_only) * (second_only + neither) * (both + second_only) * (first_only + neither)
    phi = 0.0
    if margins:
        a = both * neither - first_only * second_only
        a = a - n / 2 if a > n / 2 else (0.0 if a >= 0 else a)  # Newcombe's continuity correction of phi
        phi = a / math.sqrt(margins)
    d = p2 - p1
    low = d - math.sqrt(max(0.0, (p2 - l2) ** 2 + (u1 - p1) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1)))
    high = d + math.sqrt(max(0.0, (u2 - p2) ** 2 + (p1 - l1) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1)))
    return max(-1.0, low), min(1.0, high)


def holm_adjusted(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: a test is rejected at level alpha exactly when
    its adjusted p-value is below alpha (the i-th smallest of k compared with alpha / (k - i + 1))."""
    k = len(p_values)
    order = sorted(range(k), key=lambda i: p_values[i])
    adjusted, running = [0.0] * k, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (k - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
