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
    def name(self) -> str:
        """The item name used in node ids: q0042."""
        return f"q{self.index:04d}"
