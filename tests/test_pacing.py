"""The pace of requests adapted to a service's rate limits: the Pacer on a clock of its own, what each service says
about waiting, and whole runs against stand-ins that limit their rate as the services do."""

import threading

import pytest

from pytest_mmlu.backends.pacing import BETA, SLOWEST, Pacer, duration, hold_for, wait_named
from pytest_mmlu.backends.transport import RateLimited, Transport

from fakeservers import GeminiFake, OpenAIFake
from runs import run_pytest


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def on(clock: Clock, shared=None) -> Pacer:
    """A pacer on this clock: what it waits for moves the clock (the waits are kept in `waits`)."""
    pacer = Pacer(clock, shared=shared)
    pacer.waits = []
    real_wait = pacer._cond.wait

    def wait(timeout):
        pacer.waits.append(timeout)
        clock.now += timeout
        return real_wait(0)

    pacer._cond.wait = wait
    return pacer


# -- the pacer ----------------------------------------------------------------------------------------------------


def test_nothing_is_paced_until_a_refusal():
    clock = Clock()
    pacer = on(clock)
    for _ in range(50):
        assert pacer.start() == clock.now  # never waits
        pacer.accepted(clock.now, {})
    assert pacer.rate is None and pacer.refusals == 0


def test_a_refusal_sets_a_pace_below_the_rate_accepted():
    clock = Clock()
    pacer = on(clock)
    for _ in range(10):  # ten accepted within the last second
        clock.now += 0.1
        pacer.accepted(pacer.start(), {})
    started = clock.now
    pacer.refused(started, None)
    assert pacer.rate == pytest.approx(BETA * 10)
    assert pacer.lowest == pytest.approx(BETA * 10)
    # a refusal of a request sent before that cut does not cut again
    pacer.refused(started - 0.01, None)
    assert pacer.rate == pytest.approx(BETA * 10) and pacer.refusals == 2


def test_successes_bring_the_pace_back_then_past_the_rate_refused():
    clock = Clock()
    pacer = on(clock)
    for _ in range(10):
        clock.now += 0.1
        pacer.accepted(pacer.start(), {})
    pacer.refused(clock.now, None)
    rates = []
    for _ in range(20):
        clock.now += 1 / pacer.rate
        pacer.accepted(pacer.start(), {})
        rates.append(pacer.rate)
    assert rates == sorted(rates)  # never lower without a refusal
    assert rates[2] < 10 <= rates[8] < 10.5 < rates[-1]  # back at the peak after a few, a plateau, then probing


def test_the_pace_spaces_the_starts_and_a_named_wait_holds_them():
    clock = Clock()
    pacer = on(clock)
    clock.now += 0.5
    pacer.accepted(pacer.start(), {})
    pacer.refused(clock.now, 2.0)  # at most one a second was seen accepted: 0.7 a second; hold 2 s
    assert pacer.rate == pytest.approx(BETA * 1.0)
    held_until = clock.now + 2.0
    first = pacer.start()
    second = pacer.start()
    assert first == pytest.approx(held_until)
    assert second - first == pytest.approx(1 / pacer.rate)


def test_the_pace_never_falls_below_the_slowest():
    clock = Clock()
    pacer = on(clock)
    for _ in range(40):  # each refusal comes after one answer at the pace: each is a new measure, and cuts
        pacer.accepted(pacer.start(), {})
        clock.now += 0.001
        pacer.refused(pacer.start(), None)
    assert pacer.rate == pytest.approx(SLOWEST)


def test_a_storm_of_refusals_with_nothing_answered_cuts_the_pace_once():
    clock = Clock()
    pacer = on(clock)
    for _ in range(5):
        clock.now += 0.2
        pacer.accepted(pacer.start(), {})
    for _ in range(6):  # an overload: every request refused, none answered
        pacer.refused(pacer.start(), 1.0)
    assert pacer.rate == pytest.approx(BETA * 5) and pacer.refusals == 6


def test_remaining_zero_on_a_success_holds_the_next_request_for_one_requests_reset():
    clock = Clock()
    pacer = on(clock)
    pacer.accepted(pacer.start(), {"x-ratelimit-remaining-requests": "0", "x-ratelimit-limit-requests": "5",
                                   "x-ratelimit-reset-requests": "1s"})
    assert pacer._hold == pytest.approx(clock.now + 0.2)
    assert pacer.rate is None  # no refusal: nothing is paced


def test_processes_share_one_pace_through_a_file(tmp_path):
    clock, path = Clock(), str(tmp_path / "pace")
    a, b = on(clock, path), on(clock, path)  # two processes' pacers, as the xdist workers have
    for _ in range(10):
        clock.now += 0.1
        a.accepted(a.start(), {})
    b.refused(clock.now, 1.0)  # b measures what a saw accepted: 10 a second
    assert b.rate == pytest.approx(BETA * 10)
    held_until = clock.now + 1.0
    assert a.start() == pytest.approx(held_until)  # a holds for the wait b was told
    assert b.start() - held_until == pytest.approx(1 / (BETA * 10))  # ...and b's next start is the slot after a's
    assert a.rate == b.rate and a.refusals == 0 and b.refusals == 1  # the counts of refusals stay each one's own
    a.close()
    b.close()


# -- what services say ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, seconds", [
    ("1s", 1.0), ("120ms", 0.12), ("6m0s", 360.0), ("1m30.5s", 90.5), ("0.200s", 0.2), ("27s", 27.0), ("3", 3.0),
    ("", None), ("soon", None), ("1s later", None), (None, None)])
