"""A judge model for the replies the rules cannot read: what it is asked, and how its answer is read.

Only a reply whose text the rules read no letter from (extraction `none`) goes to the
judge; empty, blocked, cut-off or out-of-range replies do not (there is nothing to read,
or the model's own answer stands). The judge answers with one letter or "none", and its
answer is read strictly: anything else is a judge fault, and a fault is never a letter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.question import Question
from ..core.reply import Reply, Usage
from .extract import read_answer, strip_reasoning
from .verdict import Verdict

REPLY_HEAD = 3000  # a reply longer than HEAD + TAIL is shown with its middle left out
REPLY_TAIL = 3000

INSTRUCTION = (
    "You read a student's reply to a multiple-choice question and say which option the reply chose. "
    "Do not solve the question yourself and do not judge whether the reply is right: only report "
    "the option the reply picks as its answer.\n"
    "Answer with exactly one of: {letters}, or none. Answer none when the reply picks no option, "
    "picks several, or only repeats the options. Write nothing else."
)


def needs_judge(reply: Reply, letters: tuple[str, ...], style: str = "mmlu") -> bool:
    """Whether the rules (of the dataset's reading style) could not read this reply although it has text."""
    if reply.truncated or not reply.text.strip():
        return False
    return read_answer(reply.text, "".join(letters), style).how == "none"


def _shown(text: str) -> str:
    text = strip_reasoning(text).strip()
    if len(text) <= REPLY_HEAD + REPLY_TAIL:
        return text
    return f"{text[:REPLY_HEAD]}\n[... {len(text) - REPLY_HEAD - REPLY_TAIL} characters left out ...]\n" \
           f"{text[-REPLY_TAIL:]}"


def judge_messages(question: Question, reply_text: str) -> tuple[dict, ...]:
    """One user message (some chat templates have no system role): question, options, reply."""
    letters = question.letters
    options = "\n".join(f"{letter}. {choice}" for letter, choice in zip(letters, question.choices))
    text = (INSTRUCTION.format(letters=", ".join(letters)) + "\n\n"
            f"Question:\n{question.question.strip()}\n\nOptions:\n{options}\n\n"
            f"Reply:\n\"\"\"\n{_shown(reply_text)}\n\"\"\"\n\n"
            f"Which option does the reply choose? ({', '.join(letters)} or none)")
    return ({"role": "user", "content": text},)


@dataclass(frozen=True)
class Reading:
    """What became of one reply sent to the judge."""

    outcome: str  # "letter", "none" or "fault"
    letter: str | None = None
    detail: str = ""  # the fault, in one line
    reply: str = ""  # the judge's own words (start)
    cached: bool = False
    usage: Usage | None = None  # what the judge's request cost, as its service reported it

    def applied(self, verdict: Verdict) -> Verdict:
        """The item's verdict: the judge's letter, or the rules' unparsed verdict with the judge's word."""
        if self.outcome == "letter":
            return Verdict(self.letter, False, "judge")
        said = "the judge found no answer" if self.outcome == "none" else f"judge fault: {self.detail}"
        return Verdict(None, True, f"{verdict.reason}; {said}")


def fault(detail: str, reply: str = "") -> Reading:
    return Reading("fault", detail=" ".join(detail.split())[:300], reply=reply)


# wrappers a terse answer may come in: **C**, `C`, "C", (C), C.
_WRAPPED = re.compile(r"[\s*_`\"'“”‘’(\[]*(?P<word>[A-Za-z]+)[\s*_`\"'“”‘’)\]]*\.?[\s*_`\"'“”‘’]*")


def read_judgement(reply: Reply, letters: tuple[str, ...]) -> Reading:
    """The judge's answer, strictly: one letter of `letters` or "none"; anything else is a fault."""
    text = strip_reasoning(reply.text or "")
    if not text.strip():
        why = reply.note or ("cut off by the token limit" if reply.truncated else "empty reply")
        return fault(f"the judge gave no answer ({why})", reply.text or "")
    m = _WRAPPED.fullmatch(text)
    word = m["word"] if m else None
    if word and word.upper() in letters and len(word) == 1:
        return Reading("letter", word.upper(), reply=text.strip())
    if word and word.lower() == "none":
        return Reading("none", reply=text.strip())
    shown = text.strip()
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return fault(f"the judge's reply is not one of {', '.join(letters)} or none: {shown!r}", text.strip())
