"""Label, Markdown summary and the regression gate as users drive them: pytest runs against a stand-in."""

import json
import re
import subprocess
import sys

import pytest

from fakeservers import OpenAIFake
from runs import run_pytest

SUBJECTS = ("astronomy", "virology")
GGUF = "/models/mistral-7b-instruct-v0.2.Q4_K_M.gguf"


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data(subjects=SUBJECTS, per_subject=8, seed=5, dev_per_subject=5, dev_seed=6)


def arithmetic(wrong=lambda subject, index: False):
    """A model that adds correctly, except on the questions `wrong` names."""
    def answer(prompt: str) -> str:
        subject, index, a, b = re.findall(r"In ([a-z ]+) problem (\d+): what is (\d+) \+ (\d+)\?", prompt)[-1]
        choices = re.findall(r"^([A-J])\. (.*)$", prompt, re.MULTILINE)[-4:]
        right = next(letter for letter, text in choices if text.strip() == str(int(a) + int(b)))
        if wrong(subject.replace(" ", "_"), int(index)):
            return "Answer: " + next(letter for letter, _ in choices if letter != right)
        return f"Answer: {right}"
    return answer


def args(url, data, report, *extra):
    return ("-p", "no:randomly", "--mmlu-backend=llama", f"--mmlu-model={GGUF}", "--mmlu-scoring=generate",
            f"--mmlu-base-url={url}", f"--mmlu-dataset={data}", "--mmlu-no-cache", f"--mmlu-report={report}", *extra)


def run(pytester, url, data, *extra, report="report.json"):
    return run_pytest(pytester, *args(url, data, report, *extra), report=pytester.path / report)


@pytest.fixture(scope="module")
def baseline(data, tmp_path_factory):
    """One run that answers everything right, made once for the module (pytester is per test)."""
    folder = tmp_path_factory.mktemp("baseline")
    with OpenAIFake("llama", answer=arithmetic(), models=(GGUF,)) as fake:
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                               *args(fake.url, data, "baseline.json")],
                              cwd=folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    report = folder / "baseline.json"
    assert json.loads(report.read_text())["overall"]["correct"] == 16
    return str(report)


