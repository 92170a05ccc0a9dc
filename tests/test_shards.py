"""One run over many machines: --mmlu-shard K/N and `pytest-mmlu merge`, through real pytest runs against a local
stand-in. The shards of a run, merged, must give the report of the one unsharded run to the digit."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_mmlu.cli import main
from pytest_mmlu.core.question import Question
from pytest_mmlu.core.shard import Shard

from datafolders import make_questions
from fakeservers import OpenAIFake
from runs import run_pytest

SIZES = {"astronomy": 20, "virology": 14, "anatomy": 9}  # 43 questions; stem: astronomy; other: virology, anatomy
ROWS = {"test": [r for subject, n in SIZES.items() for r in make_questions(subject, n, seed=7)]}
N = 3
UNREADABLE = "I would rather not say."


def unparsed(index: int) -> bool:
    return index % 7 == 5


def wrong(index: int) -> bool:
    return not unparsed(index) and index % 3 == 0


def flawed(prompt: str, perfect: bool = False) -> str:
    """Adds correctly, except that it gives no letter to questions 5, 12 and 19 and gets every third of the
    others wrong."""
    subject, index, a, b = re.findall(r"In ([a-z ]+) problem (\d+): what is (\d+) \+ (\d+)\?", prompt)[-1]
    choices = re.findall(r"^([A-J])\. (.*)$", prompt, re.MULTILINE)[-4:]
    right = next(letter for letter, text in choices if text.strip() == str(int(a) + int(b)))
    if not perfect and unparsed(int(index)):
        return UNREADABLE
    if not perfect and wrong(int(index)):
        return "Answer: " + next(letter for letter, _ in choices if letter != right)
    return f"Answer: {right}"


CORRECT = {s: sum(1 for i in range(n) if not unparsed(i) and not wrong(i)) for s, n in SIZES.items()}
ALL_IDS = sorted(f"mmlu::{s}::q{i:04d}" for s, n in SIZES.items() for i in range(n))
GATES = ("--mmlu-min-accuracy=0.5", "--mmlu-min-accuracy=astronomy=90%", "--mmlu-max-drop=5")


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data(ROWS)


def pytest_args(url, data, report, *extra):
    return ("-p", "no:randomly", "-p", "no:cacheprovider", "--mmlu-backend=openai", f"--mmlu-base-url={url}",
            f"--mmlu-dataset={data}", "--mmlu-no-cache", "--mmlu-scoring=generate", f"--mmlu-report={report}", *extra)


class Runs:
    """The module's real runs, made once: each report and what the run printed."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.out: dict[str, str] = {}
        self.ret: dict[str, int] = {}

    def run(self, name, url, data, *extra):
        done = subprocess.run([sys.executable, "-m", "pytest", *pytest_args(url, data, f"{name}.json", *extra)],
                              cwd=self.folder, capture_output=True, text=True, timeout=420)
        self.out[name], self.ret[name] = done.stdout, done.returncode
        assert (self.folder / f"{name}.json").exists(), done.stdout[-3000:] + done.stderr[-3000:]

    def path(self, name) -> str:
        return str(self.folder / f"{name}.json")

    def report(self, name) -> dict:
        return json.loads(Path(self.path(name)).read_text())

    def ids(self, name) -> list[str]:
        return [q["nodeid"] for q in self.report(name)["questions"]]


@pytest.fixture(scope="module")
def runs(data, tmp_path_factory):
    made = Runs(tmp_path_factory.mktemp("shards"))
    with OpenAIFake("openai", answer=lambda p: flawed(p, perfect=True)) as good, \
            OpenAIFake("openai", answer=flawed) as fake:
        made.run("perfect", good.url, data)
        made.run("full", fake.url, data, *GATES, f"--mmlu-baseline={made.path('perfect')}",
                 "--mmlu-markdown=full.md")
        for k in range(1, N + 1):
            made.run(f"shard-{k}", fake.url, data, f"--mmlu-shard={k}/{N}")
            made.run(f"xdist-{k}", fake.url, data, f"--mmlu-shard={k}/{N}", "-n", "2")
        made.run("astronomy", fake.url, data, "--mmlu-subject=astronomy")
        made.run("others", fake.url, data, "--mmlu-subject=virology,anatomy")
        made.run("limited-2", fake.url, data, f"--mmlu-shard=2/{N}", "--mmlu-limit=10")
    return made


