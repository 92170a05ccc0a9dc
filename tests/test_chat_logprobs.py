"""Log-probability scoring on chat routes: letter scores from a first token's top-k, each service's
real shape (llama-server's as recorded), the usage errors at start, the "first token not a letter"
count, and per-server concurrency from llama.cpp's /props."""

import json
import math
import re

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from pytest_mmlu.backends import SERVICES, BackendError, auth_headers, logprob_route, make_backend
from pytest_mmlu.backends.letters import letter_of, read_letters
from pytest_mmlu.backends.transport import Transport
from pytest_mmlu.core.question import Question
from pytest_mmlu.engine.concurrency import lanes, per_server
from pytest_mmlu.prompts import Prompt, letter
from pytest_mmlu.scoring.verdict import read_verdict as judge

from agreement import TIE, assert_same_letter
from datafolders import make_questions
from fakeservers import (
    ChatLogprobsFake,
    GeminiFake,
    GeminiLogprobsFake,
    LlamaServerFake,
    OllamaFake,
    OllamaLogprobsFake,
    OpenAIFake,
    first_tokens,
)

KEY = "sk-test-4b1d9e7c2a6f"
ABCD = ("A", "B", "C", "D")
PROMPT = Prompt.single("Which planet is largest?\nA. Mars\nB. Venus\nC. Jupiter\nD. Earth\nAnswer:")

# -- reading letters from top-k (pure) -------------------------------------------------------------


def test_spellings_of_a_letter_are_combined():
    reading = read_letters([("A", -1.0), (" A", -1.0), ("▁B", -0.5), ("ĠC", -3.0), ("The", -0.1)], ABCD)
    assert reading.scores["A"] == pytest.approx(-1.0 + math.log(2))
    assert reading.scores["B"] == -0.5 and reading.scores["C"] == -3.0
    assert "D" not in reading.scores  # absent: below every letter present
    assert reading.first_token == "The" and reading.note is None
    assert judge_of(reading) == "A"  # -0.31 combined; either spelling alone (-1.0) would lose to B


def judge_of(reading):
    from pytest_mmlu.core.reply import Reply
    return judge(Reply(logprobs=reading.scores, note=reading.note), "logprobs", ABCD).predicted


@pytest.mark.parametrize("token,letter", [("A", "A"), (" A", "A"), ("▁A", "A"), ("ĠA", "A"), ("\nA", "A"),
                                          ("a", None), ("AB", None), ("A.", None), ("E", None), ("", None)])
def test_what_spells_a_letter(token, letter):
    assert letter_of(token, ABCD) == letter


def test_no_letter_among_the_top_is_unparsed_with_what_the_model_preferred():
    reading = read_letters([("Sure", -0.2), ("The", -1.5), ("I", -2.0)], ABCD, k=20)
    assert reading.scores == {}
    assert reading.note == ("no choice letter among the top 20 first tokens; the model preferred "
                            "'Sure' -0.20, 'The' -1.50, 'I' -2.00")
    from pytest_mmlu.core.reply import Reply
    verdict = judge(Reply(note=reading.note), "logprobs", ABCD)
    assert verdict.unparsed and "'Sure'" in verdict.reason


def test_letters_beyond_the_question_do_not_count():
    reading = read_letters([("E", -0.1), ("B", -2.0)], ("A", "B", "C", "D"))
    assert reading.scores == {"B": -2.0} and reading.first_token == "E"
    assert read_letters([("E", -0.1), ("B", -2.0)], tuple("ABCDEFGHIJ")).scores == {"E": -0.1, "B": -2.0}


def test_the_generated_token_is_kept_even_when_not_the_most_likely():
    assert read_letters([("A", -0.1), ("B", -0.2)], ABCD, first_token="B").first_token == "B"


TOKENS = st.sampled_from(["The", "To", "Sure", "I", "\n", " ", "a", "Answer", "1", "**", "(", "E"])
FORMS = st.sampled_from(["{}", " {}", "▁{}", "Ġ{}"])


@st.composite
def distributions(draw):
    """A full next-token distribution over letter spellings and other tokens, as log-probabilities."""
    tokens = {draw(FORMS).format(x) for x in ABCD for _ in range(draw(st.integers(0, 3)))}
    tokens |= set(draw(st.lists(TOKENS, min_size=1, max_size=12)))
    weights = draw(st.lists(st.floats(0.001, 1.0), min_size=len(tokens), max_size=len(tokens)))
    total = sum(weights)
    return {t: math.log(w / total) for t, w in zip(sorted(tokens), weights)}


