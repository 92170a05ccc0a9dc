"""Calibration where log-probabilities were read: each question's letters normalised, expected calibration error
(10 bins), Brier score and mean confidence, checked against a hand-worked example and an independent computation;
in the summary, the report (overall and per subject), the Markdown, compare, and a real run."""

import csv
import json
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_mmlu.cli import main
from pytest_mmlu.core.subjects import category_of
from pytest_mmlu.report.calibration import Calibration, calibration_of, letter_probabilities
from pytest_mmlu.report.markdown import render_markdown
from pytest_mmlu.report.schema import read_report, to_report, write_report
from pytest_mmlu.report.summary import render, summarize

from fakeservers import ChatLogprobsFake
from runs import run_pytest

LN = math.log


def rec(i, right, read, logprobs, subject="astronomy", choices=4, outcome=None):
    outcome = outcome or ("passed" if read == right else "failed")
    r = {"nodeid": f"mmlu::{subject}::q{i:04d}", "subject": subject, "index": i, "expected": right,
         "predicted": read, "outcome": outcome, "unparsed": read is None and outcome == "failed", "reply": "",
         "error": None, "choices": [str(n) for n in range(choices)]}
    if logprobs is not None:
        r["logprobs"] = logprobs
    return r


# The hand-worked example. Probabilities of A, B, C, D; the right letter; confidence; Brier term:
#   q1  .7 .1 .1 .1         right A, read A   conf .7   (.7-1)^2 + 3 x .1^2           = .12
#   q2  .4 .3 .2 .1         right B, read A   conf .4   .4^2 + (.3-1)^2 + .2^2 + .1^2  = .70
#   q3  .35 .10 .05, no D   right C, read A   normalised over A, B, C: .7 .2 .1, D 0
#                                             conf .7   .7^2 + .2^2 + (.1-1)^2 + 0     = 1.34
#   q4  1/30 1/30 1/30 .9   right D, read D   conf .9   3 x (1/30)^2 + (.9-1)^2        = .013333...
# accuracy 2/4 = .5; mean confidence (.7 + .4 + .7 + .9) / 4 = .675; Brier 2.173333 / 4 = .543333
# bins: [.4, .5) q2: accuracy 0, confidence .4; [.7, .8) q1 and q3: accuracy .5, confidence .7;
#       [.9, 1] q4: accuracy 1, confidence .9
# ECE = 1/4 x |0 - .4| + 2/4 x |.5 - .7| + 1/4 x |1 - .9| = .1 + .1 + .025 = .225
HAND = [
    rec(1, "A", "A", {"A": LN(.7), "B": LN(.1), "C": LN(.1), "D": LN(.1)}),
    rec(2, "B", "A", {"A": LN(.4), "B": LN(.3), "C": LN(.2), "D": LN(.1)}),
    rec(3, "C", "A", {"A": LN(.35), "B": LN(.10), "C": LN(.05)}, subject="virology"),
    rec(4, "D", "D", {"A": LN(1 / 30), "B": LN(1 / 30), "C": LN(1 / 30), "D": LN(.9)}, subject="virology"),
    # not counted: generate scoring (no log-probabilities), unparsed (none for any letter), an error
    rec(5, "A", "A", None), rec(6, "B", None, {}), rec(7, "A", None, None, outcome="error"),
]


def test_probabilities_are_normalised_over_the_letters_present():
    p = letter_probabilities({"A": LN(.35), "B": LN(.10), "C": LN(.05), "E": -0.01}, "ABCD")
    assert p == pytest.approx({"A": .7, "B": .2, "C": .1})  # E is not this question's; D has none
    assert letter_probabilities({"A": float("-inf"), "B": -1.0}, "AB") == {"B": 1.0}
    assert letter_probabilities({}, "ABCD") == {}


