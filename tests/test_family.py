"""The MMLU family: MMLU-Pro, MMMLU, Global-MMLU and MMLU-Redux in their hub layouts, loaded through
`datasets`, and run end to end the way users run them."""

import re
from pathlib import Path

import pytest

from pytest_mmlu.core.question import Question
from pytest_mmlu.core.subjects import category_of, resolve_selection
from pytest_mmlu.data import DatasetError, FamilySource, open_source
from pytest_mmlu.data.annotations import annotate
from pytest_mmlu.data.mmlu_pro import MMLU_PRO
from pytest_mmlu.prompts import build

from datafolders import (
    global_rows,
    make_pro_questions,
    make_questions,
    write_global_mmlu,
    write_hub_layout,
    write_mmlu_pro,
    write_mmmlu,
    write_redux,
)
from fakeservers import OpenAIFake
from runs import run_pytest

PRO_CATEGORIES = ("biology", "computer science", "other")
SUBJECTS = ("astronomy", "virology")


# -- local copies, each in its repository's layout -------------------------------------------------


@pytest.fixture(scope="module")
def pro_rows():
    return ([r for c in PRO_CATEGORIES for r in make_pro_questions(c, 4, seed=1)],
            [r for c in PRO_CATEGORIES for r in make_pro_questions(c, 5, seed=2)])


@pytest.fixture(scope="module")
def pro_folder(tmp_path_factory, pro_rows):
    return write_mmlu_pro(tmp_path_factory.mktemp("mmlu-pro"), *pro_rows)


def translated(rows, language):
    """The same questions 'translated': a marker in the question text, the choices unchanged."""
    word = {"ES_LA": "Pregunta", "JA_JP": "問題"}[language]
    return [{**r, "question": f"{word}: {r['question']}"} for r in rows]


MMMLU_ROWS = [r for s in SUBJECTS for r in make_questions(s, 5, seed=7)]


@pytest.fixture(scope="module")
def mmmlu_folder(tmp_path_factory):
    return write_mmmlu(tmp_path_factory.mktemp("mmmlu"),
                       {lang: translated(MMMLU_ROWS, lang) for lang in ("ES_LA", "JA_JP")})


@pytest.fixture(scope="module")
def english_mmlu(tmp_path_factory):
    dev = [r for s in SUBJECTS for r in make_questions(s, 5, seed=8)]
    return write_hub_layout(tmp_path_factory.mktemp("cais-mmlu"), {"test": MMMLU_ROWS, "dev": dev})


def global_test_rows():
    rows = global_rows(MMMLU_ROWS)
    rows[3] = {**rows[3], "option_c": ""}  # Global-MMLU has some empty options
    return rows


@pytest.fixture(scope="module")
def global_folder(tmp_path_factory):
    dev = global_rows([r for s in SUBJECTS for r in make_questions(s, 5, seed=9)])
    return write_global_mmlu(tmp_path_factory.mktemp("global-mmlu"),
                             {"es": {"test": global_test_rows(), "dev": dev}})


REDUX_ROWS = [{**r, "error_type": "ok"} for r in MMMLU_ROWS]
REDUX_ROWS[1] = {**REDUX_ROWS[1], "error_type": "wrong_groundtruth", "correct_answer": "ABCD"[(MMMLU_ROWS[1]["answer"] + 1) % 4]}
REDUX_ROWS[2] = {**REDUX_ROWS[2], "error_type": "wrong_groundtruth", "correct_answer": str((MMMLU_ROWS[2]["answer"] + 2) % 4)}
REDUX_ROWS[3] = {**REDUX_ROWS[3], "error_type": "wrong_groundtruth", "correct_answer": None}
REDUX_ROWS[6] = {**REDUX_ROWS[6], "error_type": "no_correct_answer", "correct_answer": "none of them"}
REDUX_ROWS[8] = {**REDUX_ROWS[8], "error_type": "bad_question_clarity"}


@pytest.fixture(scope="module")
def redux_folder(tmp_path_factory):
    # Redux's order is not MMLU's: the annotations are stored reversed, to be matched by text
    return write_redux(tmp_path_factory.mktemp("redux"), list(reversed(REDUX_ROWS)))


# -- loading ------------------------------------------------------------------------------------------