def test_default_label_and_config(pytester, data, monkeypatch):
    summary = pytester.path / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    with OpenAIFake("llama", answer=arithmetic(lambda s, i: s == "virology" and i < 3), models=(GGUF,)) as fake:
        url = fake.url.replace("http://", "http://ci:pw-SECRET-9@") + "/v1"
        result = run(pytester, url, data, "--mmlu-markdown=out/summary.md")
    label = "mistral-7b-instruct-v0.2.Q4_K_M.gguf (llama)"
    result.stdout.fnmatch_lines([f"mmlu: run {label}", f"mmlu: backend llama at {fake.url};*",
                                 "*MMLU results*", f"run: {label}", "markdown written to out/summary.md"])
    config = result.report["config"]
    assert config["label"] == label and config["base_urls"] == [fake.url]
    assert config["served_model"] == GGUF and config["split"] == "test" and config["subjects"] == ["all"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", config["started"])
    assert 0 < config["wall_seconds"] < 600
    markdown = (pytester.path / "out" / "summary.md").read_text()
    assert markdown.startswith(f"## MMLU: {label}\n")
    assert "| virology | 62.50% (5/8) |" in markdown and "| astronomy | 100.00% (8/8) |" in markdown
    assert summary.read_text() == "earlier step\n" + markdown + "\n"
    everything = result.stdout.str() + result.stderr.str() + json.dumps(result.report) + markdown
    assert "SECRET-9" not in everything


def test_label_given(pytester, data):
    with OpenAIFake("llama", answer=arithmetic(), models=(GGUF,)) as fake:
        result = run(pytester, fake.url, data, "--mmlu-label=nightly Q4 build", "--mmlu-subject=astronomy")
    result.stdout.fnmatch_lines(["mmlu: run nightly Q4 build", "run: nightly Q4 build"])
    assert result.report["config"]["label"] == "nightly Q4 build"


@pytest.mark.parametrize("args, message", [
    (("--mmlu-max-drop=2",), "*--mmlu-max-drop needs --mmlu-baseline*"),
    (("--mmlu-max-drop=astronmy=2", "--mmlu-baseline=baseline.json"), "*--mmlu-max-drop: unknown scope 'astronmy'*"),
    (("--mmlu-max-drop=two",), "*--mmlu-max-drop 'two': 'two' is not a number*"),
])
def test_max_drop_usage_errors(pytester, data, args, message):
    (pytester.path / "baseline.json").write_text(json.dumps({"questions": []}))
    with OpenAIFake("llama", answer=arithmetic(), models=(GGUF,)) as fake:
        result = run(pytester, fake.url, data, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("workers", [("-p", "no:xdist"), ("-n", "2")], ids=["serial", "xdist"])
def test_a_real_drop_fails_the_run(pytester, data, baseline, workers):
    # every astronomy question lost: 16 -> 8 right, -50 points, McNemar p = 2/256
    with OpenAIFake("llama", answer=arithmetic(lambda s, i: s == "astronomy"), models=(GGUF,)) as fake:
        result = run(pytester, fake.url, data, *workers, f"--mmlu-baseline={baseline}", "--mmlu-max-drop=5",
                     "--mmlu-max-drop=virology=5", "--mmlu-max-drop=stem=0", "--mmlu-markdown=summary.md")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "gate overall drop <= 5 points (or not significant): FAIL (100.0% -> 50.0%, -50.0 points on 16 common "
        "questions, 8 newly wrong, 0 newly right, McNemar p = 0.00781, Holm-adjusted over 3 gated scopes p = 0.0234, "
        "significant; 8 questions changed letter)",
        "gate virology drop <= 5 points (or not significant): PASS*",
        "gate stem drop <= 0 points (or not significant): FAIL*",
    ])
    gates = {g["scope"]: g for g in result.report["drop_gates"]}
    assert not gates["overall"]["holds"] and gates["overall"]["drop_points"] == pytest.approx(50.0)
    assert gates["virology"]["holds"]
    markdown = (pytester.path / "summary.md").read_text()
    assert "❌ FAIL" in markdown and "- `mmlu::astronomy::q0007`" in markdown


def test_noise_does_not_fail_the_run(pytester, data, baseline):
    # two questions lost, none gained: -12.5 points, more than 5, but McNemar p = 0.5
    with OpenAIFake("llama", answer=arithmetic(lambda s, i: s == "virology" and i in (2, 5)),
                    models=(GGUF,)) as fake:
        result = run(pytester, fake.url, data, f"--mmlu-baseline={baseline}", "--mmlu-max-drop=5")
    result.stdout.fnmatch_lines(["gate overall drop <= 5 points (or not significant): PASS (*-12.5 points on 16 "
                                 "common questions*McNemar p = 0.5, not significant: noise; 2 questions changed letter)"])
    result.assert_outcomes(passed=14, failed=2)
    assert result.ret == pytest.ExitCode.OK  # a gated run: wrong answers alone do not fail it


def test_reports_from_runs_compare(pytester, data, baseline, capsys):
    from pytest_mmlu.cli import main
    with OpenAIFake("llama", answer=arithmetic(lambda s, i: i % 2 == 0), models=(GGUF,)) as fake:
        run(pytester, fake.url, data, "--mmlu-label=half", report="half.json")
    assert main(["compare", "--format=markdown", baseline, str(pytester.path / "half.json")]) == 0
    out = capsys.readouterr().out
    assert "| mistral-7b-instruct-v0.2.Q4_K_M.gguf (llama) | llama, generate, 0-shot | astronomy | 100.00% (8/8) |" \
        in out
    assert "| half | llama, generate, 0-shot | all (2 subjects) | 50.00% (8/16) |" in out
    assert "| 16 | 100.00% (16/16) | 50.00% (8/16) | -50.00 | [-69.02, -26.11] | 8 | 0 | 0.00781 | yes |" in out
