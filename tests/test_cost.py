"""Money and the budget: prices from a file or the command line, the cost of every reply recomputed from what the
stand-ins sent, per subject and per run; a budget in tokens or dollars met mid-run, then resumed."""

import json

import pytest

from pytest_mmlu.core.errors import SetupError
from pytest_mmlu.core.prices import Budget, Price, money, parse_budget, parse_price, price_for, read_prices

from fakeservers import OpenAIFake
from runs import run_pytest

SUBJECTS = ("astronomy", "virology", "anatomy")


# -- prices and budgets as users write them -------------------------------------------------------------------------


def test_a_price_on_the_command_line():
    assert parse_price("0.27/1.10") == Price(0.27, 1.10, None, "--mmlu-price")
    assert parse_price("$0.27/$1.10/0.07") == Price(0.27, 1.10, 0.07, "--mmlu-price")
    for bad in ("0.27", "0.27/", "a/b", "1/2/3/4", "-1/2", "nan/1", "inf/1"):
        with pytest.raises(ValueError, match="--mmlu-price"):
            parse_price(bad)


def test_budgets_in_tokens_and_dollars():
    assert parse_budget("2M") == Budget(2e6, False)
    assert parse_budget("500k") == Budget(5e5, False)
    assert parse_budget("150_000") == Budget(150000, False)
    assert parse_budget("$5") == Budget(5.0, True)
    assert parse_budget("$0.50") == Budget(0.5, True)
    for bad in ("", "0", "$0", "$-1", "5$", "two", "2X", "$inf", "-3k"):
        with pytest.raises(ValueError, match="--mmlu-budget"):
            parse_budget(bad)


def test_what_a_reply_costs():
    price = Price(0.27, 1.10, 0.07)
    # 1,200 in of which 1,000 cached, 300 out: (200 x 0.27 + 1000 x 0.07 + 300 x 1.10) / 1e6
    assert price.cost({"tokens_in": 1200, "tokens_cached": 1000, "tokens_out": 300}) == \
        pytest.approx((200 * 0.27 + 1000 * 0.07 + 300 * 1.10) / 1e6)
    assert Price(1.0, 2.0).cost({"tokens_in": 10, "tokens_cached": 5, "tokens_out": 1}) == pytest.approx(12 / 1e6)
    assert price.cost({"tokens_in": 10}) is None  # out not reported: no cost, never a guess
    assert price.cost({}) is None


def test_money_shows_a_small_run_s_cost():
    assert [money(x) for x in (0, 12.345, 1, 0.5, 0.0123, 0.000041234)] == \
        ["$0", "$12.35", "$1.00", "$0.50", "$0.0123", "$0.00004123"]


def test_a_price_file_in_toml_and_json(tmp_path):
    toml = tmp_path / "prices.toml"
    toml.write_text('# checked 2026-11-30\n[deepseek."deepseek-chat"]\ninput = 0.27\ncached_input = 0.07\n'
                    'output = 1.10\n\n[mistral."*"]\ninput = 0.1\noutput = 0.3\n')
    prices = read_prices(toml)
    assert price_for(prices, "deepseek", "deepseek-chat").cached_input == 0.07
    assert price_for(prices, "mistral", "mistral-small-latest").output == 0.3  # its backend's "*"
    assert price_for(prices, "gemini", "gemini-1.5-flash") is None
    as_json = tmp_path / "prices.json"
    as_json.write_text(json.dumps({"openai": {"gpt-4o-mini": {"input": 0.15, "output": 0.6}}}))
    assert read_prices(as_json)[("openai", "gpt-4o-mini")] == Price(0.15, 0.6, None,
                                                                     "prices.json [openai.gpt-4o-mini]")


@pytest.mark.parametrize("text, message", [
    ("[deepseek.x]\ninput = 1\n", "deepseek.x needs `input` and `output`"),
    ("[deepseek.x]\ninput = 1\noutput = 2\nouput = 3\n", "deepseek.x has ouput; the prices are"),
    ("[deepseek.x]\ninput = -1\noutput = 2\n", "deepseek.x.input must be 0 or more"),
    ("[deepseek.x]\ninput = 'cheap'\noutput = 2\n", "must be a number of dollars"),
    ("deepseek = 3\n", "'deepseek' must hold models"),
    ("[deepseek\n", "not valid TOML"),
    ("", "no prices in it"),
])
def test_a_bad_price_file_is_one_line(tmp_path, text, message):
    path = tmp_path / "prices.toml"
    path.write_text(text)
    with pytest.raises(SetupError, match="^--mmlu-prices .*" + message.replace("(", r"\(").replace("`", ".")) as info:
        read_prices(path)
    assert "\n" not in str(info.value)