def test_mmlu_pro_is_recognised_by_its_columns_and_keeps_up_to_ten_options(pro_folder, pro_rows):
    source = open_source(str(pro_folder))
    assert isinstance(source, FamilySource) and source.adapter is MMLU_PRO
    # categories are the subjects: "computer science" -> computer_science, "other" -> miscellaneous
    assert source.subjects("test") == ["biology", "computer_science", "miscellaneous"]
    questions = source.load("test", ["computer_science"])["computer_science"]
    rows = [r for r in pro_rows[0] if r["category"] == "computer science"]
    assert [len(q.choices) for q in questions] == [10, 10, 8, 10]  # "N/A" options dropped
    for q, r in zip(questions, rows):
        assert q.expected == r["answer"] and q.choices == tuple(o for o in r["options"] if o != "N/A")
        assert q.letters == tuple("ABCDEFGHIJ"[:len(q.choices)]) and q.meta["category"] == "computer science"
    shots = source.shots("computer_science", 2)
    assert [q.meta["cot"] for q in shots] == [r["cot_content"] for r in pro_rows[1]
                                              if r["category"] == "computer science"][:2]


def test_mmlu_pro_by_hub_id_path_and_one_file_give_the_same_questions(pro_folder, tmp_path):
    by_folder = open_source(str(pro_folder)).load("test", ["biology", "miscellaneous"])
    by_hub_path = FamilySource(str(pro_folder), MMLU_PRO).load("test", ["biology", "miscellaneous"])
    single = tmp_path / "pro.parquet"
    single.write_bytes((pro_folder / "data" / "test-00000-of-00001.parquet").read_bytes())
    by_file = open_source(str(single)).load("test", ["biology", "miscellaneous"])
    as_tuples = lambda d: {s: [(q.index, q.question, q.choices, q.answer) for q in qs] for s, qs in d.items()}  # noqa
    assert as_tuples(by_folder) == as_tuples(by_hub_path) == as_tuples(by_file)
    assert by_hub_path["biology"][0].meta == by_folder["biology"][0].meta


def test_mmlu_pro_subjects_work_in_selection_and_categories():
    available = ["biology", "computer_science", "miscellaneous", "law"]
    assert resolve_selection(["computer_science"], available) == ["computer_science"]
    assert resolve_selection(["stem"], available) == ["biology", "computer_science"]
    assert category_of("miscellaneous") == "other" and category_of("law") == "humanities"


@pytest.mark.parametrize("change, problem", [
    ({"answer": "J", "answer_index": 9, "options": ["1", "2", "3", "4"]}, "row 2: answer 9 is not one of its 4 choices"),
    ({"answer": "B", "answer_index": 2}, "row 2: answer 'B' and answer_index 2 disagree"),
    ({"answer": "J", "answer_index": 9}, "row 2: the answer 'J' is an N/A option"),
    ({"options": ["only one"], "answer": "A", "answer_index": 0}, "row 2: 1 choice, not 2 to 10"),
])
def test_a_row_whose_answer_is_not_one_of_its_choices_is_named_by_file_and_row(tmp_path, change, problem):
    rows = make_pro_questions("law", 3, seed=4)
    rows[1] = {**rows[1], "options": rows[1]["options"][:9] + ["N/A"], **change}
    folder = write_mmlu_pro(tmp_path / "pro", rows, rows)
    with pytest.raises(DatasetError, match=re.escape(problem)) as info:
        open_source(str(folder)).load("test", ["law"])
    assert str(folder) in str(info.value) and "test" in str(info.value)


def test_mmmlu_picks_the_language_config(mmmlu_folder):
    for language, word in (("ES_LA", "Pregunta"), ("ja_jp", "問題")):
        source = open_source(str(mmmlu_folder), language)
        assert source.language == language.upper() and source.subjects("test") == list(SUBJECTS)
        got = source.load("test", ["virology"])["virology"]
        want = [r for r in MMMLU_ROWS if r["subject"] == "virology"]
        assert [(q.question, q.choices, q.answer) for q in got] == \
            [(f"{word}: {r['question']}", tuple(r["choices"]), r["answer"]) for r in want]
        assert got[0].meta["language"] == language.upper()


