"""From a reply to a verdict: which letter the model gave, and whether it could be read at all."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.question import Question
from ..core.reply import Reply
from .extract import read_answer


@dataclass(frozen=True)
class Verdict:
    """The letter read from one reply (or None), and how it was read or why it could not be."""

    predicted: str | None
    unparsed: bool
    reason: str  # how the letter was read, or why none could be

    def correct(self, question: Question) -> bool:
        """Whether the letter read is right: any of a question's several right letters (MixEval) passes."""
        return self.predicted in question.expected_letters


def read_verdict(reply: Reply, scoring: str, letters: tuple[str, ...], style: str = "mmlu") -> Verdict:
    """The rules' reading of a reply: the likeliest letter (logprobs), or the letter in its text (generate)."""
    if scoring == "logprobs":
        if not reply.logprobs:
            return Verdict(None, True, reply.note or "no log-probabilities for the choice letters")
        # ties go to the earliest letter, as numpy's argmax does in lm-evaluation-harness
        best = max(letters, key=lambda letter: (reply.logprobs.get(letter, float("-inf")), -letters.index(letter)))
        return Verdict(best, False, "logprobs")
    if reply.note and not reply.text:
        return Verdict(None, True, reply.note)
    extraction = read_answer(reply.text, "".join(letters), style)  # style: how the dataset's replies read
    if extraction.letter is None:
        why = "reply cut off by the token limit" if reply.truncated else f"no answer letter ({extraction.how})"
        return Verdict(None, True, why)
    return Verdict(extraction.letter, False, extraction.how)


def describe_failure(question: Question, verdict: Verdict, reply: Reply, width: int = 300) -> str:
    given = verdict.predicted or "nothing readable"
    lines = [f"{question.subject} {question.name}: "
             + (f"unparsed reply ({verdict.reason})" if verdict.unparsed
                else "wrong answer" + (" (read by the judge)" if verdict.reason == "judge" else ""))
             + f"; expected {' or '.join(question.expected_letters)}, got {given}",
             "",
             question.question.strip()]
    for letter, choice in zip(question.letters, question.choices):
        mark = ("  <- expected" if letter in question.expected_letters
                else "  <- given" if letter == verdict.predicted else "")
        lines.append(f"  {letter}. {choice}{mark}")
    if reply.logprobs:
        lines.append("log-probabilities: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(reply.logprobs.items())))
    text = reply.text.strip()
    lines.append("reply: " + (repr(text[:width]) + ("..." if len(text) > width else "") if text else "(empty)"))
    return "\n".join(lines)
