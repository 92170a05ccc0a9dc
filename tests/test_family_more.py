"""More of the MMLU family: MMLU-ProX (and -Lite), Global-MMLU-Lite, KMMLU and CMMLU, each in its own layout,
loaded through `datasets` and run end to end the way users run them."""

import csv
import json
import re
from pathlib import Path

import pytest

from pytest_mmlu.core.subjects import category_of, resolve_selection
from pytest_mmlu.data import DatasetError, FamilySource, open_source
from pytest_mmlu.data.cmmlu import CMMLU
from pytest_mmlu.data.global_mmlu import GLOBAL_MMLU, GLOBAL_MMLU_LITE
from pytest_mmlu.data.kmmlu import KMMLU
from pytest_mmlu.data.mmlu_prox import MMLU_PROX, MMLU_PROX_LITE
from pytest_mmlu.data.registry import adapter_for_id

from datafolders import (
    global_rows,
    make_pro_questions,
    make_questions,
    prox_rows,
    write_cmmlu,
    write_global_mmlu,
    write_kmmlu,
    write_mmlu_prox,
)
from fakeservers import OpenAIFake
from runs import run_pytest

PROX_LANGUAGES = ("af, ar, bn, cs, de, en, es, fr, hi, hu, id, it, ja, ko, mr, ne, pt, ru, sr, sw, te, th, uk, ur, "
                  "vi, wo, yo, zh, zu")
NOT_FOR_ONE_LANGUAGE = ("--mmlu-language applies to MMMLU, Global-MMLU (and -Lite) and MMLU-ProX (and -Lite), "
                        "not to {}")
KNOWN = ("MMLU-Pro, MMLU-ProX, MMLU-ProX-Lite, MMMLU, Global-MMLU, Global-MMLU-Lite, MMLU-Redux, KMMLU, CMMLU "
         "or MixEval")

# -- the data, each in its repository's layout -------------------------------------------------------------------

PRO_CATEGORIES = ("biology", "computer science", "other")
WORD = {"ja": "問題", "sw": "Swali"}  # the same questions "translated": a marker before each


def prox_split(seed: int, per_category: int, language: str) -> list[dict]:
    rows = prox_rows([r for c in PRO_CATEGORIES for r in make_pro_questions(c, per_category, seed=seed)])
    return [{**r, "question": f"{WORD[language]}: {r['question']}"} for r in rows]


def write_prox(root: Path) -> Path:
    return write_mmlu_prox(root, {lang: {"test": prox_split(1, 4, lang), "validation": prox_split(2, 2, lang)}
                                  for lang in WORD})


@pytest.fixture(scope="module")
def prox_folder(tmp_path_factory):
    return write_prox(tmp_path_factory.mktemp("mmlu-prox"))


KMMLU_SUBJECTS = ("Accounting", "Korean-History", "Math")


def korean(rows):
    return [{**r, "question": f"문제: {r['question']}"} for r in rows]


KMMLU_TEST = korean([r for s in KMMLU_SUBJECTS for r in make_questions(s, 4, seed=11)])
KMMLU_DEV = korean([r for s in KMMLU_SUBJECTS for r in make_questions(s, 5, seed=12)])


@pytest.fixture(scope="module")
def kmmlu_folder(tmp_path_factory):
    return write_kmmlu(tmp_path_factory.mktemp("kmmlu"), {"train": KMMLU_DEV, "dev": KMMLU_DEV, "test": KMMLU_TEST})


CMMLU_SUBJECTS = ("ancient_chinese", "arts", "anatomy")


def chinese(rows):
    return [{**r, "question": f"问题：{r['question']}"} for r in rows]


CMMLU_TEST = chinese([r for s in CMMLU_SUBJECTS for r in make_questions(s, 4, seed=21)])
CMMLU_DEV = chinese([r for s in CMMLU_SUBJECTS for r in make_questions(s, 5, seed=22)])


@pytest.fixture(scope="module")
def cmmlu_folder(tmp_path_factory):
    return write_cmmlu(tmp_path_factory.mktemp("cmmlu"), {"dev": CMMLU_DEV, "test": CMMLU_TEST})