@pytest.mark.parametrize("code, message", [
    ("ES", "unknown MMMLU language 'ES'; did you mean: ES_LA"),
    ("JA-JB", "did you mean: JA_JP"),
    (None, "MMMLU needs --mmlu-language: one of AR_XY, BN_BD"),
])
def test_mmmlu_language_must_be_one_of_its_14(mmmlu_folder, code, message):
    with pytest.raises(DatasetError, match=re.escape(message)):
        open_source(str(mmmlu_folder), code)


def test_language_is_refused_for_a_dataset_with_one_language(tmp_path):
    folder = write_hub_layout(tmp_path / "m", {"test": MMMLU_ROWS})
    with pytest.raises(DatasetError, match=re.escape("--mmlu-language applies to MMMLU, Global-MMLU (and -Lite) "
                                                     "and MMLU-ProX (and -Lite), not to")):
        open_source(str(folder), "ES_LA")


def test_mmmlu_shots_come_from_english_mmlu(mmmlu_folder, english_mmlu, monkeypatch):
    import pytest_mmlu.data.family as family
    monkeypatch.setattr(family, "ENGLISH_MMLU", str(english_mmlu))
    source = open_source(str(mmmlu_folder), "ES_LA")
    shots = source.shots("astronomy", 2)
    assert [q.question for q in shots] == [r["question"] for r in make_questions("astronomy", 2, seed=8)]
    assert any("English" in note and str(english_mmlu) in note for note in source.notes(2))


def test_global_mmlu_reports_empty_options_and_keeps_cultural_labels(global_folder):
    source = open_source(str(global_folder), "es")
    questions = source.load("test", list(SUBJECTS))
    assert sum(len(qs) for qs in questions.values()) == len(MMMLU_ROWS) - 1
    [note] = source.notes()
    assert note == f"1 row left out: {global_folder / 'es' / 'test-00000-of-00001.parquet'} row 4 (astronomy: empty option C)"
    labels = [q.meta.get("cultural_sensitivity") for q in questions["astronomy"]]
    assert labels == ["CS", "CA", None, "CA"]  # row 4 (a CS) is the one left out
    assert [q.question for q in source.shots("virology", 2)] == \
        [r["question"] for r in make_questions("virology", 2, seed=9)]
    with pytest.raises(DatasetError, match=r"unknown Global-MMLU language 'esp'; did you mean: es"):
        open_source(str(global_folder), "esp")


def test_redux_carries_error_types_and_corrected_answers(redux_folder):
    source = open_source(str(redux_folder))
    assert source.subjects("test") == list(SUBJECTS)
    by_text = {q.question: q for q in source.load("test", list(SUBJECTS))["astronomy"]}
    for i, row in enumerate(REDUX_ROWS[:5]):
        q = by_text[row["question"]]
        assert q.meta["error_type"] == row["error_type"]
        if i in (1, 2):  # a letter and a digit: both accepted
            assert q.answer == (row["answer"] + i) % 4 and q.meta["original_answer"] == "ABCD"[row["answer"]]
        else:
            assert q.answer == row["answer"] and "original_answer" not in q.meta


def test_redux_annotations_match_by_subject_and_text_not_position(redux_folder, tmp_path):
    mmlu = open_source(str(write_hub_layout(tmp_path / "m", {"test": MMMLU_ROWS})))
    questions = [q for qs in mmlu.load("test", list(SUBJECTS)).values() for q in qs]
    extra = Question("astronomy", 99, "A question Redux never saw", ("1", "2", "3", "4"), 0)
    found, info = annotate(str(redux_folder), questions + [extra])
    assert found[("astronomy", 1)] == "wrong_groundtruth" and found[("virology", 3)] == "bad_question_clarity"
    assert found[("virology", 1)] == "no_correct_answer"
    assert sum(1 for v in found.values() if v != "ok") == 5 and ("astronomy", 99) not in found
    assert info["matched"] == len(MMMLU_ROWS) and info["unmatched"] == 0
    with pytest.raises(DatasetError, match="not MMLU-Redux data"):
        annotate(str(tmp_path / "m"), questions)


