"""Letters that changed between two runs, and which of them were near-ties: the pure count (a hand-worked example
and properties), the baseline comparison, the gates' verdicts and `compare`, and a plugin run against a baseline."""

import json
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_mmlu.core.subjects import category_of
from pytest_mmlu.report.baseline import compare, render_comparison
from pytest_mmlu.report.changes import NEAR_TIE, LetterChanges, letter_changes, near_tie
from pytest_mmlu.report.compare import compare_runs, read_reports, render, to_json
from pytest_mmlu.report.gates import DropGate, EquivalenceGate, evaluate_drops, evaluate_equivalence
from pytest_mmlu.report.schema import to_report
from pytest_mmlu.report.summary import summarize

from fakeservers import OpenAIFake
from runs import run_pytest


def rec(index, expected, predicted, logprobs=None, subject="astronomy"):
    r = {"nodeid": f"mmlu::{subject}::q{index:04d}", "subject": subject, "index": index, "expected": expected,
         "predicted": predicted, "outcome": "passed" if predicted == expected else "failed",
         "unparsed": predicted is None, "reply": ""}
    if logprobs is not None:
        r["logprobs"] = logprobs
    return r


# -- the pure count: worked by hand ----------------------------------------------------------------------------

# (first run, second run) of six questions; the margin 0.4 nats
WORKED = [
    # A -> B, the two letters 0.10 apart in the first run and 0.07 in the second: a near-tie
    (rec(0, "A", "A", {"A": -1.00, "B": -1.10, "C": -2.0, "D": -3.0}),
     rec(0, "A", "B", {"A": -1.05, "B": -0.98, "C": -2.0, "D": -3.0})),
    # A -> C, 1.5 and 1.3 apart: a change of the model's
    (rec(1, "A", "A", {"A": -0.50, "B": -3.0, "C": -2.00, "D": -3.0}),
     rec(1, "A", "C", {"A": -1.90, "B": -3.0, "C": -0.60, "D": -3.0})),
    # the same letter in both runs: not counted, however close
    (rec(2, "B", "B", {"A": -1.40, "B": -1.39, "C": -2.0, "D": -3.0}),
     rec(2, "B", "B", {"A": -1.41, "B": -1.39, "C": -2.0, "D": -3.0})),
    # B -> D, 0.3 apart in the first run but 0.5 in the second: not a near-tie at 0.4 (one at 0.6)
    (rec(3, "B", "B", {"A": -3.0, "B": -1.00, "C": -3.0, "D": -1.30}),
     rec(3, "B", "D", {"A": -3.0, "B": -1.50, "C": -3.0, "D": -1.00})),
    # A -> B, generate scoring: no log-probabilities, nothing to say about a tie
    (rec(4, "A", "A"), rec(4, "A", "B")),
    # A -> D, D missing from the first run's top tokens: not a near-tie
    (rec(5, "D", "A", {"A": -0.9, "B": -1.2, "C": -1.3}),
     rec(5, "D", "D", {"A": -1.0, "B": -1.2, "C": -1.3, "D": -0.95})),
]


def test_near_tie_by_hand():
    (a0, b0), (a1, b1), _, (a3, b3), (a4, b4), (a5, b5) = WORKED
    assert near_tie(a0["logprobs"], b0["logprobs"], "A", "B", 0.4) is True
    assert near_tie(a1["logprobs"], b1["logprobs"], "A", "C", 0.4) is False
    assert near_tie(a3["logprobs"], b3["logprobs"], "B", "D", 0.4) is False
    assert near_tie(a3["logprobs"], b3["logprobs"], "B", "D", 0.6) is True
    assert near_tie(a4.get("logprobs"), b4.get("logprobs"), "A", "B", 0.4) is None
    assert near_tie(a5["logprobs"], b5["logprobs"], "A", "D", 0.4) is False
    assert near_tie(a0["logprobs"], b0["logprobs"], "A", None, 0.4) is False  # no letter read in one run


def test_letter_changes_by_hand():
    counts = letter_changes(WORKED, margin=0.4)
    assert (counts.changed, counts.with_logprobs, counts.near_ties) == (5, 4, 1)
    assert counts.describe() == ("5 questions changed letter, 1 of the 4 with log-probabilities near-ties "
                                 "(within 0.4 nats in both runs)")
    wider = letter_changes(WORKED, margin=0.6)
    assert (wider.changed, wider.with_logprobs, wider.near_ties) == (5, 4, 2)
    scored = letter_changes([p for p in WORKED if "logprobs" in p[0]], margin=0.4)
    assert scored.describe() == "4 questions changed letter, 1 of them near-ties (within 0.4 nats in both runs)"


