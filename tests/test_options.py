"""Options as users give them: `pytest --help` lists them all; --mmlu-split, --mmlu-temperature and the xdist
lookahead (-n) through pytest runs against local stand-ins (loopback only)."""

import dataclasses
import re
import shutil
import threading
from pathlib import Path

import pytest

from pytest_mmlu.engine.settings import Settings
from pytest_mmlu.plugin.options import OPTIONS

from datafolders import make_questions, right, write_hub_layout
from fakeservers import OllamaFake, OpenAIFake
from runs import run_pytest


def test_help_lists_every_option(pytester):
    """argparse formats help text: a bare % breaks it."""
    result = pytester.runpytest("--help")
    assert result.ret == 0
    out = result.stdout.str()
    for opt in OPTIONS:
        assert f"--mmlu-{opt.name}" in out
    assert "55%;" in out  # a literal percent sign, not a format error


def test_every_option_fills_one_setting():
    assert sorted(opt.setting for opt in OPTIONS) == sorted(f.name for f in dataclasses.fields(Settings))


# -- options driven through pytest runs against a local stand-in (loopback only) ----------------------

# two splits with different questions, and different subjects, so a run on one cannot pass for the other
SPLITS = {"test": make_questions("astronomy", 4, seed=21),
          "validation": make_questions("astronomy", 2, seed=22) + make_questions("virology", 1, seed=22)}


@pytest.fixture(scope="module")
def data(hub_data):
    texts = {split: {r["question"] for r in rows} for split, rows in SPLITS.items()}
    assert not texts["test"] & texts["validation"]
    return hub_data(SPLITS)


def posts(fake):
    return [r for r in fake.requests if r.method == "POST"]


def asked(fake) -> list[str]:
    """The questions the stand-in was asked, read from the prompts it received."""
    return [re.findall(r"In [a-z ]+ problem \d+: what is \d+ \+ \d+\?", fake.prompt_of(r))[-1] for r in posts(fake)]


def run(pytester, url, data, *extra, backend="openai"):
    report = pytester.path / "report.json"
    return run_pytest(pytester, "-p", "no:randomly", f"--mmlu-backend={backend}", f"--mmlu-base-url={url}",
                      f"--mmlu-dataset={data}", f"--mmlu-report={report}", *extra, report=report)


def one_line_usage_error(result, pattern: str, about: str) -> None:
    """A usage error (4): the problem named in one line, no traceback."""
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + err
    result.stderr.fnmatch_lines([pattern])
    assert len([line for line in err.splitlines() if about in line]) == 1, err
    assert "Traceback" not in err + result.stdout.str()


# -- --mmlu-split ------------------------------------------------------------------------------------


def test_split_runs_exactly_the_questions_of_that_split(pytester, data):
    with OpenAIFake("openai", answer=right) as fake:
        result = run(pytester, fake.url, data, "--mmlu-split=validation", "--mmlu-no-cache")
    result.stdout.fnmatch_lines(["mmlu: dataset * split validation; shots 0; limit none"])
    result.assert_outcomes(passed=3)
    report = result.report
    assert [q["nodeid"] for q in report["questions"]] == [
        "mmlu::astronomy::q0000", "mmlu::astronomy::q0001", "mmlu::virology::q0000"]
    assert report["config"]["split"] == "validation" and report["overall"]["correct"] == 3
    assert sorted(asked(fake)) == sorted(r["question"] for r in SPLITS["validation"])
    # and without the option, the test split: its own questions, its own node ids
    default = pytester.runpytest_subprocess("--mmlu-backend=llama", f"--mmlu-dataset={data}", "--collect-only",
                                            "-q")
    default.stdout.fnmatch_lines(["mmlu::astronomy::q0003", "4 tests collected*"])
    assert "virology" not in default.stdout.str()


def test_an_unknown_split_stops_at_start_with_one_line(pytester, data):
    with OpenAIFake("openai", answer=right) as fake:
        result = run(pytester, fake.url, data, "--mmlu-split=valid")
        assert not fake.requests  # nothing asked, not even the start-up probe
    one_line_usage_error(result, "ERROR: *", "ERROR")
    assert not result.stdout.str().count("mmlu::")


def test_an_unknown_split_is_named_with_the_splits_there_are(pytester, data):
    result = pytester.runpytest_subprocess("--mmlu-backend=llama", f"--mmlu-dataset={data}", "--mmlu-split=valid",
                                           "--collect-only")
    line = result.stderr.str()
    if result.ret != pytest.ExitCode.USAGE_ERROR or not ("split" in line or "subject" in line):
        pytest.fail(f"not a usage error about the split:\n{result.stdout.str()}{line}")
    assert "'valid'" in line and "validation" in line and "test" in line, line


# -- --mmlu-temperature ------------------------------------------------------------------------------


def temperature_of(backend: str, body: dict):
    return body["options"]["temperature"] if backend == "ollama" else body["temperature"]


