"""Transport against a local fake: retries, Retry-After, timeouts, bounds, typed errors, no key in messages."""

import json
import time
import traceback

import pytest

from pytest_mmlu.backends import BackendError, BadReply, KeyRejected, Unreachable
from pytest_mmlu.backends import transport as transport_module
from pytest_mmlu.backends.transport import BackendTimeout, RateLimited, Transport

from fakeservers import ClosedPort, OpenAIFake, cut, hang, huge, not_json, status

KEY = "sk-pytest-mmlu-7f3a9c1e5b2d4680"
CHAT = {"model": "default", "messages": [{"role": "user", "content": "Which? Answer: B"}], "max_tokens": 8}


@pytest.fixture
def fake():
    with OpenAIFake("openai", answer="B") as server:
        yield server


def make(retries=2, timeout=5.0, **kw):
    return Transport(timeout=timeout, retries=retries, backoff=0.01,
                     headers={"Authorization": f"Bearer {KEY}"}, secrets=(KEY,), **kw)


def post(fake, transport):
    return transport.post_json(f"{fake.url}/v1/chat/completions", CHAT)


def timed(fn, *args):
    start = time.monotonic()
    try:
        result = fn(*args)
    except BackendError as exc:
        result = exc
    return result, time.monotonic() - start


# -- retries --------------------------------------------------------------------------------


def test_retries_500_502_503_then_succeeds(fake):
    fake.script(fake.error("server"), fake.error("bad_gateway"), fake.error("unavailable"))
    data = post(fake, make(retries=3))
    assert data["choices"][0]["message"]["content"].endswith("Answer: B")
    assert len(fake.requests) == 4


def test_gives_up_after_the_retries(fake):
    fake.script(fake.error("server"), times=10)
    with pytest.raises(BackendError) as info:
        post(fake, make(retries=2))
    assert not isinstance(info.value, (KeyRejected, BadReply))
    assert len(fake.requests) == 3


def test_retry_after_is_honoured(fake):
    fake.script(fake.error("rate_limited", retry_after=1))
    data, waited = timed(post, fake, make(retries=2))
    assert data["object"] == "chat.completion"
    assert len(fake.requests) == 2
    assert 0.9 <= waited < 3


def test_retry_after_is_capped(fake, monkeypatch):
    monkeypatch.setattr(transport_module, "BACKOFF_CAP", 0.3)
    fake.script(fake.error("rate_limited", retry_after=5))
    data, waited = timed(post, fake, make(retries=2))
    assert data["object"] == "chat.completion"
    assert waited < 4.5  # uncapped it would be 5 s; the slack is for a loaded machine


def test_total_wait_is_bounded_and_ends_rate_limited(fake, monkeypatch):
    monkeypatch.setattr(transport_module, "BACKOFF_CAP", 0.3)
    fake.script(fake.error("rate_limited", retry_after=5), times=10)
    error, waited = timed(post, fake, make(retries=2))
    assert isinstance(error, RateLimited)
    assert len(fake.requests) == 5  # a refusal counts half a retry: 2 x 2 retries, then it gives up
    # each wait capped at 0.3 s, but the first refusal set a pace of 0.7 a second (and, nothing answered since,
    # the others keep it): 4 x 1.43 s; uncapped, the waits alone would be 20 s
    assert waited < 12


def test_rate_limit_without_retry_after_backs_off_and_recovers(fake):
    fake.script(fake.error("rate_limited"), fake.error("rate_limited"))
    assert post(fake, make(retries=3))["object"] == "chat.completion"
    assert len(fake.requests) == 3


@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(fake, code):
    fake.script(status(code, {"error": {"message": "no", "type": "invalid_request_error", "code": None}}), times=5)
    with pytest.raises(BackendError):
        post(fake, make(retries=3))
    assert len(fake.requests) == 1


def test_401_is_key_rejected(fake):
    fake.script(fake.error("key"))
    with pytest.raises(KeyRejected, match="HTTP 401"):
        post(fake, make())
    assert fake.requests[0].headers["authorization"] == f"Bearer {KEY}"



