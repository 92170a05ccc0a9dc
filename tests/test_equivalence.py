"""The equivalence gate (--mmlu-equivalent) on Newcombe's paired interval, Holm's correction across the drop
gates of a run (--mmlu-drop-correction), and the 90% interval of each pair in `pytest-mmlu compare`: the
statistics against hand-worked and published values, the gates on hand-made pairs, and real runs."""

import json
import math
import re
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_mmlu.cli import main
from pytest_mmlu.report.baseline import Paired
from pytest_mmlu.report.gates import (
    DropGate,
    EquivalenceGate,
    evaluate_drops,
    evaluate_equivalence,
    parse_equivalent,
)
from pytest_mmlu.report.stats import Z90, Z95, holm_adjusted, paired_difference_interval

from fakeservers import OpenAIFake
from runs import run_pytest


def paired(both, newly_wrong, newly_right, neither) -> Paired:
    return Paired(common=both + newly_wrong + newly_right + neither, baseline_correct=both + newly_wrong,
                  current_correct=both + newly_right, newly_wrong=newly_wrong, newly_right=newly_right)


# -- the interval -----------------------------------------------------------------------------------------------


def test_newcombe_by_hand():
    # 100 questions: 40 right in both, 5 right only before, 15 right only now, 40 wrong in both; z = 1.644854.
    # Wilson 90% of 45/100: centre (0.45 + z^2/200) / (1 + z^2/100) = 0.451317, half 0.080756: [0.370561, 0.532073];
    # of 55/100, mirrored: [0.467927, 0.629439]. phi: ad - bc = 1600 - 75 = 1525 > n/2, so (1525 - 50) /
    # sqrt(45 * 55 * 55 * 45) = 1475 / 2475 = 0.595960. d = 0.10;
    # low  = d - sqrt(0.082073^2 + 0.082073^2 - 2 phi 0.082073^2) = 0.10 - 0.073778 = 0.026222
    # high = d + sqrt(0.079439^2 + 0.079439^2 - 2 phi 0.079439^2) = 0.10 + 0.071410 = 0.171410
    low, high = paired_difference_interval(40, 5, 15, 40, Z90)
    assert low == pytest.approx(0.026222, abs=2e-6) and high == pytest.approx(0.171410, abs=2e-6)
    # the Wald interval from the discordant counts is close here: d +- z sqrt(b + c - (c - b)^2 / n) / n
    wald = 1.644854 * math.sqrt(5 + 15 - 10 ** 2 / 100) / 100
    assert (0.10 - wald, 0.10 + wald) == (pytest.approx(0.028302, abs=1e-6), pytest.approx(0.171698, abs=1e-6))


def test_newcombe_as_published():
    # Fagerland, Lydersen and Laake, "Statistical Analysis of Contingency Tables" (2017), the paired 2x2 table of
    # Cavo et al. (2012): 59, 6 / 16, 80; Newcombe's square-and-add interval of first minus second, 95%:
    # -0.0621 (-0.1186 to -0.0046). Ours is second minus first.
    low, high = paired_difference_interval(59, 6, 16, 80, Z95)
    assert (round(-high, 4), round(-low, 4)) == (-0.1186, -0.0046)


def test_no_question_changed_still_has_a_width():
    # the Wald interval would be [0, 0]: "equivalent within any margin" from 100 identical answers
    low, high = paired_difference_interval(100, 0, 0, 0)
    assert high == pytest.approx(1 - 0.973657, abs=1e-6) and low == -high  # Wilson's lower end of 100/100
    assert paired_difference_interval(0, 0, 0, 0) == (-1.0, 1.0)


@given(st.integers(0, 300), st.integers(0, 60), st.integers(0, 60), st.integers(0, 300))
def test_the_interval_holds_the_difference_and_stays_in_bounds(both, b, c, neither):
    n = both + b + c + neither
    if n == 0:
        return
    low, high = paired_difference_interval(both, b, c, neither)
    assert -1 <= low <= (c - b) / n <= high <= 1
    wider_low, wider_high = paired_difference_interval(both, b, c, neither, Z95)
    assert wider_low <= low + 1e-12 and high <= wider_high + 1e-12