def test_durations_as_services_write_them(text, seconds):
    assert duration(text) == (None if seconds is None else pytest.approx(seconds))


def test_waits_named_by_each_service():
    assert wait_named({"retry-after-ms": "250", "retry-after": "1"}, None) == pytest.approx(0.25)
    assert wait_named({"retry-after": "2"}, None) == 2.0
    assert wait_named({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, None) is None  # a date: the backoff
    openai = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-limit-requests": "60",
              "x-ratelimit-reset-requests": "1m0s"}
    assert wait_named(openai, None) == pytest.approx(1.0)  # one of 60 back each second
    gemini = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure"},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "27s"}]}}
    assert wait_named({}, gemini) == 27.0
    assert wait_named({}, {"message": "Requests rate limit exceeded"}) is None  # Mistral says nothing


def test_a_whole_second_retry_after_holds_only_its_request_when_the_headers_say_sooner():
    headers = {"retry-after": "1", "x-ratelimit-remaining-requests": "0", "x-ratelimit-limit-requests": "5",
               "x-ratelimit-reset-requests": "1s"}
    assert wait_named(headers, None) == 1.0
    assert hold_for(headers, 1.0) == pytest.approx(0.2)
    assert hold_for({"retry-after": "20"}, 20.0) == 20.0


# -- against stand-ins that limit their rate ----------------------------------------------------------------------


def burst_of_requests(fake, url, n, threads, retries=3):
    """n requests from `threads` threads sharing one transport (and so one pacer): errors, and the transport."""
    transport = Transport(timeout=10, retries=retries, backoff=0.05)
    todo, errors, lock = list(range(n)), [], threading.Lock()

    def work():
        while True:
            with lock:
                if not todo:
                    return
                todo.pop()
            try:
                transport.post_json(url, body)
            except RateLimited as exc:
                errors.append(str(exc))

    body = ({"contents": [{"parts": [{"text": "Which? Answer: B"}]}]} if isinstance(fake, GeminiFake)
            else {"model": "default", "messages": [{"role": "user", "content": "Which? Answer: B"}]})
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return errors, transport


@pytest.mark.parametrize("flavour", ["openai", "deepseek", "mistral"])
def test_a_rate_limited_service_answers_every_request(flavour):
    # 40 requests from 16 threads against 20 a second with a burst of 5: unpaced, 16 at once meet 11 refusals
    with OpenAIFake(flavour, answer="B", rate_limit=(20, 5)) as fake:
        errors, transport = burst_of_requests(fake, f"{fake.url}/v1/chat/completions", 40, 16)
    assert errors == []
    assert fake.limits.accepted == 40
    assert fake.limits.refused == transport.pacer.refusals > 0
    assert transport.pacer.rate is not None and transport.pacer.lowest < 20


def test_gemini_retry_delay_is_honoured_and_paced():
    with GeminiFake(answer="B", rate_limit=(20, 5)) as fake:
        errors, transport = burst_of_requests(fake, f"{fake.url}/v1beta/models/gemini-1.5-flash:generateContent",
                                              30, 8)
    assert errors == []
    assert fake.limits.accepted == 30 and transport.pacer.refusals == fake.limits.refused > 0


def test_openai_insufficient_quota_is_a_rejected_key_not_retried():
    from pytest_mmlu.backends import KeyRejected

    from fakeservers import status

    body = {"error": {"message": "You exceeded your current quota, please check your plan and billing details.",
                      "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}}
    with OpenAIFake("openai", answer="B") as fake:
        fake.script(status(429, body), times=5)
        with pytest.raises(KeyRejected, match="HTTP 429 .*exceeded your current quota"):
            Transport(timeout=5, retries=3).post_json(f"{fake.url}/v1/chat/completions", {"model": "m"})
        assert len(fake.requests) == 1


# -- a whole run ----------------------------------------------------------------------------------------------------


@pytest.fixture
def data(hub_data):
    return hub_data(subjects=("astronomy", "virology", "anatomy"), per_subject=20, seed=5)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_run_against_a_rate_limit_loses_no_question(pytester, data, monkeypatch, workers):
    # the case: 60 questions, 16 in flight, a key allowed 20 a second with a burst of 5
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test-pacing")
    temp = pytester.path / "temp"  # the run's own temporary folder: where xdist's controller puts the shared pace
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    report = pytester.path / "report.json"
    with OpenAIFake("deepseek", answer="B", require_key="sk-test-pacing", rate_limit=(20, 5)) as fake:
        result = run_pytest(pytester, "--mmlu-backend=deepseek", f"--mmlu-base-url={fake.url}",
                            f"--mmlu-dataset={data}", "--mmlu-concurrency=16", f"--mmlu-report={report}",
                            "--mmlu-no-cache", "-p", "no:randomly", *workers, report=report)
    records = result.report["questions"]
    assert len(records) == 60
    assert [r for r in records if r["outcome"] == "error"] == []
    assert fake.limits.accepted == 60 and fake.limits.refused > 0
    # every refusal is on the record of the question that met it
    assert sum(r.get("refusals", 0) for r in records) == fake.limits.refused
    assert result.report["usage"]["refusals"] == fake.limits.refused
    tries = 60 + fake.limits.refused
    line = f"{fake.limits.refused} refused for the rate (HTTP 429) and asked again, " \
           f"{fake.limits.refused / tries:.1%} of {tries} tries"
    assert sum(line in text for text in result.outlines) == 1
    assert not list(temp.glob("pytest-mmlu-pace-*"))  # the shared pace's file is removed at the end
