import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pytest_mmlu.scoring.extract import Extraction, extract_letter, strip_reasoning

R1 = (
    "<think>\nOkay, the question asks which gas is most abundant. A is oxygen, that is about 21%. "
    "B is nitrogen, 78%. So the answer is B? Wait, let me re-read... the answer is B.\n</think>\n\n"
)

CASES = [
    # explicit answer lines, as the instruct prompt asks for
    ("Answer: C", "C", "answer-line"),
    ("ANSWER: C", "C", "answer-line"),
    ("Answer: (C)", "C", "answer-line"),
    ("Answer: [D]", "D", "answer-line"),
    ("Answer: A.", "A", "answer-line"),
    ("Final answer: C", "C", "answer-line"),
    ("Correct option: C", "C", "answer-line"),
    ("Answer - C", "C", "answer-line"),
    ("Answer — B", "B", "answer-line"),
    ("Answer: C. Because the other options ignore friction.", "C", "answer-line"),
    ("Answer: C) 42 N", "C", "answer-line"),
    ("Answer: Option B", "B", "answer-line"),
    ("Answer: a", "A", "answer-line"),
    ("answer: (d) because it is the only even one", "D", "answer-line"),
    ("Answer:\nC", "C", "answer-line"),
    ("### Final Answer\n\nD", "D", "phrase"),
    ("<answer>B</answer>", "B", "answer-line"),
    # phrases
    ("answer is C", "C", "phrase"),
    ("The correct answer is (C)", "C", "phrase"),
    ("the answer is: C.", "C", "phrase"),
    ("The answer is therefore option C, since both premises hold.", "C", "phrase"),
    ("The correct answer choice is D.", "D", "phrase"),
    ("Thus the answer would be B.", "B", "phrase"),
    ("The answer is A because the Treaty of Westphalia came first.", "A", "phrase"),
    ("the answer is b.", "B", "phrase"),
    # chat-model verbose replies
    ("To find the derivative we apply the chain rule: f'(x) = 2cos(2x). At x = 0 this gives 2, "
     "which matches option B.\n\nAnswer: B", "B", "answer-line"),
    ("Let's evaluate each option:\n\nA. Paris - this is the capital of France, not Germany.\n"
     "B. Berlin - correct.\nC. Munich - a large city but not the capital.\nD. Hamburg - no.\n\n"
     "Answer: B", "B", "answer-line"),
    ("Sure! Step 1: the sample mean is 5.\nStep 2: the variance is 4, so the standard deviation is 2.\n\n"
     "The correct answer is (D) 2.", "D", "phrase"),
    # markdown
    ("**C**", "C", "sole-letter"),
    ("**Answer: C**", "C", "answer-line"),
    ("**Answer:** C", "C", "answer-line"),
    ("Answer: **C**", "C", "answer-line"),
    ("**Answer:**\n\n**C) Paris**", "C", "answer-line"),
    ("The correct answer is **(B) mitochondria**.", "B", "phrase"),
    ("`C`", "C", "sole-letter"),
    ("Looking at the options, **C** fits the description best.", "C", "bold"),
    ("__D__", "D", "sole-letter"),
    ("*Answer:* _C_", "C", "answer-line"),
    ("Option (C)", "C", "sole-letter"),
    # LaTeX
    ("\\boxed{C}", "C", "boxed"),
    ("$\\boxed{\\text{C}}$", "C", "boxed"),
    ("So x = 4, which corresponds to option D.\n\n\\[\n\\boxed{D}\n\\]", "D", "boxed"),
    ("The final answer is $\\boxed{B}$.", "B", "boxed"),
    ("The answer is \\(\\textbf{A}\\).", "A", "phrase"),
    # restated: the last statement wins
    ("The answer is B.\n\nWait, I misread the question. The answer is C.", "C", "phrase"),
    ("Answer: A\nHmm, on reflection that ignores the tax. Answer: D", "D", "answer-line"),
    ("Initially I thought the answer is A, but the correct answer is (C).", "C", "phrase"),
    ("\\boxed{A}\n\nActually no: Final answer: B", "B", "answer-line"),
    ("First guess: \\boxed{A}. Checking units again gives \\boxed{C}.", "C", "boxed"),
    # R1-style reasoning with other letters inside
    (R1 + "Answer: B", "B", "answer-line"),
    ("<think>A? no. C? The answer is C. Hmm, D is also possible.</think>\nAnswer: A", "A", "answer-line"),
    ("<THINK>Answer: D</THINK>\n\n**B**", "B", "sole-letter"),
    ("<reasoning>The answer is A.</reasoning>\nThe answer is C.", "C", "phrase"),
    ("<think>\n</think>\n\nC", "C", "sole-letter"),
    # the chat template put <think> in the prompt: only the closing tag is in the reply
    ("Option A is tempting, but... the answer is A? No.\n</think>\n\nAnswer: D", "D", "answer-line"),
    # a reply that is just the letter
    ("C", "C", "sole-letter"),
    ("(C)", "C", "sole-letter"),
    ("C.", "C", "sole-letter"),
    ("C)", "C", "sole-letter"),
    (" B\n", "B", "sole-letter"),
    ("[D]", "D", "sole-letter"),
    ("Option C", "C", "sole-letter"),
    ("C. Paris", "C", "sole-letter"),
    ("D) All of the above", "D", "sole-letter"),
    ("A\n\nExplanation: the enzyme is denatured above 60 degrees, so B and C cannot be right.", "A", "sole-letter"),
    # base model under the harness prompt: answers, then writes the next few-shot question
    (" C\n\nWhich planet is largest?\nA. Mars\nB. Jupiter\nC. Venus\nD. Earth\nAnswer: B\n\nWhat is", "C",
     "sole-letter"),
    # other weak signals, used only when nothing stronger is there
    ("C is the correct answer because the reaction is exothermic.", "C", "is-correct"),
    ("A is wrong and B is wrong. Option D is correct.", "D", "is-correct"),
    ("I believe it is (B), given the wording of the statute.", "B", "parenthesised"),
    # nothing readable: never guess
    ("", None, "empty"),
    ("   \n\t ", None, "empty"),
    ("<think>A long think that ends.</think>", None, "empty"),
    ("<think>The answer is clearly B because", None, "unfinished-reasoning"),
    ("Answer: A\n<think>let me double-check: maybe B", None, "unfinished-reasoning"),
    ("A and B are wrong, C might be right, but D is also possible.", None, "none"),
    ("A cat is a small carnivorous mammal. A dog is larger.", None, "none"),
    ("Answer: Because the market clears.", None, "none"),
    ("the answer is a matter of debate among historians.", None, "none"),
    ("Answer: E", None, "out-of-range"),
    ("The answer is C.\nCorrection, the answer is F.", None, "out-of-range"),
    ("E", None, "none"),
    ("F) none of these", None, "none"),
    ("Answer: A or B", None, "none"),
    ("The answer is C, D", None, "none"),
    ("(A) and (C) both look plausible.", None, "none"),
    ("It could be (B); but (B) ignores inflation.", None, "none"),
    ("**A** and **C** are both partly true.", None, "none"),
    ("A. Paris\nB. London\nC. Rome\nD. Berlin", None, "none"),
    ("In answer B, the author makes a claim about trade.", None, "none"),
    ("Option C is incorrect.", None, "none"),
    ("The following are multiple choice questions (with answers) about astronomy.", None, "none"),
    ("Paris", None, "none"),
    ("I don't know.", None, "none"),
    ("Answer:", None, "none"),
]


