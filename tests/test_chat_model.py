"""Generate scoring on a real chat model: SmolLM2-135M-Instruct through llama_cpp.server and in process,
and as the judge. It is near chance on MMLU: these tests check what the plugin does with what it writes."""

import pytest
import requests

from pytest_mmlu.backends import SERVICES, make_backend
from pytest_mmlu.core.question import Question
from pytest_mmlu.prompts import instruct

from agreement import assert_replies_read_alike
from fakeservers import OpenAIFake
from runs import run_pytest

pytest.importorskip("llama_cpp")

# questions in the style of MMLU, written for these tests
ROWS = [
    ("high_school_geography", "Which of the following is the longest river in Africa?",
     ["The Congo", "The Niger", "The Nile", "The Zambezi"], 2),
    ("high_school_geography", "The Prime Meridian passes through which city?",
     ["Paris", "Greenwich", "Madrid", "Lagos"], 1),
    ("high_school_geography", "What is the capital city of Australia?",
     ["Sydney", "Melbourne", "Perth", "Canberra"], 3),
    ("college_computer_science", "What is the worst-case time complexity of binary search on a sorted array of n "
     "elements?", ["O(1)", "O(log n)", "O(n)", "O(n log n)"], 1),
    ("college_computer_science", "Which data structure follows the last-in, first-out principle?",
     ["Queue", "Stack", "Heap", "Linked list"], 1),
    ("college_computer_science", "How many bits are there in one byte?", ["4", "8", "16", "32"], 1),
]
MAX_TOKENS = "--mmlu-max-tokens=48"  # enough for a short answer; a rambling reply is cut (and so unparsed)


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data({"test": [{"question": q, "subject": s, "choices": c, "answer": a} for s, q, c, a in ROWS]})


def run(pytester, data, *args):
    report = pytester.path / "report.json"
    return run_pytest(pytester, f"--mmlu-dataset={data}", "--mmlu-scoring=generate", MAX_TOKENS,
                      f"--mmlu-report={report}", "-p", "no:randomly", *args, report=report)


def expected_letters():
    """Node id -> right letter for ROWS, numbered within each subject as the data folder has them."""
    out, seen = {}, {}
    for subject, _, _, answer in ROWS:
        seen[subject] = seen.get(subject, -1) + 1
        out[f"mmlu::{subject}::q{seen[subject]:04d}"] = "ABCD"[answer]
    return out


def check_generate_report(report):
    """What generate scoring must make of a real chat model's replies, whatever it answers."""
    questions = report["questions"]
    assert len(questions) == len(ROWS) and report["overall"]["errors"] == 0
    assert {q["nodeid"]: q["expected"] for q in questions} == expected_letters()  # each of ROWS, once
    assert all(q["reply"].strip() for q in questions)  # a chat model writes text (the base model wrote nothing)
    # SmolLM2 mostly writes "The answer is C." or prose without a letter: some replies are read here for certain
    assert assert_replies_read_alike(questions) >= 1
    for q in questions:
        assert q["outcome"] == ("passed" if q["predicted"] == q["expected"] else "failed")
        if q["unparsed"]:
            assert q["predicted"] is None and q["how"]
        else:
            assert q["predicted"] in "ABCD" and q["how"] not in ("judge", "none", "empty")
    o = report["overall"]
    assert o["correct"] + o["wrong"] + o["unparsed"] == o["total"] == len(ROWS)
    assert o["unparsed"] == sum(q["unparsed"] for q in questions)
    assert o["correct"] == sum(q["predicted"] == q["expected"] for q in questions)


def test_generate_scoring_through_the_server(pytester, data, chat_server):
    result = run(pytester, data, "--mmlu-backend=llama", f"--mmlu-base-url={chat_server}", "--mmlu-no-cache")
    assert result.ret in (0, 1)
    check_generate_report(result.report)
    assert result.report["config"]["served_model"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    result.stdout.fnmatch_lines(["mmlu: scoring generate; prompt instruct*"])


def test_generate_scoring_in_process(pytester, data, smollm2_path):
    result = run(pytester, data, "--mmlu-backend=llama-cpp", f"--mmlu-model={smollm2_path}", "--mmlu-no-cache")
    assert result.ret in (0, 1)
    check_generate_report(result.report)


def test_in_process_and_server_write_the_same_words(chat_server, smollm2_path):
    # the same GGUF, the chat template stored in it, greedy decoding: the same reply, once the server's
    # own default repeat penalty (1.1; in process it is 1.0) is set alike
    backend = make_backend(SERVICES["llama-cpp"], None, smollm2_path, None)
    for subject, text, choices, answer in ROWS[::3]:
        prompt = instruct(Question(subject, 0, text, tuple(choices), answer))
        mine = backend.generate(prompt, 48, 0.0).text
        served = requests.post(f"{chat_server}/v1/chat/completions", timeout=300, json={
            "messages": list(prompt.messages), "max_tokens": 48, "temperature": 0, "repeat_penalty": 1.0}).json()
        assert mine.strip() and mine == served["choices"][0]["message"]["content"]


def test_smollm2_as_the_judge(pytester, data, chat_server):
    # the answering model writes prose that names the option's text but no letter
    answers = {q: c[a] for _, q, c, a in ROWS}

    def prose(prompt):
        question = next(q for q in answers if q in prompt)
        return f"I am fairly sure it is {answers[question]}, since that is what I remember."
    with OpenAIFake("llama", answer=prose) as model:
        args = ("--mmlu-backend=llama", f"--mmlu-base-url={model.url}", "--mmlu-judge=llama",
                f"--mmlu-judge-base-url={chat_server}", f"--mmlu-cache={pytester.path / 'cache'}")
        first = run(pytester, data, *args)
        second = run(pytester, data, *args)
        assert len([r for r in model.requests if r.method == "POST"]) == len(ROWS)
    for result in (first, second):
        questions = result.report["questions"]
        assert all("judge" in q for q in questions)  # the rules read none of them: all went to the judge
        assert len(questions) == len(ROWS) and result.report["overall"]["errors"] == 0
        for q in questions:
            # the judge's reply read strictly by the test itself: a lone letter, "none", or else a fault
            said = (q.get("judge_reply") or "").strip(" \n\t.*_`\"'()[]“”‘’").upper()
            assert q["judge"] == (said if said in ("A", "B", "C", "D") else "none" if said == "NONE" else "fault")
            if q["judge"] in tuple("ABCD"):
                assert q["how"] == "judge" and q["predicted"] == q["judge"] and not q["unparsed"]
            else:
                assert q["predicted"] is None and q["unparsed"]
        o = result.report["overall"]
        assert o["judged"] + o["judge_none"] + o["judge_faults"] == len(ROWS)
        assert result.report["config"]["judge"]["served_model"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert not any(q["judge_cached"] for q in first.report["questions"])
    assert all(q["judge_cached"] for q in second.report["questions"])  # the judge was asked nothing new
    assert [q["judge"] for q in first.report["questions"]] == [q["judge"] for q in second.report["questions"]]
