"""Tokens and time per question and per run: read from each service's own reply shape (the recorded llama-server
replies, the stand-ins' real shapes), kept with cached replies, totalled in the report and the summary line, and
"not reported" where a service says nothing."""

import csv
import io
import json
from pathlib import Path

import pytest

from pytest_mmlu.backends import SERVICES as BACKENDS
from pytest_mmlu.backends import auth_headers, make_backend
from pytest_mmlu.backends.transport import Transport
from pytest_mmlu.backends.usage import gemini_usage, ollama_usage, openai_usage
from pytest_mmlu.core.reply import Reply, Usage
from pytest_mmlu.prompts import Prompt
from pytest_mmlu.report.stats import percentile
from pytest_mmlu.report.usage import render_usage, usage_totals

from fakeservers import (
    ChatLogprobsFake,
    GeminiFake,
    GeminiLogprobsFake,
    LlamaServerFake,
    OllamaFake,
    OllamaLogprobsFake,
    OpenAIFake,
    always,
    first_tokens,
)
from runs import run_pytest

RECORDED = Path(__file__).parent / "recorded" / "llama-server"
SUBJECTS = ("astronomy", "virology")
KEYS = {"deepseek": "DEEPSEEK_API_KEY", "deepseek-r1": "DEEPSEEK_API_KEY", "mistral": "MISTRAL_API_KEY",
        "gemini": "GEMINI_API_KEY", "openai": "OPENAI_API_KEY"}


def recorded(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text())


# -- reading each reply shape -------------------------------------------------------------------------------


def test_llama_server_usage_and_timings_as_recorded():
    chat = openai_usage(recorded("v1_chat_completions"))
    assert chat == Usage("openai usage, llama.cpp timings", tokens_in=67, tokens_out=4, tokens_cached=48,
                         server_seconds=round((127.321 + 103.97) / 1000, 6))
    scored = openai_usage(recorded("v1_completions_logprobs"))
    assert (scored.tokens_in, scored.tokens_out, scored.tokens_cached) == (41, 1, 11)
    assert scored.server_seconds == pytest.approx(2.906496)
    assert scored.tokens_reasoning is None  # llama.cpp does not say: not reported, not 0


def test_timings_alone_give_llama_cpp_counts():
    body = recorded("v1_chat_completions")
    del body["usage"]
    assert openai_usage(body) == Usage("llama.cpp timings", tokens_in=19 + 48, tokens_out=4, tokens_cached=48,
                                       server_seconds=round((127.321 + 103.97) / 1000, 6))