@pytest.mark.parametrize("backend, fake_class", [("openai", OpenAIFake), ("ollama", OllamaFake)])
def test_temperature_reaches_every_request(pytester, data, backend, fake_class):
    """0 unless told; the value given, in every request; and a reply cached at one temperature is not
    reused at another (both runs share the default reply cache)."""
    for extra, expected in (((), 0), (("--mmlu-temperature=0.7",), 0.7)):
        with fake_class(answer=right) as fake:
            result = run(pytester, fake.url, data, "--mmlu-subject=astronomy", *extra, backend=backend)
        assert [temperature_of(backend, r.body) for r in posts(fake)] == [expected] * 4, result.stdout.str()
        assert result.report["config"]["temperature"] == expected
        assert result.ret == pytest.ExitCode.OK


def test_temperature_from_ini_and_environment(pytester, data, monkeypatch):
    pytester.makeini("[pytest]\nmmlu_temperature = 0.25\n")
    for env, expected in ((None, 0.25), ("0.5", 0.5)):  # the environment over the ini file
        if env is not None:
            monkeypatch.setenv("MMLU_TEMPERATURE", env)
        with OpenAIFake("openai", answer=right) as fake:
            run(pytester, fake.url, data, "--mmlu-subject=astronomy", "--mmlu-limit=1", "--mmlu-no-cache")
        assert [r.body["temperature"] for r in posts(fake)] == [expected]


@pytest.mark.parametrize("value, env, message", [
    ("hot", False, "*--mmlu-temperature must be a number, not 'hot'"),
    ("-1", False, "*--mmlu-temperature must be 0 or more, not -1"),
    ("nan", False, "*--mmlu-temperature must be 0 or more, not nan"),
    ("hot", True, "*--mmlu-temperature must be a number, not 'hot' (from MMLU_TEMPERATURE or ini mmlu_temperature)"),
])
def test_a_bad_temperature_stops_at_start_with_one_line(pytester, data, monkeypatch, value, env, message):
    if env:
        monkeypatch.setenv("MMLU_TEMPERATURE", value)
    with OpenAIFake("openai", answer=right) as fake:
        result = run(pytester, fake.url, data, *(() if env else (f"--mmlu-temperature={value}",)))
        assert not fake.requests
    one_line_usage_error(result, message, "--mmlu-temperature must")


def test_an_infinite_temperature_stops_at_start(pytester, data):
    with OpenAIFake("openai", answer=right) as fake:
        result = run(pytester, fake.url, data, "--mmlu-temperature=inf", "--mmlu-limit=1", "--mmlu-no-cache")
    if result.report is None and result.ret != pytest.ExitCode.USAGE_ERROR:
        pytest.fail(f"the run did not get as far as its questions:\n{result.stdout.str()}{result.stderr.str()}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


# -- -n: the xdist lookahead ---------------------------------------------------------------------------


def test_xdist_workers_ask_for_queued_questions_before_running_them(pytester, tmp_path):
    """Under -n 2 each worker asks for the questions queued for it while it runs the one before: five
    requests in flight at once, held by the stand-in until the fifth arrives, while the two workers each
    run one item and wait for its reply. Without the lookahead a worker has one request in flight (its
    item's); with the next item only (pytest-xdist before 3.7), two: four in all, never five."""
    # 48 questions: xdist sends each of the 2 workers 6 at once (a quarter of its share)
    folder = write_hub_layout(tmp_path / "many", {"test": make_questions("astronomy", 48, seed=23)})
    together = threading.Barrier(5, timeout=60)  # the timeout only ends a failing run; passing never waits on it
    lock, count = threading.Lock(), [0]

    def answer(prompt):
        with lock:
            count[0] += 1
            held = count[0] <= 5
        if held:
            try:
                together.wait()
            except threading.BrokenBarrierError:
                pass  # fails the test below
        return right(prompt)

    with OpenAIFake("openai", answer=answer) as fake:
        result = run(pytester, fake.url, folder, "-n", "2", "--mmlu-concurrency=4", "--mmlu-no-cache")
    assert not together.broken, "five requests were never in flight at once: the workers did not look ahead"
    result.stdout.no_fnmatch_line("*lookahead*")
    assert result.report["overall"]["correct"] == 48 and len(posts(fake)) == 48


def test_xdist_that_hides_the_worker_queue_is_named_in_the_header(pytester, data):
    """The same run on a pytest-xdist whose worker queue cannot be read (its lock renamed, as before 3.7,
    when it was a plain queue.Queue): one header line says there is no lookahead, and the run completes."""
    import xdist
    copy = pytester.path / "xdist"  # the subprocess finds packages in its working folder first
    shutil.copytree(Path(xdist.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    remote = copy / "remote.py"
    source, renamed = re.subn(r"\block\(", "_hold(", remote.read_text())
    assert renamed >= 2, "pytest-xdist's TestQueue.lock is gone: update this test"
    remote.write_text(source)
    with OpenAIFake("openai", answer=right) as fake:
        result = run(pytester, fake.url, data, "-n", "2", "--mmlu-no-cache")
    result.stdout.fnmatch_lines([f"mmlu: -n 2: no lookahead: pytest-xdist {xdist.__version__} keeps each worker's "
                                 f"queue out of reach, so a worker asks at most one question ahead of the one it "
                                 f"runs (pytest-xdist 3.7 or later: every question queued for it)",
                                 "mmlu: run *"])
    assert result.ret == pytest.ExitCode.OK and result.report["overall"]["correct"] == 4