@pytest.mark.parametrize(("reply", "letter", "how"), CASES, ids=[f"{i:02d}" for i in range(len(CASES))])
def test_table(reply, letter, how):
    assert extract_letter(reply) == Extraction(letter, how)


@pytest.mark.parametrize(("reply", "letter"), [
    ("Answer: J", "J"),
    ("Answer: E", "E"),
    ("(G)", "G"),
    ("Answer: K", None),
    ("I think the answer is H.", "H"),
])
def test_other_letter_sets(reply, letter):
    assert extract_letter(reply, letters="ABCDEFGHIJ").letter == letter


def test_letter_set_narrower_than_abcd():
    assert extract_letter("Answer: C", letters="AB").letter is None
    assert extract_letter("Answer: B", letters="AB").letter == "B"


@pytest.mark.parametrize(("reply", "stripped"), [
    ("<think>x</think>Answer: C", "Answer: C"),
    ("a<THINK>x\ny</Think>b<reasoning>z</reasoning>c", "abc"),
    ("before<think>cut off here", "before"),
    ("reasoning only\n</think>\nC", "\nC"),
    ("no tags at all", "no tags at all"),
])
def test_strip_reasoning(reply, stripped):
    assert strip_reasoning(reply) == stripped


# ---- properties ----

LETTERS = st.sampled_from("ABCD")
PIECES = st.sampled_from([
    "A", "B", "C", "D", "E", "a", "I", " ", "\n", "\n\n", ".", ":", ")", "(", "[", "]", "-", ",",
    "**", "__", "*", "`", "$", "\\boxed{", "\\text{", "}", "\\(", "\\)",
    "Answer", "answer: ", "Answer: C", "The answer is ", "the correct answer is (A)", "Final answer:",
    "Option ", "option", "is correct", " or ", " and ", "A. Paris\n", "B) London\n",
    "<think>", "</think>", "<reasoning>", "</reasoning>", "<THINK>", "<answer>", "</answer>", "\x00",
])
# adversarial text: arbitrary unicode mixed with the pieces the rules look for
JUNK = st.lists(st.one_of(st.text(max_size=10), PIECES), max_size=14).map("".join)
TOKEN_A_TO_D = re.compile(r"(?<!\w)[A-D](?!\w)")
OPENER = re.compile(r"(?i)<(?:think|thinking|reasoning)>")
TRAILERS = st.sampled_from(["", ".", " ", "\n", ")", " - because the others ignore the tax.",
                            "\n\nThis follows from the second law of thermodynamics."])