def shards(runs, prefix="shard"):
    return [runs.path(f"{prefix}-{k}") for k in range(1, N + 1)]


def merge(*args) -> int:
    return main(["merge", *map(str, args)])


def results_block(stdout: str) -> list[str]:
    """The lines a run prints under `MMLU results`, up to the files it names; not the usage line, whose latency and
    questions per second are the runs' own (its token figures are compared in the reports)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "MMLU results" in line) + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("report written to"))
    return [line for line in lines[start:end] if not line.startswith("usage: ")]


TIMING = ("seconds", "server_seconds")  # each request's own time: the shards' requests are not the full run's


def untimed(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in records]


def without_usage(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if not line.startswith("Usage: ")]


# -- the shards ---------------------------------------------------------------------------------------------


def test_the_unsharded_run_is_what_the_model_answered(runs):
    full = runs.report("full")
    assert sorted(runs.ids("full")) == ALL_IDS
    assert {s: t["correct"] for s, t in full["subjects"].items()} == CORRECT
    assert full["overall"]["unparsed"] == sum(1 for n in SIZES.values() for i in range(n) if unparsed(i)) == 6
    assert full["config"]["shard"] is None


def test_shards_cover_every_question_once_and_split_each_subject_evenly(runs):
    parts = [runs.ids(f"shard-{k}") for k in range(1, N + 1)]
    assert sorted(i for part in parts for i in part) == ALL_IDS  # each question once: none lost, none twice
    per_subject = {s: sorted(sum(i.split("::")[1] == s for i in part) for part in parts) for s in SIZES}
    assert per_subject == {"astronomy": [6, 7, 7], "virology": [4, 5, 5], "anatomy": [3, 3, 3]}
    # the assignment is core.shard's, from the questions alone
    questions = [Question(s, i, "", ("a", "b", "c", "d"), 0) for s, n in SIZES.items() for i in range(n)]
    for k, part in enumerate(parts, 1):
        assert sorted(part) == sorted(f"mmlu::{q.subject}::{q.name}" for q in Shard(k, N).take(questions))


def test_shards_are_the_same_under_xdist(runs):
    for k in range(1, N + 1):
        assert sorted(runs.ids(f"xdist-{k}")) == sorted(runs.ids(f"shard-{k}"))
        assert runs.report(f"xdist-{k}")["overall"] == runs.report(f"shard-{k}")["overall"]


def test_a_shard_collects_only_its_questions_and_says_so(runs):
    report, out = runs.report("shard-2"), runs.out["shard-2"]
    n = len(report["questions"])
    assert f"mmlu: shard 2/{N}: {n} of 43 questions" in out.splitlines()
    assert f"collected {n} items" in out
    assert report["config"]["shard"] == f"2/{N}"
    o = report["overall"]  # the summary describes the shard alone: the rest is not "not run"
    assert (o["correct"] + o["wrong"] + o["unparsed"], o["not_run"], report["not_run"]) == (n, 0, [])


def test_shards_of_a_large_selection_differ_by_at_most_one_question_per_subject():
    questions = [Question(f"s{s}", i, "", ("a", "b"), 0) for s in range(57) for i in range(100 + s * 7)]
    for count in (2, 4, 7):
        parts = [Shard(k, count).take(questions) for k in range(1, count + 1)]
        assert sorted((q.subject, q.index) for p in parts for q in p) == sorted((q.subject, q.index) for q in questions)
        for s in range(57):
            sizes = [sum(q.subject == f"s{s}" for q in p) for p in parts]
            assert max(sizes) - min(sizes) <= 1 and sum(sizes) == 100 + s * 7
        assert Shard(2, count).take(questions) == Shard(2, count).take(list(reversed(questions)))[::-1]


@pytest.mark.parametrize("value, message", [
    ("0/4", "--mmlu-shard '0/4': shard 0 of 4 does not exist (K/N with 1 <= K <= N, as in 2/4)"),
    ("5/4", "--mmlu-shard '5/4': shard 5 of 4 does not exist (K/N with 1 <= K <= N, as in 2/4)"),
    ("3", "--mmlu-shard '3': not K/N (K/N with 1 <= K <= N, as in 2/4)"),
    ("a/b", "--mmlu-shard 'a/b': not K/N (K/N with 1 <= K <= N, as in 2/4)"),
])
def test_a_bad_shard_stops_the_run_at_start_with_one_line(pytester, data, value, message):
    with OpenAIFake("openai", answer=flawed) as fake:
        result = run_pytest(pytester, *pytest_args(fake.url, data, "r.json", f"--mmlu-shard={value}"))
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in err.splitlines() if "--mmlu-shard '" in line]
    assert len(lines) == 1 and lines[0].endswith(f"pytest: error: argument --mmlu-shard: {message}"), err
    assert "Traceback" not in err + result.stdout.str() and not fake.requests


def test_a_bad_shard_from_the_environment_names_where_it_came_from(pytester, data, monkeypatch):
    monkeypatch.setenv("MMLU_SHARD", "5/4")
    with OpenAIFake("openai", answer=flawed) as fake:
        result = run_pytest(pytester, *pytest_args(fake.url, data, "r.json"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.stderr.str().splitlines() if "--mmlu-shard" in line] == [
        "ERROR: --mmlu-shard '5/4': shard 5 of 4 does not exist (K/N with 1 <= K <= N, as in 2/4) "
        "(from MMLU_SHARD or ini mmlu_shard)"]


# -- merged -------------------------------------------------------------------------------------------------


def test_merged_shards_are_the_unsharded_run(runs, tmp_path, capsys):
    assert merge(*shards(runs), "-o", tmp_path / "run.json") == 0
    merged, full = json.loads((tmp_path / "run.json").read_text()), runs.report("full")
    for key in ("overall", "subjects", "categories", "not_run"):
        assert merged[key] == full[key], key
    assert untimed(merged["questions"]) == untimed(full["questions"])
    for figure in ("answered", "requests", "tokens_in", "tokens_out", "tokens_cached", "cost"):
        assert merged["usage"][figure] == full["usage"][figure], figure
    # the shards ran one after another here: the run's span is from the first start to the last end
    from datetime import datetime
    parts = [runs.report(f"shard-{k}")["config"] for k in range(1, N + 1)]
    starts = [datetime.fromisoformat(c["started"]).timestamp() for c in parts]
    span = max(s + c["wall_seconds"] for s, c in zip(starts, parts)) - min(starts)
    assert merged["config"]["wall_seconds"] == pytest.approx(span, abs=1e-3) and span >= max(
        c["wall_seconds"] for c in parts)
    assert merged["usage"]["questions_per_second"] == pytest.approx(43 / span, abs=1e-3)
    assert merged["overall"]["correct"] == sum(CORRECT.values()) == 24
    assert merged["config"]["shard"] is None
    assert [(p["shard"], p["questions"]) for p in merged["merged"]] == [
        (f"{k}/{N}", len(runs.ids(f"shard-{k}"))) for k in range(1, N + 1)]
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"merged 3 reports into {tmp_path / 'run.json'}"


def test_shards_given_in_any_order_and_from_xdist_merge_alike(runs, tmp_path):
    given = [runs.path("xdist-3"), runs.path("shard-1"), runs.path("xdist-2")]
    assert merge(*given, "-o", tmp_path / "run.json") == 0
    merged = json.loads((tmp_path / "run.json").read_text())
    assert merged["subjects"] == runs.report("full")["subjects"]
    assert merged["config"]["shard"] is None and [p["shard"] for p in merged["merged"]] == ["1/3", "2/3", "3/3"]


def test_gates_at_merge_time_are_those_of_the_run(runs, tmp_path, capsys):
    """The same gates and baseline as the unsharded run: the same verdicts, comparison, lines, Markdown and
    exit status (1: the astronomy gate and the drop gate fail)."""
    capsys.readouterr()
    status = merge(*shards(runs), "-o", tmp_path / "run.json", *GATES, f"--mmlu-baseline={runs.path('perfect')}",
                   "--markdown", tmp_path / "run.md")
    merged, full = json.loads((tmp_path / "run.json").read_text()), runs.report("full")
    assert status == runs.ret["full"] == 1
    for key in ("gates", "drop_gates", "baseline"):
        assert merged[key] == full[key], key
    assert [g["holds"] for g in merged["gates"]] == [True, False]
    assert [g["holds"] for g in merged["drop_gates"]] == [False]
    printed = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("usage: ")]
    assert printed[:len(results_block(runs.out["full"]))] == results_block(runs.out["full"])
    assert without_usage((tmp_path / "run.md").read_text()) == without_usage((runs.folder / "full.md").read_text())


@pytest.mark.parametrize("gates, status", [
    (["--mmlu-min-accuracy=0.55"], 0),  # 24 of 43 scored: 55.8%
    (["--mmlu-min-accuracy=0.56"], 1),
    (["--mmlu-min-accuracy=stem=0.6", "--mmlu-min-accuracy=virology=0.7"], 1),
    (["--mmlu-baseline=FULL", "--mmlu-max-drop=0"], 0),  # against itself: no drop
])
def test_merge_gates_decide_the_exit_status(runs, tmp_path, capsys, gates, status):
    gates = [g.replace("FULL", runs.path("full")) for g in gates]
    assert merge(*shards(runs), "-o", tmp_path / "run.json", *gates) == status
    out = capsys.readouterr().out
    verdicts = [line for line in out.splitlines() if line.startswith("gate ")]
    assert len(verdicts) == sum(g.startswith(("--mmlu-min-accuracy", "--mmlu-max-drop")) for g in gates)
    assert all(line.endswith(")") and (": PASS (" in line or ": FAIL (" in line) for line in verdicts)
    if gates == ["--mmlu-min-accuracy=0.55"]:
        assert verdicts == ["gate overall >= 55.0%: PASS (55.8% on 43 questions)"]


def test_a_merge_over_an_errored_question_or_an_unfinished_shard_exits_1(runs, tmp_path, capsys):
    """As a gated run: 1 when a question errored or a part did not finish, gates or none."""
    s1, s2, s3 = shards(runs)
    report = runs.report("shard-2")
    errored = tmp_path / "errored-2.json"
    first = report["questions"][0]
    first.update(outcome="error", predicted=None, error="timed out after 5 s")
    errored.write_text(json.dumps(report))
    assert merge(s1, errored, s3, "-o", tmp_path / "run.json") == 1
    assert json.loads((tmp_path / "run.json").read_text())["overall"]["errors"] == 1
    unfinished = tmp_path / "unfinished-2.json"
    report = runs.report("shard-2")
    report["config"]["interrupted"] = True
    unfinished.write_text(json.dumps(report))
    capsys.readouterr()
    assert merge(s1, unfinished, s3, "-o", tmp_path / "run.json", "--mmlu-min-accuracy=0.5") == 1
    assert f"{unfinished}: the run did not finish, so the merged run is incomplete" in capsys.readouterr().out
    assert merge(s1, s2, s3, "-o", tmp_path / "run.json", "--mmlu-min-accuracy=0.5") == 0


def test_step_summary_gets_the_markdown(runs, tmp_path, monkeypatch):
    step = tmp_path / "step.md"
    step.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    assert merge(*shards(runs), "-o", tmp_path / "run.json", "--markdown", tmp_path / "run.md") == 0
    assert step.read_text() == "earlier step\n" + (tmp_path / "run.md").read_text() + "\n"
    assert "**Overall**: 55.81% (24/43) question-weighted" in step.read_text()


def test_the_merged_report_reads_in_compare_as_the_run(runs, tmp_path, capsys):
    assert merge(*shards(runs), "-o", tmp_path / "run.json") == 0
    capsys.readouterr()
    assert main(["compare", "--format=json", runs.path("full"), str(tmp_path / "run.json")]) == 0
    table = json.loads(capsys.readouterr().out)
    # the same, but for the time figures of the usage block: the shards' requests are not the full run's
    full, merged = ({k: v for k, v in run.items() if k not in ("label", "report", "usage")} for run in table["runs"])
    assert merged == full
    tokens = ("tokens_in", "tokens_out", "tokens_reasoning", "tokens_cached", "cost")
    full_usage, merged_usage = ({k: run["usage"][k] for k in tokens} for run in table["runs"])
    assert merged_usage == full_usage
    pair = table["pairs"][0]
    assert (pair["common"], pair["right_only_a"], pair["right_only_b"], pair["only_a"], pair["only_b"]) == (
        43, 0, 0, 0, 0)


def test_reports_written_without_shards_merge_when_their_questions_do_not_overlap(runs, tmp_path):
    assert merge(runs.path("astronomy"), runs.path("others"), "-o", tmp_path / "run.json") == 0
    merged, full = json.loads((tmp_path / "run.json").read_text()), runs.report("full")
    for key in ("overall", "subjects", "categories"):
        assert merged[key] == full[key], key
    assert untimed(merged["questions"]) == untimed(full["questions"])
    assert merged["config"]["subjects"] == ["astronomy", "virology", "anatomy"]


# -- refused: one line naming the files, exit status 4 --------------------------------------------------------


def refused(capsys, *args) -> str:
    capsys.readouterr()
    assert merge(*args) == 4
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1, captured.err
    return captured.err.rstrip("\n")


def test_shards_of_another_configuration_are_refused(runs, tmp_path, capsys):
    s1, s2, s3 = shards(runs)
    other = runs.path("limited-2")
    assert refused(capsys, s1, other, s3, "-o", tmp_path / "run.json") == (
        f"pytest-mmlu merge: {s1} and {other} are not parts of one run: limit None vs 10")
    assert not (tmp_path / "run.json").exists()


def test_overlapping_questions_are_refused(runs, tmp_path, capsys):
    full, astronomy = runs.path("full"), runs.path("astronomy")
    assert refused(capsys, full, astronomy, "-o", tmp_path / "run.json") == (
        f"pytest-mmlu merge: {full} and {astronomy} hold the same questions (mmlu::astronomy::q0000, "
        f"mmlu::astronomy::q0001, mmlu::astronomy::q0002 and 17 more): each question must be in one report only")


def test_a_shard_given_twice_is_refused(runs, tmp_path, capsys):
    s1, s2, s3 = shards(runs)
    copy = tmp_path / "copy-of-2.json"
    shutil.copy(s2, copy)
    assert refused(capsys, s1, s2, copy, s3, "-o", tmp_path / "run.json") == (
        f"pytest-mmlu merge: shard 2/3 is given twice: {s2} and {copy}")


def test_a_missing_shard_is_named(runs, tmp_path, capsys):
    s1, s2, s3 = shards(runs)
    assert refused(capsys, s3, s1, "-o", tmp_path / "run.json") == (
        f"pytest-mmlu merge: shard 2/3 is missing (given: {s1} (1/3), {s3} (3/3))")
    assert refused(capsys, s2, "-o", tmp_path / "run.json") == (
        f"pytest-mmlu merge: shards 1/3 and 3/3 are missing (given: {s2} (2/3))")


def test_shards_and_whole_runs_are_not_mixed(runs, tmp_path, capsys):
    s1, _, _ = shards(runs)
    astronomy = runs.path("astronomy")
    assert refused(capsys, s1, astronomy, "-o", tmp_path / "run.json") == (
        f"pytest-mmlu merge: {s1} is shard 1/3 and {astronomy} was written without --mmlu-shard: merge the shards "
        f"of one run, or reports written without --mmlu-shard")


def test_input_merge_cannot_use_is_one_line_and_status_4(runs, tmp_path, capsys):
    s1, s2, s3 = shards(runs)
    (tmp_path / "junk.json").write_text("{")
    assert refused(capsys, s1, tmp_path / "missing.json", "-o", tmp_path / "run.json") == (
        f"pytest-mmlu merge: {tmp_path / 'missing.json'}: no such file")
    assert refused(capsys, s1, tmp_path / "junk.json", "-o", tmp_path / "run.json").startswith(
        f"pytest-mmlu merge: {tmp_path / 'junk.json'}: not JSON (")
    assert refused(capsys, s1, s2, s3, "-o", tmp_path / "run.json", "--mmlu-min-accuracy=biology=0.5") == (
        "pytest-mmlu merge: --mmlu-min-accuracy: unknown scope 'biology'; did you mean: virology?")
    assert refused(capsys, s1, s2, s3, "-o", tmp_path / "run.json", "--mmlu-max-drop=2") == (
        "pytest-mmlu merge: --mmlu-max-drop needs --mmlu-baseline (the report to compare with)")
    assert refused(capsys, s1, s2, s3, "-o", tmp_path, ) == (
        f"pytest-mmlu merge: --output {tmp_path}: is a folder; give a file name")


def test_a_bad_gate_value_is_one_line_and_status_4(runs, tmp_path):
    done = subprocess.run([sys.executable, "-m", "pytest_mmlu", "merge", *shards(runs), "-o", str(tmp_path / "r.json"),
                           "--mmlu-min-accuracy=1.5"], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (4, "")
    assert done.stderr == ("pytest-mmlu merge: argument --mmlu-min-accuracy: --mmlu-min-accuracy '1.5': must be "
                           "within 0 and 1 (0% and 100%), not 1.5\n")


def test_a_subject_gate_in_a_shard_without_that_subject_is_left_to_the_merge(data, tmp_path):
    """One question per subject over three shards: a shard holds some subjects and not others. A gate on a subject
    it does not hold is not judged there (it holds, and says why); the subjects it holds are gated as usual."""
    gates = [f"--mmlu-min-accuracy={s}=0.5" for s in SIZES]
    absent = 0
    with OpenAIFake("openai", answer=lambda p: flawed(p, perfect=True)) as good:
        for k in range(1, N + 1):
            name = f"one-{k}"
            done = subprocess.run([sys.executable, "-m", "pytest", *pytest_args(good.url, data, f"{name}.json",
                                                                                f"--mmlu-shard={k}/{N}",
                                                                                "--mmlu-limit=1", *gates)],
                                  cwd=tmp_path, capture_output=True, text=True, timeout=300)
            report = json.loads((tmp_path / f"{name}.json").read_text())
            held = {q["subject"] for q in report["questions"]}
            assert done.returncode == 0, done.stdout[-2000:]
            for gate in report["gates"]:
                assert gate["holds"]
                if gate["scope"] in held:
                    assert gate["actual"] == 1.0
                else:
                    absent += 1
                    assert gate["actual"] is None and gate["reason"] == (
                        f"none of its questions in shard {k}/{N}: gate it on the merged report (pytest-mmlu merge)")
                    if held:  # a shard of no question prints no summary
                        assert f"gate {gate['scope']} >= 50.0%: PASS (none of its questions in shard {k}/{N}" \
                            in done.stdout
    assert absent >= 2  # three questions over three shards: at least two shards lack a subject
