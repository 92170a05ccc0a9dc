"""The plugin as users drive it: pytester subprocess runs against a real llama_cpp.server."""

import json
import xml.etree.ElementTree as ET

import pytest
import requests

from agreement import assert_replies_read_alike, assert_runs_agree, assert_same_letter, tallies
from datafolders import make_questions
from fakeservers import ClosedPort

SUBJECTS = ("astronomy", "college_computer_science")


ROWS = {"test": [r for s in SUBJECTS for r in make_questions(s, 6, seed=1)],
        "dev": [r for s in SUBJECTS for r in make_questions(s, 5, seed=2)]}


@pytest.fixture(scope="module")
def hub_folder(hub_data):
    return hub_data(ROWS)


@pytest.fixture(scope="module")
def csv_folder(csv_data):
    return csv_data(ROWS)


def run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:randomly", *args)


def mmlu_args(url, dataset, *extra):
    return ("--mmlu-backend=llama", f"--mmlu-base-url={url}", f"--mmlu-dataset={dataset}", *extra)


# -- collection ------------------------------------------------------------------


def test_collect_only_lists_stable_node_ids(pytester, hub_folder):
    result = run(pytester, "--mmlu-backend=llama", f"--mmlu-dataset={hub_folder}", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["mmlu::astronomy::q0000", "mmlu::college_computer_science::q0005",
                                 "12 tests collected*"])
    assert result.ret == 0


def test_collect_only_names_the_server_it_did_not_ask(pytester, hub_folder):
    result = run(pytester, "--mmlu-backend=llama", f"--mmlu-dataset={hub_folder}", "--collect-only",
                 "--mmlu-base-url=http://user:secret@127.0.0.1:9/v1")
    result.stdout.fnmatch_lines(["mmlu: run the model at http://127.0.0.1:9 (llama)"])
    assert "unknown model" not in result.stdout.str() and "secret" not in result.stdout.str()


def test_only_mmlu_items_run_when_no_paths_given(pytester, hub_folder):
    pytester.makepyfile(test_repo="def test_own(): assert False")
    pytester.makeini("[pytest]\ntestpaths = .\n")
    result = run(pytester, "--mmlu-backend=llama", f"--mmlu-dataset={hub_folder}",
                 "--mmlu-subject=astronomy", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["mmlu::astronomy::q0000", "6 tests collected*"])
    result.stdout.no_fnmatch_line("*test_own*")


def test_keyword_selection(pytester, hub_folder):
    result = run(pytester, "--mmlu-backend=llama", f"--mmlu-dataset={hub_folder}", "--collect-only", "-q",
                 "-k", "astronomy and q0003")
    result.stdout.fnmatch_lines(["mmlu::astronomy::q0003", "1/12 tests collected (11 deselected)*"])


def test_deselect(pytester, hub_folder):
    result = run(pytester, "--mmlu-backend=llama", f"--mmlu-dataset={hub_folder}", "--collect-only", "-q",
                 "--deselect", "mmlu::astronomy::q0001")
    result.stdout.fnmatch_lines(["11/12 tests collected (1 deselected)*"])
    result.stdout.no_fnmatch_line("mmlu::astronomy::q0001")


def test_limit_samples_the_same_questions_every_run(pytester, hub_folder):
    first = run(pytester, "--mmlu-backend=llama", f"--mmlu-dataset={hub_folder}", "--collect-only", "-q",
                "--mmlu-limit=3")
    second = run(pytester, "--mmlu-backend=llama", f"--mmlu-dataset={hub_folder}", "--collect-only", "-q",
                 "--mmlu-limit=3")
    ids = [line for line in first.outlines if line.startswith("mmlu::")]
    assert len(ids) == 6
    assert ids == [line for line in second.outlines if line.startswith("mmlu::")]
    assert ids[:3] != ["mmlu::astronomy::q0000", "mmlu::astronomy::q0001", "mmlu::astronomy::q0002"]


