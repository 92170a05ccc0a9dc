"""--mmlu-permute: a question asked in every rotation of its choices (or K seeded orders), one item passing only when
every order is right; the own-order accuracy and the consistency rate; each order its own request and cache entry."""

import argparse
import json
import math
import re
from collections import Counter

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from pytest_mmlu.core.permute import Permute, consistent, parse_permute, permuted, rotation, seeded_orders
from pytest_mmlu.core.question import ALL_LETTERS, Question
from pytest_mmlu.report.schema import permuted_record
from pytest_mmlu.report.summary import summarize

from agreement import near_ties
from datafolders import make_questions
from fakeservers import ChatLogprobsFake, OpenAIFake
from runs import run_pytest

LOGPROBS = ("--mmlu-scoring=logprobs", "--mmlu-prompt=letter")


# -- the orders -------------------------------------------------------------------------------------------------


@given(st.integers(2, 10), st.integers(0, 9))
def test_circular_moves_the_right_answer_through_every_letter(n, answer):
    answer %= n
    q = Question("astronomy", 3, "?", tuple(f"choice {i}" for i in range(n)), answer)
    variants = Permute().variants(q)
    assert len(variants) == n and variants[0] is q  # the data's own order first, the same question
    assert sorted(v.expected for v in variants) == list(ALL_LETTERS[:n])
    for v in variants:
        assert sorted(v.choices) == sorted(q.choices)
        assert v.choices[v.answer] == q.choices[q.answer]  # the right choice is still the right one
        for letter in v.letters:  # a letter points back at the data's choice it shows
            assert q.choices[v.original(letter)] == v.choices[v.letters.index(letter)]


def test_a_rotation_by_hand():
    assert rotation(4, 1) == (1, 2, 3, 0)
    q = Question("astronomy", 0, "?", ("w", "x", "y", "z"), 2)
    v = permuted(q, rotation(4, 1))
    assert v.choices == ("x", "y", "z", "w") and v.expected == "B" and v.original("D") == 0 and v.order == (1, 2, 3, 0)
    assert v.ident != q.ident and q.ident == ("astronomy", 0, ())


@given(st.integers(2, 10), st.integers(2, 30))
def test_seeded_orders_are_distinct_stable_and_start_with_the_data_s_own(n, k):
    orders = seeded_orders(n, k, "astronomy\x007")
    assert orders[0] == tuple(range(n))
    assert len(orders) == min(k, math.factorial(n)) == len(set(orders))
    assert all(sorted(o) == list(range(n)) for o in orders)
    assert orders == seeded_orders(n, k, "astronomy\x007")  # the same in every process, every run


def test_seeded_orders_differ_between_questions():
    a = Permute(5).orders_of(Question("astronomy", 1, "?", tuple("abcd"), 0))
    b = Permute(5).orders_of(Question("astronomy", 2, "?", tuple("abcd"), 0))
    assert a[0] == b[0] and a != b


def test_several_right_answers_move_with_their_choices():
    q = Question("mmlu", 0, "?", ("w", "x", "y", "z"), 1, targets=(1, 3))  # MixEval: x and z are both right
    for v in Permute().variants(q):
        assert sorted(v.choices[i] for i in (v.targets or (1, 3))) == ["x", "z"]
        assert {v.choices[v.letters.index(x)] for x in v.expected_letters} == {"x", "z"}


def test_two_choices_have_only_two_orders():
    q = Question("boolq", 0, "?", ("yes", "no"), 1)
    assert [v.choices for v in Permute(5).variants(q)] == [("yes", "no"), ("no", "yes")]


@pytest.mark.parametrize("text, expected", [("circular", Permute()), (" Circular ", Permute()), ("3", Permute(3))])
def test_parse(text, expected):
    assert parse_permute(text) == expected


@pytest.mark.parametrize("text, says", [("rotate", "expected circular or a number of orders"),
                                        ("1", "must be 2 to 100"), ("1000", "must be 2 to 100")])
def test_parse_refuses(text, says):
    with pytest.raises(argparse.ArgumentTypeError, match=says):
        parse_permute(text)


def test_consistent():
    assert consistent([2, 2, 2]) and not consistent([2, 1, 2]) and not consistent([None, None]) \
        and not consistent([])


# -- the record -------------------------------------------------------------------------------------------------


