"""Letter scores from a first token's top-k log-probabilities (chat log-probability scoring).

A chat model's first token for letter C may be spelled `C`, ` C`, or in the tokenizer's own
forms (`▁C` for SentencePiece, `ĠC` for byte-level BPE). A letter's score is the log of the sum
of its spellings' probabilities. A letter with no spelling in the top k has a probability below
the k-th token's, so it ranks below every letter that is present: it gets no score at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

# word-start and whitespace markers of SentencePiece (▁) and byte-level BPE (Ġ space, Ċ newline, ĉ tab)
MARKERS = str.maketrans({"▁": " ", "Ġ": " ", "Ċ": " ", "ĉ": " "})
PREFERRED_SHOWN = 5  # tokens named in the reason when no letter is among the top k


def spelled(token: str) -> str:
    """The text a token stands for, without surrounding whitespace or tokenizer markers."""
    return token.translate(MARKERS).strip()


def letter_of(token: str | None, letters: Iterable[str]) -> str | None:
    """The choice letter this token spells, if it spells one."""
    if token is None:
        return None
    text = spelled(token)
    return text if text in tuple(letters) else None


def logsumexp(values: Iterable[float]) -> float:
    values = list(values)
    top = max(values)
    if top == float("-inf"):
        return top
    return top + math.log(sum(math.exp(v - top) for v in values))


@dataclass(frozen=True)
class LetterReading:
    scores: dict[str, float]  # letter -> combined log-probability, present letters only
    first_token: str | None  # the token the model put first
    note: str | None  # why no letter could be read (none among the top k)


def read_letters(top: Iterable[tuple[str, float]], letters: tuple[str, ...], first_token: str | None = None,
                 k: int | None = None) -> LetterReading:
    """Combine the top-k (token, log-probability) pairs into letter scores.

    `first_token` is the token actually generated; when the service does not say, the most likely one.
    """
    pairs = [(str(token), float(lp)) for token, lp in top if lp == lp]  # NaN carries nothing
    if first_token is None and pairs:
        first_token = max(pairs, key=lambda p: p[1])[0]
    spellings: dict[str, list[float]] = {}
    for token, lp in pairs:
        letter = letter_of(token, letters)
        if letter is not None:
            spellings.setdefault(letter, []).append(lp)
    scores = {letter: logsumexp(lps) for letter, lps in spellings.items()}
    note = None
    if not scores:
        shown = ", ".join(f"{token!r} {lp:.2f}" for token, lp in sorted(pairs, key=lambda p: -p[1])[:PREFERRED_SHOWN])
        where = f"top {k}" if k else "top"
        note = (f"no choice letter among the {where} first tokens; the model preferred "
                + (shown or "nothing (no log-probabilities given)"))
    return LetterReading({x: scores[x] for x in letters if x in scores}, first_token, note)