@given(prefix=JUNK, joint=st.sampled_from([" ", "\n", "\n\n", ". "]), letter=LETTERS, trailer=TRAILERS)
def test_answer_line_after_text_without_letters(prefix, joint, letter, trailer):
    assume(not TOKEN_A_TO_D.search(prefix))
    assume(not OPENER.search(prefix))  # an unclosed <think> means the reply was cut off: nothing after it counts
    assert extract_letter(f"{prefix}{joint}Answer: {letter}{trailer}") == Extraction(letter, "answer-line")


EARLIER = st.builds(str.format, st.sampled_from([
    "Answer: {}", "The answer is {}.", "**Answer: {}**", "\\boxed{{{}}}", "{}", "({})", "**{}**", "{} is correct",
    "Final answer: ({})", "answer: {}", "<think>Answer: {}</think>", "{}\n\n",
]), st.sampled_from("ABCDEFab"))


@given(prefix=st.builds("".join, st.lists(st.one_of(st.text(max_size=10), PIECES, EARLIER), max_size=14)),
       letter=LETTERS)
def test_appended_answer_line_wins(prefix, letter):
    assume(not OPENER.search(prefix))  # an unclosed <think> swallows the rest; closed blocks are property (d)
    # a lone letter, then a new question with options "A. ..\nB. ..", is a base model continuing its few-shot
    # prompt, and the "Answer:" that follows belongs to that next question; such a list needs a "B" and a newline
    assume(not ("B" in prefix and "\n" in prefix))
    assert extract_letter(f"{prefix}\nAnswer: {letter}").letter == letter


@given(prefix=st.text(), letter=LETTERS)
def test_appended_answer_line_wins_plain_text(prefix, letter):
    assume(not OPENER.search(prefix) and not ("B" in prefix and "\n" in prefix))
    assert extract_letter(f"{prefix}\nAnswer: {letter}").letter == letter


