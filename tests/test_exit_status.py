"""The exit status of a gated run, as CI reads it: pytest runs against local stand-ins (loopback only).

SPEC: with at least one gate (`--mmlu-min-accuracy` or `--mmlu-max-drop`) the gates decide: 0 when every
gate holds and no item errored, 1 otherwise; wrong answers alone do not fail a gated run. README: a run that
a fault ended keeps its own status, with or without gates: 2 for a backend gone mid-run, 4 for a rejected key.

A gate that fails with no errors (1) and gates that hold over wrong answers (0) are covered by
test_plugin.py::test_gates_decide_the_exit_status (`--mmlu-min-accuracy`) and by test_compare_plugin.py
(`--mmlu-max-drop`); this file covers what else decides a gated run's status.
"""

import json

import pytest

from datafolders import right
from fakeservers import Fault, OpenAIFake, not_json
from runs import run_pytest

SUBJECTS = ("astronomy", "virology")
PER_SUBJECT = 3
QUESTIONS = len(SUBJECTS) * PER_SUBJECT
NODEIDS = [f"mmlu::{s}::q{i:04d}" for s in SUBJECTS for i in range(PER_SUBJECT)]
KEY = "sk-test-EXIT-7c2e"


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data(subjects=SUBJECTS, per_subject=PER_SUBJECT, seed=11)


def wrong(prompt: str) -> str:
    """A model that never knows it."""
    return "Answer: " + ("B" if right(prompt) == "Answer: A" else "A")


def on_posts(fake, *faults) -> None:
    """Script faults for the questions' requests: the start-up probe (one GET of /v1/models, on the
    controller only) is answered normally first."""
    fake.script(Fault(), *faults)


def met_on_posts(fake, count: int) -> bool:
    """Every scripted fault was met, the first by the probe's GET and the rest by questions."""
    return not fake._faults and fake.requests[0].method == "GET" and all(
        r.method == "POST" for r in fake.requests[1:count + 1])


def gate_args(pytester, kind: str) -> list[str]:
    """A gate that holds for a run that answers every question it gets right."""
    if kind == "min-accuracy":
        return ["--mmlu-min-accuracy=50%", "--mmlu-min-accuracy=astronomy=0.5"]
    baseline = pytester.path / "baseline.json"  # a past run that answered everything right
    baseline.write_text(json.dumps({"questions": [{"nodeid": n, "outcome": "passed"} for n in NODEIDS]}))
    return [f"--mmlu-baseline={baseline}", "--mmlu-max-drop=5"]


GATE_LINES = {"min-accuracy": ["gate overall >= 50.0%: PASS*", "gate astronomy >= 50.0%: PASS*"],
              "max-drop": ["gate overall drop <= 5 points (or not significant): PASS*"]}


def run(pytester, url, data, *extra, backend="openai"):
    report = pytester.path / "report.json"
    result = run_pytest(pytester, "-p", "no:randomly", f"--mmlu-backend={backend}", f"--mmlu-base-url={url}",
                        f"--mmlu-dataset={data}", f"--mmlu-report={report}", "--mmlu-no-cache", "--mmlu-timeout=10",
                        *extra, report=report)
    result.out = result.stdout.str() + result.stderr.str()
    return result


# -- gates hold, yet the run is not green ------------------------------------------------------------


FAULTS = {
    # a 500 on the first question's request and on its one retry: the retries are spent, an error
    "server-500": (lambda fake: on_posts(fake, fake.error("server"), fake.error("server")),
                   ["--mmlu-retries=1", "--mmlu-concurrency=1"],
                   "HTTP 500 from *; not cached; run the same command again to retry"),
    # one reply that is not JSON (never retried): an error; under xdist, reported by a worker
    "not-json-xdist": (lambda fake: on_posts(fake, not_json()),
                       ["--mmlu-retries=0", "-n", "2"],
                       "*not JSON*; not cached; run again to ask again"),
}


@pytest.mark.parametrize("fault, gate", [("server-500", "min-accuracy"), ("server-500", "max-drop"),
                                         ("not-json-xdist", "min-accuracy")])
def test_an_errored_question_fails_a_gated_run_whose_gates_hold(pytester, data, fault, gate):
    script, options, message = FAULTS[fault]
    with OpenAIFake("openai", answer=right) as fake:
        script(fake)
        result = run(pytester, fake.url, data, *options, *gate_args(pytester, gate))
        assert met_on_posts(fake, 2 if fault == "server-500" else 1), fake.requests
    o = result.report["overall"]
    assert o["errors"] == 1 and o["correct"] == QUESTIONS - 1 and o["wrong"] == 0, result.out
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.out
    # the error in one line; every gate holds, and the one line that says why the run fails all the same
    result.stdout.fnmatch_lines(["*ERROR at setup of mmlu::*::q000?*", message])
    result.stdout.fnmatch_lines(["1 question* errored (backend faults, not counted as wrong); re-run to retry them",
                                 *GATE_LINES[gate]])
    assert "Traceback" not in result.out