@pytest.mark.parametrize("counts, line", [
    (LetterChanges(0, 0, 0, 0.4), "0 questions changed letter"),
    (LetterChanges(3, 0, 0, 0.4), "3 questions changed letter"),  # generate scoring: nothing about ties
    (LetterChanges(1, 1, 1, 0.4), "1 question changed letter, a near-tie (within 0.4 nats in both runs)"),
    (LetterChanges(1, 1, 0, 0.4), "1 question changed letter, not a near-tie (within 0.4 nats in both runs)"),
    (LetterChanges(12, 12, 9, 0.25), "12 questions changed letter, 9 of them near-ties (within 0.25 nats in both "
                                     "runs)"),
])
def test_the_line(counts, line):
    assert counts.describe() == line


# -- properties ---------------------------------------------------------------------------------------------------

LETTERS = "ABCD"
scores = st.lists(st.floats(-12, 0, allow_nan=False), min_size=4, max_size=4)


def argmax(logprobs: dict[str, float]) -> str:
    return max(sorted(logprobs), key=lambda x: logprobs[x])


@given(st.lists(st.tuples(scores, st.lists(st.floats(-1, 1), min_size=4, max_size=4)), min_size=1, max_size=30),
       st.floats(0.001, 0.3))
def test_noise_of_d_flips_only_near_ties_at_twice_d(questions, d):
    """A second run whose log-probabilities each moved by at most d from the first's can only swap two letters
    within 2d of each other in both runs: every change is a near-tie at any margin above 2d."""
    pairs = []
    for i, (first, noise) in enumerate(questions):
        a = dict(zip(LETTERS, first))
        b = {x: a[x] + e * d for x, e in zip(LETTERS, noise)}
        pairs.append((rec(i, "A", argmax(a), a), rec(i, "A", argmax(b), b)))
    counts = letter_changes(pairs, margin=2 * d * (1 + 1e-9) + 1e-12)
    assert counts.near_ties == counts.with_logprobs == counts.changed


@given(st.lists(st.tuples(scores, scores, st.booleans()), min_size=1, max_size=30), st.floats(0.01, 3),
       st.floats(0.01, 3))
def test_counts_are_nested_symmetric_and_grow_with_the_margin(questions, m1, m2):
    pairs = []
    for i, (first, second, kept) in enumerate(questions):
        a, b = dict(zip(LETTERS, first)), dict(zip(LETTERS, second))
        pairs.append((rec(i, "A", argmax(a), a if kept else None), rec(i, "A", argmax(b), b if kept else None)))
    small, large = sorted((m1, m2))
    narrow, wide = letter_changes(pairs, small), letter_changes(pairs, large)
    assert narrow.near_ties <= narrow.with_logprobs <= narrow.changed
    assert narrow.near_ties <= wide.near_ties and narrow.changed == wide.changed
    swapped = letter_changes([(b, a) for a, b in pairs], small)
    assert (swapped.changed, swapped.with_logprobs, swapped.near_ties) == \
        (narrow.changed, narrow.with_logprobs, narrow.near_ties)
    changed = sum(a["predicted"] != b["predicted"] for a, b in pairs)
    assert narrow.changed == changed


# -- the comparison, the gates, compare ---------------------------------------------------------------------------


def two_runs():
    """Eight questions: the five of WORKED that have log-probabilities or none (q0-q5), two unchanged."""
    before = {a["nodeid"]: a for a, _ in WORKED} | {r["nodeid"]: r for r in (rec(6, "A", "A"), rec(7, "B", "B"))}
    after = {b["nodeid"]: b for _, b in WORKED} | {r["nodeid"]: r for r in (rec(6, "A", "A"), rec(7, "B", "B"))}
    return before, after


def test_the_baseline_comparison_counts_them():
    before, after = two_runs()
    c = compare(before, after, category_of)
    assert (c.letter_changes.changed, c.letter_changes.with_logprobs, c.letter_changes.near_ties) == (5, 4, 1)
    assert c.letter_changes.margin == NEAR_TIE
    overall = c.scopes["overall"].letter_changes
    assert (overall.changed, overall.near_ties) == (5, 1) and c.scopes["stem"].letter_changes.changed == 5
    lines = render_comparison(c)
    assert lines[1] == (f"baseline: 5 questions changed letter, 1 of the 4 with log-probabilities near-ties "
                        f"(within {NEAR_TIE:g} nats in both runs)")
    data = c.to_json()["letter_changes"]
    assert data == {"changed": 5, "with_logprobs": 4, "near_ties": 1, "margin": NEAR_TIE}
    assert c.to_json()["scopes"]["astronomy"]["letter_changes"]["changed"] == 5


def test_the_gates_say_it():
    before, after = two_runs()
    scopes = compare(before, after, category_of).scopes
    [drop] = evaluate_drops([DropGate(50.0)], scopes)
    [same] = evaluate_equivalence([EquivalenceGate(50.0)], scopes)
    tail = f"; 5 questions changed letter, 1 of the 4 with log-probabilities near-ties (within {NEAR_TIE:g} nats"
    assert tail in drop.reason and tail in same.reason


