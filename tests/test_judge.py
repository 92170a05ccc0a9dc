"""The judge: only unreadable replies go to it, its letters are counted apart, its faults never give a letter."""

import fnmatch
import json
import re
import threading

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from pytest_mmlu.core.prices import money
from pytest_mmlu.core.question import Question
from pytest_mmlu.core.reply import Reply
from pytest_mmlu.core.subjects import category_of
from pytest_mmlu.report.summary import render, summarize
from pytest_mmlu.scoring.judge import Reading, judge_messages, needs_judge, read_judgement
from pytest_mmlu.scoring.verdict import Verdict

from datafolders import write_hub_layout
from fakeservers import OpenAIFake, hang, status
from runs import run_pytest

SUBJECTS = ("astronomy", "virology")
KEY = "sk-judge-SECRET-7c21d9e0b4"
LETTERS = tuple("ABCD")
QUESTION = Question("astronomy", 3, "What is 2 + 2?", ("3", "4", "5", "6"), 1)


# -- reading the judge's answer (pure) -------------------------------------------------


@pytest.mark.parametrize("text, letter", [("C", "C"), ("c", "C"), (" B\n", "B"), ("**D**", "D"), ("(A)", "A"),
                                          ("`B`", "B"), ('"C".', "C"), ("<think>B or C? C.</think>C", "C")])
def test_one_letter_is_read(text, letter):
    assert read_judgement(Reply(text=text), LETTERS) == Reading("letter", letter, reply=text.split("</think>")[-1]
                                                                .strip())


@pytest.mark.parametrize("text", ["none", "None", "NONE.", "**none**"])
def test_none_is_no_answer(text):
    assert read_judgement(Reply(text=text), LETTERS).outcome == "none"


@pytest.mark.parametrize("text", ["The answer is C", "Answer: C", "B or C", "A B", "E", "J", "nothing", "C, because",
                                  "", "   ", "<think>it is B", "B\nC", "1"])
def test_anything_else_is_a_fault_never_a_letter(text):
    reading = read_judgement(Reply(text=text), LETTERS)
    assert reading.outcome == "fault" and reading.letter is None and reading.detail


def test_a_cut_off_or_withheld_judge_reply_is_a_fault():
    assert read_judgement(Reply(text="", truncated=True), LETTERS).detail.endswith("(cut off by the token limit)")
    assert "blocked" in read_judgement(Reply(text="", note="blocked by safety filters"), LETTERS).detail


@given(st.text(max_size=40))
def test_a_letter_only_when_the_reply_is_that_letter_alone(text):
    reading = read_judgement(Reply(text=text), LETTERS)
    assert reading.outcome in ("letter", "none", "fault")
    if reading.outcome == "letter":
        bare = re.sub(r"<think>.*?</think>", "", text, flags=re.S | re.I)
        assert re.sub(r"[\W_]", "", bare).upper() == reading.letter
    else:
        assert reading.letter is None


@pytest.mark.parametrize("text, needed", [
    ("A. 3\nB. 4\nC. 5\nD. 6", True),  # the options restated
    ("Two plus two makes four.", True),
    ("Answer: B", False), ("The correct answer is (B).", False), ("B", False),
    ("", False), ("Answer: E", False),  # nothing to read / the model's own out-of-range answer stands
])
def test_only_replies_the_rules_cannot_read_need_the_judge(text, needed):
    assert needs_judge(Reply(text=text), LETTERS) is needed


def test_a_reply_cut_off_by_the_limit_is_not_judged():
    assert not needs_judge(Reply(text="Let me think about each option in turn. A. 3 is", truncated=True), LETTERS)


def test_the_judge_sees_question_options_and_reply_but_not_the_answer():
    (message,) = judge_messages(QUESTION, "I would say four.")
    text = message["content"]
    assert message["role"] == "user"
    for part in ("What is 2 + 2?", "A. 3", "B. 4", "C. 5", "D. 6", "I would say four.", "A, B, C, D, or none"):
        assert part in text
    assert "expected" not in text.lower() and "correct answer" not in text.lower()


def test_a_long_reply_keeps_its_start_and_end():
    reply = "start " + "x" * 20000 + " the end"
    text = judge_messages(QUESTION, reply)[0]["content"]
    assert "start " in text and " the end" in text and "characters left out" in text and len(text) < 8000


