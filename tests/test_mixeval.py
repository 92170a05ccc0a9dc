"""MixEval's multiple-choice split (MixEval and MixEval-Hard): its release layout, its prompt, its subjects (the
source benchmarks), and questions with several right options, run end to end the way users run them."""

import json
import re
import subprocess
import sys

import pytest

from pytest_mmlu.core.question import Question
from pytest_mmlu.core.reply import Reply
from pytest_mmlu.core.subjects import category_of, resolve_selection
from pytest_mmlu.data import DatasetError, open_source
from pytest_mmlu.data.mixeval import MixEvalSource
from pytest_mmlu.prompts import build
from pytest_mmlu.report.bias import position_bias
from pytest_mmlu.report.calibration import calibration_of
from pytest_mmlu.scoring.verdict import Verdict, describe_failure

from datafolders import _readme, mixeval_item, write_mixeval
from fakeservers import OpenAIFake
from runs import run_pytest

INSTRUCTION = "Answer with the option letter from the given choices directly."

# marker -> (item, the letter the stand-in model gives); the marker starts each question so the model can find it
PLAN = {
    "m0": (mixeval_item("MMLU", None, "[m0] Which of these is prime?", ["4", "6", "7", "9"], [2]), "C"),
    "m1": (mixeval_item("MMLU", None, "[m1] Who wrote Hamlet?", ["Marlowe", "Shakespeare", "Jonson", "Kyd"], [1]),
           "A"),
    "b0": (mixeval_item("BoolQ", "Diet Rite is a brand of no-calorie soft drinks first sold by RC Cola.",
                        "[b0] is diet rite and diet rc the same", ["No", "Yes"], [1]), "B"),
    # several right options: the second one given passes, a letter outside them fails, the first one passes
    "c0": (mixeval_item("CommonsenseQA", "why", "[c0] He did not know why, it was just what?",
                        ["case", "reason", "how", "because", "answer"], [1, 3]), "D"),
    "h0": (mixeval_item("HellaSwag", "[header] How to bake bread [title] Mix the dough.", "[h0] What happens next?",
                        ["Knead it.", "Fly away.", "Let it rise.", "Sing."], [0, 2]), "B"),
    "h1": (mixeval_item("HellaSwag", "  ", "[h1] What happens after that?", ["Bake it.", "Drop it.", "Shape it.",
                                                                               "Eat the oven."], [0, 2]), "A"),
    "c1": (mixeval_item("CommonsenseQA", "none", "[c1] Where do fish live?", ["water", "sky", "desk", "moon",
                                                                              "car"], [0]), "A"),
    "p0": (mixeval_item("MMLU-Pro", None, "[p0] Which is the last letter?", list("abcdefghij"), [9]), "J"),
    "a0": (mixeval_item("ARC", None, "[a0] What do plants need to grow?", ["salt", "sand", "oil", "light"], [3]),
           "A"),
}
ITEMS = [item for item, _ in PLAN.values()]
HARD = [PLAN["m0"][0], PLAN["c0"][0]]
WANT = {  # marker -> (outcome, predicted, targets in the record)
    "m0": ("passed", "C", None), "m1": ("failed", "A", None), "b0": ("passed", "B", None),
    "c0": ("passed", "D", ["B", "D"]), "h0": ("failed", "B", ["A", "C"]), "h1": ("passed", "A", ["A", "C"]),
    "c1": ("passed", "A", None), "p0": ("passed", "J", None), "a0": ("failed", "A", None),
}
SUBJECTS = ["arc", "boolq", "commonsenseqa", "hellaswag", "mmlu", "mmlu_pro"]


def marker(text: str) -> str:
    return re.search(r"\[(\w\d)\]", text)[1]


def solver(style: str = "letter"):
    """The stand-in model: PLAN's letter, alone as MixEval asks for it, or as `Answer: X` (the stand-in's
    completions read their log-probabilities from that)."""
    def answer(prompt: str) -> str:
        letter = PLAN[marker(prompt)][1]
        return letter if style == "letter" else f"Answer: {letter}"
    return answer


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    return write_mixeval(tmp_path_factory.mktemp("mixeval"),
                         {"2024-08-11": {"mixeval": ITEMS, "mixeval-hard": HARD}})


@pytest.fixture(scope="module")
def release(releases):
    return releases / "mixeval-2024-08-11"