def report_of(records, label):
    cfg = {"backend": "llama", "served_model": "gemma.gguf", "dataset": "cais/mmlu (hub)", "split": "test",
           "shots": 0, "scoring": "logprobs", "prompt": "harness", "label": label}
    return to_report(summarize(records, [r["nodeid"] for r in records], category_of), [], records, cfg)


def test_compare_says_it_in_every_format(tmp_path):
    before, after = two_runs()
    paths = []
    for name, records in (("before", before), ("after", after)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(report_of(list(records.values()), name)))
    comparison = compare_runs(read_reports(paths))
    line = (f"before vs after: 5 questions changed letter, 1 of the 4 with log-probabilities near-ties "
            f"(within {NEAR_TIE:g} nats in both runs)")
    assert line in render(comparison, "text").splitlines()
    assert f"- {line}" in render(comparison, "markdown").splitlines()
    [pair] = to_json(comparison)["pairs"]
    assert pair["letter_changes"] == {"changed": 5, "with_logprobs": 4, "near_ties": 1, "margin": NEAR_TIE}


# -- a plugin run against a baseline: some letters changed by near-ties, some not ------------------------------


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data(subjects=("astronomy",), per_subject=8, seed=5)


def expected_letters() -> dict[int, str]:
    from datafolders import make_questions
    return {i: "ABCD"[row["answer"]] for i, row in enumerate(make_questions("astronomy", 8, seed=5))}


def scripted(expected: dict[int, str]):
    """Each question's letters' log-probabilities in the baseline and in this run: q0-q1 the same letter, q2-q3
    near-ties that swapped, q4-q5 clear changes, q6 close in the baseline only, q7 the same letter."""
    base, now = {}, {}
    for i, right in expected.items():
        other = next(x for x in "ABCD" if x != right)
        lp_b = {x: -3.0 for x in "ABCD"}
        lp_n = dict(lp_b)
        first, second = (right, other) if i % 2 == 0 else (other, right)  # newly wrong, or newly right
        if i in (0, 1, 7):
            lp_b[right], lp_n[right] = -0.3, -0.3
        elif i in (2, 3):
            lp_b.update({first: -1.30, second: -1.36})
            lp_n.update({first: -1.35, second: -1.31})
        elif i in (4, 5):
            lp_b.update({first: -0.2, second: -2.5})
            lp_n.update({first: -2.5, second: -0.2})
        else:
            lp_b.update({first: -1.0, second: -1.1})
            lp_n.update({first: -2.0, second: -0.3})
        base[i], now[i] = lp_b, lp_n
    return base, now


class ScriptedFake(OpenAIFake):
    """llama.cpp-flavoured completions whose letters' log-probabilities are scripted per question."""

    def __init__(self, scores: dict[int, dict[str, float]], **kw):
        self.scores = scores
        super().__init__("llama", **kw)

    def completion(self, req):
        body = super().completion(req)
        index = int(re.findall(r"astronomy problem (\d+):", self.prompt_of(req))[-1])
        top = {f" {x}": lp for x, lp in self.scores[index].items()}
        chosen = max(top, key=top.get)
        body["choices"][0].update(text=chosen)
        body["choices"][0]["logprobs"].update(tokens=[chosen], token_logprobs=[top[chosen]], top_logprobs=[top])
        return body


def test_a_run_against_its_baseline_tells_near_ties_from_changes(pytester, data):
    expected = expected_letters()
    base, now = scripted(expected)
    records = []
    for i, right in expected.items():
        predicted = max(base[i], key=base[i].get)
        records.append(rec(i, right, predicted, base[i]))
    (pytester.path / "baseline.json").write_text(json.dumps(report_of(records, "baseline")))
    with ScriptedFake(now) as fake:
        result = run_pytest(pytester, "-p", "no:randomly", "--mmlu-backend=llama", f"--mmlu-base-url={fake.url}",
                            f"--mmlu-dataset={data}", "--mmlu-scoring=logprobs", "--mmlu-no-cache",
                            "--mmlu-baseline=baseline.json", "--mmlu-max-drop=50", "--mmlu-equivalent=60",
                            "--mmlu-report=report.json", report=pytester.path / "report.json")
    tail = f"5 questions changed letter, 2 of them near-ties (within {NEAR_TIE:g} nats in both runs)"
    result.stdout.fnmatch_lines([f"gate overall drop <= 50 points*; {tail})",
                                 f"gate overall equivalent within ±60 points*; {tail})",
                                 "baseline: *newly wrong, *newly right*", f"baseline: {tail}"])
    report = result.report
    assert report["baseline"]["letter_changes"] == {"changed": 5, "with_logprobs": 5, "near_ties": 2,
                                                    "margin": NEAR_TIE}
    assert report["baseline"]["scopes"]["overall"]["letter_changes"]["near_ties"] == 2
    assert tail in report["drop_gates"][0]["reason"] and tail in report["equivalence_gates"][0]["reason"]
    # the records kept the log-probabilities the comparison read
    assert all(math.isclose(q["logprobs"][x], now[q["index"]][x]) for q in report["questions"] for x in "ABCD")
