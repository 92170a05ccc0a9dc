"""Position bias, from the question records alone (no extra request): which letters the model picked against
which letters were right, accuracy by the position of the right answer, and one figure of imbalance.

The imbalance is read from the wrong answers only. A model with no preference among letters spreads its wrong
answers evenly over each question's other letters: a wrong answer to a question with k choices gives each of
its k - 1 wrong letters an even share of 1 / (k - 1). A letter's imbalance is the wrong answers that went to it
over its even share; the run's imbalance is the largest, with its letter ("A 1.62": A took 1.62 times its even
share of the wrong answers; 1.00: no preference). Reading wrong answers only keeps the figure apart from what
the model knows and from how the dataset's right answers happen to be spread over the letters, and the even
share follows each question's own count of choices, so runs that mix 4 and 10 choices (MMLU-Pro) read the same.
A question with several right letters (MixEval) is left out: its right answer has no one position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from ..core.question import ALL_LETTERS
from .tally import letters_of


@dataclass
class Position:
    """The questions whose right answer is one letter: how many, how many right."""

    correct: int = 0
    total: int = 0  # scored: right, wrong and unparsed, as accuracy counts them

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None


@dataclass
class PositionBias:
    """The letters of a run's scored questions (errors and questions not run left out)."""

    questions: int = 0  # scored questions counted
    choices: dict[int, int] = field(default_factory=dict)  # questions by their number of choices
    by_position: dict[str, Position] = field(default_factory=dict)  # right letter -> accuracy there
    expected: dict[str, int] = field(default_factory=dict)  # of the answered questions: the right letter
    predicted: dict[str, int] = field(default_factory=dict)  # of the answered questions: the letter read
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # right letter -> letter read -> count
    wrong_picks: dict[str, int] = field(default_factory=dict)  # wrong answers that went to each letter
    wrong_even: dict[str, float] = field(default_factory=dict)  # ... had they gone evenly to each question's others

    @property
    def letters(self) -> list[str]:
        """Every letter of the questions counted, A first."""
        top = max(self.choices, default=0)
        return list(ALL_LETTERS[:top])

    @property
    def answered(self) -> int:
        """Questions where a letter was read (unparsed replies have none)."""
        return sum(self.predicted.values())

    @property
    def wrong(self) -> int:
        return sum(self.wrong_picks.values())

    def imbalance_of(self, letter: str) -> float | None:
        even = self.wrong_even.get(letter, 0.0)
        return self.wrong_picks.get(letter, 0) / even if even > 0 else None

    @property
    def imbalance(self) -> tuple[str, float] | None:
        """The letter that took the largest multiple of its even share of the wrong answers, and that multiple;
        None without a wrong answer."""
        ratios = [(letter, self.imbalance_of(letter)) for letter in self.letters]
        ratios = [(letter, r) for letter, r in ratios if r is not None]
        return max(ratios, key=lambda lr: lr[1]) if self.wrong and ratios else None

    def add(self, record: dict) -> None:
        letters = letters_of(record)
        right, read = record.get("expected"), record.get("predicted")
        if record.get("outcome") not in ("passed", "failed") or right not in letters or record.get("targets"):
            # an error has no answer; a right answer that is no single letter (MixEval's several) has no position
            return
        self.questions += 1
        self.choices[len(letters)] = self.choices.get(len(letters), 0) + 1
        position = self.by_position.setdefault(right, Position())
        position.total += 1
        position.correct += record["outcome"] == "passed"
        if read not in letters:
            return  # unparsed: no letter was picked
        self.expected[right] = self.expected.get(right, 0) + 1
        self.predicted[read] = self.predicted.get(read, 0) + 1
        row = self.confusion.setdefault(right, {})
        row[read] = row.get(read, 0) + 1
        if read != right:
            self.wrong_picks[read] = self.wrong_picks.get(read, 0) + 1
            for letter in letters:
                if letter != right:
                    self.wrong_even[letter] = self.wrong_even.get(letter, 0.0) + 1 / (len(letters) - 1)

    def to_json(self) -> dict:
        letters = self.letters
        imbalance = self.imbalance
        return {
            "questions": self.questions,
            "choices": {str(k): n for k, n in sorted(self.choices.items())},
            "letters": letters,
            "answered": self.answered,
            "expected": {x: self.expected.get(x, 0) for x in letters},
            "predicted": {x: self.predicted.get(x, 0) for x in letters},
            "confusion": {x: {y: n for y, n in sorted(self.confusion[x].items())}
                          for x in letters if x in self.confusion},
            "by_position": {x: {"correct": p.correct, "total": p.total, "accuracy": p.accuracy}
                            for x, p in sorted(self.by_position.items())},
            "wrong": self.wrong,
            "wrong_picks": {x: self.wrong_picks.get(x, 0) for x in letters},
            "wrong_even": {x: round(self.wrong_even.get(x, 0.0), 6) for x in letters},
            "imbalance": None if imbalance is None else round(imbalance[1], 6),
            "imbalance_letter": None if imbalance is None else imbalance[0],
        }


def position_bias(records: Iterable[dict]) -> PositionBias:
    """Position bias over these records (one per question)."""
    bias = PositionBias()
    for record in records:
        bias.add(record)
    return bias