LITE_SUBJECTS = ("astronomy", "virology")


def lite_test_rows():
    rows = global_rows([r for s in LITE_SUBJECTS for r in make_questions(s, 6, seed=31)])  # labels CS, CA, -
    rows[4] = {**rows[4], "option_b": ""}  # an empty option: left out, and said so
    return rows


@pytest.fixture(scope="module")
def lite_folder(tmp_path_factory):
    dev = global_rows([r for s in LITE_SUBJECTS for r in make_questions(s, 5, seed=32)])
    # a -Lite copy has the full dataset's columns: its folder's name tells it
    return write_global_mmlu(tmp_path_factory.mktemp("x") / "Global-MMLU-Lite", {"es": {"test": lite_test_rows(),
                                                                                      "dev": dev}})


def numbers_in_csv(path: Path) -> list[int]:
    """KMMLU's answers as its file holds them (1 to 4), read without `datasets`."""
    with open(path, newline="", encoding="utf-8") as f:
        return [int(row["answer"]) for row in csv.DictReader(f)]


# -- loading -------------------------------------------------------------------------------------------------------


def test_hub_ids_name_each_dataset():
    assert adapter_for_id("li-lab/MMLU-ProX") is MMLU_PROX
    assert adapter_for_id("li-lab/MMLU-ProX-Lite") is MMLU_PROX_LITE
    assert adapter_for_id("CohereLabs/Global-MMLU-Lite") is GLOBAL_MMLU_LITE
    assert adapter_for_id("CohereForAI/Global-MMLU") is GLOBAL_MMLU
    assert adapter_for_id("HAERAE-HUB/KMMLU") is KMMLU
    assert adapter_for_id("haonan-li/cmmlu") is CMMLU


def test_mmlu_prox_picks_the_language_and_reads_its_ten_option_columns(prox_folder):
    for code, language in (("ja", "ja"), ("SW", "sw")):
        source = open_source(str(prox_folder), code)
        assert isinstance(source, FamilySource) and source.adapter is MMLU_PROX and source.language == language
        assert source.describe() == f"{prox_folder} (MMLU-ProX {language}, local hub layout)"
        assert source.subjects("test") == ["biology", "computer_science", "miscellaneous"]
        got = source.load("test", ["computer_science"])["computer_science"]
        want = [r for r in prox_split(1, 4, language) if r["category"] == "computer science"]
        assert [len(q.choices) for q in got] == [10, 10, 8, 10]  # the nulls of the third are not options
        assert [(q.question, q.choices, q.expected) for q in got] == [
            (r["question"], tuple(r[f"option_{i}"] for i in range(10) if r[f"option_{i}"] is not None), r["answer"])
            for r in want]
        assert {q.meta["language"] for q in got} == {language} and got[0].meta["category"] == "computer science"
        shots = source.shots("miscellaneous", 2)  # MMLU-Pro's "other", from the validation split
        assert [(q.question, q.meta["cot"]) for q in shots] == [
            (r["question"], r["cot_content"]) for r in prox_split(2, 2, language) if r["category"] == "other"]


@pytest.mark.parametrize("code, message", [
    (None, f"MMLU-ProX needs --mmlu-language: one of {PROX_LANGUAGES}"),
    ("jp", f"unknown MMLU-ProX language 'jp'; did you mean: pt, ja? (one of {PROX_LANGUAGES})"),
])
def test_mmlu_prox_needs_one_of_its_29_languages(prox_folder, code, message):
    with pytest.raises(DatasetError) as info:
        open_source(str(prox_folder), code)
    assert str(info.value) == message