def test_ten_choices_have_ten_letters():
    q = Question("mmlu_pro", 0, "Pick one", tuple(str(i) for i in range(10)), 9)
    assert "A, B, C, D, E, F, G, H, I, J, or none" in judge_messages(q, "nine")[0]["content"]
    assert read_judgement(Reply(text="J"), q.letters).letter == "J"


def test_the_verdict_takes_the_judges_letter_or_stays_unparsed():
    rules = Verdict(None, True, "no answer letter (none)")
    assert Reading("letter", "B").applied(rules) == Verdict("B", False, "judge")
    none = Reading("none").applied(rules)
    assert none.predicted is None and none.unparsed and "no answer" in none.reason
    down = Reading("fault", detail="cannot reach http://x").applied(rules)
    assert down.predicted is None and down.unparsed and "judge fault: cannot reach http://x" in down.reason


def test_summary_counts_the_judge_apart():
    def rec(i, outcome, predicted, judge=None):
        r = {"nodeid": f"mmlu::astronomy::q{i:04d}", "subject": "astronomy", "outcome": outcome,
             "predicted": predicted, "unparsed": predicted is None and outcome == "failed"}
        return {**r, "judge": judge} if judge else r
    records = [rec(0, "passed", "A"), rec(1, "passed", "B", judge="B"), rec(2, "failed", "C", judge="C"),
               rec(3, "failed", None, judge="none"), rec(4, "failed", None, judge="fault"), rec(5, "failed", None)]
    summary = summarize(records, [r["nodeid"] for r in records], category_of)
    o = summary.overall
    assert (o.correct, o.wrong, o.unparsed, o.judged, o.judge_none, o.judge_faults) == (2, 1, 3, 2, 1, 1)
    assert summary.subjects["astronomy"].to_json()["judged"] == 2
    assert "judge: 4 replies the rules could not read: 2 read by the judge, 1 with no answer, 1 judge faults" \
        in render(summary)


# -- the judge in a run, against local stand-ins -----------------------------------------


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data(subjects=SUBJECTS, per_subject=6, seed=21)


def _sum(prompt: str) -> int:
    a, b = re.search(r"what is (\d+) \+ (\d+)\?", prompt).groups()
    return int(a) + int(b)


def model(prompt: str) -> str:
    """Right every time; writes 'Answer: X' on odd problems and only prose on even ones."""
    number = int(re.search(r"problem (\d+)", prompt)[1])
    total = _sum(prompt)
    if number % 2 == 0:
        return f"Adding the two numbers gives {total}, so that is my choice."
    letter = re.search(rf"^([A-D])\. {total}$", prompt, re.M)[1]
    return f"Answer: {letter}"


def judge_reader(prompt: str) -> str:
    """A judge that reads the number in the reply and names the option that holds it."""
    reply = re.search(r'Reply:\n"""\n(.*)\n"""', prompt, re.S)[1]
    numbers = re.findall(r"\d+", reply)
    for letter, choice in re.findall(r"^([A-J])\. (.*)$", prompt.split("Reply:")[0], re.M):
        if numbers and choice == numbers[-1]:
            return letter
    return "none"


UNREADABLE = 6  # problems 0, 2, 4 of each subject


def posts(fake):
    return [r for r in fake.requests if r.method == "POST"]


def run(pytester, main, data, *extra, judge=None):
    report = pytester.path / "report.json"
    judge_args = (["--mmlu-judge=openai", f"--mmlu-judge-base-url={judge.url}", "--mmlu-judge-model=judge-1"]
                  if judge is not None else [])
    return run_pytest(
        pytester, "-p", "no:randomly", "--mmlu-backend=llama", f"--mmlu-base-url={main.url}",
        f"--mmlu-dataset={data}", "--mmlu-scoring=generate", f"--mmlu-report={report}", "--mmlu-retries=0",
        "--mmlu-timeout=5", *judge_args, *extra, report=report, fresh=True)


@pytest.fixture
def main():
    with OpenAIFake("llama", answer=model) as server:
        yield server


