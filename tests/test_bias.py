"""Position bias from the question records: the letters picked against the letters right, accuracy by position
of the right answer, and the imbalance of the wrong answers; in the summary, the report, the Markdown, compare,
and a real run against a stand-in that prefers A."""

import json
import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_mmlu.cli import main
from pytest_mmlu.core.subjects import category_of
from pytest_mmlu.report.bias import position_bias
from pytest_mmlu.report.markdown import render_markdown
from pytest_mmlu.report.schema import read_report, to_report, write_report
from pytest_mmlu.report.summary import render, summarize
from pytest_mmlu.report.tally import letters_of

from fakeservers import ChatLogprobsFake
from runs import run_pytest


def rec(i, right, read, outcome=None, choices=4, subject="astronomy", **extra):
    """A question with `choices` choices whose right letter is `right` and whose read letter is `read` (None:
    unparsed); outcome from the letters unless given (error)."""
    outcome = outcome or ("passed" if read == right else "failed")
    return {"nodeid": f"mmlu::{subject}::q{i:04d}", "subject": subject, "index": i, "expected": right,
            "predicted": read, "outcome": outcome, "unparsed": read is None and outcome == "failed", "reply": "",
            "error": None, "choices": [f"choice {n}" for n in range(choices)], **extra}


# q1 right, q2-q4 wrong, q5 right, q6 unparsed, q7 an error, q8 a two-choice question answered wrong
RECORDS = [rec(1, "A", "A"), rec(2, "A", "B"), rec(3, "B", "A"), rec(4, "C", "A"), rec(5, "D", "D"),
           rec(6, "B", None), rec(7, "C", None, outcome="error"), rec(8, "B", "A", choices=2)]


def test_a_hand_counted_run():
    bias = position_bias(RECORDS)
    assert bias.questions == 7 and bias.choices == {4: 6, 2: 1} and bias.letters == ["A", "B", "C", "D"]
    assert {x: (p.correct, p.total) for x, p in bias.by_position.items()} == \
        {"A": (1, 2), "B": (0, 3), "C": (0, 1), "D": (1, 1)}  # the unparsed q6 counts as not right, as accuracy does
    assert bias.answered == 6 and bias.expected == {"A": 2, "B": 2, "C": 1, "D": 1}
    assert bias.predicted == {"A": 4, "B": 1, "D": 1}
    assert bias.confusion == {"A": {"A": 1, "B": 1}, "B": {"A": 2}, "C": {"A": 1}, "D": {"D": 1}}
    # wrong answers: q2 -> B, q3 -> A, q4 -> A, q8 -> A. Even shares: q2 gives B, C, D 1/3 each; q3 A, C, D;
    # q4 A, B, D; q8, two choices, gives A all of it: A 5/3, B 2/3, C 2/3, D 1
    assert bias.wrong == 4 and bias.wrong_picks == {"A": 3, "B": 1}
    assert bias.wrong_even == pytest.approx({"A": 5 / 3, "B": 2 / 3, "C": 2 / 3, "D": 1.0})
    assert bias.imbalance_of("A") == pytest.approx(1.8) and bias.imbalance_of("B") == pytest.approx(1.5)
    assert bias.imbalance_of("C") == 0
    letter, ratio = bias.imbalance
    assert letter == "A" and ratio == pytest.approx(1.8)


def test_no_preference_reads_one_and_always_a_reads_three():
    # every wrong letter taken once for every right letter: the wrong answers are spread evenly
    even = [rec(i, right, read) for i, (right, read) in enumerate((r, w) for r in "ABCD" for w in "ABCD" if r != w)]
    assert position_bias(even).imbalance == ("A", pytest.approx(1.0))
    always_a = [rec(i, right, "A") for i, right in enumerate("ABCD" * 5)]
    bias = position_bias(always_a)
    assert bias.imbalance == ("A", pytest.approx(3.0))  # every wrong answer on A: k - 1 times its share
    assert {x: p.accuracy for x, p in bias.by_position.items()} == {"A": 1.0, "B": 0.0, "C": 0.0, "D": 0.0}


def test_without_a_wrong_answer_there_is_no_imbalance():
    bias = position_bias([rec(1, "A", "A"), rec(2, "B", None)])
    assert bias.imbalance is None and bias.to_json()["imbalance"] is None


