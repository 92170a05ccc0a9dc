"""A report's position bias and calibration counted again from its question records, written apart from
report/bias.py and report/calibration.py, for the page tests (tests/test_page.py, tests/test_page_browser.py) to
check what the page shows against."""

from __future__ import annotations

import math
from collections import Counter


def letters(record) -> str:
    return "ABCDEFGHIJ"[:len(record.get("choices") or "ABCD")]


def position_bias(records) -> dict:
    """Letters picked against letters right (shares of the answered), accuracy by the right letter, and the most
    over-picked letter's wrong answers over its even share (each wrong answer shared evenly among the others)."""
    scored = [r for r in records if r["outcome"] in ("passed", "failed")]
    answered = [r for r in scored if r["predicted"]]
    wrong = [r for r in answered if r["predicted"] != r["expected"]]
    even: dict[str, float] = {}
    for r in wrong:
        others = [x for x in letters(r) if x != r["expected"]]
        for x in others:
            even[x] = even.get(x, 0.0) + 1 / len(others)
    picks = Counter(r["predicted"] for r in wrong)
    ratios = sorted(((picks[x] / even[x], x) for x in even if even[x] > 0), key=lambda rx: (-rx[0], rx[1]))
    top = max(len(letters(r)) for r in scored)
    return {"letters": list("ABCDEFGHIJ"[:top]), "questions": len(scored), "answered": len(answered),
            "picked": Counter(r["predicted"] for r in answered), "right": Counter(r["expected"] for r in answered),
            "by_position": {x: (sum(r["outcome"] == "passed" for r in scored if r["expected"] == x),
                                sum(r["expected"] == x for r in scored)) for x in "ABCDEFGHIJ"[:top]},
            "wrong": len(wrong), "wrong_picks": picks, "even": even,
            "imbalance": ratios[0] if ratios else None}


def calibration(records) -> dict | None:
    """Mean confidence, accuracy, ECE over 10 equal bins, Brier; and the bins that hold questions, as
    (questions, correct, mean confidence), by bin number. None without log-probabilities."""
    rows = []
    for r in records:
        if r["outcome"] not in ("passed", "failed") or not r.get("logprobs"):
            continue
        present = {x: r["logprobs"][x] for x in letters(r) if x in r["logprobs"]}
        total = sum(math.exp(v) for v in present.values())
        p = {x: math.exp(v) / total for x, v in present.items()}
        brier = sum((p.get(x, 0.0) - (x == r["expected"])) ** 2 for x in letters(r))
        rows.append((max(p.values()), r["outcome"] == "passed", brier))
    if not rows:
        return None
    bins: dict[int, list] = {}
    for confidence, right, _ in rows:
        bins.setdefault(min(9, int(round(confidence * 10, 9))), []).append((confidence, right))
    n = len(rows)
    ece = sum(len(b) / n * abs(sum(r for _, r in b) / len(b) - sum(c for c, _ in b) / len(b)) for b in bins.values())
    return {"questions": n, "accuracy": sum(r for _, r, _ in rows) / n, "confidence": sum(c for c, _, _ in rows) / n,
            "ece": ece, "brier": sum(b for _, _, b in rows) / n,
            "bins": {i: (len(b), sum(r for _, r in b), sum(c for c, _ in b) / len(b)) for i, b in sorted(bins.items())}}