def test_an_error_reply_is_said_in_one_line_in_the_services_words(fake):
    # llama-server and OpenAI answer a bad request with indented JSON; the message is what matters
    body = {"error": {"code": 400, "message": "the request exceeds the available context size,\n"
                      "try increasing it", "type": "exceed_context_size_error", "n_prompt_tokens": 5000}}
    fake.script(status(400, json.dumps(body, indent=2).encode()))
    with pytest.raises(BackendError) as caught:
        post(fake, make())
    assert "\n" not in str(caught.value)
    assert str(caught.value).endswith("the request exceeds the available context size, try increasing it")

# -- broken replies ---------------------------------------------------------------------------


def test_a_hang_times_out_within_the_bound(fake):
    timeout, retries = 0.3, 2
    fake.script(hang(30), times=20)
    error, waited = timed(post, fake, make(retries=retries, timeout=timeout))
    assert isinstance(error, BackendTimeout), repr(error)
    assert waited < timeout * (retries + 1) + 5  # far below one 30 s hang; slack for a loaded machine
    # the client gave up on the last try after 0.3 s: the fake's handler may not have recorded it yet
    assert fake.wait_for_requests(retries + 1), len(fake.requests)
    assert len(fake.requests) == retries + 1


def test_a_reply_stalled_mid_body_times_out_within_the_bound(fake):
    timeout, retries = 0.3, 2
    fake.script(cut(stall=5), times=20)
    error, waited = timed(post, fake, make(retries=retries, timeout=timeout))
    assert isinstance(error, BackendTimeout), repr(error)
    assert waited < timeout * (retries + 1) + 3  # the stall is 5 s; slack for a loaded machine


def test_not_json_is_bad_reply(fake):
    fake.script(not_json())
    with pytest.raises(BadReply, match="not JSON.*nginx"):
        post(fake, make())
    assert len(fake.requests) == 1


def test_a_huge_reply_is_not_read_to_the_end(fake):
    fake.script(huge(64))
    with pytest.raises(BadReply, match="larger than 1 MiB"):
        post(fake, make(max_bytes=1024 * 1024))
    deadline = time.monotonic() + 5
    while fake.requests[0].sent == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # let the server notice the client has gone
    assert fake.requests[0].sent < 32 * 1024 * 1024


def test_a_reply_cut_mid_body_is_retried_then_an_error(fake):
    fake.script(cut(), times=3)
    with pytest.raises(BackendError, match="broke while reading") as info:
        post(fake, make(retries=2))
    assert type(info.value) is BackendError
    assert len(fake.requests) == 3


def test_a_reply_cut_once_then_whole(fake):
    fake.script(cut())
    assert post(fake, make(retries=2))["object"] == "chat.completion"
    assert len(fake.requests) == 2


def test_connection_refused_is_unreachable():
    with ClosedPort() as closed:
        error, waited = timed(make(retries=2).get_json, f"{closed.url}/v1/models")
    assert isinstance(error, Unreachable), repr(error)
    assert waited < 5


# -- the key never shows ------------------------------------------------------------------------


def _everything_said(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)) + repr(exc)


def test_the_key_never_appears_in_an_error(fake, monkeypatch):
    monkeypatch.setattr(transport_module, "BACKOFF_CAP", 0.05)
    echo = {"error": {"message": f"Incorrect API key provided: {KEY}", "type": "invalid_request_error",
                      "code": "invalid_api_key"}}
    faults = [status(401, echo), status(403, f"forbidden for {KEY}"), status(400, echo),
              status(404, f"<html>no route for key={KEY}</html>"), status(200, f"<html>{KEY}</html>"),
              status(500, echo), status(429, echo, Retry_After="0")]
    said = []
    for fault in faults:
        fake.script(fault, times=5)  # enough to outlast the retries: 429s in a row give up after 2 x retries
        with pytest.raises(BackendError) as info:
            post(fake, make(retries=2))
        said.append(_everything_said(info.value))
        fake.clear()  # what this fault did not use must not leak into the next
    fake.script(cut(), times=3)
    with pytest.raises(BackendError) as info:
        post(fake, make(retries=2))
    said.append(_everything_said(info.value))
    assert all(KEY not in text for text in said), [t for t in said if KEY in t][0]
    assert any("***" in text for text in said)  # the echo was there, and was redacted