def _answered(variant, predicted, unparsed=False, tokens=(10, 1)):
    outcome = "passed" if predicted == variant.expected else "failed"
    return {"nodeid": "mmlu::astronomy::q0000", "subject": "astronomy", "index": 0, "expected": variant.expected,
            "predicted": predicted, "outcome": outcome, "unparsed": unparsed, "reply": predicted or "?",
            "error": None, "cached": False, "tokens_in": tokens[0], "tokens_out": tokens[1], "cost": 0.5,
            "question": "?", "choices": list(variant.choices)}


def test_a_record_worked_by_hand():
    q = Question("astronomy", 0, "?", ("w", "x", "y", "z"), 2)  # right: y
    vs = Permute().variants(q)  # letters show: wxyz, xyzw, yzwx, zwxy; y sits at C, B, A, D
    record = permuted_record(vs, [_answered(vs[0], "C"), _answered(vs[1], "B"), _answered(vs[2], "A"),
                                  _answered(vs[3], "A")])  # the last picks z: wrong
    assert record["outcome"] == "failed" and not record["unparsed"] and record["orders_right"] == 3
    assert record["original_outcome"] == "passed" and record["consistent"] is False
    assert record["expected"] == "C" and record["predicted"] == "C" and record["choices"] == ["w", "x", "y", "z"]
    assert record["tokens_in"] == 40 and record["cost"] == 2.0
    assert [o["order"] for o in record["orders"]] == [[0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 0, 1], [3, 0, 1, 2]]
    assert [o["expected"] for o in record["orders"]] == ["C", "B", "A", "D"]
    assert "choices" not in record["orders"][1] and "question" not in record["orders"][1]

    same_wrong = permuted_record(vs, [_answered(v, v.letters[v.order.index(3)] if v.order else "D") for v in vs])
    assert same_wrong["consistent"] is True and same_wrong["orders_right"] == 0  # z everywhere: wrong, consistent
    unread = permuted_record(vs, [_answered(vs[0], "C"), _answered(vs[1], None, unparsed=True),
                                  _answered(vs[2], "A"), _answered(vs[3], "D")])
    assert unread["outcome"] == "failed" and unread["unparsed"] and not unread["consistent"]


def test_the_summary_counts_from_the_records():
    q = Question("astronomy", 0, "?", ("w", "x", "y", "z"), 2)
    vs = Permute().variants(q)
    right = permuted_record(vs, [_answered(v, v.expected) for v in vs])
    own_only = permuted_record(vs, [_answered(vs[0], "C")] + [_answered(v, "A" if v.expected != "A" else "B")
                                                             for v in vs[1:]])
    own_only = {**own_only, "nodeid": "mmlu::astronomy::q0001", "index": 1}
    summary = summarize([right, own_only], [right["nodeid"], own_only["nodeid"]], lambda s: "stem")
    o = summary.overall
    assert (o.correct, o.scored, o.permuted, o.original_correct, o.consistent) == (1, 2, 2, 2, 1)
    assert summary.usage["answered"] == 2 and summary.usage["replies"] == 8 and summary.usage["requests"] == 8
    assert summary.bias.questions == 8  # every order's reply


# -- runs -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data(subjects=("astronomy", "virology"), per_subject=6, seed=31, dev_per_subject=5)


def knows_evens(prompt):
    """Right on even problems whatever the order; on odd ones always picks A."""
    found = re.findall(r"problem (\d+): what is (\d+) \+ (\d+)\?", prompt)
    if not found:
        return [("A", -0.1)]
    n, a, b = (int(x) for x in found[-1])
    choices = re.findall(r"^([A-J])\. (.*)$", prompt, re.MULTILINE)
    right = next(x for x, text in choices if text.strip() == str(a + b))
    chosen = right if n % 2 == 0 else "A"
    return [(chosen, -0.2)] + [(x, -2.0 - i) for i, (x, _) in enumerate(choices) if x != chosen]


def run(pytester, url, data, *args, report=None):
    report = report or pytester.path / "r.json"
    return run_pytest(pytester, "-p", "no:randomly", "--mmlu-backend=openai", f"--mmlu-base-url={url}",
                      f"--mmlu-dataset={data}", *LOGPROBS, f"--mmlu-report={report}", *args, report=report,
                      fresh=True)


def _asked(fake):
    """The (problem, choice texts in order) of each completion request the stand-in saw."""
    out = []
    for req in fake.requests:
        if req.method != "POST":
            continue
        prompt = fake.prompt_of(req)
        if not re.search(r"(\w+) problem (\d+)", prompt):
            continue  # the probe at start
        out.append((re.findall(r"(\w+) problem (\d+)", prompt)[-1],
                    tuple(t for _, t in re.findall(r"^([A-J])\. (.*)$", prompt, re.MULTILINE))))
    return out