def test_the_hand_worked_example():
    overall, subjects = calibration_of(HAND)
    assert overall.questions == 4 and overall.correct == 2 and overall.letters_missing == 1
    assert overall.accuracy == 0.5
    assert overall.confidence == pytest.approx(0.675)
    assert overall.brier == pytest.approx(0.543333, abs=1e-6)
    assert overall.ece == pytest.approx(0.225)
    assert [(i, b.questions, b.correct) for i, b in enumerate(overall.bins) if b.questions] == \
        [(4, 1, 0), (7, 2, 1), (9, 1, 1)]
    assert subjects["astronomy"].questions == 2 and subjects["astronomy"].brier == pytest.approx((.12 + .70) / 2)
    assert subjects["astronomy"].ece == pytest.approx((1 - .7 + .4) / 2)  # q1 alone in its bin, q2 in its own
    assert subjects["virology"].ece == pytest.approx((.7 + .1) / 2)


def test_a_confidence_on_a_bin_edge_goes_to_the_bin_above():
    c = Calibration()
    c.add({"A": 0.3, "B": 0.3, "C": 0.2, "D": 0.2}, "ABCD", "A", True)
    assert c.bins[3].questions == 1  # 0.3 * 10 is 2.9999999999999996 in floating point
    c.add({"A": 1.0}, "AB", "A", True)
    assert c.bins[9].questions == 1


def naive_ece(pairs, bins=10):
    """ECE the long way: each question in the last bin whose lower edge it reaches, then the weighted gaps."""
    groups = [[] for _ in range(bins)]
    for confidence, correct in pairs:
        groups[max(i for i in range(bins) if confidence >= i / bins)].append((confidence, correct))
    return sum(len(g) / len(pairs) * abs(sum(c for _, c in g) / len(g) - sum(p for p, _ in g) / len(g))
               for g in groups if g)


@given(st.lists(st.tuples(st.lists(st.floats(-12, 0), min_size=4, max_size=4), st.integers(0, 3)), min_size=1,
                max_size=40))
def test_ece_and_brier_agree_with_a_direct_computation(questions):
    records, pairs, brier = [], [], 0.0
    for i, (lps, right) in enumerate(questions):
        logprobs = dict(zip("ABCD", lps))
        read = max("ABCD", key=lambda x: (logprobs[x], -"ABCD".index(x)))
        records.append(rec(i, "ABCD"[right], read, logprobs))
        total = sum(math.exp(v) for v in lps)
        p = {x: math.exp(v) / total for x, v in logprobs.items()}
        pairs.append((p[read], read == "ABCD"[right]))
        brier += sum((p[x] - (x == "ABCD"[right])) ** 2 for x in "ABCD")
    overall, _ = calibration_of(records)
    assert overall.ece == pytest.approx(naive_ece(pairs), abs=1e-9)
    assert overall.brier == pytest.approx(brier / len(questions))
    assert 0 <= overall.brier <= 2 and 0 <= overall.ece <= 1


def test_a_uniform_model_scores_one_minus_one_over_k():
    records = [rec(i, "ABCDE"[i % 5], "A", {x: -1.0 for x in "ABCDE"}, choices=5) for i in range(10)]
    overall, _ = calibration_of(records)
    assert overall.brier == pytest.approx(1 - 1 / 5) and overall.confidence == pytest.approx(0.2)
    assert overall.ece == pytest.approx(0.0)  # right 2 in 10 times at confidence 0.2


