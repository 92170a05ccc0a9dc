"""Each HTTP backend against a local fake of its service: the request it sends, the reply it reads,
and each error reply mapped to the right error type or to an unparsed note."""

import pytest

from pytest_mmlu.backends import SERVICES, BackendError, BadReply, KeyRejected, auth_headers, make_backend
from pytest_mmlu.backends.transport import RateLimited, Transport
from pytest_mmlu.prompts import Prompt

from fakeservers import GeminiFake, OllamaFake, OpenAIFake, always, not_json, status

KEY = "sk-test-4b1d9e7c2a6f"
PROMPT = Prompt.single("Which planet is largest?\nA. Mars\nB. Venus\nC. Jupiter\nD. Earth\nAnswer:")


def backend(name, fake, key=KEY, model=None, retries=1):
    """The backend as the plugin builds it: the key in the service's own header."""
    service = SERVICES[name]
    transport = Transport(timeout=5, retries=retries, backoff=0.01, headers=auth_headers(service, key),
                          secrets=(key,) if key else ())
    return make_backend(service, fake.url, model or service.model, transport)


def generate(b, max_tokens=64):
    return b.generate(PROMPT, max_tokens, 0.0)


# -- OpenAI-compatible: DeepSeek, Mistral ------------------------------------------------------

HOSTED = ["deepseek", "mistral"]


@pytest.fixture(params=HOSTED)
def hosted(request):
    name = request.param
    with OpenAIFake(name, answer="C", require_key=KEY, models=(SERVICES[name].model,)) as fake:
        yield name, fake


def test_chat_request_is_what_the_service_expects(hosted):
    name, fake = hosted
    reply = generate(backend(name, fake), max_tokens=48)
    assert reply.text.endswith("Answer: C") and not reply.truncated and reply.reasoning is None
    [req] = fake.requests
    assert (req.method, req.path) == ("POST", "/v1/chat/completions")
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.body == {"model": SERVICES[name].model, "messages": [{"role": "user", "content": PROMPT.text}],
                        "max_tokens": 48, "temperature": 0.0, "stream": False}


@pytest.mark.parametrize("name", ["openai", "deepseek", "mistral", "llama"])
def test_the_probe_names_the_model_that_will_answer(name):
    """A service that lists many models serves the one asked, not its first; llama.cpp serves its one model
    whatever the request names."""
    with OpenAIFake(name, models=("first-model", "second-model")) as fake:
        assert backend(name, fake, model="second-model").probe() == (
            "first-model" if name == "llama" else "second-model")
        assert backend(name, fake, model="unlisted").probe() == ("first-model" if name == "llama" else None)
        if SERVICES[name].model is None:  # no model named: the one the server lists first
            assert backend(name, fake).probe() == "first-model"


def test_a_reply_cut_by_the_limit_is_truncated(hosted):
    name, fake = hosted
    fake.script(fake.reply("Let me weigh each planet in", finish="length"))
    reply = generate(backend(name, fake))
    assert reply.truncated and reply.text == "Let me weigh each planet in"


@pytest.mark.parametrize("call", ["probe", "generate"])
def test_a_wrong_key_is_rejected_and_not_shown(hosted, call):
    name, fake = hosted
    b = backend(name, fake, key="sk-wrong-0000-9d8c7b6a")
    with pytest.raises(KeyRejected) as info:
        b.probe() if call == "probe" else generate(b)
    assert "HTTP 401" in str(info.value) and "sk-wrong-0000-9d8c7b6a" not in str(info.value)
    assert len(fake.requests) == 1


def test_probe_lists_the_models(hosted):
    name, fake = hosted
    assert backend(name, fake).probe() == SERVICES[name].model
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/v1/models")]


def test_an_unknown_model_is_an_error_not_a_key_problem(hosted):
    name, fake = hosted
    with pytest.raises(BackendError, match="HTTP 400") as info:
        generate(backend(name, fake, model="no-such-model"))
    assert not isinstance(info.value, KeyRejected)
    assert "no-such-model" in str(info.value) or "Model Not Exist" in str(info.value)


def test_server_errors_are_retried(hosted):
    name, fake = hosted
    fake.script(fake.error("server"), fake.error("bad_gateway"))
    assert generate(backend(name, fake, retries=2)).text.endswith("Answer: C")
    assert len(fake.requests) == 3


