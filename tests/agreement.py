"""Comparing letters from two computations of the same scores (two runs, or a run and a direct request),
and the test suite's own reading of a written reply, to hold the plugin's reading against.

Two forward passes over the same prompt need not give bit-identical logits: a server that reuses a
cached prefix evaluates the prompt in other batches, and float sums depend on their order. A letter may
then flip between two options whose scores are within a hair of each other. Agreement is asserted
wherever the model's preference is clear, and near-ties are allowed either letter."""
from __future__ import annotations

import math
import re
from collections import Counter

TIE = 0.02  # nats: far above the drift between batchings (about 1e-4 here), far below a real preference


def near_ties(scores: dict[str, float], tie: float = TIE) -> set[str]:
    """The letters within `tie` of the best score."""
    best = max(scores.values())
    return {letter for letter, score in scores.items() if math.isfinite(score) and best - score <= tie}


def assert_same_letter(predicted: str, scores: dict[str, float], where: str = "") -> None:
    """`predicted` is the argmax of `scores`, or one of the letters tied with it."""
    assert predicted in near_ties(scores), f"{where}: {predicted} against {scores}"


def assert_runs_agree(first: list[dict], second: list[dict]) -> set[str]:
    """Two reports' question records, in the same order, give the same letter wherever either run's
    log-probabilities show a clear preference. Returns the node ids of the near-ties that flipped."""
    assert [q["nodeid"] for q in first] == [q["nodeid"] for q in second]
    flipped = set()
    for a, b in zip(first, second):
        if a["predicted"] == b["predicted"]:
            continue
        assert a.get("logprobs") and b.get("logprobs"), (a, b)
        pair = {a["predicted"], b["predicted"]}
        assert pair <= near_ties(a["logprobs"]) and pair <= near_ties(b["logprobs"]), (a, b)
        flipped.add(a["nodeid"])
    return flipped


def tallies(questions: list[dict], leave_out: set[str] = frozenset()) -> dict[str, Counter]:
    """Correct, wrong, unparsed and error counts per subject and "overall", counted here from the question
    records (letter against expected letter), the node ids in `leave_out` left out."""
    out: dict[str, Counter] = {}
    for q in questions:
        if q["nodeid"] in leave_out:
            continue
        kind = ("errors" if q["outcome"] == "error" else "unparsed" if q["unparsed"]
                else "correct" if q["predicted"] == q["expected"] else "wrong")
        for scope in (q["subject"], "overall"):
            out.setdefault(scope, Counter())[kind] += 1
    return out


# -- the suite's own reading of a reply: certain cases only ---------------------------------------

UNSURE = "unsure"  # the reply is one this reading does not decide (the plugin's richer rules may)
_CAPITAL = re.compile(r"(?<![A-Za-z0-9])[A-Z](?![A-Za-z0-9'’])")  # "C", "(C)", "**C**"; not "Congo", "A's"
# "Answer: C", "the correct answer is (C)."
_SAID = re.compile(r"(?i:answer)(?:\s+is|\s*:)\s*\(?([A-D])\)?(?![A-Za-z0-9'’])")
# a lowercase letter after an answer word ("the answer is b."): some readers take it, so it is never certain
_SAID_SMALL = re.compile(r"(?i:answer|option|choice|letter)\W*(?:(?i:is|would|should|must|will|be|therefore|thus"
                         r"|clearly|option|choice|letter)\W+)*[a-z](?![A-Za-z0-9'’])")
_OPENS = r"\s*(?:\(?{x}\)?\.?|{x}[.):][ \t]*\S.*)(?:\n|$)"  # the first line a lone letter, or "C. its text"
REPORTED = 500  # characters of a reply the report keeps: a longer reply is not all there to read


def own_letter(reply: str) -> str | None:
    """The letter a reply certainly gives, None when it certainly gives none, else UNSURE.

    No lone letter at all (and no lowercase one after an answer word): no answer. Exactly one distinct
    lone capital letter, A-D, and either an answer line naming it ("Answer: C", "the answer is C") or the
    reply opening with it alone ("C", "C. Paris"): that letter. Anything else (two letters, markup, tags,
    a cut reply) is left to the plugin's rules."""
    if len(reply) >= REPORTED or re.search(r"[<>\\{}]", reply):
        return UNSURE
    capitals, small = set(_CAPITAL.findall(reply)), bool(_SAID_SMALL.search(reply))
    if not capitals and not small:
        return None
    if small or len(capitals) != 1 or not capitals <= set("ABCD"):
        return UNSURE
    [x] = capitals
    said = set(_SAID.findall(reply))
    if said == {x} or (not said and re.match(_OPENS.format(x=x), reply.strip())):
        return x
    return UNSURE


def assert_replies_read_alike(questions: list[dict]) -> int:
    """Each generated reply's letter in the report (or its unparsed mark) is the suite's own reading of the
    reply wherever that reading is certain. Returns how many replies were read for certain."""
    checked = 0
    for q in questions:
        mine = own_letter(q["reply"])
        if mine == UNSURE:
            continue
        assert (q["predicted"], q["unparsed"]) == (mine, mine is None), f"{q['nodeid']}: read {mine!r} in {q}"
        checked += 1
    return checked
