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


# -- the MMLU family: MMLU-Pro's answer phrase, and answers written in other languages ----------

# MMLU-Pro's official first pattern, `answer is \(?([A-J])\)?`; a letter that starts a word
# ("the answer is Because...") is not an answer
_PRO = re.compile(r"answer is \(?(?P<L>[A-J])\)?(?![A-Za-z'’])", re.I)


def _prepared(reply: str) -> tuple[str | None, Extraction | None]:
    """The reply without reasoning and markup, or the reason there is nothing to read."""
    text, unfinished = _split_reasoning(reply)
    if unfinished:
        return None, Extraction(None, "unfinished-reasoning")
    text = text.replace(_MARK, "")
    if not text.strip():
        return None, Extraction(None, "empty")
    return _normalise(text).replace(_MARK, ""), None


def extract_pro(reply: str, letters: str = "ABCDEFGHIJ") -> Extraction:
    """MMLU-Pro: the last "the answer is (X)" first, as the official script reads it; then the rules
    of `extract_letter`. Never a random letter where the official script would draw one."""
    text, nothing = _prepared(reply)
    if nothing:
        return nothing
    found = [m for m in _PRO.finditer(text) if m["L"].isupper() or m[0].endswith(")")
             or _ENDS.match(text, m.end())]
    if found:
        letter = found[-1]["L"].upper()
        return Extraction(letter, "answer-is") if letter in letters else Extraction(None, "out-of-range")
    return extract_letter(reply, letters)


# the answer words models write in the MMMLU / Global-MMLU languages (after simple-evals' list)
ANSWER_WORDS = (
    "Antwort", "Respuesta", "Risposta", "Réponse", "Reponse", "Resposta", "Jawaban", "Jibu", "Idahun", "Ìdáhùn",
    "Idáhùn", "Àdáhùn", "Odpowiedź", "Ответ", "Відповідь", "Antwoord", "Cevap", "Yanıt", "Câu trả lời",
    "Đáp án", "Απάντηση", "Svar", "Răspuns", "Jawapan", "Sagot",
    "答え", "回答", "解答", "答案", "答复", "答", "답변", "정답", "답",
    "উত্তর", "उत्तर", "الإجابة النهائية", "الإجابة الصحيحة هي", "الإجابة الصحيحة", "الإجابة هي", "الإجابة",
    "الجواب النهائي", "الجواب", "إجابة", "پاسخ", "תשובה",
)
# letters as they are written in those languages: full-width (Japanese, Chinese), Arabic, Bengali
LOCAL_LETTERS = {**{chr(0xFF21 + i): "ABCDEFGHIJ"[i] for i in range(10)},
                 **{chr(0xFF41 + i): "ABCDEFGHIJ"[i] for i in range(10)},
                 "أ": "A", "ب": "B", "ج": "C", "د": "D", "অ": "A", "ব": "B", "ড": "C", "ঢ": "D"}
_LOCAL_LETTER = (r"(?:(?P<U>[A-JＡ-Ｊ])(?![A-Za-zＡ-Ｚａ-ｚ])"
                 r"|(?P<l>[a-jａ-ｊ])(?=[ \t]*(?:[.)\]:,;!?。、）」】]|\n|$))"
                 r"|(?P<ar>[أبجد])(?![\u0600-\u06FF])|(?P<bn>[অবডঢ])(?![\u0980-\u09FF]))")
_LOCAL_LIST = re.compile(r"\s*(?:[,/、&]|(?i:or|o|ou|oder|atau|au|of|или|或|または|또는|혹은|या|বা|أو)\s)\s*[(\[（「]?"
                         r"[A-JＡ-Ｊ](?![A-Za-z])")
_LOCAL_STATEMENT = re.compile(
    r"(?i:" + "|".join(re.escape(w) for w in sorted(ANSWER_WORDS, key=len, reverse=True)) + r")"
    r"(?:\s+(?i:correcta|correcte|correct|richtige|corretta|correta|benar|sahihi|final|finale))?"
    r"(?:[ \t]*[:：ঃ]|\s*(?:\s(?i:es|est|ist|è|é|adalah|ni|là|هي)|は|是|는|은|为|為)\s*:?)[ \t]*\n?[ \t]*"
    r"(?:(?i:la\s+|le\s+|die\s+|a\s+|o\s+)?(?i:opción|opzione|option|opção|pilihan|chaguo|オプション|选项)\s*)?"
    r"[(\[（「【]?[ \t]*" + _LOCAL_LETTER)


def _local(m: re.Match) -> str:
    raw = next(m[g] for g in ("U", "l", "ar", "bn") if m[g])
    return LOCAL_LETTERS.get(raw, raw).upper()


def extract_multilingual(reply: str, letters: str = "ABCD") -> Extraction:
    """Answers written in the dataset's language: the last "Respuesta: C", "答え：Ｃ", "الإجابة: ج",
    "উত্তর: ব"...; then, with full-width letters made plain, the rules of `extract_letter`."""
    text, nothing = _prepared(reply)
    if nothing:
        return nothing
    found = [m for m in _LOCAL_STATEMENT.finditer(text) if not _LOCAL_LIST.match(text, m.end())]
    if found:
        letter = _local(found[-1])
        return Extraction(letter, "answer-word") if letter in letters else Extraction(None, "out-of-range")
    plain = "".join(LOCAL_LETTERS.get(ch, ch) if "\uff00" <= ch <= "\uffef" else ch for ch in reply)
    return extract_letter(plain, letters)


READERS = {"mmlu": extract_letter, "mmlu-pro": extract_pro, "multilingual": extract_multilingual}


def read_answer(reply: str, letters: str = "ABCD", style: str = "mmlu") -> Extraction:
    """The letter in `reply` by the rules of `style`: mmlu, mmlu-pro or multilingual."""
    return READERS[style](reply, letters)
