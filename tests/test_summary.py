"""The numbers: intervals, gates, tallies, baseline comparison."""

import argparse
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_mmlu.core.subjects import category_of
from pytest_mmlu.report.baseline import BaselineError, compare, load_baseline, render_comparison
from pytest_mmlu.report.gates import Gate, check_scopes, evaluate, parse_gate
from pytest_mmlu.report.schema import to_report
from pytest_mmlu.report.stats import mcnemar_exact_p, wilson_interval
from pytest_mmlu.report.summary import render, summarize


def test_wilson_known_values():
    low, high = wilson_interval(50, 100)
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and 0.25 < high < 0.35


@given(st.integers(1, 2000), st.data())
def test_wilson_contains_the_estimate_and_narrows(n, data):
    k = data.draw(st.integers(0, n))
    low, high = wilson_interval(k, n)
    assert 0 <= low <= k / n <= high <= 1
    low4, high4 = wilson_interval(4 * k, 4 * n)
    assert high4 - low4 <= high - low + 1e-12


def test_mcnemar():
    assert mcnemar_exact_p(0, 0) == 1.0
    assert mcnemar_exact_p(5, 5) == 1.0
    assert mcnemar_exact_p(10, 0) == pytest.approx(2 / 1024)


@pytest.mark.parametrize("text, gate", [
    ("0.55", Gate(0.55)), ("55%", Gate(0.55)), ("55.5%", Gate(0.555)), ("stem=0.5", Gate(0.5, "stem")),
    ("college_computer_science=60%", Gate(0.6, "college_computer_science")), ("overall=1", Gate(1.0)),
])
def test_gate_forms(text, gate):
    assert parse_gate(text) == gate


@pytest.mark.parametrize("text", ["1.5", "150%", "-0.1", "abc", "stem=", "stem=x%"])
def test_bad_gates(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_gate(text)


def test_gate_scopes_are_checked_with_suggestions():
    with pytest.raises(ValueError, match="unknown scope 'stme'.*stem"):
        check_scopes([Gate(0.5, "stme")], ["astronomy"], ["stem", "other"])


def record(subject, index, outcome, unparsed=False):
    return {"nodeid": f"mmlu::{subject}::q{index:04d}", "subject": subject, "index": index, "expected": "A",
            "predicted": None if unparsed or outcome == "error" else ("A" if outcome == "passed" else "B"),
            "outcome": outcome, "unparsed": unparsed, "reply": ""}


RECORDS = [record("astronomy", 0, "passed"), record("astronomy", 1, "failed"),
           record("astronomy", 2, "failed", unparsed=True), record("astronomy", 3, "error"),
           record("virology", 0, "passed"), record("virology", 1, "passed")]
SELECTED = [r["nodeid"] for r in RECORDS] + ["mmlu::virology::q0002"]


def test_every_selected_question_is_accounted_for():
    s = summarize(RECORDS, SELECTED, category_of)
    a, v, o = s.subjects["astronomy"], s.subjects["virology"], s.overall
    assert (a.correct, a.wrong, a.unparsed, a.errors, a.not_run) == (1, 1, 1, 1, 0)
    assert a.accuracy == pytest.approx(1 / 3)  # errors are not in the denominator
    assert (v.correct, v.not_run, v.accuracy) == (2, 1, 1.0)
    assert o.selected == len(SELECTED) == o.correct + o.wrong + o.unparsed + o.errors + o.not_run
    assert o.accuracy == pytest.approx(3 / 5)
    assert s.subject_average == pytest.approx((1 / 3 + 1) / 2)
    assert s.categories["stem"].correct == 1 and s.categories["other"].correct == 2


@given(st.permutations(RECORDS))
def test_order_of_reports_does_not_matter(records):
    assert to_report(summarize(records, SELECTED, category_of), [], records, {}) == \
        to_report(summarize(RECORDS, SELECTED, category_of), [], RECORDS, {})


def test_gates_and_rendering():
    s = summarize(RECORDS, SELECTED, category_of)
    verdicts = evaluate([Gate(0.6), Gate(0.5, "astronomy"), Gate(0.1, "humanities")], s)
    assert [v.holds for v in verdicts] == [True, False, False]
    assert verdicts[2].reason == "no questions scored"
    lines = render(s, verdicts)
    assert any(line.startswith("gate overall >= 60.0%: PASS") for line in lines)
    assert any("1 question errored" in line for line in lines)


def test_baseline_comparison(tmp_path):
    before = {r["nodeid"]: r for r in RECORDS}
    after = dict(before)
    after["mmlu::astronomy::q0000"] = record("astronomy", 0, "failed")
    after["mmlu::astronomy::q0001"] = record("astronomy", 1, "passed")
    after["mmlu::virology::q0000"] = record("virology", 0, "failed")
    c = compare(before, after)
    assert c.common == 5 and c.errors_excluded == 1
    assert c.newly_wrong == ["mmlu::astronomy::q0000", "mmlu::virology::q0000"]
    assert c.newly_right == ["mmlu::astronomy::q0001"]
    assert c.delta == pytest.approx(-1 / 5)
    assert "newly wrong: mmlu::virology::q0000" in "\n".join(render_comparison(c))
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"questions": RECORDS}))
    assert load_baseline(path) == before


@pytest.mark.parametrize("content, message", [(None, "does not exist"), ("{oops", "not a readable JSON"),
                                              ('{"overall": {}}', "no 'questions' list")])
def test_damaged_baselines(tmp_path, content, message):
    path = tmp_path / "b.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(BaselineError, match=message):
        load_baseline(path)