def true_scores(dist):
    out = {}
    for token, lp in dist.items():
        x = letter_of(token, ABCD)
        if x:
            out[x] = math.log(math.exp(out.get(x, float("-inf"))) + math.exp(lp))
    return out


@given(distributions(), st.integers(1, 20), st.randoms())
def test_top_k_scores_bound_the_true_ones_and_ignore_order(dist, k, rng):
    top = sorted(dist.items(), key=lambda p: -p[1])[:k]
    truth = true_scores(dist)
    reading = read_letters(top, ABCD)
    for x, score in reading.scores.items():
        best_spelling = max(lp for t, lp in top if letter_of(t, ABCD) == x)
        assert best_spelling - 1e-9 <= score <= truth[x] + 1e-9
    assert bool(reading.scores) != bool(reading.note)
    shuffled = list(top)
    rng.shuffle(shuffled)
    again = read_letters(shuffled, ABCD, first_token=reading.first_token)
    assert again.scores.keys() == reading.scores.keys()
    assert all(abs(again.scores[x] - reading.scores[x]) < 1e-9 for x in reading.scores)


@given(st.dictionaries(st.sampled_from(ABCD), FORMS, min_size=4, max_size=4),
       st.lists(st.floats(0.001, 1.0), min_size=10, max_size=10), st.integers(1, 9))
def test_argmax_is_exact_when_a_letter_is_present(forms, weights, k):
    # one spelling per letter: a letter present in the top k outranks every absent one
    tokens = [forms[x].format(x) for x in ABCD] + ["The", "To", "Sure", "I", "\n", "1"]
    total = sum(weights)
    dist = {t: math.log(w / total) for t, w in zip(tokens, weights)}
    top = sorted(dist.items(), key=lambda p: -p[1])[:k]
    reading = read_letters(top, ABCD)
    if reading.scores:
        truth = true_scores(dist)
        assert judge_of(reading) == max(ABCD, key=lambda x: (truth[x], -ABCD.index(x)))


# -- the letter prompt ------------------------------------------------------------------------------


def test_letter_prompt_asks_for_the_letter_alone_with_the_question_last():
    q = Question("college_physics", 3, "What is 2 + 2?", ("3", "4", "5"), 1)
    shot = Question("college_physics", 0, "What is 1 + 1?", ("2", "3", "4"), 0)
    text = letter(q, [shot]).text
    assert text.startswith("The following is a multiple choice question about college physics. "
                           "Reply with the letter of the correct answer (A, B or C) alone, nothing else.")
    assert text.endswith("What is 2 + 2?\nA. 3\nB. 4\nC. 5\nAnswer:")
    assert "What is 1 + 1?\nA. 2\nB. 3\nC. 4\nAnswer: A\n\n" in text


def test_the_route_follows_the_prompt_and_the_service():
    assert logprob_route(SERVICES["llama"], "http://localhost:8080", None) == "completions"
    assert logprob_route(SERVICES["llama"], "http://localhost:8080", "letter") == "chat"
    assert logprob_route(SERVICES["openai"], "http://localhost:8000", None) == "completions"
    assert logprob_route(SERVICES["openai"], "https://api.openai.com", None) == "chat"
    for name in ("deepseek", "ollama", "gemini"):
        assert logprob_route(SERVICES[name], SERVICES[name].base_url, None) == "chat"


# -- each service's shape ---------------------------------------------------------------------------


def backend(name, fake, key=KEY, model=None):
    service = SERVICES[name]
    transport = Transport(timeout=5, retries=0, backoff=0.01, headers=auth_headers(service, key),
                          secrets=(key,) if key else ())
    return make_backend(service, fake.url, model or service.model, transport)


@pytest.mark.parametrize("name", ["openai", "deepseek"])
def test_openai_and_deepseek_chat_logprobs(name):
    with ChatLogprobsFake(name, first_tokens("C"), require_key=KEY) as fake:
        reply = backend(name, fake).score_chat(PROMPT, ABCD)
        assert max(reply.logprobs, key=reply.logprobs.get) == "C" and set(reply.logprobs) == set(ABCD)
        assert reply.first_token == "C" and reply.text == "C" and reply.note is None
        [req] = fake.requests
        assert req.path == "/v1/chat/completions"
        assert req.body == {"model": SERVICES[name].model, "messages": [{"role": "user", "content": PROMPT.text}],
                            "max_tokens": 1, "temperature": 0, "logprobs": True, "top_logprobs": 20,
                            "stream": False}  # no llama.cpp fields: OpenAI rejects what it does not know