# -- the data -----------------------------------------------------------------------------------------------------


def test_a_release_folder_gives_mixeval_and_says_where_mixeval_hard_is(release):
    source = open_source(str(release))
    assert isinstance(source, MixEvalSource)
    assert source.describe() == f"{release} (MixEval, release folder)"
    assert source.notes() == [f"MixEval, not MixEval-Hard ({release / 'mixeval-hard'} for that one)"]
    assert source.subjects("test") == SUBJECTS
    assert source.default_prompt("generate") == source.default_prompt("logprobs") == "mixeval"
    assert source.extraction("mixeval") == "mmlu"
    hard = open_source(f"{release}:MixEval_Hard")
    assert hard.describe() == f"{release} (MixEval-Hard, release folder)" and hard.notes() == []
    assert hard.subjects("test") == ["commonsenseqa", "mmlu"]
    for spec, name, kind in ((release / "mixeval-hard", "MixEval-Hard", "release folder"),
                             (release / "mixeval" / "multiple-choice.json", "MixEval", "release file"),
                             (release.parent.parent, "MixEval", "release folder")):
        assert open_source(str(spec)).describe() == f"{spec} ({name}, {kind})"


def test_questions_put_the_context_first_and_keep_every_target(release):
    source = open_source(str(release / "mixeval"))
    loaded = source.load("test", SUBJECTS)
    by_marker = {marker(q.question): q for qs in loaded.values() for q in qs}
    assert set(by_marker) == set(PLAN)
    b0, c0, c1, h1, p0 = (by_marker[m] for m in ("b0", "c0", "c1", "h1", "p0"))
    assert b0.question == ("Diet Rite is a brand of no-calorie soft drinks first sold by RC Cola.\n"
                           "[b0] is diet rite and diet rc the same")
    assert (b0.answer, b0.targets, b0.expected_letters) == (1, (), ("B",))
    assert (c0.answer, c0.targets, c0.expected, c0.expected_letters) == (1, (1, 3), "B", ("B", "D"))
    assert c1.question == "[c1] Where do fish live?" and h1.question == "[h1] What happens after that?"
    assert p0.letters == tuple("ABCDEFGHIJ") and p0.expected == "J" and p0.subject == "mmlu_pro"
    assert [q.name for q in loaded["hellaswag"]] == ["q0000", "q0001"]


def test_the_prompt_is_mixevals_own(release):
    loaded = open_source(str(release / "mixeval")).load("test", ["boolq", "mmlu"])
    assert build("mixeval", loaded["boolq"][0]).text == (
        "Diet Rite is a brand of no-calorie soft drinks first sold by RC Cola.\n"
        "[b0] is diet rite and diet rc the same\n"
        "A. No\n"
        "B. Yes\n"
        "Answer with the option letter from the given choices directly.")
    assert build("mixeval", loaded["mmlu"][0]).text == (
        "[m0] Which of these is prime?\nA. 4\nB. 6\nC. 7\nD. 9\n" + INSTRUCTION)
    shot = build("mixeval", loaded["mmlu"][0], loaded["boolq"])  # as MixEval's five-shot prefix for base models
    assert shot.text.startswith(build("mixeval", loaded["boolq"][0]).text + "\nB\n\n[m0]")
    assert shot.without_shots()[0] == build("mixeval", loaded["mmlu"][0]).text


def test_a_local_copy_of_the_hub_repository_and_its_two_configs(tmp_path):
    for name, items in (("mixeval", ITEMS), ("mixeval-hard", HARD)):
        (tmp_path / "data" / name).mkdir(parents=True)
        lines = "".join(json.dumps(item) + "\n" for item in items)  # JSON lines, a list of records
        (tmp_path / "data" / name / "multiple-choice.jsonl").write_text(lines, encoding="utf-8")
    _readme(tmp_path, {"MixEval": [("free_form", "data/mixeval/free-form.jsonl"),
                                   ("multiple_choice", "data/mixeval/multiple-choice.jsonl")],
                       "MixEval_Hard": [("multiple_choice", "data/mixeval-hard/multiple-choice.jsonl")]}, "MixEval")
    source = open_source(str(tmp_path))
    assert source.describe() == f"{tmp_path} (MixEval, local hub layout)"
    assert source.notes() == [f"MixEval, not MixEval-Hard ({tmp_path}:MixEval_Hard for that one)"]
    assert source.subjects("multiple_choice") == SUBJECTS
    hard = open_source(f"{tmp_path}:mixeval-hard")
    assert hard.subjects("test") == ["commonsenseqa", "mmlu"]
    assert hard.load("test", ["commonsenseqa"])["commonsenseqa"][0].targets == (1, 3)