def test_plugin_is_off_without_backend(pytester, hub_folder):
    pytester.makepyfile(test_repo="def test_own(): pass")
    result = run(pytester, f"--mmlu-dataset={hub_folder}")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*mmlu::*")


# -- usage errors ----------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (("--mmlu-subject=astronomyy",), "*unknown MMLU subject 'astronomyy'*did you mean*astronomy*"),
    (("--mmlu-shots=7",), "*--mmlu-shots must be 0 to 5, not 7*"),
    (("--mmlu-min-accuracy=1.5",), "*1.5*"),
    (("--mmlu-min-accuracy=astronmy=0.5",), "*astronmy*"),
    (("--mmlu-scoring=logprob",), "*unknown scoring 'logprob'*did you mean logprobs*"),
    (("--mmlu-limit=0",), "*--mmlu-limit must be at least 1, not 0*"),
    (("--mmlu-base-url=localhost:8080",), "*must start with http://*"),
])
def test_bad_values_stop_with_one_clear_line(pytester, hub_folder, args, message):
    result = run(pytester, "--mmlu-backend=llama", f"--mmlu-dataset={hub_folder}", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("option", ["--mmlu-markdown", "--mmlu-report"])
def test_an_output_file_that_cannot_be_written_stops_the_run_at_start(pytester, hub_folder, option):
    blocker = pytester.path / "results"
    blocker.write_text("a file where a folder is needed")
    result = run(pytester, *mmlu_args("http://127.0.0.1:9", hub_folder), f"{option}={blocker}/run.md", "-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{option} {blocker}/run.md: cannot write there ({blocker} is a file, not a folder)*"])
    assert "Traceback" not in result.stderr.str() and "cannot reach" not in result.stderr.str()
    folder = run(pytester, *mmlu_args("http://127.0.0.1:9", hub_folder), f"{option}={pytester.path}", "-q")
    folder.stderr.fnmatch_lines([f"*{option} {pytester.path}: is a folder; give a file name*"])
    fine = pytester.path / "out" / "run.md"  # writable: checked without leaving a file behind
    down = run(pytester, *mmlu_args("http://127.0.0.1:9", hub_folder), f"{option}={fine}", "-q")
    down.stderr.fnmatch_lines(["*cannot reach the llama backend*"])  # the check after the files' check
    assert not fine.exists()
    run(pytester, *mmlu_args("http://127.0.0.1:9", hub_folder), f"{option}={fine}", "--collect-only", "-q")
    assert not fine.exists()  # --collect-only asks nothing and writes nothing


def test_unknown_backend_suggests(pytester, hub_folder):
    result = run(pytester, "--mmlu-backend=lama", f"--mmlu-dataset={hub_folder}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown backend 'lama'*did you mean*llama*"])


def test_server_down_stops_at_start_naming_the_address(pytester, hub_folder):
    with ClosedPort() as closed:
        url = closed.url
        result = run(pytester, *mmlu_args(url, hub_folder))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*cannot reach the llama backend at {url}*"])
    assert "Traceback" not in result.stderr.str()


def test_env_and_ini_settings(pytester, hub_folder, monkeypatch):
    pytester.makeini(f"[pytest]\nmmlu_backend = llama\nmmlu_dataset = {hub_folder}\nmmlu_subject = astronomy\n")
    result = run(pytester, "--collect-only", "-q")
    result.stdout.fnmatch_lines(["6 tests collected*"])
    monkeypatch.setenv("MMLU_SUBJECT", "college_computer_science")
    result = run(pytester, "--collect-only", "-q")  # env over ini
    result.stdout.fnmatch_lines(["mmlu::college_computer_science::q0000", "6 tests collected*"])
    result = run(pytester, "--collect-only", "-q", "--mmlu-subject=all")  # CLI over env
    result.stdout.fnmatch_lines(["12 tests collected*"])


# -- against the real server -------------------------------------------------------


# lm-evaluation-harness's zero-shot MMLU prompt, written out here (not built by the plugin)
HARNESS = ("The following are multiple choice questions (with answers) about {about}.\n\n"
           "{question}\nA. {0}\nB. {1}\nC. {2}\nD. {3}\nAnswer:")