def test_rate_limit_after_the_retries(hosted):
    name, fake = hosted
    fake.script(fake.error("rate_limited", retry_after=0), times=5)
    with pytest.raises(RateLimited):
        generate(backend(name, fake, retries=1))
    assert len(fake.requests) == 3  # refusals in a row, nothing answered: 2 x --mmlu-retries, then it gives up


@pytest.mark.parametrize("reply", ["empty", "not_json", "wrong_shape"])
def test_unreadable_replies_are_bad_replies(hosted, reply):
    name, fake = hosted
    fake.script({"empty": fake.empty(), "not_json": not_json(),
                 "wrong_shape": status(200, {"object": "chat.completion", "result": "C"})}[reply])
    with pytest.raises(BadReply):
        generate(backend(name, fake))


def test_deepseek_insufficient_balance_is_an_error_at_once():
    with OpenAIFake("deepseek", require_key=KEY) as fake:
        fake.script(fake.error("balance"), times=3)
        with pytest.raises(BackendError, match="Insufficient Balance"):
            generate(backend("deepseek", fake, retries=2))
        assert len(fake.requests) == 1


# -- DeepSeek reasoner -------------------------------------------------------------------------


@pytest.fixture
def reasoner():
    thinking = lambda prompt: "Mars is red. Maybe Answer: A? No: Jupiter is the largest planet."  # noqa: E731
    with OpenAIFake("deepseek", answer=always("C"), reasoning=thinking, require_key=KEY,
                    models=("deepseek-reasoner",)) as fake:
        yield fake


def test_reasoner_keeps_its_reasoning_apart_from_the_answer(reasoner):
    reply = generate(backend("deepseek-r1", reasoner), max_tokens=8192)
    assert reply.reasoning.startswith("Mars is red. Maybe Answer: A?")
    assert reply.text.endswith("Answer: C") and "Answer: A" not in reply.text
    assert reasoner.requests[0].body["model"] == "deepseek-reasoner"
    assert reasoner.requests[0].body["max_tokens"] == 8192


def test_reasoner_cut_while_thinking_is_truncated_with_no_answer(reasoner):
    reasoner.script(reasoner.reply("", finish="length", reasoning="First, Answer: B seems... let me check"))
    reply = generate(backend("deepseek-r1", reasoner), max_tokens=16)
    assert reply.truncated and reply.text == "" and "Answer: B" in reply.reasoning


def test_plain_deepseek_chat_ignores_reasoning_content(reasoner):
    reply = generate(backend("deepseek", reasoner, model="deepseek-reasoner"))
    assert reply.reasoning is None and reply.text.endswith("Answer: C")


# -- OpenAI-compatible log-probabilities (llama.cpp's server shape) -----------------------------


def test_logprobs_scoring_reads_top_logprobs():
    with OpenAIFake("llama", answer="D") as fake:
        reply = backend("llama", fake, key=None).score(PROMPT, ("A", "B", "C", "D"))
        assert max(reply.logprobs, key=reply.logprobs.get) == "D" and set(reply.logprobs) == set("ABCD")
        [req] = fake.requests
        assert req.path == "/v1/completions" and req.body["prompt"] == PROMPT.text
        assert req.body["max_tokens"] == 1 and "authorization" not in req.headers


# -- Ollama ---------------------------------------------------------------------------------------


@pytest.fixture
def ollama():
    with OllamaFake(answer="C", models=("mistral:7b", "llama3.2:latest")) as fake:
        yield fake


def test_ollama_chat_request_is_native(ollama):
    reply = generate(backend("ollama", ollama, key=None), max_tokens=32)
    assert reply.text.endswith("Answer: C") and not reply.truncated
    [req] = ollama.requests
    assert (req.method, req.path) == ("POST", "/api/chat")
    assert req.body == {"model": "mistral:7b", "messages": [{"role": "user", "content": PROMPT.text}],
                        "stream": False, "options": {"temperature": 0.0, "num_predict": 32}}


@pytest.mark.parametrize("model", ["mistral:7b", "llama3.2", "llama3.2:latest"])
def test_ollama_probe_finds_a_pulled_model(ollama, model):
    assert backend("ollama", ollama, key=None, model=model).probe() == model
    assert [(r.method, r.path) for r in ollama.requests] == [("GET", "/api/tags")]