def test_mmlu_pro_prompt_follows_the_official_format(pro_folder):
    source = open_source(str(pro_folder))
    q = source.load("test", ["computer_science"])["computer_science"][2]
    shot = source.shots("computer_science", 1)[0]
    text = build("mmlu-pro", q, [shot]).text
    assert text.startswith("The following are multiple choice questions (with answers) about computer science. "
                           "Think step by step and then output the answer in the format of \"The answer is (X)\" "
                           "at the end.\n\nQuestion: ")
    assert "\nAnswer: Let's think step by step." in text and "\nOptions: A. " in text
    assert text.endswith(f"H. {q.choices[7]}\nAnswer: ") and "N/A" not in text


def test_plain_mmlu_cache_keys_are_the_same_as_before():
    """Recorded from main before the family was added: same prompt, same key."""
    from pytest_mmlu.engine.evaluation import Evaluation
    from pytest_mmlu.engine.settings import Settings

    q = Question("astronomy", 3, "What is 2 + 2?", ("3", "4", "5", "6"), 1)
    shot = Question("astronomy", 0, "What is 1 + 1?", ("1", "2", "3", "4"), 1)
    keys = {}
    for scoring in ("logprobs", "generate"):
        settings = Settings(backend="llama", model=None, base_urls=("http://127.0.0.1:9",), subjects=("all",),
                            dataset="cais/mmlu", split="test", shots=0, limit=None, scoring=scoring, prompt=None)
        ev = Evaluation(settings, Path("/tmp"), None)
        ev._shots["astronomy"] = [shot]
        keys[scoring] = ev.key_for(ev.prompt(q))
    assert keys == RECORDED_KEYS


# recorded from main before the family was added; the generate key was recorded again when issue 9
# changed the instruct prompt on purpose (its text is part of the key)
RECORDED_KEYS = {"logprobs": "9a8364dd782db7add30b7a32c32504a17efd5c3f332e2c938a0271f9f84071ce",
                 "generate": "a5bbcaa50ce9d41207b8549130459535328c7f938620ffca65299daaa3a17af9"}


# -- end to end, as users run them ----------------------------------------------------------------------

FULL_WIDTH = {x: chr(0xFF21 + i) for i, x in enumerate("ABCDEFGHIJ")}
TEMPLATES = {
    "pro": lambda a, b, x: f"Let's think step by step. {a} + {b} = {a + b}. The answer is ({x}).",
    "ES_LA": lambda a, b, x: f"Vamos a razonar: {a} + {b} = {a + b}.\n\n**Respuesta: {x}**",
    "JA_JP": lambda a, b, x: f"計算すると {a} + {b} = {a + b} です。\n答え：{FULL_WIDTH[x]}",
    "es": lambda a, b, x: f"La suma da {a + b}.\nRespuesta: ({x})",
    "en": lambda a, b, x: f"{a} + {b} = {a + b}.\nAnswer: {x}",
}
# the same replies read by hand, independently of the plugin's extractor
READ_BACK = {
    "pro": r"The answer is \(([A-J])\)\.$", "ES_LA": r"\*\*Respuesta: ([A-D])\*\*$", "JA_JP": r"答え：([Ａ-Ｄ])$",
    "es": r"Respuesta: \(([A-D])\)$", "en": r"Answer: ([A-D])$",
}


def solver(style):
    """A model that adds up the last question's numbers: wrong when the sum is a multiple of 3,
    silent (nothing to read) when it is a multiple of 13."""
    def answer(prompt):
        m = list(re.finditer(r"what is (\d+) \+ (\d+)\?", prompt))[-1]
        a, b = int(m[1]), int(m[2])
        options = re.findall(r"^(?:Options: )?([A-J])\. (-?\d+)$", prompt[m.end():], re.M)
        letters = [x for x, _ in options]
        right = next(x for x, v in options if int(v) == a + b)
        if (a + b) % 13 == 0:
            return "No estoy seguro." if style != "JA_JP" else "わかりません。"
        chosen = letters[(letters.index(right) + 1) % len(letters)] if (a + b) % 3 == 0 else right
        return TEMPLATES[style](a, b, chosen)
    return answer