def golden_harness(row):
    return HARNESS.format(*row["choices"], about=row["subject"].replace("_", " "), question=row["question"])


def rows_of(subject):
    """This module's test split for `subject`, in index order: what the node ids and letters must match."""
    return [r for r in ROWS["test"] if r["subject"] == subject]


def server_scores(url, prompt):
    """The letters' log-probabilities, asked of the server directly (not through the plugin)."""
    reply = requests.post(f"{url}/v1/completions", json={"prompt": prompt, "max_tokens": 1, "logprobs": 20,
                                                         "temperature": 0}, timeout=120).json()
    top = reply["choices"][0]["logprobs"]["top_logprobs"][0]
    return {letter: top.get(f" {letter}", float("-inf")) for letter in "ABCD"}


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one-process", "xdist"])
def test_logprobs_run_matches_the_server_and_reports(pytester, llama_server, hub_folder, workers):
    report = pytester.path / "report.json"
    junit = pytester.path / "junit.xml"
    result = run(pytester, *mmlu_args(llama_server, hub_folder, "--mmlu-no-cache", f"--mmlu-report={report}",
                                      f"--junitxml={junit}", *workers))
    data = json.loads(report.read_text())
    questions = {q["nodeid"]: q for q in data["questions"]}
    assert len(questions) == len(data["questions"]) == 12
    from pytest_mmlu.core.question import Question
    from pytest_mmlu.prompts import harness
    correct = 0
    for subject in SUBJECTS:
        for index, row in enumerate(rows_of(subject)):
            record = questions.pop(f"mmlu::{subject}::q{index:04d}")
            text = golden_harness(row)
            # the plugin's prompt is the golden one, so the direct request below asks what the run asked
            assert harness(Question(subject, index, row["question"], tuple(row["choices"]), row["answer"])).text == text
            assert_same_letter(record["predicted"], server_scores(llama_server, text), record["nodeid"])
            assert record["expected"] == "ABCD"[row["answer"]]
            correct += record["predicted"] == record["expected"]
    assert not questions  # no record beyond the data's 12 questions
    assert data["overall"]["correct"] == correct
    assert data["overall"]["total"] == 12
    result.assert_outcomes(passed=correct, failed=12 - correct)
    result.stdout.fnmatch_lines(["*MMLU results*", "*astronomy*", "*college_computer_science*"])
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).getroot().iter("property")}
    assert props["expected"] in "ABCD" and props["predicted"] in "ABCD"


def test_summary_is_the_same_with_and_without_xdist(pytester, llama_server, csv_folder):
    one = run(pytester, *mmlu_args(llama_server, csv_folder, f"--mmlu-report={pytester.path / 'a.json'}"))
    two = run(pytester, *mmlu_args(llama_server, csv_folder, f"--mmlu-report={pytester.path / 'b.json'}",
                                   "-n", "2"))

    def block(result):
        lines = result.outlines
        start = next(i for i, line in enumerate(lines) if "MMLU results" in line)
        end = next(i for i, line in enumerate(lines) if "short test summary" in line)
        # calibration's figures move with the last digits of the log-probabilities, which need not repeat
        return [line for line in lines[start + 1:end] if not line.startswith(("report written", "usage: ", "calibration"))]

    def tokens(result):
        """The usage line's token figures: the same for the same replies; its time and requests differ by run
        (the second run's replies come from the cache, with the figures they were first asked with)."""
        line = next(line for line in result.outlines if line.startswith("usage: "))
        return next(part for part in line.split("; ") if part.startswith("tokens "))

    a, b = (json.loads((pytester.path / n).read_text()) for n in ("a.json", "b.json"))
    by_node = lambda report: sorted(report["questions"], key=lambda q: q["nodeid"])  # noqa: E731
    assert len(a["questions"]) == len(b["questions"]) == a["overall"]["total"] == b["overall"]["total"] == 12
    for report in (a, b):  # each report's counts are those of its own question records
        counted = tallies(report["questions"])
        for scope, numbers in [("overall", report["overall"]), *report["subjects"].items()]:
            assert {k: numbers[k] for k in ("correct", "wrong", "unparsed", "errors")} == \
                {k: counted[scope][k] for k in ("correct", "wrong", "unparsed", "errors")}, scope
    flipped = assert_runs_agree(by_node(a), by_node(b))
    # a near-tie may flip between the two runs' forward passes: every other question counts alike
    assert tallies(a["questions"], flipped) == tallies(b["questions"], flipped)
    assert tokens(one) == tokens(two)
    if not flipped:
        assert block(one) == block(two)
        assert a["subjects"] == b["subjects"] and a["overall"] == b["overall"]