def test_a_model_that_wants_to_say_something_else():
    with ChatLogprobsFake("openai", first_tokens("B", lead="Sure")) as fake:
        reply = backend("openai", fake, key=None).score_chat(PROMPT, ABCD)
        assert reply.first_token == "Sure" and max(reply.logprobs, key=reply.logprobs.get) == "B"


def test_no_letter_in_the_top_tokens_is_unparsed_and_says_what_came_instead():
    with ChatLogprobsFake("openai", first_tokens("B", lead="Sure", hidden=True)) as fake:
        reply = backend("openai", fake, key=None).score_chat(PROMPT, ABCD)
    verdict = judge(reply, "logprobs", ABCD)
    assert verdict.unparsed and verdict.predicted is None
    assert verdict.reason.startswith("no choice letter among the top 20 first tokens; the model preferred 'Sure'")


def test_a_model_refusing_logprobs_stops_at_the_check():
    message = "This model does not support logprobs."
    with ChatLogprobsFake("deepseek", refuse=message, require_key=KEY) as fake:
        with pytest.raises(BackendError, match=f"(?s)deepseek-reasoner at .* refused a chat log-probability request.*"
                                               f"{re.escape(message)}"):
            backend("deepseek", fake, model="deepseek-reasoner").check_logprobs()


def recorded(name):
    from fakeservers import RECORDED
    return json.loads((RECORDED / "llama-server" / f"{name}.json").read_text())