def test_a_missing_price_file_is_one_line(tmp_path):
    with pytest.raises(SetupError, match="cannot read it"):
        read_prices(tmp_path / "nowhere.toml")


# -- runs ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data(subjects=SUBJECTS, per_subject=8, seed=11)


@pytest.fixture
def deepseek(monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test-cost")
    with OpenAIFake("deepseek", answer="B", require_key="sk-test-cost") as fake:
        yield fake


def run(pytester, fake, data, *extra, report="report.json"):
    path = pytester.path / report
    return run_pytest(pytester, "--mmlu-backend=deepseek", f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={data}",
                      f"--mmlu-report={path}", "--mmlu-timeout=10", "-p", "no:randomly", *extra,
                      report=path, fresh=True)


def sent_cost(fake, price: Price) -> dict:
    """Dollars per prompt, from the usage the stand-in sent (DeepSeek's cache hits as the cached tokens)."""
    costs = {}
    for req in fake.requests:
        if req.method == "POST" and req.reply:
            usage = req.reply["usage"]
            figures = {"tokens_in": usage["prompt_tokens"], "tokens_out": usage["completion_tokens"],
                       "tokens_cached": usage["prompt_cache_hit_tokens"]}
            costs[req.body["messages"][-1]["content"]] = price.cost(figures)
    return costs


def test_cost_per_question_subject_and_run_at_the_command_line_price(pytester, deepseek, data):
    result = run(pytester, deepseek, data, "--mmlu-price=0.27/1.10/0.07")
    report = result.report
    records = report["questions"]
    assert len(records) == 24 and all(r["outcome"] in ("passed", "failed") for r in records)
    expected = sorted(sent_cost(deepseek, Price(0.27, 1.10, 0.07)).values())
    assert sorted(r["cost"] for r in records) == pytest.approx(expected)
    total = sum(expected)
    usage = report["usage"]
    assert usage["cost"] == {"sum": pytest.approx(total), "questions": 24}
    assert usage["spent"]["cost"]["sum"] == pytest.approx(total)
    for subject in SUBJECTS:
        assert usage["cost_by_subject"][subject] == pytest.approx(
            sum(r["cost"] for r in records if r["subject"] == subject))
    result.stdout.fnmatch_lines([
        "mmlu: price $0.27 in / $1.1 out per million tokens, cached input $0.07 (--mmlu-price)",
        f"astronomy * {money(usage['cost_by_subject']['astronomy'])}",
        f"cost: {money(total)} for 24 questions, {money(total / 24)} a question; this run spent {money(total)} "
        f"on 24 requests (cached replies cost nothing new)"])
    # a re-run from the cache keeps the figures, and spends nothing
    again = run(pytester, deepseek, data, "--mmlu-price=0.27/1.10/0.07")
    assert again.report["usage"]["cost"]["sum"] == pytest.approx(total)
    assert again.report["usage"]["spent"]["cost"] == {"sum": 0, "questions": 0}
    again.stdout.fnmatch_lines([f"cost: {money(total)} for 24 questions, * this run spent $0 on 0 requests *"])


def test_a_price_file_prices_the_model_as_asked(pytester, deepseek, data):
    prices = pytester.path / "prices.toml"
    prices.write_text('[deepseek."deepseek-chat"]\ninput = 0.27\noutput = 1.10\n')
    result = run(pytester, deepseek, data, f"--mmlu-prices={prices}")
    assert sum(r["cost"] for r in result.report["questions"]) == \
        pytest.approx(sum(sent_cost(deepseek, Price(0.27, 1.10)).values()))
    result.stdout.fnmatch_lines(["mmlu: price $0.27 in / $1.1 out per million tokens (prices.toml "
                                 "[deepseek.deepseek-chat])"])
    other = run(pytester, deepseek, data, f"--mmlu-prices={prices}", "--mmlu-model=deepseek-v4")
    other.stdout.fnmatch_lines([f"mmlu: no price for deepseek deepseek-v4 in {prices}: costs not shown"])
    assert not any("cost" in r for r in other.report["questions"])
    assert not any(line.startswith("cost:") for line in other.outlines)


def test_a_token_budget_stops_the_run_and_a_rerun_asks_only_the_rest(pytester, deepseek, data):
    # one question at a time, so that the overshoot is at most the one in flight
    first = run(pytester, deepseek, data, "--mmlu-budget=1k", "--mmlu-concurrency=1")
    assert first.ret == 2  # the run did not finish
    asked = [r for r in deepseek.requests if r.method == "POST"]
    spent = sum(r.reply["usage"]["prompt_tokens"] + r.reply["usage"]["completion_tokens"] for r in asked)
    assert 1000 <= spent  # it stopped only when the budget was reached...
    last = asked[-1].reply["usage"]
    assert spent - (last["prompt_tokens"] + last["completion_tokens"]) < 1000  # ...by the last reply it took
    answered = [r for r in first.report["questions"] if r["outcome"] in ("passed", "failed")]
    assert len(answered) == len(asked) < 24
    stopped = first.report["stopped"]
    assert stopped["kind"] == "budget" and stopped["answered"] == len(asked)
    assert stopped["not_asked"] == 24 - len(asked)
    first.stdout.fnmatch_lines([
        f"the budget was spent ({spent:,} tokens of 1,000 tokens on {len(asked)} requests); "
        f"{len(asked)} answers kept and scored",
        f"{24 - len(asked)} questions were not asked; run the same command again with a larger --mmlu-budget "
        f"(it counts anew) to ask only those"])
    # the question that met the stop is not a backend fault: the block says it, no "errored" line
    assert not [line for line in first.outlines if "errored (backend faults" in line]
    # the rest, with room to finish: nothing answered is asked again
    deepseek.requests.clear()
    second = run(pytester, deepseek, data, "--mmlu-budget=1M", "--mmlu-concurrency=1")
    assert second.ret == 1  # wrong answers: pytest's own rule
    again = [r for r in deepseek.requests if r.method == "POST"]
    assert len(again) == 24 - len(asked)
    assert len([r for r in second.report["questions"] if r["outcome"] in ("passed", "failed")]) == 24
    assert "stopped" not in second.report


def test_a_dollar_budget_needs_a_price(pytester, deepseek, data):
    result = run(pytester, deepseek, data, "--mmlu-budget=$5")
    assert result.ret == 4
    lines = [line for line in result.outlines + result.errlines if "--mmlu-budget" in line]
    assert lines == ["ERROR: --mmlu-budget $5.00 needs the price of deepseek deepseek-chat: --mmlu-price IN/OUT, "
                     "or --mmlu-prices with an entry for it"]
    assert not [r for r in deepseek.requests if r.method == "POST"]


def test_a_dollar_budget_stops_at_its_amount(pytester, deepseek, data):
    price = Price(100.0, 400.0)  # dear, so that a few questions spend a cent
    result = run(pytester, deepseek, data, "--mmlu-price=100/400", "--mmlu-budget=$0.05", "--mmlu-concurrency=1")
    costs = [price.cost({"tokens_in": r.reply["usage"]["prompt_tokens"],
                         "tokens_out": r.reply["usage"]["completion_tokens"]})
             for r in deepseek.requests if r.method == "POST"]
    assert sum(costs) >= 0.05 > sum(costs[:-1])
    assert result.report["stopped"]["kind"] == "budget"
    assert result.report["usage"]["spent"]["cost"]["sum"] == pytest.approx(sum(costs))


def test_a_budget_cannot_be_kept_where_no_tokens_are_reported(pytester, monkeypatch, data):
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test-cost")
    with OpenAIFake("deepseek", answer="B", usage=False) as fake:
        result = run(pytester, fake, data, "--mmlu-budget=1M", "--mmlu-concurrency=1")
    assert result.report["stopped"]["kind"] == "budget"
    assert len([r for r in fake.requests if r.method == "POST"]) == 1
    result.stdout.fnmatch_lines(["the budget was spent (deepseek reported no token counts, so the budget of "
                                 "1M tokens cannot be kept); 1 answer kept and scored"])


def test_under_xdist_each_process_keeps_its_share_of_the_budget(pytester, deepseek, data):
    result = run(pytester, deepseek, data, "--mmlu-budget=1k", "--mmlu-concurrency=1", "-n", "2")
    assert result.ret == 2
    result.stdout.fnmatch_lines(["mmlu: budget 1,000 tokens, 500 tokens per process: no new question is asked "
                                 "once it is spent"])
    asked = [r for r in deepseek.requests if r.method == "POST"]
    spent = [r.reply["usage"]["prompt_tokens"] + r.reply["usage"]["completion_tokens"] for r in asked]
    # each process stops at the reply that took it to 500; one question in flight each: at most one over, each
    assert 1000 <= sum(spent) < 1000 + 2 * max(spent)
    assert len(asked) < 24 and result.report["stopped"]["kind"] == "budget"
    answered = [r for r in result.report["questions"] if r["outcome"] in ("passed", "failed")]
    assert len(answered) == len(asked)  # every reply received is kept