@pytest.fixture
def judge():
    with OpenAIFake("openai", answer=judge_reader) as server:
        yield server


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["no-xdist", "xdist"])
def test_the_judge_reads_only_the_replies_the_rules_cannot(pytester, data, main, judge, workers):
    result = run(pytester, main, data, *workers, judge=judge)
    assert result.ret == 0
    assert len(posts(judge)) == UNREADABLE
    asked = {json.dumps(r.body["messages"]) for r in posts(judge)}
    assert all("Adding the two numbers" in a for a in asked)  # never a reply the rules could read
    questions = result.report["questions"]
    by_judge = [q for q in questions if q.get("how") == "judge"]
    assert len(by_judge) == UNREADABLE and all(q["predicted"] == q["expected"] for q in by_judge)
    assert all(q["judge"] == q["predicted"] and not q["judge_cached"] for q in by_judge)
    assert all("judge" not in q for q in questions if q not in by_judge)
    o = result.report["overall"]
    assert (o["correct"], o["unparsed"], o["judged"], o["judge_faults"]) == (12, 0, UNREADABLE, 0)
    assert result.report["config"]["judge"]["model"] == "judge-1"
    result.stdout.fnmatch_lines(["mmlu: judge openai at http://127.0.0.1:*; model judge-1*",
                                 "judge: 6 replies the rules could not read: 6 read by the judge, 0 with no answer, "
                                 "0 judge faults"])
    body = posts(judge)[0].body
    assert body["model"] == "judge-1" and body["temperature"] == 0 and body["max_tokens"] == 16


def test_a_judge_that_finds_no_answer_leaves_the_reply_unparsed(pytester, data, main):
    with OpenAIFake("openai", answer=lambda prompt: "none") as judge:
        result = run(pytester, main, data, judge=judge)
    o = result.report["overall"]
    assert (o["unparsed"], o["judge_none"], o["judged"]) == (UNREADABLE, UNREADABLE, 0)
    unparsed = [q for q in result.report["questions"] if q["unparsed"]]
    assert all(q["predicted"] is None and q["judge"] == "none" for q in unparsed)
    result.stdout.fnmatch_lines(["*unparsed reply (no answer letter (none); the judge found no answer)*"])


# what each kind of fault leaves in judge_error: fnmatch patterns, one of which each message must match
# ({url}: the judge's chat route)
GONE = ["connection to {url} broke while reading the reply (*Connection aborted*",  # the POST it went away on
        "cannot reach {url}: connection refused",  # asked once the port was shut
        "not asked: cannot reach {url}: connection refused"]  # after a refusal, the rest fail fast
FAULTS = {
    "nonsense": ({}, lambda judge: None, lambda p: "I think the reply means B, probably.",
                 ["the judge's reply is not one of A, B, C, D or none: 'I think the reply means B, probably.'"]),
    "server-error": ({}, lambda judge: judge.script(status(500, {"error": "boom"}), times=100), judge_reader,
                     ["HTTP 500 from {url}: boom"]),
    "hang": ({}, lambda judge: judge.script(hang(30), times=100), judge_reader,
             ["no reply from {url} within 1s (1 tries)"]),
    # a crashed judge: its first POST is reset and its port shut (an event in the fake, not a timer)
    "gone": ({"go_away_after": 0}, lambda judge: None, judge_reader, GONE),
}


