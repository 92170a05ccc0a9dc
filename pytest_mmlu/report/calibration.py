"""Calibration, where log-probabilities were read: how far the model's confidence in its answers matches how often
they are right. From the question records alone.

Each question's letters get probabilities by a softmax over the log-probabilities of its letters that are present.
A letter missing from the service's top tokens has no log-probability: it gets probability 0, and the
normalisation covers the letters present (so the figures lean towards confidence when letters are missing;
`letters_missing` counts those questions). Then, as HELM computes them:

- confidence: the probability of the letter the model gave (the likeliest);
- expected calibration error (ECE): the questions binned by confidence into 10 equal-width bins ([0, 0.1), ...,
  [0.9, 1]); the sum over bins of (questions in the bin / questions) x |accuracy in the bin - mean confidence in
  the bin|;
- Brier score: the mean over questions of the sum over the question's letters of (probability - 1 if the letter
  is right, else 0) squared: 0 is perfect, 2 the worst; always answering 1/k to each of k letters scores 1 - 1/k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from .tally import letters_of

BINS = 10


def letter_probabilities(logprobs: Mapping[str, float], letters: Sequence[str]) -> dict[str, float]:
    """Softmax over the question's letters that have a finite log-probability; the others are left out."""
    present = {}
    for letter in letters:
        value = logprobs.get(letter)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            present[letter] = float(value)
    if not present:
        return {}
    top = max(present.values())
    weights = {letter: math.exp(value - top) for letter, value in present.items()}
    total = sum(weights.values())
    return {letter: weight / total for letter, weight in weights.items()}


@dataclass
class Bin:
    """Questions whose confidence fell in one tenth of [0, 1]."""

    questions: int = 0
    correct: int = 0
    confidence: float = 0.0  # the sum of their confidences

    def to_json(self, low: float) -> dict:
        n = self.questions
        return {"low": round(low, 1), "high": round(low + 1 / BINS, 1), "questions": n, "correct": self.correct,
                "accuracy": self.correct / n if n else None, "confidence": round(self.confidence / n, 6) if n else None}


@dataclass
class Calibration:
    """The calibration of a set of questions answered with log-probabilities."""

    questions: int = 0
    correct: int = 0
    confidence_sum: float = 0.0
    brier_sum: float = 0.0
    letters_missing: int = 0  # questions where some letter had no log-probability
    bins: list[Bin] = field(default_factory=lambda: [Bin() for _ in range(BINS)])

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.questions if self.questions else None

    @property
    def confidence(self) -> float | None:
        """Mean confidence: the mean probability of the letter given."""
        return self.confidence_sum / self.questions if self.questions else None

    @property
    def ece(self) -> float | None:
        if not self.questions:
            return None
        return sum(abs(b.correct - b.confidence) for b in self.bins) / self.questions

    @property
    def brier(self) -> float | None:
        return self.brier_sum / self.questions if self.questions else None

    def add(self, probabilities: Mapping[str, float], letters: Sequence[str], right: str, correct: bool) -> None:
        confidence = max(probabilities.values())
        self.questions += 1
        self.correct += correct
        self.confidence_sum += confidence
        self.brier_sum += sum((probabilities.get(x, 0.0) - (x == right)) ** 2 for x in letters)
        self.letters_missing += len(probabilities) < len(letters)
        b = self.bins[min(BINS - 1, math.floor(confidence * BINS + 1e-12))]  # 0.3 * 10 is 2.9999999999999996
        b.questions += 1
        b.correct += correct
        b.confidence += confidence

    def to_json(self, bins: bool = True) -> dict:
        def rounded(x):
            return None if x is None else round(x, 6)

        out = {"questions": self.questions, "correct": self.correct, "accuracy": rounded(self.accuracy),
               "confidence": rounded(self.confidence), "ece": rounded(self.ece), "brier": rounded(self.brier),
               "letters_missing": self.letters_missing}
        if bins:
            out["bins"] = [b.to_json(i / BINS) for i, b in enumerate(self.bins)]
        return out


def add_record(calibration: Calibration, record: dict) -> bool:
    """Count the record if it was answered with log-probabilities for its letters; say whether it was."""
    logprobs = record.get("logprobs")
    if record.get("outcome") not in ("passed", "failed") or not isinstance(logprobs, dict):
        return False
    letters = letters_of(record)
    probabilities = letter_probabilities(logprobs, letters)
    rights = [x for x in (record.get("targets") or [record.get("expected")]) if x in letters]
    if not probabilities or not rights:
        return False
    # of several right letters (MixEval), the one given the most probability: all of it on any right letter is perfect
    right = max(rights, key=lambda x: probabilities.get(x, 0.0))
    calibration.add(probabilities, letters, right, record["outcome"] == "passed")
    return True


def calibration_of(records: Iterable[dict]) -> tuple[Calibration | None, dict[str, Calibration]]:
    """Calibration overall and per subject, over the records with log-probabilities; (None, {}) without any."""
    overall, subjects = Calibration(), {}
    for record in records:
        subject = subjects.setdefault(record.get("subject", "?"), Calibration())
        if add_record(subject, record):
            add_record(overall, record)
    subjects = {s: c for s, c in sorted(subjects.items()) if c.questions}
    return (overall if overall.questions else None), subjects