def test_holm_by_hand():
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> 0.06 (never below the one before)
    assert holm_adjusted([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # the step-down rule: reject the i-th smallest while p_i <= alpha / (k - i + 1)
    ps = [0.01, 0.04, 0.03, 0.005]
    rejected = set()
    for i, (p, index) in enumerate(sorted((p, index) for index, p in enumerate(ps))):
        if p > 0.05 / (len(ps) - i):
            break
        rejected.add(index)
    assert rejected == {i for i, q in enumerate(holm_adjusted(ps)) if q <= 0.05} == {0, 3}
    assert holm_adjusted([]) == [] and holm_adjusted([0.7]) == [0.7]


# -- the gates ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, gate", [("2", EquivalenceGate(2.0)), ("stem=1.5", EquivalenceGate(1.5, "stem")),
                                        ("astronomy=3%", EquivalenceGate(3.0, "astronomy"))])
def test_equivalence_forms(text, gate):
    assert parse_equivalent(text) == gate


@pytest.mark.parametrize("text, message", [("0", "must be above 0 and at most 100 points"),
                                           ("two", "'two' is not a number"), ("101", "must be above 0")])
def test_equivalence_refused(text, message):
    import argparse
    with pytest.raises(argparse.ArgumentTypeError, match=re.escape(message)):
        parse_equivalent(text)


def test_equivalence_verdicts():
    scopes = {"overall": paired(40, 5, 15, 40), "astronomy": paired(100, 0, 0, 0)}
    wide, narrow, identical, absent = evaluate_equivalence(
        [EquivalenceGate(20.0), EquivalenceGate(15.0), EquivalenceGate(3.0, "astronomy"),
         EquivalenceGate(3.0, "virology")], scopes)
    assert wide.holds and wide.interval == (pytest.approx(2.6222, abs=1e-4), pytest.approx(17.1410, abs=1e-4))
    assert wide.reason == ("45.0% -> 55.0%, +10.0 points on 100 common questions, 90% interval [+2.6, +17.1] "
                           "inside ±20, 5 newly wrong, 15 newly right")
    assert not narrow.holds and "not inside ±15" in narrow.reason
    assert identical.holds and identical.difference == 0  # [-2.6, +2.6] inside ±3
    assert not evaluate_equivalence([EquivalenceGate(2.5, "astronomy")], scopes)[0].holds
    assert not absent.holds and absent.reason == "no question answered in both runs"


def test_holm_across_the_drop_gates_of_a_run():
    # one scope dropped 6 of 100 with none gained (McNemar p = 2/64 = 0.03125); three scopes unchanged
    scopes = {"overall": paired(50, 6, 0, 44), **{s: paired(50, 0, 0, 50) for s in ("stem", "other", "humanities")}}
    gates = [DropGate(2.0), DropGate(2.0, "stem"), DropGate(2.0, "other"), DropGate(5.0, "humanities"),
             DropGate(0.0, "stem")]  # two gates on stem: one test of stem
    plain = evaluate_drops(gates, scopes, correction="none")
    holm = evaluate_drops(gates, scopes, correction="holm")
    assert not plain[0].holds and plain[0].p_value == pytest.approx(0.03125)
    assert plain[0].reason.endswith("McNemar p = 0.0312, not corrected for 4 gated scopes, significant")
    assert holm[0].holds and holm[0].adjusted_p == pytest.approx(0.125) and holm[0].family == 4
    assert holm[0].reason.endswith("McNemar p = 0.0312, Holm-adjusted over 4 gated scopes p = 0.125, not "
                                   "significant: noise")
    assert all(v.holds for v in holm[1:]) and all(v.correction == "holm" for v in holm)
    # one gate alone: nothing to correct, the verdict as before
    [alone] = evaluate_drops([DropGate(2.0)], scopes)
    assert not alone.holds and alone.reason.endswith("McNemar p = 0.0312, significant")


def test_the_report_keeps_the_verdicts():
    from pytest_mmlu.core.subjects import category_of
    from pytest_mmlu.report.baseline import compare
    from pytest_mmlu.report.schema import to_report
    from pytest_mmlu.report.summary import summarize
    records = [{"nodeid": f"mmlu::astronomy::q{i:04d}", "subject": "astronomy", "index": i, "expected": "A",
                "predicted": "A", "outcome": "passed", "unparsed": False, "reply": "", "error": None}
               for i in range(100)]
    comparison = compare({r["nodeid"]: r for r in records}, {r["nodeid"]: r for r in records}, category_of)
    verdicts = evaluate_equivalence([EquivalenceGate(3.0, "stem")], comparison.scopes)
    drops = evaluate_drops([DropGate(1.0), DropGate(1.0, "stem")], comparison.scopes)
    report = to_report(summarize(records, [r["nodeid"] for r in records], category_of), [], records, {}, comparison,
                       drop_verdicts=drops, equivalence_verdicts=verdicts)
    [gate] = report["equivalence_gates"]
    assert gate["scope"] == "stem" and gate["margin_points"] == 3.0 and gate["holds"] and gate["common"] == 100
    assert gate["difference_points"] == 0 and gate["interval"] == [-2.634273, 2.634273]
    assert [(g["correction"], g["family"], g["adjusted_p_value"]) for g in report["drop_gates"]] == \
        [("holm", 2, 1.0), ("holm", 2, 1.0)]