def test_the_hub_is_asked_for_the_config_and_its_multiple_choice_split(monkeypatch):
    asked = []

    class Loaded:
        def to_dict(self):
            return {k: [item[k] for item in HARD] for k in HARD[0]}

    def fake_load(*args, **kwargs):
        asked.append((args, kwargs))
        return Loaded()

    monkeypatch.setattr("pytest_mmlu.data.mixeval.load_dataset", fake_load)
    source = open_source("MixEval/MixEval:MixEval_Hard")
    assert source.describe() == "MixEval/MixEval (MixEval-Hard, hub)"
    assert source.subjects("test") == ["commonsenseqa", "mmlu"]
    assert asked == [(("MixEval/MixEval", "MixEval_Hard"), {"split": "multiple_choice"})]
    assert open_source("mixeval/mixeval").notes() == \
        ["MixEval, not MixEval-Hard (mixeval/mixeval:MixEval_Hard for that one)"]


@pytest.mark.parametrize("case", ["two releases", "hard on a file", "hard elsewhere", "other split", "shots"])
def test_what_is_ambiguous_or_absent_stops_in_one_line(releases, tmp_path, case):
    release = releases / "mixeval-2024-08-11"
    if case == "two releases":
        two = write_mixeval(tmp_path, {"2024-06-01": {"mixeval": ITEMS}, "2024-08-11": {"mixeval": ITEMS}})
        with pytest.raises(DatasetError, match=re.escape(
                f"{two} holds 2 MixEval releases (mixeval-2024-06-01/mixeval, mixeval-2024-08-11/mixeval): "
                f"pass the folder of one")):
            open_source(str(two))
    elif case == "hard on a file":
        file = release / "mixeval" / "multiple-choice.json"
        with pytest.raises(DatasetError, match=re.escape(f"{file} is one MixEval file already: pass it without "
                                                         f":MixEval_Hard")):
            open_source(f"{file}:MixEval_Hard")
    elif case == "hard elsewhere":
        with pytest.raises(DatasetError, match=r"names a config of MixEval, but \S+ \(MMLU-Pro, hub\) is not"):
            open_source("TIGER-Lab/MMLU-Pro:MixEval_Hard")
    elif case == "other split":
        with pytest.raises(DatasetError, match=re.escape("MixEval has one split to run, its multiple-choice "
                                                         "questions: --mmlu-split test (the default) or "
                                                         "multiple_choice, not 'validation'")):
            open_source(str(release)).subjects("validation")
    else:
        with pytest.raises(DatasetError, match="MixEval has no split of few-shot examples: run it with "
                                               "--mmlu-shots 0"):
            open_source(str(release)).shots("mmlu", 1)


def test_unknown_keys_free_form_and_bad_targets_are_named(tmp_path):
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({"0": {"prompt": "q?", "choices": ["a", "b"], "target": [0]}}, indent=2))
    with pytest.raises(DatasetError, match=re.escape(
            f"{odd} has the columns choices, prompt, target: expected problem_type, context, prompt, options, "
            f"target, benchmark_name (MixEval's multiple-choice.json)")):
        open_source(str(odd))
    folder = tmp_path / "mixeval"
    folder.mkdir()
    (folder / "multiple-choice.json").write_text(json.dumps({"0": {"prompt": "q?", "choices": ["a", "b"]}}))
    with pytest.raises(DatasetError, match=re.escape(
            f"{folder / 'multiple-choice.json'} has the keys choices, prompt: expected problem_type, context, "
            f"prompt, options, target, benchmark_name (MixEval's multiple-choice.json)")):
        open_source(str(folder)).subjects("test")
    free = tmp_path / "free-form.json"
    free.write_text(json.dumps({"0": {"problem_type": "free-form", "context": None, "prompt": "q?",
                                      "target": ["x"], "benchmark_name": "MATH", "options": []}}, indent=4))
    with pytest.raises(DatasetError, match="is MixEval's free-form split: only its multiple-choice questions"):
        open_source(str(free)).subjects("test")
    bad = tmp_path / "bad" / "mixeval"
    bad.mkdir(parents=True)
    (bad / "multiple-choice.json").write_text(json.dumps({
        "0": PLAN["m0"][0], "1": {**PLAN["m1"][0], "target": [4]}, "2": {**PLAN["b0"][0], "target": []}}))
    with pytest.raises(DatasetError, match=re.escape(
            "row 2: target [4] is not a list of indices of its 4 options (0-3); row 3: target [] is not a list "
            "of option indices")):
        open_source(str(bad)).subjects("test")