def test_mixed_counts_of_choices_use_each_questions_own_letters():
    # MMLU-Pro: a ten-choice question answered J wrongly, a four-choice one answered A wrongly
    bias = position_bias([rec(1, "B", "J", choices=10), rec(2, "B", "A")])
    assert bias.letters == list("ABCDEFGHIJ") and bias.choices == {10: 1, 4: 1}
    assert bias.wrong_even["J"] == pytest.approx(1 / 9) and bias.wrong_even["A"] == pytest.approx(1 / 9 + 1 / 3)
    assert bias.imbalance == ("J", pytest.approx(9.0))


def test_the_letters_of_a_record():
    assert letters_of({"choices": ["a", "b", "c"]}) == ("A", "B", "C")
    # reports before 0.2 kept no choices: MMLU's four, unless a letter says more
    assert letters_of({"expected": "B", "predicted": "A"}) == ("A", "B", "C", "D")
    assert letters_of({"expected": "B", "predicted": "G"}) == tuple("ABCDEFG")
    assert letters_of({"expected": "A", "predicted": "Z", "logprobs": {"E": -1.0}}) == tuple("ABCDE")


@given(st.lists(st.tuples(st.integers(2, 10), st.integers(0, 9), st.one_of(st.none(), st.integers(0, 9))),
                max_size=60))
def test_counts_add_up(questions):
    records = []
    for i, (k, right, read) in enumerate(questions):
        right, read = "ABCDEFGHIJ"[right % k], None if read is None else "ABCDEFGHIJ"[read % k]
        records.append(rec(i, right, read, choices=k))
    bias = position_bias(records)
    assert bias.questions == len(records) == sum(p.total for p in bias.by_position.values())
    assert sum(bias.expected.values()) == sum(bias.predicted.values()) == bias.answered
    assert {x: sum(row.values()) for x, row in bias.confusion.items()} == {x: n for x, n in bias.expected.items()}
    assert sum(bias.wrong_even.values()) == pytest.approx(bias.wrong)  # each wrong answer's shares add up to one
    assert bias.wrong == sum(r["predicted"] not in (None, r["expected"]) for r in records)


# -- where it shows -------------------------------------------------------------------------------


def test_summary_lines_report_and_reader():
    summary = summarize(RECORDS, [r["nodeid"] for r in RECORDS], category_of)
    lines = render(summary)
    assert "position bias: picked A 67% B 17% C 0% D 17%; right answers A 33% B 33% C 17% D 17% " \
           "(6 answered, 2 to 4 choices)" in lines
    assert "position bias: accuracy by right answer A 50% B 0% C 0% D 100%; imbalance 1.80: A took 1.80x its even " \
           "share of the 4 wrong answers (1.00: no preference)" in lines
    report = to_report(summary, [], RECORDS, {})
    assert report["bias"] == {
        "questions": 7, "choices": {"2": 1, "4": 6}, "letters": ["A", "B", "C", "D"], "answered": 6,
        "expected": {"A": 2, "B": 2, "C": 1, "D": 1}, "predicted": {"A": 4, "B": 1, "C": 0, "D": 1},
        "confusion": {"A": {"A": 1, "B": 1}, "B": {"A": 2}, "C": {"A": 1}, "D": {"D": 1}},
        "by_position": {"A": {"correct": 1, "total": 2, "accuracy": 0.5}, "B": {"correct": 0, "total": 3, "accuracy": 0.0},
                        "C": {"correct": 0, "total": 1, "accuracy": 0.0}, "D": {"correct": 1, "total": 1, "accuracy": 1.0}},
        "wrong": 4, "wrong_picks": {"A": 3, "B": 1, "C": 0, "D": 0},
        "wrong_even": {"A": 1.666667, "B": 0.666667, "C": 0.666667, "D": 1.0},
        "imbalance": 1.8, "imbalance_letter": "A"}
    markdown = render_markdown(summary)
    assert "| A | 66.7% | 33.3% | 50.00% (1/2) | 3 | 1.7 | 1.80 |" in markdown
    assert "Imbalance: **1.80** (A took 1.80x its even share of the 4 wrong answers" in markdown