def independent(report, style):
    """Correct / wrong / unparsed, recomputed from the replies in the report."""
    counts = {"correct": 0, "wrong": 0, "unparsed": 0}
    for q in report["questions"]:
        m = re.search(READ_BACK[style], q["reply"])
        letter = m and "ABCDEFGHIJ"["ABCDEFGHIJＡＢＣＤ".index(m[1]) % 10]
        assert q["predicted"] == letter, q
        counts["unparsed" if not letter else "correct" if letter == q["expected"] else "wrong"] += 1
    return counts


def run(pytester, *args):
    report = pytester.path / "report.json"
    return run_pytest(pytester, "-p", "no:randomly", f"--mmlu-report={report}", "--mmlu-no-cache", *args,
                      report=report)


def check_numbers(report, style):
    counts = independent(report, style)
    overall = report["overall"]
    assert {k: overall[k] for k in counts} == counts and overall["errors"] == 0
    assert counts["correct"] and counts["wrong"]  # the data has both, and most runs some unparsed
    return counts


def test_mmlu_pro_generate_reads_the_answer_is_x(pytester, pro_folder, pro_rows):
    with OpenAIFake("openai", answer=solver("pro")) as fake:
        result = run(pytester, "--mmlu-backend=openai", f"--mmlu-base-url={fake.url}",
                     f"--mmlu-dataset={pro_folder}", "--mmlu-shots=2", "--mmlu-min-accuracy=computer_science=0.1")
        prompts = [r.body["messages"][-1]["content"] for r in fake.requests if r.method == "POST"]
    assert result.report is not None, result.stdout.str()
    result.stdout.fnmatch_lines(["mmlu: dataset * (MMLU-Pro, local hub layout)*", "*prompt mmlu-pro*",
                                 "computer_science *", "miscellaneous *"])
    assert all(p.startswith("The following are multiple choice questions") and p.endswith("Answer: ")
               for p in prompts)
    assert sum("Let's think step by step." in p for p in prompts) == len(prompts)  # the CoT shots
    check_numbers(result.report, "pro")
    expected = {(r["category"], i): r["answer"] for i, r in enumerate(pro_rows[0])}
    assert sorted(q["expected"] for q in result.report["questions"]) == sorted(expected.values())
    assert result.report["gates"][0]["holds"]


def test_mmlu_pro_with_ten_options_in_logprobs_scoring(pytester, pro_folder, llama_server):
    result = run(pytester, "--mmlu-backend=llama", f"--mmlu-base-url={llama_server}", f"--mmlu-dataset={pro_folder}",
                 "--mmlu-scoring=logprobs", "--mmlu-subject=computer_science")
    assert result.report is not None, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*scoring logprobs (completions: the next token after the prompt); prompt harness*"])
    questions = result.report["questions"]
    assert len(questions) == 4 and result.report["overall"]["errors"] == 0
    seen_beyond_d = False
    for q in questions:
        letters = "ABCDEFGHIJ"[:8 if q["index"] == 2 else 10]
        assert set(q["logprobs"]) <= set(letters) and q["predicted"] in letters
        # the verdict is the most likely of the question's own letters, recomputed here
        assert q["predicted"] == max(q["logprobs"], key=lambda x: (q["logprobs"][x], -letters.index(x)))
        seen_beyond_d |= bool(set(q["logprobs"]) - set("ABCD"))
    assert seen_beyond_d  # E-J were scored, not only A-D
    correct = sum(q["predicted"] == q["expected"] for q in questions)
    assert result.report["overall"]["correct"] == correct


def test_mmlu_pro_with_ten_options_in_generate_scoring_on_a_real_server(pytester, pro_folder, llama_server):
    from pytest_mmlu.scoring.extract import extract_pro

    result = run(pytester, "--mmlu-backend=llama", f"--mmlu-base-url={llama_server}", f"--mmlu-dataset={pro_folder}",
                 "--mmlu-scoring=generate", "--mmlu-subject=computer_science", "--mmlu-limit=2",
                 "--mmlu-max-tokens=24")
    assert result.report is not None, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*scoring generate; prompt mmlu-pro*"])
    report = result.report
    assert report["overall"]["errors"] == 0 and len(report["questions"]) == 2
    correct = unparsed = 0
    for q in report["questions"]:  # recomputed from the replies, with this question's own letters
        letters = "ABCDEFGHIJ"[:8 if q["index"] == 2 else 10]
        letter = extract_pro(q["reply"], letters).letter if q["reply"] else None
        assert q["predicted"] == letter
        correct += letter == q["expected"]
        unparsed += letter is None
    assert (report["overall"]["correct"], report["overall"]["unparsed"]) == (correct, unparsed)