@pytest.mark.parametrize("workers", [("-p", "no:xdist", "--mmlu-concurrency=1"), ("-n", "2")],
                         ids=["one-at-a-time", "xdist"])
def test_circular_run_recomputed_from_its_orders_and_the_data(pytester, data, workers, tmp_path):
    from datafolders import make_questions as rows_of
    with ChatLogprobsFake("openai", knows_evens) as fake:
        result = run(pytester, fake.url, data, "--mmlu-permute=circular", f"--mmlu-cache={tmp_path / 'c'}",
                     *workers)
        asked = _asked(fake)
    assert result.ret == 1
    # every rotation of every question asked exactly once, a question's orders one after another
    assert len(asked) == len(set(asked)) == 12 * 4
    if "no:xdist" in workers:  # one request at a time: a question's orders follow one another
        problems = [p for p, _ in asked]
        assert all(len(set(problems[i:i + 4])) == 1 for i in range(0, 48, 4))
    rep = result.report
    data_rows = {s: rows_of(s, 6, seed=31) for s in ("astronomy", "virology")}
    for q in rep["questions"]:
        row = data_rows[q["subject"]][q["index"]]
        assert q["choices"] == row["choices"] and q["expected"] == "ABCD"[row["answer"]]
        assert len(q["orders"]) == 4 and sorted(o["expected"] for o in q["orders"]) == list("ABCD")
        for o in q["orders"]:  # each order's verdict, from its own letters and the data
            shown = [row["choices"][j] for j in o["order"]]
            assert o["expected"] == "ABCD"[shown.index(row["choices"][row["answer"]])]
            assert (o["outcome"] == "passed") == (o["predicted"] == o["expected"])
        picks = [o["order"]["ABCD".index(o["predicted"])] for o in q["orders"]]
        assert q["consistent"] == (len(set(picks)) == 1)
        assert (q["outcome"] == "passed") == all(o["outcome"] == "passed" for o in q["orders"]) == (q["index"] % 2 == 0)
    overall = rep["overall"]
    own = sum(q["orders"][0]["outcome"] == "passed" for q in rep["questions"])
    assert (overall["correct"], overall["total"], overall["original_correct"], overall["consistent"]) == \
        (6, 12, own, 6)  # odd problems: A in every order, a different choice each time
    assert overall["accuracy"] == 0.5 and overall["consistency"] == 0.5
    assert overall["original_accuracy"] == pytest.approx(own / 12)
    assert rep["subjects"]["astronomy"]["permuted"] == 6 and rep["config"]["permute"] == "circular"
    assert rep["bias"]["questions"] == 48 and rep["bias"]["expected"] == {x: 12 for x in "ABCD"}
    assert rep["bias"]["predicted"]["A"] == 6 * 4 + 6  # the odd ones always, the even ones once
    assert rep["usage"]["requests"] == 48 and rep["usage"]["replies"] == 48 and rep["usage"]["answered"] == 12
    lines = result.stdout.lines
    header = next(line for line in lines if line.startswith("subject "))
    assert header.endswith("own order  consistent")
    row = next(line for line in lines if line.startswith("overall (question-weighted)"))
    assert row.split()[-2:] == [f"{own / 12 * 100:.1f}%", "50.0%"] and "6/12" in row
    result.stdout.fnmatch_lines(["*astronomy q0001: right in 1 of 4 orders of its choices (inconsistent); the first "
                                 "order not right (its letters A B C D show the data's *",
                                 "orders: 12 questions asked in several orders of their choices; acc counts*"])


def test_a_rerun_asks_nothing_and_a_plain_run_s_replies_are_the_own_order(pytester, data, tmp_path):
    cache = f"--mmlu-cache={tmp_path / 'c'}"
    with ChatLogprobsFake("openai", knows_evens) as fake:
        plain = run(pytester, fake.url, data, cache)
        assert len(_asked(fake)) == 12
        first = run(pytester, fake.url, data, cache, "--mmlu-permute=circular")
        assert len(_asked(fake)) == 12 + 36  # the data's own order came from the plain run's cache
        again = run(pytester, fake.url, data, cache, "--mmlu-permute=circular")
        assert len(_asked(fake)) == 48
    assert again.report["usage"]["requests"] == 0 and again.report["usage"]["cached_replies"] == 48
    assert [q["outcome"] for q in again.report["questions"]] == [q["outcome"] for q in first.report["questions"]]
    assert [q["orders"][0]["predicted"] for q in first.report["questions"]] == \
        [q["predicted"] for q in plain.report["questions"]]
    offline = run(pytester, "http://127.0.0.1:9", data, cache, "--mmlu-permute=circular", "--mmlu-offline")
    assert [q["outcome"] for q in offline.report["questions"]] == [q["outcome"] for q in first.report["questions"]]