def test_reports_before_the_block_are_counted_from_their_records(tmp_path):
    summary = summarize(RECORDS, [r["nodeid"] for r in RECORDS], category_of)
    report = to_report(summary, [], RECORDS, {"label": "new"})
    write_report(tmp_path / "new.json", report)
    assert read_report(tmp_path / "new.json").bias() == report["bias"]
    old = {k: v for k, v in report.items() if k != "bias"}
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert read_report(tmp_path / "old.json").bias() == report["bias"]
    (tmp_path / "bad.json").write_text(json.dumps({**report, "bias": {"questions": "seven"}}))
    with pytest.raises(Exception, match="'bias' is malformed"):
        read_report(tmp_path / "bad.json").bias()


def test_a_report_of_0_1_0_counted_independently():
    from pathlib import Path
    path = Path(__file__).parent / "golden" / "reports" / "written-by-0.1.0.json"
    questions = json.loads(path.read_text())["questions"]
    bias = read_report(path).bias()
    answered = [q for q in questions if q["outcome"] != "error" and q["predicted"]]
    assert bias["answered"] == len(answered)
    assert {x: n for x, n in bias["predicted"].items() if n} == dict(Counter(q["predicted"] for q in answered))
    assert {x: n for x, n in bias["wrong_picks"].items() if n} == \
        dict(Counter(q["predicted"] for q in answered if q["predicted"] != q["expected"]))


# -- a real run --------------------------------------------------------------------------------------------

SUBJECTS = ("astronomy", "virology")


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data(subjects=SUBJECTS, per_subject=9, seed=11)


def leans_to_a(prompt):
    """Knows every sum, but on problems 0, 3 and 6 would rather say A (A -0.4, the right letter -1.4); otherwise
    the right letter -0.3, A -2.0. The other letters -3.5 and below, then words."""
    found = re.findall(r"problem (\d+): what is (\d+) \+ (\d+)\?", prompt)
    if not found:  # the check at start
        return [("A", -0.1)]
    n, a, b = (int(x) for x in found[-1])
    choices = re.findall(r"^([A-J])\. (.*)$", prompt, re.MULTILINE)
    right = next(letter for letter, text in choices if text.strip() == str(a + b))
    top = {"A": -0.4, right: -1.4} if n % 3 == 0 and right != "A" else {right: -0.3, **({"A": -2.0} if right != "A" else {})}
    top.update({x: -3.5 - i * 0.5 for i, (x, _) in enumerate(choices) if x not in top})
    return sorted([*top.items(), ("The", -6.0)], key=lambda p: -p[1])


@pytest.mark.parametrize("workers", [("-p", "no:xdist"), ("-n", "2")], ids=["serial", "xdist"])
def test_a_run_that_leans_to_a(pytester, data, workers, capsys):
    report = pytester.path / "r.json"
    with ChatLogprobsFake("openai", leans_to_a) as fake:
        result = run_pytest(pytester, "-p", "no:randomly", "--mmlu-no-cache", "--mmlu-backend=openai",
                            f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={data}", "--mmlu-scoring=logprobs",
                            "--mmlu-prompt=letter", f"--mmlu-report={report}", "--mmlu-markdown=m.md", *workers,
                            report=report)
    questions = result.report["questions"]
    assert len(questions) == 18
    # counted here from the records, independently of report.bias
    wrong = [q for q in questions if q["predicted"] != q["expected"]]
    assert wrong and all(q["predicted"] == "A" and q["index"] % 3 == 0 for q in wrong)
    share = sum(1 / 3 for q in wrong)  # the even share of A: a third of every wrong answer (none is right at A)
    bias = result.report["bias"]
    assert bias["wrong"] == len(wrong) and bias["wrong_picks"]["A"] == len(wrong)
    assert bias["imbalance_letter"] == "A" and bias["imbalance"] == pytest.approx(len(wrong) / share) == 3.0
    right_at = Counter(q["expected"] for q in questions)
    assert {x: p["total"] for x, p in bias["by_position"].items()} == dict(right_at)
    assert bias["by_position"]["A"]["accuracy"] == 1.0
    result.stdout.fnmatch_lines(["position bias: picked A *; right answers A *(18 answered)",
                                 f"position bias: accuracy by right answer A 100%*; imbalance 3.00: A took 3.00x its "
                                 f"even share of the {len(wrong)} wrong answers (1.00: no preference)"])
    assert "### Position bias" in (pytester.path / "m.md").read_text()
    assert main(["compare", str(report)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines()[::-1] if line.startswith("gpt-4o-mini"))
    assert re.search(rf"\s18\s+A\s+3\.00\s+{len(wrong)}\s", row)