def test_llama_server_recorded_chat_reply_is_read_exactly():
    top = recorded("v1_chat_completions_logprobs")["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    with LlamaServerFake() as fake:
        reply = backend("llama", fake, key=None).on_slot(2).score_chat(PROMPT, ABCD)
        body = fake.requests[0].body
    assert reply.logprobs == {e["token"]: e["logprob"] for e in top if e["token"] in ABCD}
    assert judge(reply, "logprobs", ABCD).predicted == "A" == reply.first_token  # -1.399 over B's -1.496
    assert body["logprobs"] is True and body["top_logprobs"] == 20 and body["max_tokens"] == 1
    assert body["id_slot"] == 2 and body["cache_prompt"] is True


def test_llama_server_recorded_completion_keeps_the_harness_reading():
    top = recorded("v1_completions_logprobs")["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    with LlamaServerFake() as fake:
        reply = backend("llama", fake, key=None).score(PROMPT, ABCD)
        body = fake.requests[0].body
    assert reply.logprobs == {x: e["logprob"] for e in top for x in ABCD if e["token"] == f" {x}"}
    assert "B" not in reply.logprobs and judge(reply, "logprobs", ABCD).predicted == "A"
    assert reply.first_token is None  # the completions route records no first token: parity with today
    assert body["prompt"] == PROMPT.text and body["logprobs"] == 20 and body["max_tokens"] == 1


def test_llama_server_slots_come_from_props():
    with LlamaServerFake(slots=6) as fake:
        b = backend("llama", fake, key=None)
        assert b.probe() == "models/SmolLM2-135M-Instruct.Q4_1.gguf" and b.slots == 6
        assert [r.path for r in fake.requests] == ["/v1/models", "/props"]


def test_llama_cpp_python_server_without_props_has_no_slot_count():
    with OpenAIFake("llama") as fake:
        b = backend("llama", fake, key=None)
        b.probe()
        assert b.slots is None


def test_ollama_native_logprobs():
    with OllamaLogprobsFake(first_tokens("D", spell=" {}")) as fake:
        reply = backend("ollama", fake, key=None).score_chat(PROMPT, ABCD)
        [req] = fake.requests
    assert max(reply.logprobs, key=reply.logprobs.get) == "D" and reply.first_token == " D"
    assert req.path == "/api/chat" and req.body["logprobs"] is True and req.body["top_logprobs"] == 20
    assert req.body["options"] == {"temperature": 0, "num_predict": 1}


def test_an_ollama_too_old_for_logprobs_names_the_version_needed():
    with OllamaFake() as fake:
        with pytest.raises(BackendError) as info:
            backend("ollama", fake, key=None).check_logprobs()
    assert "0.12.11 or later (this one is 0.6.8)" in str(info.value)


def test_gemini_logprobs_result():
    with GeminiLogprobsFake(first_tokens("B"), require_key=KEY) as fake:
        reply = backend("gemini", fake).score_chat(PROMPT, ABCD)
        [req] = fake.requests
    assert max(reply.logprobs, key=reply.logprobs.get) == "B" and reply.first_token == "B"
    assert req.body["generationConfig"] == {"temperature": 0, "maxOutputTokens": 1, "responseLogprobs": True,
                                            "logprobs": 20}


def test_gemini_model_without_logprobs_is_named():
    with GeminiLogprobsFake(require_key=KEY) as fake:
        with pytest.raises(BackendError, match='^Gemini model gemini-2.5-flash gives no log-probabilities'):
            backend("gemini", fake, model="gemini-2.5-flash").check_logprobs()


def test_gemini_withheld_reply_stays_a_note():
    with GeminiFake(require_key=KEY) as fake:
        fake.script(fake.blocked("SAFETY"))
        reply = backend("gemini", fake).score_chat(PROMPT, ABCD)
    assert reply.note == "blocked by Gemini: SAFETY" and not reply.logprobs


# -- concurrency (pure) ------------------------------------------------------------------------------


def test_concurrency_per_server():
    assert per_server(2, None, [4, 2], 4) == [4, 2]
    assert per_server(2, None, [4, None], 4) == [4, 4]  # a server without /props: the backend's default
    assert per_server(2, 3, [4, 2], 4) == [3, 3]  # --mmlu-concurrency wins
    assert per_server(1, None, [5], 4, processes=2) == [3]  # xdist workers share the slots


class Pinnable:
    def __init__(self, name, slot=None):
        self.name, self.slot = name, slot

    def on_slot(self, slot):
        return Pinnable(self.name, slot)


def test_each_request_thread_keeps_to_one_slot_and_processes_to_their_own():
    a, b = Pinnable("a"), Pinnable("b")
    servers, counts = lanes([a, b], [2, 3], [4, None])
    assert [(s.name, s.slot) for s in servers] == [("a", 0), ("a", 1), ("b", None)] and counts == [1, 1, 3]
    servers, _ = lanes([a], [2], [4], workers=(2, 1))
    assert [s.slot for s in servers] == [2, 3]


# -- the plugin as users run it -------------------------------------------------------------------

SUBJECTS = ("astronomy", "virology")
ROWS = {"test": [r for s in SUBJECTS for r in make_questions(s, 6, seed=3)],
        "dev": [r for s in SUBJECTS for r in make_questions(s, 5, seed=4)]}


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data(ROWS)


def chatty(prompt):
    """Means C; begins with "Sure" on problems 0 and 3; on problem 5 no letter at all."""
    found = re.findall(r"problem (\d+)", prompt)
    n = int(found[-1]) if found else -1  # the check at start asks no question
    return first_tokens("C", lead="Sure" if n in (0, 3, 5) else None, hidden=n == 5)(prompt)


def run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:randomly", "--mmlu-no-cache", *args)


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]])
def test_chat_logprobs_run_counts_first_tokens_that_are_not_letters(pytester, data, tmp_path, xdist):
    report = tmp_path / "r.json"
    with ChatLogprobsFake("openai", chatty) as fake:
        result = run(pytester, "--mmlu-backend=openai", f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={data}",
                     "--mmlu-scoring=logprobs", "--mmlu-prompt=letter", f"--mmlu-report={report}", *xdist)
    result.stdout.fnmatch_lines(["*scoring logprobs (chat: the first token of the reply); prompt letter*",
                                 "*2 unparsed*",
                                 "first token not a letter: 6 of 12 questions (the model wanted to say*"])
    data_out = json.loads(report.read_text())
    questions = data_out["questions"]
    assert sum(not q["first_is_letter"] for q in questions) == data_out["overall"]["first_not_letter"] == 6
    assert {q["first_token"] for q in questions} == {"C", "Sure"}
    for q in questions:  # the letter is the argmax of what the service sent
        if q["unparsed"]:
            assert q["predicted"] is None and "logprobs" not in q
        else:
            assert q["predicted"] == max(q["logprobs"], key=q["logprobs"].get)
    assert data_out["config"]["logprob_route"] == "chat"


