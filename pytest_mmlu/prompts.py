"""Prompt formats: how a question (and its shots) is put to the model.

`harness` is lm-evaluation-harness's default MMLU prompt, so `logprobs` scoring
gives the accuracy that harness reports for the same model and data.
`instruct` asks a chat model to end its reply with `Answer: X`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .question import Question
from .subjects import pretty

FORMATS = ("harness", "instruct", "letter")


@dataclass(frozen=True)
class Prompt:
    text: str  # the whole prompt as one string (completions, in-process models)
    messages: tuple[dict, ...]  # the same as chat messages

    @classmethod
    def single(cls, text: str) -> "Prompt":
        return cls(text=text, messages=({"role": "user", "content": text},))


def _body(q: Question) -> str:
    # harness strips the question, not the choices
    lines = [q.question.strip()]
    lines += [f"{letter}. {choice}" for letter, choice in zip(q.letters, q.choices)]
    return "\n".join(lines)


def harness(q: Question, shots: Sequence[Question] = ()) -> Prompt:
    header = f"The following are multiple choice questions (with answers) about {pretty(q.subject)}.\n\n"
    examples = "".join(f"{_body(s)}\nAnswer: {s.expected}\n\n" for s in shots)
    return Prompt.single(header + examples + _body(q) + "\nAnswer:")


INSTRUCTION = (
    "Answer the following multiple choice question about {subject}. "
    "Think briefly if you need to, then give your final answer on the last line "
    "in the form 'Answer: X', where X is one of A, B, C or D."
)


def instruct(q: Question, shots: Sequence[Question] = ()) -> Prompt:
    parts = [INSTRUCTION.format(subject=pretty(q.subject))]
    if shots:
        parts.append("Examples:")
        parts += [f"{_body(s)}\nAnswer: {s.expected}" for s in shots]
        parts.append("Now the question:")
    parts.append(_body(q))
    return Prompt.single("\n\n".join(parts))


LETTER_INSTRUCTION = (
    "The following is a multiple choice question about {subject}. "
    "Reply with the letter of the correct answer ({letters}) alone, nothing else."
)


def letter(q: Question, shots: Sequence[Question] = ()) -> Prompt:
    """For chat log-probabilities: the first token of the reply should be the letter itself."""
    letters = ", ".join(q.letters[:-1]) + f" or {q.letters[-1]}"
    parts = [LETTER_INSTRUCTION.format(subject=pretty(q.subject), letters=letters)]
    # shots first, question last: a subject's prompts share the longest prefix (server prompt caches)
    parts += [f"{_body(s)}\nAnswer: {s.expected}" for s in shots]
    parts.append(_body(q) + "\nAnswer:")
    return Prompt.single("\n\n".join(parts))


BUILDERS = {"harness": harness, "instruct": instruct, "letter": letter}


def build(fmt: str, q: Question, shots: Sequence[Question] = ()) -> Prompt:
    return BUILDERS[fmt](q, shots)
