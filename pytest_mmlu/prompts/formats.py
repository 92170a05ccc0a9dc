"""Prompt formats: how a question (and its shots) is put to the model.

`harness` is lm-evaluation-harness's default MMLU prompt, so `logprobs` scoring
gives the accuracy that harness reports for the same model and data.
`instruct` asks a chat model to end its reply with `Answer: X`, after the question and its options.
`mmlu-pro` is MMLU-Pro's official chain-of-thought prompt ("The answer is (X)").
`mixeval` is MixEval's multiple-choice prompt: the question, its options, "Answer with the option letter ...".
"""

from __future__ import annotations

from typing import Sequence

from ..core.prompt import Prompt
from ..core.question import Question
from ..core.subjects import pretty

FORMATS = ("harness", "instruct", "mmlu-pro", "letter", "mixeval")


def _joined(parts: Sequence[str], shots: Sequence[str], before: int, sep: str = "\n\n") -> Prompt:
    """`parts` joined by `sep`, with `shots` (also joined by `sep`) inserted after the first `before` parts:
    the prompt, and where its shots are."""
    head = sep.join(parts[:before])
    if not shots:
        return Prompt.single(sep.join(parts))
    start = len(head) + len(sep) if head else 0
    block = sep.join(shots)
    tail = sep.join(parts[before:])
    return Prompt.single(sep.join(p for p in (head, block, tail) if p), (start, start + len(block)))


def _body(q: Question) -> str:
    # harness strips the question, not the choices
    lines = [q.question.strip()]
    lines += [f"{letter}. {choice}" for letter, choice in zip(q.letters, q.choices)]
    return "\n".join(lines)


def harness(q: Question, shots: Sequence[Question] = ()) -> Prompt:
    # a dataset's own word for the subject where it has one (MMLU-Pro's "other", not "miscellaneous")
    about = pretty(q.meta.get("category") or q.subject)
    header = f"The following are multiple choice questions (with answers) about {about}.\n\n"
    examples = "".join(f"{_body(s)}\nAnswer: {s.expected}\n\n" for s in shots)
    span = (len(header), len(header) + len(examples)) if shots else None
    return Prompt.single(header + examples + _body(q) + "\nAnswer:", span)


# The question first, the instruction last, and plainly: SmolLM2-135M shown the instruction first
# copied the options back in half its replies (unparsed); see bench/RESULTS.md.
INSTRUCTION_HEADER = "The following is a multiple choice question about {subject}."
INSTRUCTION = (
    "Which option is correct? Do not copy the options. You may think briefly, then end your reply "
    "with a line of the form 'Answer: X', where X is one of {letters}."
)


def _one_of(letters: Sequence[str]) -> str:
    return ", ".join(letters[:-1]) + " or " + letters[-1]


def instruct(q: Question, shots: Sequence[Question] = ()) -> Prompt:
    parts = [INSTRUCTION_HEADER.format(subject=pretty(q.subject)), _body(q),
             INSTRUCTION.format(letters=_one_of(q.letters))]
    examples = ["Examples:", *(f"{_body(s)}\nAnswer: {s.expected}" for s in shots), "Now the question:"]
    return _joined(parts, examples if shots else [], before=1)


PRO_HEADER = ("The following are multiple choice questions (with answers) about {category}. Think step by "
              "step and then output the answer in the format of \"The answer is (X)\" at the end.\n\n")


def _pro_example(q: Question, with_answer: bool) -> str:
    text = f"Question: {q.question}\nOptions: " + "".join(f"{letter}. {choice}\n"
                                                         for letter, choice in zip(q.letters, q.choices))
    if not with_answer:
        return text + "Answer: "
    cot = q.meta.get("cot")  # the validation split's chain of thought, as the official code uses it
    cot = (cot.replace("A: Let's think step by step.", "Answer: Let's think step by step.") if cot
           else f"Answer: The answer is ({q.expected}).")
    return text + cot + "\n\n"


def mmlu_pro(q: Question, shots: Sequence[Question] = ()) -> Prompt:
    """As MMLU-Pro's evaluate_from_api.py builds it: header, CoT examples, the question."""
    header = PRO_HEADER.format(category=q.meta.get("category") or pretty(q.subject))
    examples = "".join(_pro_example(s, True) for s in shots)
    span = (len(header), len(header) + len(examples)) if shots else None
    return Prompt.single(header + examples + _pro_example(q, False), span)


LETTER_INSTRUCTION = (
    "The following is a multiple choice question about {subject}. "
    "Reply with the letter of the correct answer ({letters}) alone, nothing else."
)


def letter(q: Question, shots: Sequence[Question] = ()) -> Prompt:
    """For chat log-probabilities: the first token of the reply should be the letter itself."""
    letters = ", ".join(q.letters[:-1]) + f" or {q.letters[-1]}"
    parts = [LETTER_INSTRUCTION.format(subject=pretty(q.subject), letters=letters), _body(q) + "\nAnswer:"]
    # shots first, question last: a subject's prompts share the longest prefix (server prompt caches)
    return _joined(parts, [f"{_body(s)}\nAnswer: {s.expected}" for s in shots], before=1)


MIXEVAL_INSTRUCTION = "Answer with the option letter from the given choices directly."


def _mixeval_body(q: Question) -> str:
    # MixEval neither strips the question nor adds a header; its context is already before the question
    # (data/mixeval.py joins them with a newline, as MixEval's construct_prompt_multichoice does)
    options = "\n".join(f"{letter}. {choice}" for letter, choice in zip(q.letters, q.choices))
    return f"{q.question}\n{options}\n{MIXEVAL_INSTRUCTION}"


def mixeval(q: Question, shots: Sequence[Question] = ()) -> Prompt:
    """MixEval's multiple-choice prompt (its evaluation_prompts.py); shots as in its five-shot prefix for base
    models: each example's prompt, its letter, a blank line."""
    examples = "".join(f"{_mixeval_body(s)}\n{s.expected}\n\n" for s in shots)
    return Prompt.single(examples + _mixeval_body(q), (0, len(examples)) if shots else None)


BUILDERS = {"harness": harness, "instruct": instruct, "mmlu-pro": mmlu_pro, "letter": letter, "mixeval": mixeval}


def build(fmt: str, q: Question, shots: Sequence[Question] = ()) -> Prompt:
    return BUILDERS[fmt](q, shots)