@pytest.mark.parametrize("language, xdist", [("ES_LA", ("-n", "2")), ("JA_JP", ("-p", "no:xdist"))])
def test_mmmlu_in_spanish_and_japanese(pytester, mmmlu_folder, english_mmlu, language, xdist):
    pytester.makeconftest(f"import pytest_mmlu.data.family as f\nf.ENGLISH_MMLU = {str(english_mmlu)!r}\n")
    with OpenAIFake("openai", answer=solver(language)) as fake:
        result = run(pytester, "--mmlu-backend=openai", f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={mmmlu_folder}",
                     f"--mmlu-language={language.lower()}", "--mmlu-shots=1", *xdist)
        prompts = [r.body["messages"][-1]["content"] for r in fake.requests if r.method == "POST"]
    assert result.report is not None, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines([f"mmlu: dataset * (MMMLU {language}, local hub layout)*",
                                 f"mmlu: few-shot examples come from the dev split of {english_mmlu}, in English"])
    assert all(p.startswith("The following is a multiple choice question about") for p in prompts)  # as in English
    shot = make_questions("astronomy", 1, seed=8)[0]["question"]
    assert sum(shot in p for p in prompts) == 5  # the English shot in every astronomy prompt
    ids = sorted(q["nodeid"] for q in result.report["questions"])
    assert ids[0] == f"mmlu::{language}::astronomy::q0000" and len(ids) == len(MMMLU_ROWS)
    assert {q["language"] for q in result.report["questions"]} == {language}
    check_numbers(result.report, language)
    assert result.report["config"]["language"] == language


def test_mmmlu_node_ids_carry_the_language(pytester, mmmlu_folder):
    result = pytester.runpytest_subprocess("--mmlu-backend=llama", f"--mmlu-dataset={mmmlu_folder}",
                                           "--mmlu-language=ES_LA", "--collect-only", "-q", "-k", "virology")
    result.stdout.fnmatch_lines(["mmlu::ES_LA::virology::q0000", "5/10 tests collected*"])
    bad = pytester.runpytest_subprocess("--mmlu-backend=llama", f"--mmlu-dataset={mmmlu_folder}",
                                        "--mmlu-language=es")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*unknown MMMLU language 'es'; did you mean: ES_LA*"])


def test_global_mmlu_splits_culturally_sensitive_and_agnostic(pytester, global_folder):
    with OpenAIFake("openai", answer=solver("es")) as fake:
        result = run(pytester, "--mmlu-backend=openai", f"--mmlu-base-url={fake.url}",
                     f"--mmlu-dataset={global_folder}", "--mmlu-language=es")
    assert result.report is not None, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["mmlu: 1 row left out: *test-00000-of-00001.parquet row 4 (astronomy: empty option C)",
                                 "Global-MMLU cultural sensitivity", "culturally sensitive (CS) *",
                                 "culturally agnostic (CA) *", "not annotated *"])
    check_numbers(result.report, "es")
    rows = result.report["breakdowns"]["cultural"]["rows"]
    for label, name in (("CS", "culturally sensitive (CS)"), ("CA", "culturally agnostic (CA)")):
        mine = [q for q in result.report["questions"] if q.get("cultural_sensitivity") == label]
        assert rows[name]["correct"] == sum(q["outcome"] == "passed" for q in mine)
        assert rows[name]["total"] == len(mine) > 0


def test_redux_data_scores_corrected_answers_and_splits_by_error_type(pytester, redux_folder):
    with OpenAIFake("openai", answer=solver("en")) as fake:
        result = run(pytester, "--mmlu-backend=openai", f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={redux_folder}")
    assert result.report is not None, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["MMLU-Redux error types", "all questions *", "without known-bad questions *",
                                 "error type ok *", "*2 wrong_groundtruth questions are scored against the "
                                 "annotators' corrected answer*"])
    check_numbers(result.report, "en")
    corrected = [q for q in result.report["questions"] if q.get("original_answer")]
    assert len(corrected) == 2 and all(q["expected"] != q["original_answer"] for q in corrected)
    ok = [q for q in result.report["questions"] if q["error_type"] == "ok"]
    row = result.report["breakdowns"]["redux"]["rows"]["without known-bad questions"]
    assert (row["correct"], row["total"]) == (sum(q["outcome"] == "passed" for q in ok), 5)