@given(reply=st.one_of(st.text(), JUNK), letters=st.sampled_from(["ABCD", "ABCDEFGHIJ", "AB"]))
def test_never_raises_and_stays_in_letters(reply, letters):
    result = extract_letter(reply, letters)
    assert result.letter is None or result.letter in letters
    assert isinstance(result.how, str) and result.how
    assert (result.letter is None) == (result.how in {"none", "empty", "unfinished-reasoning", "out-of-range"})


@given(junk=st.one_of(st.text(), JUNK), tail=JUNK)
def test_think_block_never_matters(junk, tail):
    assume("</think>" not in junk.lower())
    assert extract_letter(f"<think>{junk}</think>{tail}") == extract_letter(tail)


def test_think_block_closed_only_by_a_real_closing_tag():
    assert extract_letter("<think>a</thi\x00nk><reasoning>b</think>Answer: C") == Extraction("C", "answer-line")


@given(junk=JUNK, letter=LETTERS)
def test_letters_inside_think_never_leak(junk, letter):
    assume("</think>" not in junk.lower())
    assert extract_letter(f"<think>{junk}</think>").letter is None
    assert extract_letter(f"<think>{junk}</think>\n\nAnswer: {letter}").letter == letter


# ---- the MMLU family: MMLU-Pro's "The answer is (X)" and answers in other languages ----

from pytest_mmlu.scoring.extract import ANSWER_WORDS, LOCAL_LETTERS, extract_multilingual, extract_pro, read_answer  # noqa: E402

PRO_CASES = [
    ("Let's think step by step. 3 + 4 = 7, which is option H. The answer is (H).", "H", "answer-is"),
    ("The answer is J", "J", "answer-is"),
    ("the answer is (b).", "B", "answer-is"),
    ("At first the answer is (A)? No: the answer is (G).", "G", "answer-is"),  # the last one
    ("**The answer is (E)**", "E", "answer-is"),
    ("Therefore, the answer is \\boxed{F}.", "F", "answer-is"),
    ("So we pick it.\n\\boxed{F}", "F", "boxed"),  # then the MMLU rules
    ("Step 1... Step 2...\nAnswer: I", "I", "answer-line"),
    ("The answer is (J).", None, "out-of-range"),  # an 8-option question: J is not one of them
    ("The answer is Because the others are wrong.", None, "none"),
    ("I am not sure which it is.", None, "none"),  # the official script would draw a random letter
    ("", None, "empty"),
    ("<think>The answer is (C)", None, "unfinished-reasoning"),
]


@pytest.mark.parametrize(("reply", "letter", "how"), PRO_CASES, ids=[f"pro{i:02d}" for i in range(len(PRO_CASES))])
def test_mmlu_pro_table(reply, letter, how):
    assert extract_pro(reply, "ABCDEFGH" if "(J)." in reply else "ABCDEFGHIJ") == Extraction(letter, how)


MULTILINGUAL_CASES = [
    ("Vamos a razonar paso a paso.\n\nRespuesta: C", "C", "answer-word"),
    ("**Respuesta: B**", "B", "answer-word"),
    ("La respuesta correcta es (D).", "D", "answer-word"),
    ("Risposta: A", "A", "answer-word"),
    ("Réponse : D", "D", "answer-word"),
    ("Antwort: B", "B", "answer-word"),
    ("Resposta: c.", "C", "answer-word"),
    ("Jawaban: A", "A", "answer-word"),
    ("Jibu: D", "D", "answer-word"),
    ("Ìdáhùn: B", "B", "answer-word"),
    ("計算すると 7 です。\n答え：Ｃ", "C", "answer-word"),
    ("答え: B", "B", "answer-word"),
    ("回答：Ａ", "A", "answer-word"),
    ("答案：D", "D", "answer-word"),
    ("答案是C", "C", "answer-word"),
    ("정답: B", "B", "answer-word"),
    ("답: A", "A", "answer-word"),
    ("उत्तर: C", "C", "answer-word"),
    ("উত্তর: ব", "B", "answer-word"),
    ("উত্তর: ঢ", "D", "answer-word"),
    ("الإجابة: ج", "C", "answer-word"),
    ("الجواب: أ", "A", "answer-word"),
    ("Respuesta: A\nPensándolo mejor... Respuesta: D", "D", "answer-word"),  # the last one
    ("<think>Respuesta: A</think>Respuesta: B", "B", "answer-word"),
    ("Respuesta: E", None, "out-of-range"),
    ("Respuesta: bien pensada, no lo sé.", None, "none"),
    ("Respuesta: A o B", None, "none"),
    ("答え：わかりません", None, "none"),
    ("Answer: C", "C", "answer-line"),  # English replies read as always
    ("Ｃ", "C", "sole-letter"),  # a full-width letter alone
    ("No lo sé.", None, "none"),
    ("", None, "empty"),
]