@pytest.mark.parametrize("own, status, workers", [
    ("assert 1 + 1 == 3", pytest.ExitCode.TESTS_FAILED, []),
    ("assert 1 + 1 == 3", pytest.ExitCode.TESTS_FAILED, ["-n", "2"]),  # the failure comes from a worker
    ("assert 1 + 1 == 2", pytest.ExitCode.OK, []),
], ids=["fails", "fails-xdist", "passes"])
def test_an_own_test_that_fails_is_not_hidden_by_a_gate_that_holds(pytester, data, workers, own, status):
    """The repository's own test, run in the same session (its path given with the MMLU options): when it
    fails, the run fails, whatever the gates say; when it passes, the gates alone decide (0 here)."""
    pytester.makepyfile(test_own=f"def test_own():\n    {own}\n")
    with OpenAIFake("openai", answer=right) as fake:
        result = run(pytester, fake.url, data, "test_own.py", "--mmlu-min-accuracy=50%", *workers)
    assert result.report["overall"]["correct"] == QUESTIONS, result.out
    result.stdout.fnmatch_lines(["gate overall >= 50.0%: PASS*"])
    assert result.ret == status, result.out
    if status == pytest.ExitCode.TESTS_FAILED:
        result.assert_outcomes(passed=QUESTIONS, failed=1)
        result.stdout.fnmatch_lines(["FAILED test_own.py::test_own - assert*"])
    else:
        result.assert_outcomes(passed=QUESTIONS + 1)


# -- a fault that ends the run keeps its own status, whatever the gates say -------------------------


# a gate that holds on the questions answered before the fault, and one that fails on them
GATE_OUTCOMES = pytest.mark.parametrize("answer, verdict", [(right, "PASS"), (wrong, "FAIL")],
                                        ids=["gate-holds", "gate-fails"])


@GATE_OUTCOMES
def test_a_server_gone_mid_run_exits_2_with_gates(pytester, data, answer, verdict):
    with OpenAIFake("openai", answer=answer, go_away_after=2) as fake:
        result = run(pytester, fake.url, data, "--mmlu-concurrency=1", "--mmlu-retries=1",
                     "--mmlu-min-accuracy=50%")
        assert fake.went_away.is_set()
    assert result.ret == pytest.ExitCode.INTERRUPTED, result.out
    result.stdout.fnmatch_lines([f"gate overall >= 50.0%: {verdict} (* on 2 questions)",
                                 f"the openai backend at {fake.url} went away after 2 answers (connection refused); "
                                 f"{QUESTIONS - 2} questions were not asked; run the same command again to ask only "
                                 f"those"])
    assert result.report["stopped"]["kind"] == "gone"


@GATE_OUTCOMES
def test_a_key_rejected_mid_run_exits_4_with_gates(pytester, data, monkeypatch, answer, verdict):
    """Two questions answered, then the service rejects the key (revoked during the run): 4, the
    status that says 'fix the configuration', whatever the gate says of the two answers."""
    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
    with OpenAIFake("deepseek", answer=answer) as fake:
        on_posts(fake, fake.reply(), fake.reply(), fake.error("key"))
        result = run(pytester, fake.url, data, "--mmlu-concurrency=1", "--mmlu-min-accuracy=50%",
                     backend="deepseek")
        assert met_on_posts(fake, 3), fake.requests
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.out
    result.stdout.fnmatch_lines([f"gate overall >= 50.0%: {verdict} (* on 2 questions)",
                                 f"key rejected for deepseek (HTTP 401 from {fake.url}/v1/chat/completions: *"
                                 f"; 2 answers kept"])
    assert result.report["stopped"]["kind"] == "key"
    assert KEY not in result.out


# -- a gated run is green only when the whole run was: own collection errors, crashed workers, -x ----------


def test_an_own_file_that_cannot_be_collected_is_not_hidden_by_a_gate(pytester, data):
    pytester.makepyfile(test_own="import no_such_module_for_pytest_mmlu\n\n\ndef test_own():\n    pass\n")
    with OpenAIFake("openai", answer=right) as fake:
        result = run(pytester, fake.url, data, "test_own.py", "--continue-on-collection-errors",
                     "--mmlu-min-accuracy=50%")
    if result.report is None or result.report["overall"]["correct"] != QUESTIONS:
        pytest.fail(f"the MMLU items did not all run:\n{result.out}")
    if not any(line.startswith("ERROR test_own.py") for line in result.outlines):
        pytest.fail(f"the collection error was not reported:\n{result.out}")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["1 failure besides the MMLU verdicts (own tests, files that could not be "
                                 "collected, crashed workers) fails the gated run"])


def test_a_crashed_worker_is_not_hidden_by_a_gate(pytester, data):
    pytester.makeconftest("""
import os
def pytest_runtest_setup(item):
    if item.nodeid == "mmlu::astronomy::q0002" and hasattr(item.config, "workerinput"):
        os._exit(3)
""")
    with OpenAIFake("openai", answer=right) as fake:
        result = run(pytester, fake.url, data, "--mmlu-min-accuracy=50%", "-n", "2", "--max-worker-restart=1")
    if not any("crashed while running 'mmlu::astronomy::q0002'" in line for line in result.outlines):
        pytest.fail(f"the worker did not crash on the item:\n{result.out}")
    if result.report is None or result.report["overall"]["not_run"] != 1:
        pytest.fail(f"the crashed item is not the one question not run:\n{result.out}")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["1 failure besides the MMLU verdicts * fails the gated run"])


def test_a_run_cut_short_by_exitfirst_is_not_green(pytester, data):
    with OpenAIFake("openai", answer=wrong) as fake:
        result = run(pytester, fake.url, data, "--mmlu-min-accuracy=0%", "-x")
    if result.report is None or result.report["overall"]["not_run"] != QUESTIONS - 1:
        pytest.fail(f"-x did not stop the run after the first question:\n{result.out}")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"the run stopped early (1 failure(s) allowed by -x or --maxfail): {QUESTIONS - 1} "
                                 f"questions were not run, so the gates fail the run"])
