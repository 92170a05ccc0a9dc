"""`--mmlu-permute`: a question asked in several orders of its choices. `circular` rotates them (N orders for N
choices, the right answer moving through every letter, as OpenCompass's CircularEval); an integer K asks the
data's own order and K-1 seeded random ones, the same on every run, xdist worker and machine."""

from __future__ import annotations

import argparse
import hashlib
import itertools
import math
import random
from dataclasses import dataclass, replace

from .question import Question

MAX_ORDERS = 100  # --mmlu-permute K: beyond this a run asks K times the questions for little more to learn


@dataclass(frozen=True)
class Permute:
    """`circular`, or K orders (the data's own first)."""

    orders: int | None = None  # K; None: circular

    def __str__(self) -> str:
        return "circular" if self.orders is None else str(self.orders)

    def orders_of(self, question: Question) -> list[tuple[int, ...]]:
        """The orders this question is asked in, the data's own first: order[i] is the data's choice at letter i."""
        n = len(question.choices)
        if self.orders is None:
            return [rotation(n, r) for r in range(n)]
        return seeded_orders(n, self.orders, f"{question.subject}\0{question.index}")

    def variants(self, question: Question) -> list[Question]:
        return [permuted(question, order) for order in self.orders_of(question)]


def rotation(n: int, shift: int) -> tuple[int, ...]:
    """The choices rotated by `shift`: letter i shows the data's choice (i + shift) mod n."""
    return tuple((i + shift) % n for i in range(n))


def seeded_orders(n: int, k: int, seed: str) -> list[tuple[int, ...]]:
    """The identity and k-1 distinct random orders of n choices (fewer when n! < k), from a stable seed."""
    identity = tuple(range(n))
    wanted = min(k, math.factorial(n))
    if wanted == math.factorial(n) and n <= 6:  # every order there is: no need to draw
        return [identity] + [p for p in itertools.permutations(range(n)) if p != identity][:wanted - 1]
    rng = random.Random(int.from_bytes(hashlib.sha256(f"permute:{seed}".encode()).digest()[:8], "big"))
    orders, seen = [identity], {identity}
    while len(orders) < wanted:
        order = tuple(rng.sample(range(n), n))
        if order not in seen:
            seen.add(order)
            orders.append(order)
    return orders


def permuted(question: Question, order: tuple[int, ...]) -> Question:
    """The question with its choices in this order (the identity gives the question as the data has it)."""
    if order == tuple(range(len(question.choices))):
        return question
    return replace(question, choices=tuple(question.choices[j] for j in order), answer=order.index(question.answer),
                   targets=tuple(order.index(t) for t in question.targets), order=tuple(order))


def consistent(picks: list[int | None]) -> bool:
    """Whether the same underlying choice was picked in every order (a reply with no letter is not consistent)."""
    return bool(picks) and picks[0] is not None and all(p == picks[0] for p in picks)


def parse_permute(text: str) -> Permute:
    """`circular` or a whole number K >= 2; anything else raises argparse.ArgumentTypeError (one line)."""
    raw = str(text).strip().lower()
    if raw == "circular":
        return Permute()
    try:
        k = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--mmlu-permute {text!r}: expected circular or a number of orders "
                                         f"K (2 to {MAX_ORDERS})") from None
    if not 2 <= k <= MAX_ORDERS:
        raise argparse.ArgumentTypeError(f"--mmlu-permute {k}: the number of orders must be 2 to {MAX_ORDERS}")
    return Permute(k)