@pytest.mark.parametrize(("reply", "letter", "how"), MULTILINGUAL_CASES,
                         ids=[f"ml{i:02d}" for i in range(len(MULTILINGUAL_CASES))])
def test_multilingual_table(reply, letter, how):
    assert extract_multilingual(reply) == Extraction(letter, how)


def test_read_answer_picks_the_rules_by_style():
    assert read_answer("Respuesta: C", "ABCD", "multilingual").letter == "C"
    assert read_answer("Respuesta: C", "ABCD", "mmlu").letter is None  # plain MMLU reading unchanged
    assert read_answer("The answer is (C)", "ABCD", "mmlu-pro") == Extraction("C", "answer-is")
    assert read_answer("The answer is (C)", "ABCD", "mmlu") == Extraction("C", "phrase")


WORDS = st.sampled_from(sorted(set(ANSWER_WORDS) - {"答"}))
LOCAL = st.sampled_from(sorted(ch for ch, x in LOCAL_LETTERS.items() if x in "ABCD"))


@given(prefix=st.text(), word=WORDS, colon=st.sampled_from([":", "：", " :", ": "]), letter=LETTERS)
def test_localized_answer_word_at_the_end_wins(prefix, word, colon, letter):
    assume(not OPENER.search(prefix))
    assert extract_multilingual(f"{prefix}\n{word}{colon}{letter}") == Extraction(letter, "answer-word")


@given(prefix=st.text(), word=WORDS, local=LOCAL)
def test_local_letters_read_as_their_latin_letter(prefix, word, local):
    assume(not OPENER.search(prefix))
    assert extract_multilingual(f"{prefix}\n{word}: {local}").letter == LOCAL_LETTERS[local]


@given(reply=st.one_of(st.text(), JUNK, st.builds(str.__add__, WORDS, st.text())),
       letters=st.sampled_from(["ABCD", "ABCDEFGHIJ", "AB"]), style=st.sampled_from(["multilingual", "mmlu-pro"]))
def test_family_readers_never_raise_and_stay_in_letters(reply, letters, style):
    result = read_answer(reply, letters, style)
    assert result.letter is None or result.letter in letters
    assert (result.letter is None) == (result.how in {"none", "empty", "unfinished-reasoning", "out-of-range"})


@given(prefix=st.text(), letter=st.sampled_from("ABCDEFGHIJ"), trailer=TRAILERS)
def test_pro_answer_is_at_the_end_wins(prefix, letter, trailer):
    assume(not OPENER.search(prefix))
    assert extract_pro(f"{prefix}\nThe answer is ({letter}){trailer}") == Extraction(letter, "answer-is")


@given(reply=st.one_of(st.text(), JUNK))
def test_english_text_without_local_words_reads_as_plain_mmlu(reply):
    assume(not any(w.lower() in reply.lower() for w in ANSWER_WORDS))
    assume(not any("\uff00" <= ch <= "\uffef" for ch in reply))
    assert extract_multilingual(reply) == extract_letter(reply)