# -- compare ----------------------------------------------------------------------------------------------------


def test_compare_gives_each_pair_its_interval(tmp_path, capsys):
    def report(outcomes):
        records = [{"nodeid": f"mmlu::astronomy::q{i:04d}", "subject": "astronomy", "index": i, "expected": "A",
                    "predicted": "A" if ok else "B", "outcome": "passed" if ok else "failed", "unparsed": False,
                    "reply": ""} for i, ok in enumerate(outcomes)]
        return {"overall": {"correct": sum(outcomes), "total": len(outcomes)},
                "subjects": {"astronomy": {"correct": sum(outcomes), "total": len(outcomes)}},
                "config": {"backend": "llama"}, "questions": records}
    # 40 right in both, 5 right before only, 15 right now only, 40 wrong in both: the hand-worked case above
    before = [True] * 40 + [True] * 5 + [False] * 15 + [False] * 40
    after = [True] * 40 + [False] * 5 + [True] * 15 + [False] * 40
    for name, outcomes in (("a.json", before), ("b.json", after)):
        (tmp_path / name).write_text(json.dumps(report(outcomes)))
    assert main(["compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\+10\.00\s+\[\+2\.62, \+17\.14\]\s+5\s+15\s", out)
    assert main(["compare", "--format=json", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    [pair] = json.loads(capsys.readouterr().out)["pairs"]
    assert pair["interval_90_points"] == [pytest.approx(2.622157, abs=1e-6), pytest.approx(17.141039, abs=1e-6)]
    assert main(["compare", "--format=markdown", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    assert "| +10.00 | [+2.62, +17.14] | 5 | 15 |" in capsys.readouterr().out


# -- real runs ------------------------------------------------------------------------------------------------

SUBJECTS = ("astronomy", "virology")
GGUF = "/models/mistral-7b-instruct-v0.2.Q4_K_M.gguf"


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data(subjects=SUBJECTS, per_subject=8, seed=21)


def adds(wrong=lambda subject, index: False):
    """A model that adds, except on the questions `wrong` names (there it gives the next letter)."""
    def answer(prompt: str) -> str:
        subject, index, a, b = re.findall(r"In ([a-z ]+) problem (\d+): what is (\d+) \+ (\d+)\?", prompt)[-1]
        choices = re.findall(r"^([A-J])\. (.*)$", prompt, re.MULTILINE)[-4:]
        letters = [x for x, _ in choices]
        right = next(x for x, text in choices if text.strip() == str(int(a) + int(b)))
        if wrong(subject.replace(" ", "_"), int(index)):
            return "Answer: " + letters[(letters.index(right) + 1) % 4]
        return f"Answer: {right}"
    return answer


def args(url, data, report, *extra):
    return ("-p", "no:randomly", "--mmlu-backend=llama", f"--mmlu-model={GGUF}", "--mmlu-scoring=generate",
            f"--mmlu-base-url={url}", f"--mmlu-dataset={data}", "--mmlu-no-cache", f"--mmlu-report={report}", *extra)


@pytest.fixture(scope="module")
def baseline(data, tmp_path_factory):
    """Every question right, made once for the module."""
    folder = tmp_path_factory.mktemp("baseline")
    with OpenAIFake("llama", answer=adds(), models=(GGUF,)) as fake:
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                               *args(fake.url, data, "baseline.json")], cwd=folder, capture_output=True, text=True,
                              timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    return str(folder / "baseline.json")


def run(pytester, url, data, *extra):
    report = pytester.path / "report.json"
    return run_pytest(pytester, *args(url, data, report, *extra), report=report)


@pytest.mark.parametrize("workers", [("-p", "no:xdist"), ("-n", "2")], ids=["serial", "xdist"])
def test_the_same_answers_are_equivalent_within_a_wide_margin_only(pytester, data, baseline, workers):
    # 16 questions right in both runs: 90% interval [-14.5, +14.5] (Wilson's lower end of 16/16 is 0.855)
    with OpenAIFake("llama", answer=adds(), models=(GGUF,)) as fake:
        result = run(pytester, fake.url, data, *workers, f"--mmlu-baseline={baseline}", "--mmlu-equivalent=15",
                     "--mmlu-equivalent=astronomy=15", "--mmlu-markdown=m.md")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # one gate fails: the run fails
    result.stdout.fnmatch_lines([
        "gate overall equivalent within ±15 points: PASS (100.0% -> 100.0%, +0.0 points on 16 common questions, "
        "90% interval [-14.5, +14.5] inside ±15, 0 newly wrong, 0 newly right; 0 questions changed letter)",
        "gate astronomy equivalent within ±15 points: FAIL (100.0% -> 100.0%, +0.0 points on 8 common questions, "
        "90% interval [-25.3, +25.3] not inside ±15, 0 newly wrong, 0 newly right; 0 questions changed letter)"])
    assert [g["holds"] for g in result.report["equivalence_gates"]] == [True, False]
    assert result.report["equivalence_gates"][0]["interval"] == [pytest.approx(-14.463865, abs=1e-5),
                                                                 pytest.approx(14.463865, abs=1e-5)]
    markdown = (pytester.path / "m.md").read_text()
    assert "| `overall equivalent within ±15 points` | ✅ PASS |" in markdown


def test_equivalence_decides_the_exit_status(pytester, data, baseline):
    with OpenAIFake("llama", answer=adds(), models=(GGUF,)) as fake:
        holds = run(pytester, fake.url, data, f"--mmlu-baseline={baseline}", "--mmlu-equivalent=15")
        fails = run(pytester, fake.url, data, f"--mmlu-baseline={baseline}", "--mmlu-equivalent=10")
    assert holds.ret == pytest.ExitCode.OK
    assert fails.ret == pytest.ExitCode.TESTS_FAILED  # every answer right, but 16 questions cannot show ±10
    fails.stdout.fnmatch_lines(["gate overall equivalent within ±10 points: FAIL (*interval [[]-14.5, +14.5] not "
                                "inside ±10*"])


def test_a_real_change_is_not_equivalent(pytester, data, baseline):
    with OpenAIFake("llama", answer=adds(lambda s, i: s == "astronomy" and i < 4), models=(GGUF,)) as fake:
        result = run(pytester, fake.url, data, f"--mmlu-baseline={baseline}", "--mmlu-equivalent=40",
                     "--mmlu-max-drop=0", "--mmlu-max-drop=astronomy=0", "--mmlu-max-drop=virology=0")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    gate = result.report["equivalence_gates"][0]
    assert gate["difference_points"] == -25.0 and gate["interval"][0] < -40 < gate["interval"][1] < 0
    # four lost of 16 (McNemar p = 2/16 = 0.125) is noise even before the correction; the verdicts say which applied
    result.stdout.fnmatch_lines(["gate overall drop <= 0 points (or not significant): PASS (*McNemar p = 0.125, "
                                 "Holm-adjusted over 3 gated scopes p = 0.375, not significant: noise; "
                                 "4 questions changed letter)"])
    assert {g["correction"] for g in result.report["drop_gates"]} == {"holm"}


def test_the_correction_can_be_turned_off(pytester, data, baseline):
    with OpenAIFake("llama", answer=adds(lambda s, i: s == "astronomy"), models=(GGUF,)) as fake:
        plain = run(pytester, fake.url, data, f"--mmlu-baseline={baseline}", "--mmlu-max-drop=0",
                    "--mmlu-max-drop=astronomy=0", "--mmlu-drop-correction=none")
    plain.stdout.fnmatch_lines(["gate astronomy drop <= 0 points (or not significant): FAIL (*McNemar p = 0.00781, "
                                "not corrected for 2 gated scopes, significant; 8 questions changed letter)"])
    assert {g["correction"] for g in plain.report["drop_gates"]} == {"none"}


@pytest.mark.parametrize("extra, message", [
    (("--mmlu-equivalent=2",), "*--mmlu-equivalent needs --mmlu-baseline*"),
    (("--mmlu-equivalent=astronmy=2", "--mmlu-baseline=baseline.json"),
     "*--mmlu-equivalent: unknown scope 'astronmy'*"),
    (("--mmlu-equivalent=0",), "*--mmlu-equivalent '0': must be above 0 and at most 100 points*"),
    (("--mmlu-drop-correction=bonferroni",), "*unknown correction 'bonferroni'*"),
])
def test_usage_errors(pytester, data, extra, message):
    (pytester.path / "baseline.json").write_text(json.dumps({"questions": []}))
    with OpenAIFake("llama", answer=adds(), models=(GGUF,)) as fake:
        result = run(pytester, fake.url, data, *extra)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()
