"""Scoring from the reply cache without a server: --mmlu-offline, and a warm cache with the server down."""

import pytest

from fakeservers import ClosedPort, Listener, OpenAIFake, choice_containing
from runs import run_pytest

SUBJECTS = ("astronomy", "virology")
SERVED = "gemma-3-270m-it-Q4_K_M.gguf"


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data(subjects=SUBJECTS, per_subject=6, seed=7)


class LlamaFake(OpenAIFake):
    """llama.cpp's server: lists the one model it serves, and ignores the `model` of a request."""

    def knows(self, model):
        return True


def run(pytester, url, data, *extra):
    report = pytester.path / "report.json"
    return run_pytest(pytester, "--mmlu-backend=llama", f"--mmlu-base-url={url}", f"--mmlu-dataset={data}",
                      f"--mmlu-cache={pytester.path / 'cache'}", f"--mmlu-report={report}", "--mmlu-retries=0",
                      "-p", "no:randomly", *extra, report=report)


def numbers(report):
    return {k: report["overall"][k] for k in ("correct", "wrong", "unparsed", "errors", "not_run")}, \
        {q["nodeid"]: q["predicted"] for q in report["questions"]}


def fill(pytester, data, *extra):
    """A run against a llama.cpp stand-in that serves SERVED: its replies land in the cache.
    Returns the run and the stand-in's port, now closed (a Listener may take it over)."""
    with LlamaFake("llama", answer=choice_containing("1"), models=(SERVED,)) as fake:
        result = run(pytester, fake.url, data, *extra)
    assert result.report["config"]["served_model"] == SERVED
    return result, int(fake.url.rsplit(":", 1)[1])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["no-xdist", "xdist"])
def test_offline_scores_the_cache_without_a_single_connection(pytester, data, workers):
    first, port = fill(pytester, data)
    with Listener(port) as server:
        offline = run(pytester, server.url, data, "--mmlu-offline", *workers)
        assert server.connections == 0  # not even the start-up probe
    assert numbers(offline.report) == numbers(first.report)
    assert all(q["cached"] for q in offline.report["questions"])
    offline.stdout.fnmatch_lines(["mmlu: offline (--mmlu-offline): cached replies only*"])
    assert offline.ret == first.ret


def test_offline_with_part_of_the_replies_runs_only_those_and_lists_the_rest(pytester, data):
    _, port = fill(pytester, data, "--mmlu-subject=astronomy")
    with Listener(port) as server:
        result = run(pytester, server.url, data, "--mmlu-offline", "-rs")
        assert server.connections == 0
    report = result.report
    assert report["overall"]["total"] == 6 and report["overall"]["not_run"] == 6
    assert report["overall"]["errors"] == 0
    assert sorted(report["not_run"]) == [f"mmlu::virology::q{i:04d}" for i in range(6)]
    result.stdout.fnmatch_lines(["6 questions have no cached reply and were not run (listed under not_run in *)",
                                 "SKIPPED [[]6[]] *no cached reply (--mmlu-offline)*"])


def test_a_warm_cache_scores_with_the_server_down(pytester, data):
    first, port = fill(pytester, data)
    with ClosedPort(port) as gone:  # the server is gone: connections are refused
        url = gone.url
        result = run(pytester, url, data)
    assert numbers(result.report) == numbers(first.report)
    result.stdout.fnmatch_lines([f"mmlu: cannot reach the llama backend at {url} (*); every selected "
                                 f"question has a cached reply: scoring from the cache"])


def test_a_cold_cache_with_the_server_down_still_stops_at_start(pytester, data):
    _, port = fill(pytester, data, "--mmlu-subject=astronomy")
    with ClosedPort(port) as gone:
        url = gone.url
        result = run(pytester, url, data)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*cannot reach the llama backend at {url}*is the server running?*"])


def test_the_served_model_is_kept_per_model_option(pytester, data):
    """The served id is stored with the cache per address and --mmlu-model, so each finds its own replies."""
    first, port = fill(pytester, data, "--mmlu-model=mine")
    with Listener(port) as server:
        same = run(pytester, server.url, data, "--mmlu-offline", "--mmlu-model=mine")
        other = run(pytester, server.url, data, "--mmlu-offline")
        assert server.connections == 0
    assert numbers(same.report) == numbers(first.report)
    assert other.report["overall"]["not_run"] == 12  # replies of another model are not this one's
    other.stdout.fnmatch_lines(["mmlu: offline*no model id of a past run at this address is stored*"])


def test_offline_at_a_new_address_says_why_nothing_matches(pytester, data):
    fill(pytester, data)
    with Listener() as elsewhere:
        result = run(pytester, elsewhere.url, data, "--mmlu-offline")
        assert elsewhere.connections == 0
    assert result.report["overall"]["not_run"] == 12
    result.stdout.fnmatch_lines(["mmlu: offline*no model id of a past run at this address is stored*"])