def test_a_lite_copy_is_told_by_its_folder_name(tmp_path, lite_folder):
    prox_lite = write_prox(tmp_path / "mmlu_prox_lite")
    source = open_source(str(prox_lite), "ja")
    assert source.adapter is MMLU_PROX_LITE and source.describe() == f"{prox_lite} (MMLU-ProX-Lite ja, local hub layout)"
    lite = open_source(str(lite_folder), "es")
    assert lite.adapter is GLOBAL_MMLU_LITE and lite.describe() == f"{lite_folder} (Global-MMLU-Lite es, local hub layout)"
    # Amharic is in Global-MMLU, not in its Lite version
    with pytest.raises(DatasetError, match=re.escape("unknown Global-MMLU-Lite language 'am'; did you mean: my, ja, "
                                                     "ar? (one of ar, bn, cs, cy, de, en, es, fr, hi, hu, id, it, ja, "
                                                     "ko, my, or, pt, sk, sq, sw, tg, yo, zh)")):
        open_source(str(lite_folder), "am")
    full = write_global_mmlu(tmp_path / "global", {"es": {"test": global_rows(make_questions("astronomy", 2))}})
    assert open_source(str(full), "es").adapter is GLOBAL_MMLU


def test_global_mmlu_lite_keeps_its_cultural_labels_and_says_what_it_left_out(lite_folder):
    source = open_source(str(lite_folder), "es")
    questions = source.load("test", list(LITE_SUBJECTS))
    assert [q.meta.get("cultural_sensitivity") for q in questions["astronomy"]] == ["CS", "CA", None, "CS", None]
    assert source.notes() == [f"1 row left out: {lite_folder / 'es' / 'test-00000-of-00001.parquet'} row 5 "
                              f"(astronomy: empty option B)"]
    assert [q.question for q in source.shots("virology", 2)] == \
        [r["question"] for r in make_questions("virology", 2, seed=32)]


def test_kmmlu_answers_count_from_one(kmmlu_folder):
    source = open_source(str(kmmlu_folder))
    assert source.adapter is KMMLU and source.subjects("test") == list(KMMLU_SUBJECTS)
    got = source.load("test", ["Korean-History"])["Korean-History"]
    numbers = numbers_in_csv(kmmlu_folder / "data" / "Korean-History-test.csv")
    assert numbers == [1, 3, 4, 1]  # the data's own numbers: 1 is A
    assert [q.expected for q in got] == ["A", "C", "D", "A"]
    assert [(q.question, q.choices) for q in got] == \
        [(r["question"], tuple(r["choices"])) for r in KMMLU_TEST if r["subject"] == "Korean-History"]
    assert [q.question for q in source.shots("Math", 2)] == \
        [r["question"] for r in KMMLU_DEV if r["subject"] == "Math"][:2]
    with pytest.raises(DatasetError) as info:
        open_source(str(kmmlu_folder), "ko")
    assert str(info.value) == NOT_FOR_ONE_LANGUAGE.format("KMMLU")


def test_kmmlu_subjects_sit_in_its_supercategories(kmmlu_folder):
    assert [category_of(s) for s in KMMLU_SUBJECTS] == ["humss", "humss", "stem"]
    assert category_of("Geomatics") == "applied_science" and category_of("Real-Estate") == "other"
    available = open_source(str(kmmlu_folder)).subjects("test")
    assert resolve_selection(["humss"], available) == ["Accounting", "Korean-History"]
    assert resolve_selection(["Math"], available) == ["Math"]


@pytest.mark.parametrize("answer, problem", [(0, "answer 0 is not one of 1-4"), (5, "answer 5 is not one of 1-4")])
def test_a_kmmlu_answer_outside_one_to_four_is_named_by_file_and_row(tmp_path, answer, problem):
    folder = write_kmmlu(tmp_path / "k", {"test": make_questions("Math", 3)})
    path = folder / "data" / "Math-test.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = next(csv.reader([lines[2]]))
    cells[1] = str(answer)
    lines[2] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        open_source(str(folder)).load("test", ["Math"])
    assert str(info.value) == f"malformed rows in {path}: row 2: {problem}"


@pytest.mark.parametrize("under", ["", "data"])  # the archive unpacked; the GitHub repository
def test_cmmlu_is_told_from_mmmlu_and_reads_its_letters(tmp_path, under):
    folder = write_cmmlu(tmp_path / "cmmlu", {"dev": CMMLU_DEV, "test": CMMLU_TEST}, under=under)
    source = open_source(str(folder))
    assert source.adapter is CMMLU and source.subjects("test") == sorted(CMMLU_SUBJECTS)
    got = source.load("test", ["arts"])["arts"]
    assert [(q.question, q.choices, q.expected) for q in got] == \
        [(r["question"], tuple(r["choices"]), "ABCD"[r["answer"]]) for r in CMMLU_TEST if r["subject"] == "arts"]
    assert [q.question for q in source.shots("anatomy", 1)] == \
        [next(r["question"] for r in CMMLU_DEV if r["subject"] == "anatomy")]