@pytest.mark.parametrize("model", ["mistral", "qwen2.5:7b"])
def test_ollama_probe_names_the_pull_command(ollama, model):
    with pytest.raises(BackendError) as info:
        backend("ollama", ollama, key=None, model=model).probe()
    assert str(info.value) == (f"model '{model}' is not pulled on the Ollama server at {ollama.url}; "
                               f"run: ollama pull {model}")


def test_ollama_model_missing_at_chat_time_names_the_pull_command(ollama):
    with pytest.raises(BackendError, match="run: ollama pull phi4:14b$"):
        generate(backend("ollama", ollama, key=None, model="phi4:14b"))
    assert len(ollama.requests) == 1


def test_ollama_length_limit_is_truncated(ollama):
    ollama.script(ollama.reply("Jupiter is the", finish="length"))
    reply = generate(backend("ollama", ollama, key=None))
    assert reply.truncated and reply.text == "Jupiter is the"


def test_ollama_thinking_goes_to_reasoning(ollama):
    ollama.script(ollama.reply("Answer: C", thinking="Answer: A? no, Jupiter."))
    reply = generate(backend("ollama", ollama, key=None))
    assert reply.text == "Answer: C" and reply.reasoning == "Answer: A? no, Jupiter."


def test_ollama_runner_crash_is_retried_then_an_error(ollama):
    ollama.script(ollama.error("server"), times=3)
    with pytest.raises(BackendError, match="llama runner process has terminated"):
        generate(backend("ollama", ollama, key=None, retries=2))
    assert len(ollama.requests) == 3


def test_ollama_wrong_shape_is_a_bad_reply(ollama):
    ollama.script(status(200, {"model": "mistral:7b", "done": True}))
    with pytest.raises(BadReply):
        generate(backend("ollama", ollama, key=None))


def test_ollama_has_no_logprobs(ollama):
    with pytest.raises(BackendError, match="generate"):
        backend("ollama", ollama, key=None).score(PROMPT, ("A", "B", "C", "D"))
    assert ollama.requests == []


def test_ollama_probe_of_something_else_says_so():
    with OpenAIFake("llama") as other:
        with pytest.raises(BackendError, match="does not answer like an Ollama server"):
            backend("ollama", other, key=None).probe()


def test_ollama_also_answers_the_openai_route(ollama):
    reply = generate(backend("openai", ollama, key=None, model="mistral:7b"))
    assert reply.text.endswith("Answer: C") and ollama.requests[0].path == "/v1/chat/completions"


# -- Gemini ---------------------------------------------------------------------------------------


@pytest.fixture
def gemini():
    with GeminiFake(answer="C", require_key=KEY) as fake:
        yield fake


def test_gemini_request_carries_the_key_in_a_header_only(gemini):
    reply = generate(backend("gemini", gemini), max_tokens=64)
    assert reply.text.endswith("Answer: C") and not reply.truncated and reply.note is None
    [req] = gemini.requests
    assert (req.method, req.path) == ("POST", "/v1beta/models/gemini-1.5-flash:generateContent")
    assert req.query == {} and req.headers["x-goog-api-key"] == KEY and "authorization" not in req.headers
    assert req.body == {"contents": [{"role": "user", "parts": [{"text": PROMPT.text}]}],
                        "generationConfig": {"temperature": 0.0, "maxOutputTokens": 64}}


def test_gemini_probe_reads_the_model(gemini):
    assert backend("gemini", gemini).probe() == "gemini-1.5-flash"
    [req] = gemini.requests
    assert (req.method, req.path, req.query) == ("GET", "/v1beta/models/gemini-1.5-flash", {})


def test_gemini_probe_of_an_unknown_model(gemini):
    with pytest.raises(BackendError, match="^Gemini model gemini-9-ultra not found") as info:
        backend("gemini", gemini, model="gemini-9-ultra").probe()
    assert not isinstance(info.value, KeyRejected)


