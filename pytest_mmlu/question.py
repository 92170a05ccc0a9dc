"""The unit of the benchmark: one multiple-choice question."""

from __future__ import annotations

from dataclasses import dataclass

LETTERS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Question:
    subject: str  # e.g. "college_computer_science"
    index: int  # position of the question in its subject's split (0-based, as in the data)
    question: str
    choices: tuple[str, str, str, str]
    answer: int  # 0-3

    @property
    def expected(self) -> str:
        return LETTERS[self.answer]

    @property
    def name(self) -> str:
        """The item name used in node ids: q0042."""
        return f"q{self.index:04d}"