def test_gates_decide_the_exit_status(pytester, llama_server, hub_folder):
    low = run(pytester, *mmlu_args(llama_server, hub_folder, "--mmlu-min-accuracy=0%",
                                   "--mmlu-min-accuracy=astronomy=0.0"))
    outcomes = low.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == len(ROWS["test"])
    assert outcomes.get("failed", 0) >= 1  # the base model is near chance: there are wrong answers to ignore
    assert low.ret == 0  # wrong answers alone do not fail a gated run
    low.stdout.fnmatch_lines(["gate overall >= 0.0%: PASS*", "gate astronomy >= 0.0%: PASS*"])
    high = run(pytester, *mmlu_args(llama_server, hub_folder, "--mmlu-min-accuracy=stem=100%"))
    assert high.ret == 1
    high.stdout.fnmatch_lines(["gate stem >= 100.0%: FAIL*"])


def test_rerun_uses_the_cache_and_lf_asks_nothing(pytester, llama_server, hub_folder):
    report = pytester.path / "r.json"
    first = run(pytester, *mmlu_args(llama_server, hub_folder, f"--mmlu-report={report}"))
    data = json.loads(report.read_text())
    assert not any(q.get("cached") for q in data["questions"])
    failed = [q["nodeid"] for q in data["questions"] if q["outcome"] == "failed"]
    assert len(data["questions"]) == len(ROWS["test"]) and failed  # --lf has failures to re-run, all from the cache
    second = run(pytester, *mmlu_args(llama_server, hub_folder, f"--mmlu-report={report}", "--lf"))
    data2 = json.loads(report.read_text())
    assert sorted(q["nodeid"] for q in data2["questions"]) == sorted(failed)
    assert all(q["cached"] for q in data2["questions"])
    assert first.ret == second.ret


def test_generate_mode_counts_unparsed_separately(pytester, llama_server, hub_folder):
    report = pytester.path / "g.json"
    run(pytester, *mmlu_args(llama_server, hub_folder, "--mmlu-scoring=generate", "--mmlu-max-tokens=8",
                             "--mmlu-subject=astronomy", "--mmlu-limit=3", f"--mmlu-report={report}"))
    data = json.loads(report.read_text())
    questions = data["questions"]
    assert len(questions) == len({q["nodeid"] for q in questions}) == data["overall"]["total"] == 3  # --mmlu-limit=3
    rows = rows_of("astronomy")
    for q in questions:
        assert q["nodeid"] == f"mmlu::astronomy::q{q['index']:04d}"
        assert q["expected"] == "ABCD"[rows[q["index"]]["answer"]]
    # the base model mostly continues with letterless text: at least one reply is read here for certain
    assert assert_replies_read_alike(questions) >= 1
    unparsed = [q for q in questions if q["unparsed"]]
    assert data["overall"]["unparsed"] == len(unparsed)
    assert data["overall"]["correct"] == sum(q["predicted"] == q["expected"] for q in questions)
    assert data["overall"]["wrong"] == 3 - len(unparsed) - data["overall"]["correct"]
    assert all(q["outcome"] == "failed" and q["predicted"] is None for q in unparsed)
    assert data["overall"]["errors"] == 0