def test_summary_report_markdown_and_reader(tmp_path):
    summary = summarize(HAND, [r["nodeid"] for r in HAND], category_of)
    assert "calibration (4 questions with log-probabilities; 1 with a letter missing from the top tokens): " \
           "confidence 67.5% against accuracy 50.0%, ECE 0.225 (10 bins), Brier 0.543" in render(summary)
    report = to_report(summary, [], HAND, {})
    overall = report["calibration"]["overall"]
    assert {k: overall[k] for k in ("questions", "correct", "accuracy", "confidence", "ece", "brier",
                                    "letters_missing")} == \
        {"questions": 4, "correct": 2, "accuracy": 0.5, "confidence": 0.675, "ece": 0.225, "brier": 0.543333,
         "letters_missing": 1}
    assert overall["bins"][7] == {"low": 0.7, "high": 0.8, "questions": 2, "correct": 1, "accuracy": 0.5,
                                  "confidence": 0.7}
    assert set(report["calibration"]["subjects"]) == {"astronomy", "virology"}
    assert "bins" not in report["calibration"]["subjects"]["virology"]
    assert "| overall | 4 | 50.0% | 67.5% | 0.225 | 0.543 |" in render_markdown(summary)
    write_report(tmp_path / "r.json", report)
    assert read_report(tmp_path / "r.json").calibration() == report["calibration"]
    old = {k: v for k, v in report.items() if k not in ("calibration", "bias")}  # as 0.1.0 wrote it
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert read_report(tmp_path / "old.json").calibration()["overall"] == overall  # counted from the records
    generate = to_report(summarize(HAND[4:], [r["nodeid"] for r in HAND[4:]], category_of), [], HAND[4:], {})
    assert "calibration" not in generate
    write_report(tmp_path / "g.json", generate)
    assert read_report(tmp_path / "g.json").calibration() is None


# -- a real run --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data(subjects=("astronomy", "virology"), per_subject=8, seed=12)


def unsure(prompt):
    """Right on even problems (its letter -0.5), wrong on odd ones (the letter after the right one -0.5); the
    right letter -1.2 when it is not first; on problem 3 the last other letter missing from the top tokens."""
    found = re.findall(r"problem (\d+): what is (\d+) \+ (\d+)\?", prompt)
    if not found:
        return [("A", -0.1)]
    n, a, b = (int(x) for x in found[-1])
    choices = re.findall(r"^([A-J])\. (.*)$", prompt, re.MULTILINE)
    letters = [x for x, _ in choices]
    right = next(x for x, text in choices if text.strip() == str(a + b))
    chosen = right if n % 2 == 0 else letters[(letters.index(right) + 1) % 4]
    top = {chosen: -0.5}
    top.setdefault(right, -1.2)
    top.update({x: -2.5 - 0.3 * i for i, x in enumerate(letters) if x not in top})
    if n == 3:
        del top[[x for x in letters if x not in (chosen, right)][-1]]
    return sorted([*top.items(), ("Sure", -4.0)], key=lambda p: -p[1])


def test_a_run_recomputed_from_its_records(pytester, data):
    report = pytester.path / "r.json"
    with ChatLogprobsFake("openai", unsure) as fake:
        result = run_pytest(pytester, "-p", "no:randomly", "--mmlu-no-cache", "--mmlu-backend=openai",
                            f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={data}", "--mmlu-scoring=logprobs",
                            "--mmlu-prompt=letter", f"--mmlu-report={report}", "--mmlu-label=unsure", report=report)
    questions = result.report["questions"]
    assert len(questions) == 16 and sum(q["outcome"] == "passed" for q in questions) == 8
    # recomputed here: softmax over each record's letters, then the definitions
    confidences, corrects, briers, missing = [], [], [], 0
    for q in questions:
        lp = q["logprobs"]
        total = sum(math.exp(v) for v in lp.values())
        p = {x: math.exp(v) / total for x, v in lp.items()}
        missing += len(p) < 4
        confidences.append(max(p.values()))
        corrects.append(q["outcome"] == "passed")
        briers.append(sum((p.get(x, 0.0) - (x == q["expected"])) ** 2 for x in "ABCD"))
    overall = result.report["calibration"]["overall"]
    assert missing == overall["letters_missing"] >= 1
    assert overall["confidence"] == pytest.approx(sum(confidences) / 16, abs=1e-6)
    assert overall["brier"] == pytest.approx(sum(briers) / 16, abs=1e-6)
    assert overall["ece"] == pytest.approx(naive_ece(list(zip(confidences, corrects))), abs=1e-6)
    assert overall["accuracy"] == 0.5
    per_subject = result.report["calibration"]["subjects"]
    assert sum(c["questions"] for c in per_subject.values()) == 16
    result.stdout.fnmatch_lines([f"calibration (16 questions with log-probabilities; {missing} with a letter missing "
                                 f"from the top tokens): confidence {overall['confidence'] * 100:.1f}% against "
                                 f"accuracy 50.0%, ECE {overall['ece']:.3f} (10 bins), Brier {overall['brier']:.3f}"])
    table = pytester.path / "runs.csv"
    assert main(["compare", "--format=csv", "-o", str(table), str(report)]) == 0
    rows = {r["scope"]: r for r in csv.DictReader(table.open())}
    assert float(rows["overall"]["ece"]) == pytest.approx(overall["ece"], abs=1e-6)
    assert int(rows["overall"]["calibrated"]) == 16
    assert float(rows["virology"]["brier"]) == pytest.approx(per_subject["virology"]["brier"], abs=1e-6)