def test_its_subjects_have_their_own_category_and_are_chosen_by_name():
    assert {category_of(s) for s in SUBJECTS} == {"mixeval"}
    assert category_of("abstract_algebra") == "stem" and category_of("math") == "stem"  # MMLU's, MMLU-Pro's
    assert resolve_selection(["mmlu,arc"], SUBJECTS) == ["arc", "mmlu"]
    assert resolve_selection(["mixeval"], SUBJECTS) == SUBJECTS
    with pytest.raises(ValueError, match=r"unknown MMLU subject 'mmlu-pro'; did you mean: mmlu_pro"):
        resolve_selection(["mmlu-pro"], SUBJECTS)


# -- several right options ------------------------------------------------------------------------------------------


SEVERAL = Question("commonsenseqa", 0, "why?", ("case", "reason", "how", "because", "answer"), 1, targets=(1, 3))


def test_a_question_with_several_targets_passes_on_any_of_them():
    assert Verdict("B", False, "x").correct(SEVERAL) and Verdict("D", False, "x").correct(SEVERAL)
    assert not Verdict("C", False, "x").correct(SEVERAL) and not Verdict(None, True, "x").correct(SEVERAL)
    assert Question("mmlu", 0, "q", ("a", "b"), 1) == Question("mmlu", 0, "q", ("a", "b"), 1, {})  # positional
    text = describe_failure(SEVERAL, Verdict("C", False, "x"), Reply(text="C"))
    assert "wrong answer; expected B or D, got C" in text
    assert "  B. reason  <- expected" in text and "  D. because  <- expected" in text
    assert "  C. how  <- given" in text


def test_position_bias_leaves_several_targets_out_and_calibration_takes_the_best_right_letter():
    one = {"nodeid": "a", "subject": "mmlu", "expected": "A", "predicted": "B", "outcome": "failed",
           "choices": ["w", "x", "y", "z"], "logprobs": {"A": -2.0, "B": -0.1}}
    several = {"nodeid": "b", "subject": "hellaswag", "expected": "A", "targets": ["A", "C"], "predicted": "C",
               "outcome": "passed", "choices": ["w", "x", "y", "z"], "logprobs": {"C": 0.0}}
    bias = position_bias([one, several])
    assert bias.questions == 1 and bias.wrong_picks.get("C", 0) == 0 and bias.by_position["A"].total == 1
    overall, _ = calibration_of([several])
    assert overall.questions == 1 and overall.correct == 1 and overall.brier == 0.0  # all on a right letter


# -- runs -----------------------------------------------------------------------------------------------------------


def run(pytester, *args, style="letter", report_name="report.json"):
    report = pytester.path / report_name
    with OpenAIFake("openai", answer=solver(style)) as fake:
        result = run_pytest(pytester, "-p", "no:randomly", f"--mmlu-report={report}", "--mmlu-backend=openai",
                            f"--mmlu-base-url={fake.url}", *args, report=report, fresh=True)
        result.prompts = [r.body.get("prompt") or r.body["messages"][-1]["content"]
                          for r in fake.requests if r.method == "POST"]
    return result


def by_marker(report) -> dict:
    return {marker(q["question"]): q for q in report["questions"]}


def check(report, markers=tuple(PLAN)):
    got = {m: (q["outcome"], q["predicted"], q.get("targets")) for m, q in by_marker(report).items()}
    assert got == {m: WANT[m] for m in markers}
    assert report["overall"]["correct"] == sum(WANT[m][0] == "passed" for m in markers)