@pytest.mark.parametrize("xdist", [("-p", "no:xdist"), ("-n", "2")])
def test_redux_beside_a_plain_mmlu_run(pytester, redux_folder, tmp_path, xdist):
    mmlu = write_hub_layout(tmp_path / "mmlu", {"test": MMMLU_ROWS})
    with OpenAIFake("openai", answer=solver("en")) as fake:
        result = run(pytester, "--mmlu-backend=openai", f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={mmlu}",
                     f"--mmlu-redux={redux_folder}", *xdist)
    assert result.report is not None, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines([f"mmlu: MMLU-Redux annotations from {redux_folder}*: 10 of 10 matched*",
                                 "all questions *", "without known-bad questions *"])
    counts = check_numbers(result.report, "en")
    # known-bad by the test's own table (positions in MMMLU_ROWS), not by the plugin's matching
    bad = {(r["subject"], i % 5) for i, r in enumerate(REDUX_ROWS) if r["error_type"] != "ok"}
    kept = [q for q in result.report["questions"] if (q["subject"], q["index"]) not in bad]
    rows = result.report["breakdowns"]["redux"]["rows"]
    assert rows["all questions"]["correct"] == counts["correct"]
    assert (rows["without known-bad questions"]["correct"], rows["without known-bad questions"]["total"]) == \
        (sum(q["outcome"] == "passed" for q in kept), len(kept))
    # plain MMLU: the original labels, not Redux's corrections
    assert not any(q.get("original_answer") for q in result.report["questions"])


# -- a real chat model behind a real server: MMMLU in Spanish and Japanese -------------------------


# chat_server: conftest's llama_cpp.server on SmolLM2, shared with the chat-model tests


def test_mmmlu_with_a_real_chat_model(pytester, mmmlu_folder, chat_server):
    from pytest_mmlu.scoring.extract import extract_multilingual

    reports = {}
    for language in ("ES_LA", "JA_JP"):
        result = run(pytester, "--mmlu-backend=llama", f"--mmlu-base-url={chat_server}", f"--mmlu-dataset={mmmlu_folder}",
                     f"--mmlu-language={language}", "--mmlu-scoring=generate", "--mmlu-subject=virology",
                     "--mmlu-limit=2", "--mmlu-max-tokens=48")
        assert result.report is not None, result.stdout.str() + result.stderr.str()
        reports[language] = report = result.report
        assert report["overall"]["errors"] == 0 and len(report["questions"]) == 2
        # the numbers, recomputed from the replies in the report
        correct = unparsed = 0
        for q in report["questions"]:
            letter = extract_multilingual(q["reply"]).letter if q["reply"] else None
            assert q["predicted"] == letter and q["nodeid"].startswith(f"mmlu::{language}::virology::")
            correct += letter == q["expected"]
            unparsed += letter is None
        assert (report["overall"]["correct"], report["overall"]["unparsed"]) == (correct, unparsed)
    # the same questions in two languages: different prompts, different node ids, different replies
    assert {q["nodeid"].split("::", 2)[2] for q in reports["ES_LA"]["questions"]} == \
        {q["nodeid"].split("::", 2)[2] for q in reports["JA_JP"]["questions"]}


def test_shots_from_a_split_the_data_lacks_say_which(tmp_path):
    folder = write_global_mmlu(tmp_path / "g", {"es": {"test": global_rows(MMMLU_ROWS)}})
    with pytest.raises(DatasetError, match=r"has no 'dev' split for config 'es'"):
        open_source(str(folder), "es").shots("astronomy", 1)
    pro = write_mmlu_pro(tmp_path / "p", make_pro_questions("law", 3), make_pro_questions("law", 2))
    with pytest.raises(DatasetError, match=r"--mmlu-shots needs the 'validation' split of MMLU-Pro; it has 2 "
                                           r"questions for law, not 3"):
        open_source(str(pro)).shots("law", 3)
