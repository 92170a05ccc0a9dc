"""Reading the answer letter out of a model's free-text reply.

The rules, in order; the first that gives a letter wins:

1. Reasoning blocks (<think>, <thinking>, <reasoning>) are dropped. A reply cut off
   inside one has no answer ("unfinished-reasoning").
2. Markdown and LaTeX wrappers are removed: ** __ * _ ` $ \\( \\) \\text{X} \\boxed{X}.
3. A reply that opens with a lone letter and then writes a new question with its
   options is a base model continuing its few-shot prompt: the opening letter.
4. Explicit answer statements, the LAST one ("answer-line", "phrase", "boxed"):
   "Answer: C", "The correct answer is (C)", "\\boxed{C}". If that last one names a
   letter outside `letters` the reply has no answer ("out-of-range").
5. A reply that opens with a lone letter: "C", "(C)", "C. Paris", "Option C".
6. Exactly one distinct bold letter: "... so **C** fits" ("bold").
7. "C is the correct ...", the last one ("is-correct").
8. A parenthesised capital letter that appears exactly once, and no other ("parenthesised").

Otherwise no letter ("none"; "empty" when there is no text at all). Several letters
with no statement among them are never guessed between.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Extraction:
    letter: str | None  # one of `letters`, or None when no answer could be read
    how: str  # which rule gave the letter, or why none did


# ASCII-only case folding: "</thınk>" (dotless i) must not close a block
_OPEN = re.compile(r"<(think|thinking|reasoning)>", re.I | re.A)
_CLOSE = re.compile(r"</(?:think|thinking|reasoning)>", re.I | re.A)
_CLOSE_ONE = {tag: re.compile(f"</{tag}>", re.I | re.A) for tag in ("think", "thinking", "reasoning")}


def _split_reasoning(reply: str) -> tuple[str, bool]:
    kept, pos, unfinished = [], 0, False
    while opened := _OPEN.search(reply, pos):
        kept.append(reply[pos:opened.start()])
        closed = _CLOSE_ONE[opened[1].lower()].search(reply, opened.end())
        if not closed:
            unfinished, pos = True, len(reply)
            break
        pos = closed.end()
    text = "".join(kept) + reply[pos:]
    # templates that put <think> in the prompt leave only the closing tag in the reply
    closers = list(_CLOSE.finditer(text))
    if closers:
        text = text[closers[-1].end():]
    return text, unfinished


def strip_reasoning(reply: str) -> str:
    """The reply without its reasoning blocks. An unclosed block runs to the end; a closing
    tag with no opener (the chat template opened it) drops everything before it."""
    return _split_reasoning(reply)[0]


_MARK = "\x00"  # brackets a \boxed{} body, so that rule 4 can tell it from prose
_LATEX_WRAP = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mbox)\s*\{([^{}]*)\}")
_BOXED = re.compile(r"\\boxed\s*\{([^{}]*)\}")
_MARKUP = re.compile(r"\*|(?<!\w)_+|_+(?!\w)|`|\$|\\[()\[\]]")  # _C_ but not snake_case


def _normalise(text: str) -> str:
    for _ in range(3):  # innermost first: \boxed{\text{C}}
        text = _LATEX_WRAP.sub(r"\1", text)
    text = _BOXED.sub(lambda m: _MARK + m[1] + _MARK, text)
    text = re.sub(r"(?i)<answer>", "Answer: ", text)
    text = re.sub(r"(?i)</answer>", " ", text)
    return _MARKUP.sub("", text)


# "A or B", "C, D": a list of letters is not one answer
_LIST = re.compile(r"\s*(?:[,/&]|(?i:or|and)\b)\s*[(\[]?[A-Z](?![\w'’])")
# where a lowercase (or out-of-range) letter must stop to count: "answer: a." yes, "answer is a cat" no
_ENDS = re.compile(r"[ \t]*(?:[.)\]:,;!?]|\n|$)")

_KEY = (r"\b(?i:(?:(?:final|correct|right|best|my)\s+)?"
        r"(?:answer(?:\s+(?:choice|option))?|option|choice))\b")
_SEP = (r"(?:\s*(?P<line>[:=\-–—]+)\s*"
        r"|\s+(?i:is|would\s+be|should\s+be|must\s+be|will\s+be)\b\s*:?\s*"
        r"|[ \t]*\n\s*)")  # "Answer\n\nC"; but not "in answer B, the author..."
_FILL = r"(?:(?i:option|choice|letter|therefore|thus|clearly)\s+){0,2}"
_LETTER = r"(?P<open>[(\[\"'“‘])?(?P<L>[A-Za-z])(?P<close>[)\]\"'”’])?(?![\w'’])"
_BOX = rf"{_MARK}\s*[(\[]?(?P<B>[A-Za-z])[)\]]?(?:[.):][^{_MARK}]*)?\s*{_MARK}"
_STATEMENT = re.compile(rf"{_KEY}{_SEP}{_FILL}{_LETTER}|{_BOX}")

_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_BOLD = re.compile(r"(\*\*|__)([^\n]+?)\1")
_PAREN = re.compile(r"\(([A-Z])\)")


@lru_cache(maxsize=None)
def _rules(letters: str) -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    cls = f"[{re.escape(letters)}]"
    label = re.compile(  # a lone letter, maybe with its choice text after a separator
        rf"[^\w\n]*(?:(?i:option|choice|letter)[^\w\n]*)?(?P<L>{cls})(?!\w)(?![)\]]?{_LIST.pattern})"
        r"(?:[^\w\n]*|\s*[.):\]\-–—,]\s*\S.*)")
    is_correct = re.compile(
        rf"(?<![\w'’])[(\[]?(?P<L>{cls})[)\]]?\s+(?i:is|would\s+be)\s+(?i:the\s+)?"
        r"(?i:(?:most\s+)?(?:correct|right|best))\b")
    first, second = (letters + "  ")[:2]
    listing = re.compile(  # a new question's options: "A. ...\nB. ..."
        rf"(?m)^[^\w\n]*{re.escape(first)}[.)].*\n[^\w\n]*{re.escape(second)}[.)]")
    return label, is_correct, listing


def _label(line: str, pattern: re.Pattern) -> str | None:
    m = pattern.fullmatch(line.strip())
    return m["L"] if m else None


def _last_statement(text: str, letters: str) -> tuple[str, str] | None:
    found = None
    for m in _STATEMENT.finditer(text):
        if m["B"]:
            found = (m["B"].upper(), "boxed")
            continue
        letter, rest = m["L"], text[m.end():]
        if _LIST.match(rest):
            continue
        strict = letter.islower() or letter not in letters
        if strict and not (m["open"] or m["close"] or _ENDS.match(rest)):
            continue
        found = (letter.upper(), "answer-line" if m["line"] else "phrase")
    return found


def extract_letter(reply: str, letters: str = "ABCD") -> Extraction:
    """The answer letter in `reply`, or None; `how` names the rule (see the module doc)."""
    text, unfinished = _split_reasoning(reply)
    if unfinished:
        return Extraction(None, "unfinished-reasoning")
    text = text.replace(_MARK, "")
    if not text.strip():
        return Extraction(None, "empty")
    label, is_correct, listing = _rules(letters)
    bold = {_label(m[2], label) for m in _BOLD.finditer(text)} - {None}
    text = _normalise(text)
    plain = text.replace(_MARK, "").strip()

    paragraphs = _PARAGRAPH.split(plain, maxsplit=1)
    lines = paragraphs[0].split("\n")
    opening = _label(lines[0], label)
    if any(_label(line, label) not in (None, opening) for line in lines[1:]):
        opening = None  # "A. Paris\nB. London": the options restated, not an answer
    if opening and len(paragraphs) == 2 and listing.search(paragraphs[1]):
        return Extraction(opening, "sole-letter")

    statement = _last_statement(text, letters)
    if statement:
        letter, how = statement
        return Extraction(letter, how) if letter in letters else Extraction(None, "out-of-range")
    if opening:
        return Extraction(opening, "sole-letter")
    if len(bold) == 1:
        return Extraction(bold.pop(), "bold")
    correct = [m["L"] for m in is_correct.finditer(plain)]
    if correct:
        return Extraction(correct[-1], "is-correct")
    parens = _PAREN.findall(plain)
    if len(parens) == 1 and parens[0] in letters:
        return Extraction(parens[0], "parenthesised")
    return Extraction(None, "none")