@pytest.mark.parametrize("call", ["probe", "generate"])
@pytest.mark.parametrize("key", ["AIza-wrong-key-5e4d3c", None])
def test_gemini_bad_or_missing_key_is_rejected(gemini, call, key):
    b = backend("gemini", gemini, key=key)
    with pytest.raises(KeyRejected) as info:
        b.probe() if call == "probe" else generate(b)
    assert ("HTTP 400" if key else "HTTP 403") in str(info.value)
    assert key is None or key not in str(info.value)
    assert len(gemini.requests) == 1


def test_gemini_permission_denied_is_key_rejected(gemini):
    gemini.script(gemini.error("forbidden"))
    with pytest.raises(KeyRejected, match="PERMISSION_DENIED"):
        generate(backend("gemini", gemini))


def test_gemini_other_400_is_a_plain_error(gemini):
    gemini.script(status(400, {"error": {"code": 400, "message": "* GenerateContentRequest.generation_config."
                                         "max_output_tokens: must be positive", "status": "INVALID_ARGUMENT"}}))
    with pytest.raises(BackendError, match="max_output_tokens") as info:
        generate(backend("gemini", gemini))
    assert not isinstance(info.value, KeyRejected)


def test_gemini_quota_is_retried(gemini):
    gemini.script(gemini.error("rate_limited"), gemini.error("unavailable"))
    assert generate(backend("gemini", gemini, retries=2)).text.endswith("Answer: C")
    assert len(gemini.requests) == 3


def test_gemini_quota_exhausted_after_the_retries(gemini):
    gemini.script(gemini.error("rate_limited"), times=5)
    with pytest.raises(RateLimited):
        generate(backend("gemini", gemini, retries=1))


def test_gemini_joins_the_parts_and_keeps_thoughts_apart(gemini):
    gemini.script(status(200, {"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Planning: maybe Answer: A", "thought": True},
        {"text": "Jupiter is largest.\n"}, {"text": "Answer: C"}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 30, "candidatesTokenCount": 8, "totalTokenCount": 38}}))
    reply = generate(backend("gemini", gemini))
    assert reply.text == "Jupiter is largest.\nAnswer: C" and reply.reasoning == "Planning: maybe Answer: A"


def test_gemini_thinking_model_cut_while_thinking(gemini):
    gemini.script(gemini.reply("", finish="MAX_TOKENS"))  # content without parts: thoughts used the budget
    reply = generate(backend("gemini", gemini, model="gemini-2.5-flash"), max_tokens=16)
    assert reply.truncated and reply.text == "" and reply.note is None


def test_gemini_max_tokens_is_truncated(gemini):
    gemini.script(gemini.reply("Jupiter is the larg", finish="MAX_TOKENS", thoughts="size check"))
    reply = generate(backend("gemini", gemini))
    assert reply.truncated and reply.text == "Jupiter is the larg" and reply.reasoning == "size check"


@pytest.mark.parametrize("finish", ["SAFETY", "RECITATION", "PROHIBITED_CONTENT"])
def test_gemini_withheld_answer_is_a_note(gemini, finish):
    gemini.script(gemini.reply("Answer: C", finish=finish))
    reply = generate(backend("gemini", gemini))
    assert (reply.text, reply.note, reply.truncated) == ("", f"blocked by Gemini: {finish}", False)


def test_gemini_blocked_prompt_is_a_note(gemini):
    gemini.script(gemini.blocked("SAFETY"))
    assert generate(backend("gemini", gemini)).note == "blocked by Gemini: SAFETY"


def test_gemini_no_candidates_is_a_note(gemini):
    gemini.script(gemini.empty())
    reply = generate(backend("gemini", gemini))
    assert reply.text == "" and reply.note.startswith("blocked by Gemini")


@pytest.mark.parametrize("body", [{"result": "C"}, {"candidates": {"text": "C"}}, ["C"]])
def test_gemini_wrong_shape_is_a_bad_reply(gemini, body):
    gemini.script(status(200, body))
    with pytest.raises(BadReply):
        generate(backend("gemini", gemini))


def test_gemini_not_json_is_a_bad_reply(gemini):
    gemini.script(not_json())
    with pytest.raises(BadReply):
        generate(backend("gemini", gemini))


def test_gemini_has_no_logprobs(gemini):
    with pytest.raises(BackendError, match="generate"):
        backend("gemini", gemini).score(PROMPT, ("A", "B", "C", "D"))