def test_k_orders_are_the_same_on_every_run_worker_and_server(pytester, data, tmp_path):
    with ChatLogprobsFake("openai", knows_evens) as fake:
        run(pytester, fake.url, data, "--mmlu-no-cache", "--mmlu-permute=3")
        one = _asked(fake)
    with ChatLogprobsFake("openai", knows_evens) as a, ChatLogprobsFake("openai", knows_evens) as b:
        fleet = run(pytester, a.url, data, "--mmlu-no-cache", "--mmlu-permute=3", "-n", "2",
                    f"--mmlu-base-url={b.url}")
        two = _asked(a) + _asked(b)
    assert len(one) == 36 and Counter(one) == Counter(two) and _asked(a) and _asked(b)
    assert fleet.report["overall"]["permuted"] == 12 and fleet.report["usage"]["requests"] == 36


def test_generate_scoring_and_the_judge_read_each_order(pytester, data):
    """Generated replies: the rules read most; one order's reply has no letter, and the judge reads it."""
    def text(prompt):
        choices = re.findall(r"^([A-J])\. (.*)$", prompt, re.MULTILINE)
        found = re.findall(r"problem (\d+): what is (\d+) \+ (\d+)\?", prompt)
        if not found or not choices:  # the judge: asked which letter the reply gave
            return "C"
        n, a, b = (int(x) for x in found[-1])
        right = next(x for x, t in choices if t.strip() == str(a + b))
        if n == 0 and right == "C":
            return "I would rather not pick one."
        return f"Answer: {right}"
    with OpenAIFake("openai", answer=text) as fake, OpenAIFake("openai", answer=lambda prompt: "C") as judge:
        result = run_pytest(pytester, "-p", "no:randomly", "--mmlu-backend=openai", f"--mmlu-base-url={fake.url}",
                            f"--mmlu-dataset={data}", "--mmlu-no-cache", "--mmlu-permute=circular",
                            "--mmlu-judge=openai", f"--mmlu-judge-base-url={judge.url}",
                            f"--mmlu-report={pytester.path / 'r.json'}", report=pytester.path / "r.json")
    assert result.ret == 0, result.stdout.str()
    first = next(q for q in result.report["questions"] if q["index"] == 0 and q["subject"] == "astronomy")
    judged = [o for o in first["orders"] if "judge" in o]
    assert len(judged) == 1 and judged[0]["judge"] == "C" and judged[0]["expected"] == "C"
    assert result.report["overall"]["judged"] == 2  # one reply in each subject's problem 0
    result.stdout.fnmatch_lines(["judge: 2 replies the rules could not read: 2 read by the judge, *"])