@pytest.mark.parametrize("kind", FAULTS)
def test_a_judge_fault_never_gives_a_letter(pytester, data, main, kind):
    options, arrange, answer, patterns = FAULTS[kind]
    # the model's replies go into the cache first, so the run with a 1 s timeout asks only the judge
    # (the timeout is the model's too: a reply of the model's held up 1 s on a busy machine is an error)
    warm = run(pytester, main, data)
    assert warm.report["overall"]["errors"] == 0
    asked_main = len(posts(main))
    with OpenAIFake("openai", answer=answer, **options) as judge:
        arrange(judge)
        result = run(pytester, main, data, "--mmlu-timeout=1", judge=judge)  # a hang ends as "no reply within 1s"
        assert len(posts(main)) == asked_main  # every reply of the model came from the cache
        if kind == "nonsense":  # a reply all the same: cached, and read again as a fault without asking
            asked = len(posts(judge))
            again = run(pytester, main, data, judge=judge)
            assert len(posts(judge)) == asked and again.report["overall"]["judge_faults"] == UNREADABLE
    o = result.report["overall"]
    assert (o["correct"], o["unparsed"], o["judge_faults"], o["judged"], o["errors"]) == (6, UNREADABLE, UNREADABLE,
                                                                                        0, 0)
    faulted = [q for q in result.report["questions"] if q.get("judge") == "fault"]
    assert len(faulted) == UNREADABLE
    assert all(q["predicted"] is None and q["unparsed"] for q in faulted)
    expected = [p.format(url=f"{judge.url}/v1/chat/completions") for p in patterns]
    for q in faulted:
        assert any(fnmatch.fnmatchcase(q["judge_error"], p) for p in expected), q["judge_error"]
    if kind == "gone":  # the POST the judge went away on is always among them
        assert any(fnmatch.fnmatchcase(q["judge_error"], expected[0]) for q in faulted)
    result.stdout.fnmatch_lines(["judge: 6 replies the rules could not read: 0 read by the judge, 0 with no answer, "
                                 "6 judge faults"])
    assert result.ret == 1  # failed items (unparsed), never errors: the model did answer
    assert "Traceback" not in result.stdout.str()


def test_collected_replies_are_rescored_by_the_judge_and_a_rerun_asks_nobody(pytester, data, main, judge):
    before = run(pytester, main, data)
    o = before.report["overall"]
    assert (o["correct"], o["unparsed"], o["judged"]) == (6, UNREADABLE, 0)
    before.stdout.no_fnmatch_line("judge:*")
    asked = len(posts(main))

    after = run(pytester, main, data, judge=judge)  # the replies come from the cache: only the judge is asked
    assert len(posts(main)) == asked and len(posts(judge)) == UNREADABLE
    assert all(q["cached"] for q in after.report["questions"])
    assert after.report["overall"]["correct"] == 12 and after.report["overall"]["judged"] == UNREADABLE

    again = run(pytester, main, data, judge=judge)  # the judge's replies are cached too
    assert (len(posts(main)), len(posts(judge))) == (asked, UNREADABLE)
    assert [q["predicted"] for q in again.report["questions"]] == [q["predicted"] for q in after.report["questions"]]
    assert all(q["judge_cached"] for q in again.report["questions"] if "judge" in q)
    assert again.report["overall"]["judged"] == UNREADABLE


def test_judge_requests_are_in_flight_together(pytester, data, main):
    # every judge request waits until all six are in flight: asked one at a time, they would give up
    together = threading.Barrier(UNREADABLE, timeout=30)

    def answer(prompt):
        try:
            together.wait()
        except threading.BrokenBarrierError:
            return "asked one at a time"
        return judge_reader(prompt)
    with OpenAIFake("openai", answer=answer) as judge:
        result = run(pytester, main, data, "--mmlu-timeout=60", judge=judge)
    assert result.report["overall"]["judged"] == UNREADABLE