def test_plain_runs_show_no_first_token_count(pytester, data):
    with OpenAIFake("llama", answer="C") as fake:
        result = run(pytester, "--mmlu-backend=llama", f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={data}")
    result.stdout.fnmatch_lines(["*scoring logprobs (completions: the next token after the prompt); "
                                 "prompt harness; concurrency 4 per process (backend default)*"])
    result.stdout.no_fnmatch_line("*first token not a letter*")
    assert [r.path for r in fake.requests if r.method == "POST"] == ["/v1/completions"] * 12


@pytest.mark.parametrize("backend_name,message", [
    ("mistral", "Mistral's API has no log-probabilities; use --mmlu-scoring=generate"),
    ("deepseek-r1", "deepseek-reasoner gives no log-probabilities*"),
])
def test_services_without_logprobs_say_so_at_start(pytester, data, backend_name, message, monkeypatch):
    monkeypatch.setenv(SERVICES[backend_name].key_env, KEY)
    result = run(pytester, f"--mmlu-backend={backend_name}", "--mmlu-base-url=http://127.0.0.1:9",
                 f"--mmlu-dataset={data}", "--mmlu-scoring=logprobs")
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert result.ret == 4


def test_deepseek_logprobs_default_to_the_letter_prompt_and_refuse_the_harness(pytester, data, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
    with ChatLogprobsFake("deepseek", first_tokens("A"), require_key=KEY) as fake:
        ok = run(pytester, "--mmlu-backend=deepseek", f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={data}",
                 "--mmlu-scoring=logprobs", "--mmlu-subject=virology")
        bad = run(pytester, "--mmlu-backend=deepseek", f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={data}",
                  "--mmlu-scoring=logprobs", "--mmlu-prompt=harness")
    ok.stdout.fnmatch_lines(["*prompt letter*", "questions: 6 selected*"])
    bad.stderr.fnmatch_lines(["ERROR: the deepseek backend gives log-probabilities on its chat route only; "
                              "--mmlu-prompt=harness needs the completions route*"])
    assert bad.ret == 4


def test_a_gemini_model_without_logprobs_stops_the_run_at_start(pytester, data, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    with GeminiLogprobsFake(require_key=KEY) as fake:
        result = run(pytester, "--mmlu-backend=gemini", "--mmlu-model=gemini-2.5-flash", f"--mmlu-base-url={fake.url}",
                     f"--mmlu-dataset={data}", "--mmlu-scoring=logprobs")
        assert len([r for r in fake.requests if r.method == "POST"]) == 1  # one check, no question asked
    result.stderr.fnmatch_lines(["ERROR: Gemini model gemini-2.5-flash gives no log-probabilities*"])
    assert result.ret == 4


def test_an_old_ollama_stops_the_run_at_start(pytester, data):
    with OllamaFake() as fake:
        result = run(pytester, "--mmlu-backend=ollama", f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={data}",
                     "--mmlu-scoring=logprobs")
    result.stderr.fnmatch_lines(["ERROR: *they need Ollama 0.12.11 or later (this one is 0.6.8)*"])
    assert result.ret == 4


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]])
def test_llama_concurrency_follows_the_servers_slots(pytester, data, xdist):
    with LlamaServerFake(slots=3) as one, LlamaServerFake(slots=2) as two:
        result = run(pytester, "--mmlu-backend=llama", f"--mmlu-base-url={one.url}", f"--mmlu-base-url={two.url}",
                     f"--mmlu-dataset={data}", *xdist)
        slots = {url: {r.body.get("id_slot") for r in fake.requests if r.method == "POST"}
                 for url, fake in ((one.url, one), (two.url, two))}
    if xdist:
        result.stdout.fnmatch_lines(["*concurrency 2+1 per process (the server's slots, /props total_slots 3+2 "
                                     "over 2 processes)*"])
    else:
        result.stdout.fnmatch_lines(["*concurrency 3+2 per process (the server's slots, /props total_slots 3+2)*"])
    assert slots[one.url] <= {0, 1, 2} and slots[two.url] <= {0, 1}
    assert len(slots[one.url] | slots[two.url]) >= 2
    assert result.ret in (0, 1)


def test_concurrency_option_overrides_the_slots(pytester, data):
    with LlamaServerFake(slots=3) as fake:
        result = run(pytester, "--mmlu-backend=llama", f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={data}",
                     "--mmlu-concurrency=1")
    result.stdout.fnmatch_lines(["*concurrency 1 per process (--mmlu-concurrency)*"])