def test_gates_markdown_and_compare_read_the_items(pytester, data, capsys):
    from pytest_mmlu.cli import main
    markdown = pytester.path / "summary.md"
    with ChatLogprobsFake("openai", knows_evens) as fake:
        held = run(pytester, fake.url, data, "--mmlu-no-cache", "--mmlu-permute=circular",
                   "--mmlu-min-accuracy=0.5", f"--mmlu-markdown={markdown}")
        failed = run(pytester, fake.url, data, "--mmlu-no-cache", "--mmlu-permute=circular",
                     "--mmlu-min-accuracy=0.55", report=pytester.path / "failed.json")
    assert held.ret == 0 and failed.ret == 1
    assert held.report["gates"][0]["actual"] == 0.5
    o = held.report["overall"]
    own = f"{o['original_accuracy'] * 100:.2f}% ({o['original_correct']}/12)"
    text = markdown.read_text()
    assert "| Subject | Accuracy | 95% interval | Unparsed | Errors | Not run | Own order | Consistent |" in text
    assert f"own order: {own}; the same choice in every order: 50.00% (6/12)." in text
    capsys.readouterr()  # what the runs printed
    assert main(["compare", str(pytester.path / "r.json"), "--format=json"]) == 0
    entry = json.loads(capsys.readouterr().out)["runs"][0]
    assert entry["permute"] == "circular" and entry["orders"]["consistent"] == 6
    assert main(["compare", str(pytester.path / "r.json"), "--format=markdown"]) == 0
    assert "| openai, logprobs, 0-shot, circular |" in capsys.readouterr().out
    assert main(["compare", str(pytester.path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert (f"each question asked in every rotation of its choices: right in every order 50.0%, in its own order "
            f"{o['original_accuracy'] * 100:.1f}%, the same choice in every order 50.0% (12 questions)") in out


def test_a_bad_value_is_one_line(pytester):
    result = pytester.runpytest_subprocess("--mmlu-backend=openai", "--mmlu-permute=rotations")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--mmlu-permute 'rotations': expected circular or a number of orders K (2 to 100)*"])


# -- a real model -----------------------------------------------------------------------------------------------


def harness_prompt(subject, question, choices):
    """lm-evaluation-harness's MMLU prompt, written out here, not built by the plugin."""
    body = question + "".join(f"\n{x}. {c}" for x, c in zip("ABCD", choices))
    return f"The following are multiple choice questions (with answers) about {subject}.\n\n{body}\nAnswer:"


def test_a_real_model_in_every_rotation(pytester, llama_server, hub_data, tmp_path):
    """gemma-3 270M through a real llama_cpp.server: every rotation asked again here, directly, with a prompt
    written here; the letters agree (near-ties either way) and the circular figures follow from them."""
    rows = {"test": make_questions("astronomy", 5, seed=77)}
    result = run_pytest(pytester, "-p", "no:randomly", "--mmlu-no-cache", "--mmlu-backend=llama",
                        f"--mmlu-base-url={llama_server}", f"--mmlu-dataset={hub_data(rows)}",
                        "--mmlu-scoring=logprobs", "--mmlu-permute=circular",
                        f"--mmlu-report={pytester.path / 'r.json'}", report=pytester.path / "r.json")
    questions = result.report["questions"]
    assert len(questions) == 5 and all(len(q["orders"]) == 4 for q in questions)
    right_everywhere = consistent_count = own = 0
    for q in questions:
        row = rows["test"][q["index"]]
        picks, oks = [], []
        for r in range(4):
            order = [(i + r) % 4 for i in range(4)]
            shown = [row["choices"][j] for j in order]
            reply = requests.post(f"{llama_server}/v1/completions", timeout=120, json={
                "prompt": harness_prompt("astronomy", row["question"], shown), "max_tokens": 1, "logprobs": 20,
                "temperature": 0}).json()["choices"][0]["logprobs"]["top_logprobs"][0]
            scores = {x: reply.get(f" {x}", float("-inf")) for x in "ABCD"}
            record = next(o for o in q["orders"] if o["order"] == order)
            assert record["predicted"] in near_ties(scores), (q["nodeid"], r, scores, record)
            picks.append(order["ABCD".index(record["predicted"])])
            oks.append(shown[order.index(row["answer"])] == shown["ABCD".index(record["predicted"])])
            if r == 0:
                own += oks[-1]
        right_everywhere += all(oks)
        consistent_count += len(set(picks)) == 1
    overall = result.report["overall"]
    assert (overall["correct"], overall["original_correct"], overall["consistent"]) == \
        (right_everywhere, own, consistent_count)


def test_in_process_every_rotation_matches_a_direct_forward_pass(pytester, gemma_path, hub_data):
    """gemma-3 270M in process (llama-cpp-python): each order's letter is the one a forward pass over a prompt
    written here gives (near-ties either way), with the shots' and the question's prefix reused across orders."""
    pytest.importorskip("llama_cpp")
    from pytest_mmlu.backends import SERVICES, make_backend
    from pytest_mmlu.core.prompt import Prompt
    rows = {"test": make_questions("astronomy", 3, seed=78)}
    result = run_pytest(pytester, "-p", "no:randomly", "--mmlu-no-cache", "--mmlu-backend=llama-cpp",
                        f"--mmlu-model={gemma_path}", f"--mmlu-dataset={hub_data(rows)}", "--mmlu-permute=circular",
                        f"--mmlu-report={pytester.path / 'r.json'}", report=pytester.path / "r.json")
    backend = make_backend(SERVICES["llama-cpp"], None, gemma_path, None)
    questions = result.report["questions"]
    assert len(questions) == 3 and all(len(q["orders"]) == 4 for q in questions)
    for q in questions:
        row = rows["test"][q["index"]]
        for o in q["orders"]:
            shown = [row["choices"][j] for j in o["order"]]
            scores = backend.score(Prompt.single(harness_prompt("astronomy", row["question"], shown)),
                                   tuple("ABCD")).logprobs
            assert o["predicted"] in near_ties(scores), (q["nodeid"], o, scores)
            assert o["expected"] == "ABCD"[shown.index(row["choices"][row["answer"]])]
    overall = result.report["overall"]
    assert overall["correct"] == sum(all(o["outcome"] == "passed" for o in q["orders"]) for q in questions)