@pytest.mark.parametrize("xdist", [("-p", "no:xdist"), ("-n", "2")])
def test_a_release_runs_with_its_prompt_and_scores_per_benchmark(pytester, release, xdist):
    result = run(pytester, f"--mmlu-dataset={release}", "--mmlu-no-cache", f"--junitxml={pytester.path / 'j.xml'}",
                 *xdist)
    assert result.report is not None, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines([f"mmlu: dataset {release} (MixEval, release folder)*",
                                 "*scoring generate; prompt mixeval*",
                                 f"mmlu: MixEval, not MixEval-Hard ({release / 'mixeval-hard'} for that one)"])
    check(result.report)
    summary = result.stdout.str()
    for subject, correct in (("arc", "0/1"), ("boolq", "1/1"), ("commonsenseqa", "2/2"), ("hellaswag", "1/2"),
                             ("mmlu", "1/2"), ("mmlu_pro", "1/1")):
        assert re.search(rf"^{subject} +{correct} ", summary, re.M), subject
    assert re.search(r"^mixeval +6/9 ", summary, re.M) and re.search(r"^overall \(question-weighted\) +6/9 ", summary,
                                                                       re.M)
    assert sorted(result.report["subjects"]) == SUBJECTS and list(result.report["categories"]) == ["mixeval"]
    item = next(q for q in PLAN.values() if q[0]["prompt"].startswith("[c0]"))[0]
    asked = next(p for p in result.prompts if "[c0]" in p)
    assert asked == f"why\n{item['prompt']}\nA. case\nB. reason\nC. how\nD. because\nE. answer\n{INSTRUCTION}"
    assert by_marker(result.report)["c0"]["prompt"] == asked
    assert 'name="targets" value="B,D"' in (pytester.path / "j.xml").read_text()
    assert result.report["bias"]["questions"] == 6  # the three with several targets have no one position


def test_subjects_select_benchmarks_and_an_unknown_one_stops(pytester, release):
    result = run(pytester, f"--mmlu-dataset={release / 'mixeval'}", "--mmlu-no-cache", "--mmlu-subject=mmlu,arc",
                 "-p", "no:xdist")
    assert result.report is not None, result.stdout.str() + result.stderr.str()
    check(result.report, ("m0", "m1", "a0"))
    assert sorted(q["nodeid"] for q in result.report["questions"]) == \
        ["mmlu::arc::q0000", "mmlu::mmlu::q0000", "mmlu::mmlu::q0001"]
    result = pytester.runpytest_subprocess("--mmlu-backend=llama", f"--mmlu-dataset={release}",
                                           "--mmlu-subject=mmlu-pro")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [x for x in result.stderr.lines if x.startswith("ERROR")]
    assert errors == ["ERROR: unknown MMLU subject 'mmlu-pro'; did you mean: mmlu_pro, mmlu?"], result.stderr.str()


