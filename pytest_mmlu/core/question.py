"""The unit of the benchmark: one multiple-choice question, with 2 to 10 choices (letters A-J)."""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_LETTERS = tuple("ABCDEFGHIJ")  # MMLU-Pro has up to ten choices
LETTERS = ALL_LETTERS[:4]  # plain MMLU


@dataclass(frozen=True)
class Question:
    subject: str  # e.g. "college_computer_science"
    index: int  # position of the question in its subject's split (0-based, as in the data)
    question: str
    choices: tuple[str, ...]  # 2 to 10
    answer: int  # index into choices
    # what a dataset adds (language, error_type, cultural_sensitivity, cot...): never part of equality
    meta: dict = field(default_factory=dict, compare=False, hash=False, repr=False)
    targets: tuple[int, ...] = ()  # every right index where several are (MixEval's target lists); answer is the first
    # --mmlu-permute: choices[i] is the data's choice order[i]; () for the data's own order
    order: tuple[int, ...] = ()

    @property
    def letters(self) -> tuple[str, ...]:
        """This question's own letters: A-D for MMLU, up to A-J for MMLU-Pro."""
        return ALL_LETTERS[:len(self.choices)]

    @property
    def expected(self) -> str:
        return ALL_LETTERS[self.answer]

    @property
    def expected_letters(self) -> tuple[str, ...]:
        """Every letter that passes: `expected` alone, or each of several targets."""
        return tuple(ALL_LETTERS[i] for i in self.targets) or (self.expected,)

    @property
    def ident(self) -> tuple:
        """Which request this is: the question, and the order its choices are asked in."""
        return (self.subject, self.index, self.order)

    def original(self, letter: str | None) -> int | None:
        """The data's index of the choice a letter points at in this order (None for no letter)."""
        if letter not in self.letters:
            return None
        at = self.letters.index(letter)
        return self.order[at] if self.order else at

    @property
    def name(self) -> str:
        """The item name used in node ids: q0042."""
        return f"q{self.index:04d}"