def test_a_real_model_recomputed_from_its_report(pytester, llama_server, hub_data):
    """gemma-3 270M through a real llama_cpp.server (logprobs, the harness prompt): calibration and position bias
    counted here from the report's records and the data's own answers, independently of the plugin."""
    from collections import Counter

    from datafolders import make_questions
    rows = {"test": [r for s in ("astronomy", "virology") for r in make_questions(s, 6, seed=71)]}
    report = pytester.path / "r.json"
    result = run_pytest(pytester, "-p", "no:randomly", "--mmlu-no-cache", "--mmlu-backend=llama",
                        f"--mmlu-base-url={llama_server}", f"--mmlu-dataset={hub_data(rows)}",
                        "--mmlu-scoring=logprobs", f"--mmlu-report={report}", report=report)
    questions = result.report["questions"]
    assert len(questions) == 12 and all(q["outcome"] in ("passed", "failed") for q in questions)
    answers = {(r["subject"], i % 6): "ABCD"[r["answer"]] for i, r in enumerate(rows["test"])}  # 6 per subject
    pairs, briers = [], []
    for q in questions:
        assert q["expected"] == answers[(q["subject"], q["index"])]
        lp = {x: v for x, v in q["logprobs"].items() if x in "ABCD"}
        total = sum(math.exp(v) for v in lp.values())
        p = {x: math.exp(v) / total for x, v in lp.items()}
        pairs.append((max(p.values()), q["predicted"] == q["expected"]))
        briers.append(sum((p.get(x, 0.0) - (x == q["expected"])) ** 2 for x in "ABCD"))
    assert len({round(c, 6) for c, _ in pairs}) > 1  # real distributions, not one repeated
    overall = result.report["calibration"]["overall"]
    assert overall["questions"] == 12 and overall["correct"] == sum(ok for _, ok in pairs)
    assert overall["confidence"] == pytest.approx(sum(c for c, _ in pairs) / 12, abs=1e-6)
    assert overall["ece"] == pytest.approx(naive_ece(pairs), abs=1e-6)
    assert overall["brier"] == pytest.approx(sum(briers) / 12, abs=1e-6)
    bias = result.report["bias"]
    assert bias["predicted"] == {x: Counter(q["predicted"] for q in questions)[x] for x in "ABCD"}
    assert bias["expected"] == {x: Counter(answers.values())[x] for x in "ABCD"}
    wrong = [q for q in questions if q["predicted"] != q["expected"]]
    assert bias["wrong"] == len(wrong)
    if wrong:
        even = {x: sum(x != q["expected"] for q in wrong) / 3 for x in "ABCD"}
        ratios = {x: sum(q["predicted"] == x for q in wrong) / even[x] for x in "ABCD" if even[x]}
        assert bias["imbalance"] == pytest.approx(max(ratios.values()), abs=1e-6)
        assert bias["imbalance_letter"] == max(ratios, key=lambda x: (ratios[x], -ord(x)))