def test_cmmlu_from_the_hub_says_how_else_to_get_it(monkeypatch):
    import pytest_mmlu.data.family as family

    def scripted(*args, **kwargs):  # what `datasets` 4 and later answer for haonan-li/cmmlu
        raise RuntimeError("Dataset scripts are no longer supported, but found cmmlu.py")
    monkeypatch.setattr(family, "load_dataset", scripted)
    source = open_source("haonan-li/cmmlu")
    assert source.adapter is CMMLU and len(source.subjects("test")) == 67
    with pytest.raises(DatasetError) as info:
        source.load("test", ["agronomy"])
    assert str(info.value) == (
        "cannot load haonan-li/cmmlu (CMMLU) config 'agronomy' split 'test': Dataset scripts are no longer "
        "supported, but found cmmlu.py; the hub repository holds a loading script and cmmlu_v1_0_1.zip, which "
        "`datasets` no longer runs; download cmmlu_v1_0_1.zip, unzip it and pass the folder to --mmlu-dataset")


def test_cmmlu_categories_are_its_own_where_mmlu_has_no_such_subject():
    assert [category_of(s) for s in ("ancient_chinese", "arts", "college_medical_statistics", "agronomy")] == \
        ["social_sciences", "humanities", "stem", "other"]
    # a name MMLU also has keeps MMLU's category (CMMLU's paper puts anatomy under STEM)
    assert category_of("anatomy") == "other"