def test_openai_deepseek_and_mistral_usage():
    openai = {"usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
                        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
                        "completion_tokens_details": {"reasoning_tokens": 256, "audio_tokens": 0}}}
    assert openai_usage(openai) == Usage("openai usage", 1200, 300, 256, 1024)
    deepseek = {"usage": {"prompt_tokens": 90, "completion_tokens": 700, "total_tokens": 790,
                          "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 26,
                          "completion_tokens_details": {"reasoning_tokens": 650}}}
    assert openai_usage(deepseek) == Usage("openai usage", 90, 700, 650, 64)
    mistral = {"usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}}
    assert openai_usage(mistral) == Usage("openai usage", 12, 5)
    assert openai_usage({"choices": []}) is None
    assert openai_usage({"usage": {"prompt_tokens": "12", "completion_tokens": -1, "total_tokens": True}}) == \
        Usage("openai usage")  # malformed figures are not reported, never guessed


def test_gemini_thoughts_are_output_and_ollama_durations_are_seconds():
    meta = {"usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 3, "thoughtsTokenCount": 120,
                              "cachedContentTokenCount": 32, "totalTokenCount": 163}}
    assert gemini_usage(meta) == Usage("gemini usageMetadata", 40, 123, 120, 32)
    assert gemini_usage({"usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 3}}) == \
        Usage("gemini usageMetadata", 40, 3)
    assert gemini_usage({"candidates": []}) is None
    ollama = {"prompt_eval_count": 26, "eval_count": 290, "total_duration": 5_191_566_416}
    assert ollama_usage(ollama) == Usage("ollama counts", 26, 290, server_seconds=pytest.approx(5.191566416))
    # the whole prompt from Ollama's cache: it leaves prompt_eval_count out
    assert ollama_usage({"eval_count": 3, "total_duration": 10}).tokens_in is None
    assert ollama_usage({"message": {}}) is None


def test_a_reply_keeps_its_usage_through_the_cache_and_old_rows_still_read():
    reply = Reply(text="Answer: B", usage=Usage("openai usage", 10, 4, None, 5), seconds=0.25)
    stored = json.loads(json.dumps(reply.to_json()))
    assert stored["usage"] == {"source": "openai usage", "tokens_in": 10, "tokens_out": 4, "tokens_cached": 5}
    assert Reply.from_json(stored) == reply
    old = Reply.from_json({"text": "Answer: B", "truncated": True})  # a row cached before usage was kept
    assert old.usage is None and old.seconds is None and old.truncated


# -- totals and the summary line ----------------------------------------------------------------------------


def rec(n, outcome="passed", **figures):
    return {"nodeid": f"mmlu::astronomy::q{n:04d}", "subject": "astronomy", "outcome": outcome, **figures}


def test_totals_count_who_reported_each_figure():
    records = [rec(0, tokens_in=10, tokens_out=2, tokens_cached=4, seconds=0.1, usage_source="openai usage"),
               rec(1, "failed", tokens_in=20, tokens_out=3, seconds=0.3, truncated=True, usage_source="openai usage"),
               rec(2, tokens_in=30, tokens_out=4, seconds=0.2, cached=True, usage_source="openai usage"),
               rec(3, seconds=0.5),  # a reply without usage
               rec(4, "error")]  # no reply: no figures, and not a request that answered
    totals = usage_totals(records, wall_seconds=2.0)
    assert (totals["answered"], totals["requests"], totals["cached_replies"]) == (4, 3, 1)
    assert totals["tokens_in"] == {"sum": 60, "questions": 3}
    assert totals["tokens_cached"] == {"sum": 4, "questions": 1}
    assert totals["tokens_reasoning"] == {"sum": 0, "questions": 0}
    assert totals["spent"]["tokens_in"] == {"sum": 30, "questions": 2}  # the cached reply cost nothing new
    assert totals["seconds"] == {"p50": 0.25, "p95": pytest.approx(0.47), "questions": 4}
    assert totals["truncated"] == 1 and totals["questions_per_second"] == 2.0
    assert totals["sources"] == {"not reported": 1, "openai usage": 3}
    line = render_usage(totals)
    assert line == ("usage: 3 requests, 1 from the reply cache; tokens in 60 (3 of 4 questions; 4 cached) "
                    "/ out 9 (3 of 4 questions) / reasoning not reported; 2.00 questions/s; "
                    "latency p50 250.0ms / p95 470.0ms; 1 cut by the token limit")


def test_a_service_that_reports_nothing_says_so():
    line = render_usage(usage_totals([rec(0, seconds=0.004), rec(1, seconds=0.006)], wall_seconds=None))
    assert line == "usage: 2 requests; tokens not reported; latency p50 5.0ms / p95 5.9ms; 0 cut by the token limit"
    assert render_usage(usage_totals([rec(0, "error")])) is None  # nothing answered: no line


def test_percentile_interpolates_between_ranks():
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(range(101), 95) == 95


# -- runs against the stand-ins: totals recomputed from what they sent ------------------------------------------


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data(subjects=SUBJECTS, per_subject=5, seed=3)


def run(pytester, url, data, backend, *extra):
    report = pytester.path / "report.json"
    return run_pytest(pytester, f"--mmlu-backend={backend}", f"--mmlu-base-url={url}", f"--mmlu-dataset={data}",
                      f"--mmlu-report={report}", "--mmlu-timeout=10", "-p", "no:randomly", *extra,
                      report=report, fresh=True)


def expected(service: str, body: dict) -> dict:
    """What the service reported in one reply, read here by hand from its documented fields."""
    if service == "gemini":
        meta = body["usageMetadata"]
        return {"tokens_in": meta["promptTokenCount"],
                "tokens_out": meta["candidatesTokenCount"] + meta.get("thoughtsTokenCount", 0),
                "tokens_reasoning": meta.get("thoughtsTokenCount"), "tokens_cached": meta.get("cachedContentTokenCount")}
    if service == "ollama":
        return {"tokens_in": body["prompt_eval_count"], "tokens_out": body["eval_count"],
                "server_seconds": body["total_duration"] / 1e9}
    usage = body["usage"]
    figures = {"tokens_in": usage["prompt_tokens"], "tokens_out": usage["completion_tokens"],
               "tokens_reasoning": (usage.get("completion_tokens_details") or {}).get("reasoning_tokens"),
               "tokens_cached": usage["prompt_cache_hit_tokens"] if service.startswith("deepseek")
               else (usage.get("prompt_tokens_details") or {}).get("cached_tokens")}
    if "timings" in body:
        figures["server_seconds"] = (body["timings"]["prompt_ms"] + body["timings"]["predicted_ms"]) / 1000
    return figures


def sums(figures: list[dict], name: str) -> dict:
    known = [f[name] for f in figures if f.get(name) is not None]
    return {"sum": sum(known), "questions": len(known)}


SERVICES = {  # backend -> (the stand-in, extra options, the usage_source it gives)
    "openai": (lambda: OpenAIFake("openai", answer="B"), (), "openai usage"),
    "deepseek": (lambda: OpenAIFake("deepseek", answer="B"), (), "openai usage"),
    "deepseek-r1": (lambda: OpenAIFake("deepseek", answer="B", reasoning=lambda p: "Let me think. " * 20), (),
                    "openai usage"),
    "mistral": (lambda: OpenAIFake("mistral", answer="B"), (), "openai usage"),
    "gemini": (lambda: GeminiFake(answer="B", thoughts=lambda p: "Weighing the options. " * 10),
               ("--mmlu-model=gemini-2.5-flash",), "gemini usageMetadata"),
    "ollama": (lambda: OllamaFake(answer="B"), (), "ollama counts"),
    "llama": (lambda: OpenAIFake("llama", answer="B"), ("--mmlu-scoring=generate",),
              "openai usage, llama.cpp timings"),
}


@pytest.mark.parametrize("backend", list(SERVICES))
def test_each_service_s_figures_reach_the_records_and_the_totals(pytester, data, monkeypatch, backend):
    make, extra, source = SERVICES[backend]
    if backend in KEYS:
        monkeypatch.setenv(KEYS[backend], "sk-test-usage")
    with make() as fake:
        result = run(pytester, fake.url, data, backend, *extra)
    replies = [r.reply for r in fake.requests if r.method == "POST" and r.reply is not None]
    assert len(replies) == 10
    sent = [expected("deepseek" if backend == "deepseek-r1" else backend, body) for body in replies]
    report = result.report
    usage = report["usage"]
    assert (usage["answered"], usage["requests"], usage["cached_replies"]) == (10, 10, 0)
    for name in ("tokens_in", "tokens_out", "tokens_reasoning", "tokens_cached"):
        assert usage[name] == sums(sent, name), name
        assert usage["spent"][name] == usage[name]
    assert usage["server_seconds"]["questions"] == sums(sent, "server_seconds")["questions"]
    assert usage["server_seconds"]["sum"] == pytest.approx(sums(sent, "server_seconds")["sum"])
    assert usage["sources"] == {source: 10}
    # every question carries the figures of its own reply: the multiset of per-question figures is what was sent
    per_question = sorted((q.get("tokens_in"), q.get("tokens_out"), q.get("tokens_reasoning"), q.get("tokens_cached"))
                          for q in report["questions"])
    assert per_question == sorted((f["tokens_in"], f["tokens_out"], f.get("tokens_reasoning"), f.get("tokens_cached"))
                                  for f in sent)
    assert all(q["usage_source"] == source and q["seconds"] > 0 for q in report["questions"])
    line = next(s for s in result.outlines if s.startswith("usage: "))
    assert line.startswith(f"usage: 10 requests; tokens in {usage['tokens_in']['sum']:,}")
    assert "latency p50 " in line and "0 cut by the token limit" in line
    if usage["tokens_reasoning"]["questions"]:
        assert f"reasoning {usage['tokens_reasoning']['sum']:,};" in line
    else:
        assert "reasoning not reported" in line


def test_llama_server_logprobs_runs_record_the_recorded_figures(pytester, data):
    """The completions route against replies recorded from a real llama-server: usage and timings verbatim."""
    with LlamaServerFake(next_tokens=first_tokens("B", spell=" {}")) as fake:
        result = run(pytester, fake.url, data, "llama")
    q = result.report["questions"][0]
    assert (q["tokens_in"], q["tokens_out"], q["tokens_cached"], q["server_seconds"]) == (41, 1, 11, 2.906496)
    assert result.report["usage"]["tokens_in"] == {"sum": 410, "questions": 10}
    result.stdout.fnmatch_lines(["usage: 10 requests; tokens in 410 (110 cached) / out 10 / "
                                 "reasoning not reported; * questions/s; latency p50 *"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["no-xdist", "xdist"])
def test_a_cached_re_run_asks_nothing_and_keeps_the_figures(pytester, data, workers):
    with OpenAIFake("openai", answer="B", reasoning=lambda p: "Hmm. " * 8) as fake:
        first = run(pytester, fake.url, data, "openai", *workers).report
        asked = len([r for r in fake.requests if r.method == "POST"])
        second = run(pytester, fake.url, data, "openai", *workers)
        assert len([r for r in fake.requests if r.method == "POST"]) == asked == 10
    again = second.report
    assert (again["usage"]["requests"], again["usage"]["cached_replies"]) == (0, 10)
    for name in ("tokens_in", "tokens_out", "tokens_reasoning", "tokens_cached"):
        assert again["usage"][name] == first["usage"][name]
        assert again["usage"]["spent"][name] == {"sum": 0, "questions": 0}  # nothing new was spent
    figures = ("tokens_in", "tokens_out", "tokens_reasoning", "tokens_cached", "seconds", "usage_source")
    assert [{k: q[k] for k in figures} for q in again["questions"]] == \
        [{k: q[k] for k in figures} for q in first["questions"]]
    assert all(q["cached"] for q in again["questions"])
    second.stdout.fnmatch_lines(["usage: 0 requests, 10 from the reply cache; tokens in *"])


def test_a_service_that_reports_no_usage_shows_not_reported(pytester, data):
    with OpenAIFake("openai", answer=always("B"), usage=False) as fake:
        result = run(pytester, fake.url, data, "openai")
    report = result.report
    assert not any(k in q for q in report["questions"] for k in ("tokens_in", "tokens_out", "usage_source"))
    assert report["usage"]["tokens_in"] == {"sum": 0, "questions": 0}
    assert report["usage"]["sources"] == {"not reported": 10}
    result.stdout.fnmatch_lines(["usage: 10 requests; tokens not reported; * questions/s; latency p50 *"])


def test_a_real_llama_cpp_server_run_records_its_usage(pytester, data, llama_server):
    # a real model on a loaded 2-core machine: the default timeout, not the stand-ins' 10 s
    result = run(pytester, llama_server, data, "llama", "--mmlu-limit=2", "--mmlu-timeout=120")
    questions = result.report["questions"]
    assert len(questions) == 4 and all(q["outcome"] in ("passed", "failed") for q in questions)
    for q in questions:
        assert q["usage_source"].startswith("openai usage")
        assert q["tokens_in"] > 20 and q["tokens_out"] >= 0 and q["seconds"] > 0
    usage = result.report["usage"]
    assert usage["tokens_in"] == {"sum": sum(q["tokens_in"] for q in questions), "questions": 4}
    result.stdout.fnmatch_lines(["usage: 4 requests; tokens in *"])


def test_the_markdown_summary_carries_the_usage_line(pytester, data):
    with OpenAIFake("openai", answer="B") as fake:
        run(pytester, fake.url, data, "openai", f"--mmlu-markdown={pytester.path / 'summary.md'}")
    text = (pytester.path / "summary.md").read_text()
    assert "\nUsage: 10 requests; tokens in " in text and "0 cut by the token limit.\n" in text


# -- the log-probability routes carry usage too -------------------------------------------------------------


def backend(name, fake, model=None):
    service = BACKENDS[name]
    transport = Transport(timeout=5, retries=0, headers=auth_headers(service, "sk-test"))
    return make_backend(service, fake.url, model or service.model, transport)


def test_chat_and_completion_log_probability_replies_keep_their_usage():
    prompt, letters = Prompt.single("Which planet is largest?\nA. Mars\nB. Jupiter\nAnswer:"), ("A", "B")
    with ChatLogprobsFake("deepseek", first=first_tokens("B")) as fake:
        usage = backend("deepseek", fake).score_chat(prompt, letters).usage
        sent = fake.requests[-1].reply["usage"]
        assert usage == Usage("openai usage", sent["prompt_tokens"], sent["completion_tokens"], None,
                              sent["prompt_cache_hit_tokens"])
    with OllamaLogprobsFake(first=first_tokens("B")) as fake:
        usage = backend("ollama", fake).score_chat(prompt, letters).usage
        sent = fake.requests[-1].reply
        assert (usage.source, usage.tokens_in, usage.tokens_out) == \
            ("ollama counts", sent["prompt_eval_count"], sent["eval_count"])
        assert usage.server_seconds == pytest.approx(sent["total_duration"] / 1e9)
    with GeminiLogprobsFake(first=first_tokens("B")) as fake:
        usage = backend("gemini", fake).score_chat(prompt, letters).usage
        meta = fake.requests[-1].reply["usageMetadata"]
        assert usage == Usage("gemini usageMetadata", meta["promptTokenCount"], meta["candidatesTokenCount"], None,
                              meta["cachedContentTokenCount"])
    with LlamaServerFake() as fake:  # the recorded chat log-probability reply, verbatim
        usage = backend("llama", fake).score_chat(prompt, letters).usage
        body = recorded("v1_chat_completions_logprobs")
        assert (usage.tokens_in, usage.tokens_out, usage.tokens_cached) == \
            (body["usage"]["prompt_tokens"], body["usage"]["completion_tokens"], body["timings"]["cache_n"])
        assert usage.server_seconds == round((body["timings"]["prompt_ms"] + body["timings"]["predicted_ms"]) / 1000,
                                             6)


# -- pytest-mmlu compare: tokens and time per run ---------------------------------------------------------------


def test_compare_shows_tokens_and_time_per_run(tmp_path):
    from pytest_mmlu.core.subjects import category_of
    from pytest_mmlu.report.compare import compare_runs, read_reports, render, to_json
    from pytest_mmlu.report.schema import to_report, write_report
    from pytest_mmlu.report.summary import summarize

    def report(name, label, **figures):
        recs = [{"nodeid": f"mmlu::astronomy::q{i:04d}", "subject": "astronomy", "index": i, "expected": "A",
                 "predicted": "A", "outcome": "passed", "unparsed": False, "reply": "", "error": None, **figures}
                for i in range(4)]
        path = tmp_path / name
        write_report(path, to_report(summarize(recs, [r["nodeid"] for r in recs], category_of, 2.0), [], recs,
                                     {"label": label, "backend": "deepseek"}))
        return path

    paths = [report("r1.json", "reasoner", tokens_in=100, tokens_out=900, tokens_reasoning=800, tokens_cached=64,
                    seconds=4.0, usage_source="openai usage"),
             report("old.json", "old run")]  # no figures at all, as a report from before 0.2.0
    comparison = compare_runs(read_reports(paths))
    text = render(comparison, "text")
    assert "tokens and time (as the services reported them)" in text
    table = text.split("tokens and time (as the services reported them)\n")[1].split("\n\n")[0].splitlines()
    assert table[1].split() == ["reasoner", "4", "0", "400", "256", "3,600", "3,200", "4.00s", "4.00s", "2.00", "0",
                                "no", "prices"]
    assert table[2].split("  ")[0] == "old run" and table[2].count("not reported") == 11  # every figure
    priced = compare_runs(read_reports([report("r2.json", "priced", tokens_in=100, tokens_out=900, cost=0.0025)]))
    assert render(priced, "text").split("tokens and time")[1].splitlines()[2].split()[-1] == "$0.01"  # 4 x $0.0025
    rows = list(csv.DictReader(io.StringIO(render(priced, "csv"))))
    assert (rows[0]["scope"], rows[0]["tokens_in"], rows[0]["tokens_out"], rows[0]["cost"]) == \
        ("overall", "400", "3600", "0.01000000")
    assert (rows[1]["scope"], rows[1]["tokens_in"], rows[1]["cost"]) == ("astronomy", "", "0.01000000")
    assert list(csv.DictReader(io.StringIO(render(comparison, "csv"))))[-1]["cost"] == ""  # the old run: none
    assert "| Tokens in |" in render(comparison, "markdown")
    runs = to_json(comparison)["runs"]
    assert runs[0]["usage"]["tokens_reasoning"] == {"sum": 3200, "questions": 4} and "usage" not in runs[1]