# -- real routes on the small model (llama_cpp.server + gemma) --------------------------------------


# the letter prompt, zero-shot, written out here (not built by the plugin)
LETTER_PROMPT = ("The following is a multiple choice question about {about}. Reply with the letter of the correct "
                 "answer (A, B, C or D) alone, nothing else.\n\n{question}\nA. {0}\nB. {1}\nC. {2}\nD. {3}\nAnswer:")


def spelled(token):
    """A token's text without whitespace or the word-start markers of SentencePiece (▁) and byte-level BPE (Ġ)."""
    return token.replace("▁", " ").replace("Ġ", " ").strip()


def chat_first_token(url, text):
    """Asked of the server directly (not through the plugin): the first token it generates, the letters'
    log-probabilities (each letter's spellings among the top 20 summed; -inf when absent) and the top 20's scores,
    lowest first."""
    reply = requests.post(f"{url}/v1/chat/completions", timeout=120, json={
        "messages": [{"role": "user", "content": text}], "max_tokens": 1, "temperature": 0, "logprobs": True,
        "top_logprobs": 20}).json()
    first = reply["choices"][0]["logprobs"]["content"][0]
    probs = {}
    for entry in first["top_logprobs"]:
        if spelled(entry["token"]) in ABCD:
            probs[spelled(entry["token"])] = probs.get(spelled(entry["token"]), 0.0) + math.exp(entry["logprob"])
    scores = {x: math.log(probs[x]) if x in probs else float("-inf") for x in ABCD}
    return first["token"], scores, sorted(e["logprob"] for e in first["top_logprobs"])


@pytest.mark.server
def test_real_chat_route_gives_letters_or_reasons(pytester, data, tmp_path, llama_server):
    report = tmp_path / "r.json"
    result = run(pytester, "--mmlu-backend=llama", f"--mmlu-base-url={llama_server}", f"--mmlu-dataset={data}",
                 "--mmlu-subject=astronomy", "--mmlu-limit=4", "--mmlu-prompt=letter", f"--mmlu-report={report}")
    result.stdout.fnmatch_lines(["*scoring logprobs (chat: the first token of the reply); prompt letter*"])
    out = json.loads(report.read_text())
    questions = out["questions"]
    assert out["overall"]["total"] == len(questions) == len({q["nodeid"] for q in questions}) == 4  # --mmlu-limit=4
    rows = [r for r in ROWS["test"] if r["subject"] == "astronomy"]
    letters_seen = 0
    for q in questions:
        row = rows[q["index"]]
        assert q["nodeid"] == f"mmlu::astronomy::q{q['index']:04d}" and q["expected"] == "ABCD"[row["answer"]]
        text = LETTER_PROMPT.format(*row["choices"], about="astronomy", question=row["question"])
        # the plugin's prompt is the golden one, so the direct request below asks what the run asked
        question = Question("astronomy", q["index"], row["question"], tuple(row["choices"]), row["answer"])
        assert letter(question).text == text
        first, scores, top = chat_first_token(llama_server, text)
        best = max(scores.values())
        letters_seen += best > float("-inf")
        if top[-1] - top[-2] > TIE:  # the generated token, where the model's choice is clear
            assert q["first_token"] == first and q["first_is_letter"] == (spelled(first) in ABCD), (q, first)
        if best > top[0] + TIE:  # a letter clearly inside the top 20: the run must have read one
            assert not q["unparsed"], (q, scores)
        if q["unparsed"]:
            assert q["predicted"] is None and q["how"].startswith("no choice letter among the top 20 first tokens")
        else:
            assert_same_letter(q["predicted"], scores, q["nodeid"])
    if letters_seen:  # "all unparsed" fails where the server does give letters
        assert any(not q["unparsed"] for q in questions)
    assert out["overall"]["unparsed"] == sum(q["unparsed"] for q in questions)
    assert out["overall"]["correct"] == sum(q["predicted"] == q["expected"] for q in questions)
    assert out["overall"]["first_not_letter"] == sum(not q["first_is_letter"] for q in questions)


def test_first_token_survives_the_cache_even_when_empty():
    from pytest_mmlu.core.reply import Reply
    for token in ("", "Sure", None):
        reply = Reply(logprobs={"A": -1.0}, first_token=token)
        assert Reply.from_json(json.loads(json.dumps(reply.to_json()))) == reply
    assert "first_token" not in Reply(text="Answer: A").to_json()  # plain replies keep their old shape