def test_unknown_columns_are_named_with_those_expected(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "items.csv").write_text("prompt,option1,option2,label\nwhat?,a,b,1\n", encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        open_source(str(folder))
    assert str(info.value) == (
        f"{folder} holds no MMLU data: expected <subject>/<split>-*.parquet (hub layout), "
        f"data/<split>/<subject>_<split>.csv (original CSV layout), a copy of a repository of {KNOWN}, or one "
        f".jsonl/.csv/.parquet file; its first data file, items.csv, has the columns label, option1, option2, prompt")
    with pytest.raises(DatasetError) as info:
        open_source(str(folder / "items.csv"))
    assert str(info.value) == (f"{folder / 'items.csv'} has the columns label, option1, option2, prompt: expected "
                               f"question, subject, choices, answer (MMLU) or the columns of {KNOWN}")


# -- end to end, as users run them ------------------------------------------------------------------------------

REPLIES = {  # style -> (the reply that names letter x, one that names none)
    "prox": (lambda s, x: f"Let's think step by step: the sum is {s}. The answer is ({x}).", "Not sure."),
    "kmmlu": (lambda s, x: f"합은 {s}입니다.\n정답: {x}", "모르겠습니다."),
    "cmmlu": (lambda s, x: f"和为{s}。\n答案：{x}", "不知道。"),
    "es": (lambda s, x: f"La suma da {s}.\nRespuesta: ({x})", "No lo sé."),
}


def sums(text: str) -> int:
    a, b = re.findall(r"what is (\d+) \+ (\d+)\?", text)[-1]
    return int(a) + int(b)


def solver(style):
    """A model that adds up the last question's numbers: wrong (the next letter) when the sum is a multiple
    of 3, with nothing to read when it is a multiple of 13."""
    named, unsure = REPLIES[style]

    def answer(prompt):
        s = sums(prompt)
        tail = prompt[list(re.finditer(r"what is \d+ \+ \d+\?", prompt))[-1].end():]
        options = re.findall(r"^(?:Options: )?([A-J])\. (-?\d+)$", tail, re.M)
        letters = [x for x, _ in options]
        right = next(x for x, v in options if int(v) == s)
        if s % 13 == 0:
            return unsure
        return named(s, letters[(letters.index(right) + 1) % len(letters)] if s % 3 == 0 else right)
    return answer


def expected_outcomes(rows: list[tuple[str, str, int]]) -> dict[str, tuple[str, str | None]]:
    """question text -> (outcome, predicted letter), from (question, right letter, number of choices) alone."""
    out = {}
    for text, right, n in rows:
        s = sums(text)
        predicted = None if s % 13 == 0 else "ABCDEFGHIJ"[("ABCDEFGHIJ".index(right) + 1) % n] if s % 3 == 0 else right
        out[text] = ("passed" if predicted == right else "failed", predicted)
    assert {o for o, _ in out.values()} == {"passed", "failed"}  # the data has both
    return out


def check(report, want):
    got = {q["question"]: (q["outcome"], q["predicted"]) for q in report["questions"]}
    assert got == want
    overall = report["overall"]
    assert (overall["correct"], overall["total"], overall["errors"]) == \
        (sum(o == "passed" for o, _ in want.values()), len(want), 0)


def run(pytester, style, *args):
    report = pytester.path / "report.json"
    with OpenAIFake("openai", answer=solver(style)) as fake:
        return run_pytest(pytester, "-p", "no:randomly", f"--mmlu-report={report}", "--mmlu-no-cache",
                          "--mmlu-backend=openai", f"--mmlu-base-url={fake.url}", *args, report=report)


def test_mmlu_prox_in_japanese_under_xdist(pytester, prox_folder):
    result = run(pytester, "prox", f"--mmlu-dataset={prox_folder}", "--mmlu-language=JA", "-n", "2")
    assert result.report is not None, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines([f"mmlu: dataset {prox_folder} (MMLU-ProX ja, local hub layout)*",
                                 "*prompt mmlu-pro*"])
    rows = prox_split(1, 4, "ja")
    check(result.report, expected_outcomes(
        [(r["question"], r["answer"], sum(r[f"option_{i}"] is not None for i in range(10))) for r in rows]))
    ids = sorted(q["nodeid"] for q in result.report["questions"])
    assert ids[:2] == ["mmlu::ja::biology::q0000", "mmlu::ja::biology::q0001"] and len(ids) == 12
    assert {q["language"] for q in result.report["questions"]} == {"ja"}
    assert result.report["config"]["language"] == "ja"


def test_kmmlu_expected_letters_come_from_its_numbers(pytester, kmmlu_folder):
    result = run(pytester, "kmmlu", f"--mmlu-dataset={kmmlu_folder}", "-p", "no:xdist")
    assert result.report is not None, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines([f"mmlu: dataset {kmmlu_folder} (KMMLU, local hub layout)*",
                                 "Accounting *", "Korean-History *", "Math *", "category", "humss *", "stem *"])
    rows = []
    for subject in KMMLU_SUBJECTS:
        numbers = numbers_in_csv(kmmlu_folder / "data" / f"{subject}-test.csv")
        texts = [r["question"] for r in KMMLU_TEST if r["subject"] == subject]
        rows += [(text, "ABCD"[number - 1], 4) for text, number in zip(texts, numbers)]
    want = expected_outcomes(rows)
    check(result.report, want)
    assert {q["nodeid"] for q in result.report["questions"]} >= {"mmlu::Korean-History::q0000", "mmlu::Math::q0003"}
    categories = result.report["categories"]
    assert sorted(categories) == ["humss", "stem"]
    assert categories["humss"]["total"] == 8 and categories["stem"]["total"] == 4
    assert categories["stem"]["correct"] == sum(want[t][0] == "passed" for t, _, _ in rows if "In Math" in t)


def test_cmmlu_with_shots_from_its_dev_split(pytester, cmmlu_folder):
    result = run(pytester, "cmmlu", f"--mmlu-dataset={cmmlu_folder}", "--mmlu-shots=1", "-p", "no:xdist")
    assert result.report is not None, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines([f"mmlu: dataset {cmmlu_folder} (CMMLU, local hub layout)*"])
    check(result.report, expected_outcomes([(r["question"], "ABCD"[r["answer"]], 4) for r in CMMLU_TEST]))
    shots = result.report["shots"]
    for subject in CMMLU_SUBJECTS:
        first_dev = next(r for r in CMMLU_DEV if r["subject"] == subject)
        assert first_dev["question"] in shots[subject]
    # CMMLU's own categories, anatomy (also an MMLU subject, "other" there) in its STEM
    assert sorted(result.report["categories"]) == ["humanities", "social_sciences", "stem"]
    assert result.report["config"]["categories"] == {"anatomy": "stem", "ancient_chinese": "social_sciences",
                                                     "arts": "humanities"}
    assert result.report["categories"]["stem"]["total"] == 4


def test_cmmlu_categories_select_its_subjects_and_read_back(cmmlu_folder, tmp_path):
    from pytest_mmlu.report.schema import read_report
    source = open_source(str(cmmlu_folder))
    assert resolve_selection(["stem"], source.subjects("test"), source.categories) == ["anatomy"]
    assert resolve_selection(["stem"], ["anatomy", "astronomy"]) == ["astronomy"]  # MMLU's: anatomy is "other"
    written = {"questions": [], "config": {"categories": {"anatomy": "stem"}}}
    (tmp_path / "r.json").write_text(json.dumps(written))
    (tmp_path / "old.json").write_text(json.dumps({"questions": [], "config": {}}))
    assert read_report(tmp_path / "r.json").category_of("anatomy") == "stem"
    assert read_report(tmp_path / "old.json").category_of("anatomy") == "other"  # before 0.2: MMLU's lookup


def test_global_mmlu_lite_reports_culturally_sensitive_and_agnostic_apart(pytester, lite_folder):
    result = run(pytester, "es", f"--mmlu-dataset={lite_folder}", "--mmlu-language=es", "-p", "no:xdist")
    assert result.report is not None, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines([f"mmlu: dataset {lite_folder} (Global-MMLU-Lite es, local hub layout)*",
                                 "mmlu: 1 row left out: *test-00000-of-00001.parquet row 5 (astronomy: empty option B)",
                                 "Global-MMLU cultural sensitivity", "culturally sensitive (CS) *",
                                 "culturally agnostic (CA) *", "not annotated *"])
    kept = [r for i, r in enumerate(lite_test_rows()) if i != 4]
    want = expected_outcomes([(r["question"], r["answer"], 4) for r in kept])
    check(result.report, want)
    rows = result.report["breakdowns"]["cultural"]["rows"]
    for label, name in (("CS", "culturally sensitive (CS)"), ("CA", "culturally agnostic (CA)"),
                        ("-", "not annotated")):
        mine = [r["question"] for r in kept if r["cultural_sensitivity_label"] == label]
        assert (rows[name]["correct"], rows[name]["total"]) == \
            (sum(want[t][0] == "passed" for t in mine), len(mine))
    assert [rows[n]["total"] for n in ("culturally sensitive (CS)", "culturally agnostic (CA)", "not annotated")] \
        == [4, 3, 4]


@pytest.mark.parametrize("case", ["no language", "unknown language", "unknown layout"])
def test_what_cannot_run_stops_with_one_line(pytester, prox_folder, tmp_path, case):
    if case == "unknown layout":
        odd = tmp_path / "odd"
        odd.mkdir()
        (odd / "items.csv").write_text("prompt,label\nwhat?,1\n", encoding="utf-8")
        args, line = (f"--mmlu-dataset={odd}",), (f"ERROR: {odd} holds no MMLU data: expected *, a copy of a "
                                                   f"repository of {KNOWN}, or one .jsonl/.csv/.parquet file; its "
                                                   f"first data file, items.csv, has the columns label, prompt")
    elif case == "no language":
        args, line = (f"--mmlu-dataset={prox_folder}",), f"ERROR: MMLU-ProX needs --mmlu-language: one of {PROX_LANGUAGES}"
    else:
        args, line = (f"--mmlu-dataset={prox_folder}", "--mmlu-language=xx"), \
            f"ERROR: unknown MMLU-ProX language 'xx' (one of {PROX_LANGUAGES})"
    result = pytester.runpytest_subprocess("--mmlu-backend=llama", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    errors = [x for x in result.stderr.lines if x.startswith("ERROR")]
    assert len(errors) == 1, result.stderr.str()
    result.stderr.fnmatch_lines([line])
    assert "Traceback" not in result.stderr.str()