def test_a_hosted_judge_uses_its_key_and_never_shows_it(pytester, data, main, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
    with OpenAIFake("deepseek", answer=judge_reader, require_key=KEY) as judge:
        report = pytester.path / "report.json"
        result = pytester.runpytest_subprocess(
            "--mmlu-backend=llama", f"--mmlu-base-url={main.url}", f"--mmlu-dataset={data}", "--mmlu-scoring=generate",
            "--mmlu-judge=deepseek", f"--mmlu-judge-base-url={judge.url}", f"--mmlu-report={report}", "-rA")
        assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in judge.requests)
    assert json.loads(report.read_text())["overall"]["judged"] == UNREADABLE
    assert result.ret == 0
    assert KEY not in result.stdout.str() + result.stderr.str() + report.read_text()
    for path in pytester.path.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_a_judge_key_rejected_at_start_stops_the_run(pytester, data, main, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-wrong-" + KEY)
    with OpenAIFake("deepseek", answer="A", require_key=KEY) as judge:
        result = pytester.runpytest_subprocess(
            "--mmlu-backend=llama", f"--mmlu-base-url={main.url}", f"--mmlu-dataset={data}", "--mmlu-scoring=generate",
            "--mmlu-judge=deepseek", f"--mmlu-judge-base-url={judge.url}")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*key rejected for the deepseek judge*"])
    assert KEY not in result.stdout.str() + result.stderr.str()
    assert posts(main) == []


@pytest.mark.parametrize("args, message", [
    (["--mmlu-judge-model=x"], "*--mmlu-judge-model and --mmlu-judge-base-url need --mmlu-judge BACKEND*"),
    (["--mmlu-judge=openai", "--mmlu-judge-base-url=http://127.0.0.1:9", "--mmlu-scoring=logprobs"],
     "*--mmlu-judge reads generated replies; it has nothing to read with logprobs scoring*"),
    (["--mmlu-judge=openai", "--mmlu-judge-base-url=http://127.0.0.1:9"],
     "*cannot reach the openai judge at http://127.0.0.1:9*"),
    (["--mmlu-judge=mistral"], "*the mistral judge needs an API key: set MISTRAL_API_KEY*"),
])
def test_a_judge_that_cannot_work_stops_the_run_at_start(pytester, data, main, args, message):
    result = pytester.runpytest_subprocess("--mmlu-backend=llama", f"--mmlu-base-url={main.url}",
                                           f"--mmlu-dataset={data}", "--mmlu-scoring=generate", *args)
    assert result.ret == 4
    result.stderr.fnmatch_lines([message])
    assert posts(main) == []


# -- a real judge: SmolLM2 behind llama_cpp.server (conftest's chat_server) ------------------------------

REAL_ROWS = [
    ("high_school_geography", "The Prime Meridian passes through which city?",
     ["Paris", "Greenwich", "Madrid", "Lagos"], 1),
    ("college_computer_science", "Which data structure follows the last-in, first-out principle?",
     ["Queue", "Stack", "Heap", "Linked list"], 1),
    ("astronomy", "Which planet is closest to the Sun?", ["Venus", "Mercury", "Mars", "Earth"], 1),
    ("high_school_biology", "What colour is chlorophyll?", ["Red", "Blue", "Green", "Yellow"], 2),
]
# the judge's prompt, written out here (not built by the plugin): the direct queries below ask exactly this
JUDGE_PROMPT = (
    "You read a student's reply to a multiple-choice question and say which option the reply chose. "
    "Do not solve the question yourself and do not judge whether the reply is right: only report "
    "the option the reply picks as its answer.\n"
    "Answer with exactly one of: A, B, C, D, or none. Answer none when the reply picks no option, "
    "picks several, or only repeats the options. Write nothing else.\n\n"
    "Question:\n{question}\n\nOptions:\nA. {0}\nB. {1}\nC. {2}\nD. {3}\n\n"
    'Reply:\n"""\n{reply}\n"""\n\n'
    "Which option does the reply choose? (A, B, C, D or none)")


def in_words(choice: str) -> str:
    """A reply that names one option by its text and never by its letter: only a judge can read it."""
    return f"I am fairly sure it is {choice}, since that is what I remember."


def my_reading(text: str) -> str:
    """The judge's words read by hand: a lone letter (bare, bold, quoted, bracketed), "none", else a fault."""
    bare = text.strip().strip("*_`\"'()[]. \n")
    if len(bare) == 1 and bare.upper() in "ABCD":
        return bare.upper()
    return "none" if bare.lower() == "none" else "fault"


def test_a_real_judge_says_what_the_same_server_says_when_asked_directly(pytester, tmp_path, chat_server):
    # SmolLM2-135M answers this prompt with a sentence ("The reply chooses option C."), never a lone letter or
    # "none" (about 160 replies tried, letters and option texts in every form): its readings are faults today,
    # and each must still be the one its own words give; the stand-in judges above cover the letters read
    rows = [{"question": q, "subject": s, "choices": c, "answer": a} for s, q, c, a in REAL_ROWS]
    data = write_hub_layout(tmp_path / "data", {"test": rows})
    replies = {q: in_words(c[a]) for _, q, c, a in REAL_ROWS}
    with OpenAIFake("llama", answer=lambda prompt: next(r for q, r in replies.items() if q in prompt)) as model:
        report = pytester.path / "report.json"
        result = pytester.runpytest_subprocess(
            "-p", "no:randomly", "--mmlu-backend=llama", f"--mmlu-base-url={model.url}", f"--mmlu-dataset={data}",
            "--mmlu-scoring=generate", "--mmlu-no-cache", f"--mmlu-report={report}", "--mmlu-retries=0",
            # one slow thread serves the judge's requests one after another: a timeout would be a fault
            "--mmlu-timeout=300", "--mmlu-judge=llama", f"--mmlu-judge-base-url={chat_server}")
        assert len(posts(model)) == len(REAL_ROWS)
    questions = json.loads(report.read_text())["questions"]
    assert sorted(q["nodeid"] for q in questions) == sorted(f"mmlu::{s}::q0000" for s, *_ in REAL_ROWS)
    tally = {"letter": 0, "none": 0, "fault": 0}
    for subject, text, choices, answer in REAL_ROWS:
        (q,) = [q for q in questions if q["subject"] == subject]
        assert q["reply"] == replies[text] and "judge" in q  # the rules read no letter: the judge was asked
        prompt = JUDGE_PROMPT.format(*choices, question=text, reply=replies[text])
        # the plugin asks the judge this prompt, word for word
        assert judge_messages(Question(subject, 0, text, tuple(choices), answer), replies[text]) == \
            ({"role": "user", "content": prompt},)
        direct = requests.post(f"{chat_server}/v1/chat/completions", timeout=300, json={
            "messages": [{"role": "user", "content": prompt}], "max_tokens": 16, "temperature": 0}).json()
        said = direct["choices"][0]["message"]["content"]
        mine = my_reading(said)
        # greedy decoding of the same prompt on the same server: the same words, read the same way
        assert (q["judge"], q["judge_reply"]) == (mine, said.strip()[:200]), (q, said)
        if mine in ("none", "fault"):
            assert q["predicted"] is None and q["unparsed"] and q["outcome"] == "failed"
        else:
            assert (q["predicted"], q["how"], q["unparsed"]) == (mine, "judge", False)
        tally["letter" if mine in tuple("ABCD") else mine] += 1
    o = json.loads(report.read_text())["overall"]
    assert (o["judged"], o["judge_none"], o["judge_faults"], o["errors"]) == \
        (tally["letter"], tally["none"], tally["fault"], 0)
    result.stdout.fnmatch_lines([f"judge: {len(REAL_ROWS)} replies the rules could not read: {tally['letter']} read "
                                 f"by the judge, {tally['none']} with no answer, {tally['fault']} judge faults"])


def test_what_the_judge_cost_is_kept_and_priced(pytester, data, main, judge):
    prices = pytester.path / "prices.toml"
    prices.write_text('[openai."judge-1"]\ninput = 1.5\noutput = 6.0\n')
    result = run(pytester, main, data, f"--mmlu-prices={prices}", judge=judge)
    sent = {json.dumps(r.body["messages"]): r.reply["usage"] for r in posts(judge)}
    assert len(sent) == UNREADABLE
    judged = [q for q in result.report["questions"] if "judge" in q]
    tokens_in = sum(u["prompt_tokens"] for u in sent.values())
    tokens_out = sum(u["completion_tokens"] for u in sent.values())
    cost = sum((u["prompt_tokens"] * 1.5 + u["completion_tokens"] * 6.0) / 1e6 for u in sent.values())
    assert sum(q["judge_tokens_in"] for q in judged) == tokens_in
    assert sum(q["judge_tokens_out"] for q in judged) == tokens_out
    assert sum(q["judge_cost"] for q in judged) == pytest.approx(cost)
    assert not any("cost" in q for q in result.report["questions"])  # the model (llama) has no price
    usage = result.report["usage"]["judge"]
    assert usage["replies"] == usage["requests"] == UNREADABLE
    assert usage["cost"]["sum"] == pytest.approx(cost)
    result.stdout.fnmatch_lines([f"usage: * the judge: {UNREADABLE} requests, tokens in {tokens_in:,} / out "
                                 f"{tokens_out:,}", f"cost: the judge {money(cost)} (the model's replies have no price)"])
    # from the cache: the same figures, no new request
    again = run(pytester, main, data, f"--mmlu-prices={prices}", judge=judge)
    assert len(posts(judge)) == UNREADABLE
    assert again.report["usage"]["judge"]["requests"] == 0
    assert again.report["usage"]["judge"]["cost"]["sum"] == pytest.approx(cost)