def test_an_unknown_layout_stops_with_the_keys_found_and_expected(pytester, tmp_path):
    odd = tmp_path / "multiple-choice.json"
    odd.write_text(json.dumps({"0": {"question": "q?", "options": ["a", "b"], "target": [0]}}, indent=4))
    result = pytester.runpytest_subprocess("--mmlu-backend=llama", f"--mmlu-dataset={odd}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [x for x in result.stderr.lines if x.startswith("ERROR")]
    assert errors == [f"ERROR: {odd} has the columns options, question, target: expected problem_type, context, "
                      f"prompt, options, target, benchmark_name (MixEval's multiple-choice.json)"], result.stderr.str()


def test_logprobs_scoring_reads_the_letter_after_mixevals_prompt(pytester, release):
    result = run(pytester, f"--mmlu-dataset={release}", "--mmlu-no-cache", "--mmlu-scoring=logprobs",
                 "--mmlu-subject=commonsenseqa,hellaswag,boolq,mmlu", "-p", "no:xdist", style="answer")
    assert result.report is not None, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*scoring logprobs (completions: the next token after the prompt); prompt mixeval*"])
    check(result.report, ("m0", "m1", "b0", "c0", "h0", "h1", "c1"))
    assert all(p.endswith(INSTRUCTION) for p in result.prompts) and len(result.prompts) == 7
    assert result.report["calibration"]["overall"]["questions"] == 7


def test_baseline_gates_offline_rescoring_and_compare_keep_the_targets(pytester, release):
    first = run(pytester, f"--mmlu-dataset={release}", "-p", "no:xdist", report_name="first.json")
    assert first.report is not None, first.stdout.str() + first.stderr.str()
    check(first.report)
    # the second run reads the questions and the replies back from the caches: the targets must survive both
    second = run_pytest(pytester, "-p", "no:randomly", "--mmlu-backend=openai", "--mmlu-base-url=http://127.0.0.1:9",
                        "--mmlu-offline", f"--mmlu-dataset={release}", f"--mmlu-report={pytester.path / 'again.json'}",
                        f"--mmlu-baseline={pytester.path / 'first.json'}", "--mmlu-max-drop=5",
                        "--mmlu-min-accuracy=mixeval=0.6", "--mmlu-min-accuracy=hellaswag=0.5", "-p", "no:xdist",
                        report=pytester.path / "again.json")
    assert second.ret == 0, second.stdout.str() + second.stderr.str()
    check(second.report)
    comparison = second.report["baseline"]
    assert (comparison["common"], comparison["mismatched"]) == (9, 0)
    assert [g["holds"] for g in second.report["gates"]] == [True, True]
    compared = subprocess.run([sys.executable, "-m", "pytest_mmlu", "compare", str(pytester.path / "first.json"),
                               str(pytester.path / "again.json"), "--format=json"], capture_output=True, text=True)
    assert compared.returncode == 0, compared.stderr
    pairs = json.loads(compared.stdout)["pairs"]
    assert pairs[0]["common"] == 9 and pairs[0]["difference_points"] == 0 and pairs[0]["mismatched"] == 0


def test_a_real_server_answers_mixeval_questions(pytester, release, llama_server):
    """gemma-3-270m behind llama_cpp.server, log-probabilities after MixEval's prompt: whatever it picks, a
    question passes exactly when the letter is one of its targets."""
    report = pytester.path / "real.json"
    result = run_pytest(pytester, "-p", "no:randomly", "-p", "no:xdist", "--mmlu-backend=llama",
                        f"--mmlu-base-url={llama_server}", f"--mmlu-dataset={release}", "--mmlu-no-cache",
                        "--mmlu-scoring=logprobs", "--mmlu-subject=commonsenseqa,hellaswag,boolq",
                        f"--mmlu-report={report}", report=report)
    assert result.report is not None, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*prompt mixeval*"])
    questions = result.report["questions"]
    assert len(questions) == 5 and result.report["overall"]["errors"] == 0
    for q in questions:
        letters = "ABCDE"[:len(q["choices"])]
        right = q.get("targets") or [q["expected"]]
        assert q["predicted"] in letters, q
        assert q["outcome"] == ("passed" if q["predicted"] in right else "failed")
        assert q["prompt"].endswith(INSTRUCTION)
    assert [q.get("targets") for q in questions if marker(q["question"]) == "c0"] == [["B", "D"]]


def test_the_judge_reads_a_reply_and_any_target_it_names_passes(pytester, release):
    """The rules cannot read "the fourth one"; the judge says D, one of c0's two targets: passed. For h0 it says B,
    not one of h0's: failed, read by the judge."""
    def model(prompt):
        return "I would go with the fourth one." if marker(prompt) in ("c0", "h0") else PLAN[marker(prompt)][1]

    def judge(prompt):
        return {"c0": "D", "h0": "B"}[marker(prompt)]

    report = pytester.path / "judged.json"
    with OpenAIFake("openai", answer=model) as fake, OpenAIFake("openai", answer=judge) as judging:
        result = run_pytest(pytester, "-p", "no:randomly", "-p", "no:xdist", "--mmlu-backend=openai",
                            f"--mmlu-base-url={fake.url}", "--mmlu-judge=openai", f"--mmlu-judge-base-url={judging.url}",
                            f"--mmlu-dataset={release}", "--mmlu-subject=commonsenseqa,hellaswag", "--mmlu-no-cache",
                            f"--mmlu-report={report}", report=report)
        asked = [r.body["messages"][-1]["content"] for r in judging.requests if r.method == "POST"]
    assert result.report is not None, result.stdout.str() + result.stderr.str()
    got = by_marker(result.report)
    assert (got["c0"]["outcome"], got["c0"]["predicted"], got["c0"]["how"], got["c0"]["judge"]) == \
        ("passed", "D", "judge", "D")
    assert (got["h0"]["outcome"], got["h0"]["predicted"], got["h0"]["judge"]) == ("failed", "B", "B")
    assert len(asked) == 2 and all("Answer with exactly one of: A, B, C, D" in a for a in asked)
    assert result.report["overall"]["judged"] == 2
