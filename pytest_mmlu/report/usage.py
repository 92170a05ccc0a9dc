"""What a run cost in tokens and time, totalled from its question records; and its line in the summary.

A figure is summed over the questions that reported it, and the count of those questions is kept beside the sum:
a service that reports nothing gives no sum ("not reported"), never 0. A reply from the cache adds the figures of
the request that first produced it; `spent` counts the requests made by this run alone.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from ..core.prices import money
from .stats import percentile
from .tally import replies_of

TOKENS = ("tokens_in", "tokens_out", "tokens_reasoning", "tokens_cached")
ANSWERED = ("passed", "failed")


def _sums(records: list[Mapping]) -> dict:
    sums = {}
    for name in TOKENS:
        known = [r[name] for r in records if isinstance(r.get(name), int)]
        sums[name] = {"sum": sum(known), "questions": len(known)}
    costs = [r["cost"] for r in records if isinstance(r.get("cost"), (int, float))]
    sums["cost"] = {"sum": round(sum(costs), 8), "questions": len(costs)}
    return sums


def usage_totals(records: Iterable[Mapping], wall_seconds: float | None = None) -> dict:
    """The report's `usage` block (schema.UsageTotals) from the question records."""
    questions = [r for r in records if r.get("outcome") in ANSWERED]
    answered = [reply for r in questions for reply in replies_of(r)]  # --mmlu-permute: a reply per order
    asked = [r for r in answered if not r.get("cached")]
    seconds = [r["seconds"] for r in answered if isinstance(r.get("seconds"), (int, float))]
    server = [r["server_seconds"] for r in answered if isinstance(r.get("server_seconds"), (int, float))]
    sources: dict[str, int] = {}
    for r in answered:
        source = r.get("usage_source") or "not reported"
        sources[source] = sources.get(source, 0) + 1
    p50, p95 = percentile(seconds, 50), percentile(seconds, 95)
    return {
        "answered": len(questions),
        "replies": len(answered),  # more than answered under --mmlu-permute: one per order
        "requests": len(asked),
        "cached_replies": len(answered) - len(asked),
        **_sums(answered),
        "spent": _sums(asked),
        "seconds": {"p50": None if p50 is None else round(p50, 6), "p95": None if p95 is None else round(p95, 6),
                    "questions": len(seconds)},
        "server_seconds": {"sum": round(sum(server), 6), "questions": len(server)},
        "truncated": sum(1 for r in answered if r.get("truncated")),
        # this run's refusals for the rate (HTTP 429), each asked again (errors' refusals are not in the records)
        "refusals": sum(r.get("refusals", 0) for r in asked if isinstance(r.get("refusals"), int)),
        "questions_per_second": round(len(questions) / wall_seconds, 3) if wall_seconds else None,
        "sources": dict(sorted(sources.items())),
        "cost_by_subject": _by_subject(answered),
        "judge": _judge(answered),
    }


def _judge(records: list[Mapping]) -> dict | None:
    """The judge's replies and what they cost (None without any)."""
    read = [r for r in records if "judge" in r]
    if not read:
        return None
    asked = [r for r in read if not r.get("judge_cached")]

    def figure(rows, name):
        known = [r[name] for r in rows if isinstance(r.get(name), (int, float))]
        return {"sum": round(sum(known), 10) if name == "judge_cost" else sum(known), "questions": len(known)}

    return {"replies": len(read), "requests": len(asked),
            "tokens_in": figure(read, "judge_tokens_in"), "tokens_out": figure(read, "judge_tokens_out"),
            "cost": figure(read, "judge_cost"), "spent_cost": figure(asked, "judge_cost")}


def _by_subject(records: list[Mapping]) -> dict:
    """Dollars per subject, where any question of it was priced."""
    out: dict[str, float] = {}
    for r in records:
        if isinstance(r.get("cost"), (int, float)):
            out[r["subject"]] = out.get(r["subject"], 0.0) + r["cost"]
    return {subject: round(total, 8) for subject, total in sorted(out.items())}


def _tokens(totals: Mapping, name: str, *notes: str) -> str:
    figure = totals[name]
    if not figure["questions"]:
        return "not reported"
    replies = totals.get("replies", totals["answered"])
    if figure["questions"] < replies:
        notes = (f"{figure['questions']} of {replies} {'replies' if replies != totals['answered'] else 'questions'}",
                 *notes)
    return f"{figure['sum']:,}" + (f" ({'; '.join(notes)})" if notes else "")


def _seconds(value: float, scale: float | None = None) -> str:
    """Seconds, or milliseconds below 1 s (`scale`: the value whose unit both figures of a pair share)."""
    return f"{value:.2f}s" if (value if scale is None else scale) >= 1 else f"{value * 1000:.1f}ms"


def render_usage(totals: Mapping | None) -> str | None:
    """One line for the terminal summary; None when no question was answered."""
    if not totals or not totals.get("answered"):
        return None
    cached = totals["cached_replies"]
    requests = totals["requests"]
    parts = [f"{requests} request{'' if requests == 1 else 's'}"
             + (f", {cached} from the reply cache" if cached else "")]
    if not any(totals[name]["questions"] for name in TOKENS):
        parts.append("tokens not reported")
    else:
        cached_tokens = totals["tokens_cached"]
        tokens_in = _tokens(totals, "tokens_in",
                            *([f"{cached_tokens['sum']:,} cached"] if cached_tokens["questions"] else []))
        parts.append(f"tokens in {tokens_in} / out {_tokens(totals, 'tokens_out')} / "
                     f"reasoning {_tokens(totals, 'tokens_reasoning')}")
    if totals.get("questions_per_second") is not None:
        parts.append(f"{totals['questions_per_second']:.2f} questions/s")
    latency = totals["seconds"]
    parts.append(f"latency p50 {_seconds(latency['p50'], latency['p95'])} / p95 {_seconds(latency['p95'])}"
                 if latency["questions"] else "latency not measured")
    parts.append(f"{totals['truncated']} cut by the token limit")
    refusals = totals.get("refusals") or 0
    if refusals:
        tries = requests + refusals
        parts.append(f"{refusals} refused for the rate (HTTP 429) and asked again, "
                     f"{refusals / tries:.1%} of {tries} tries")
    judge = totals.get("judge")
    if judge:
        tokens_in, tokens_out = judge["tokens_in"], judge["tokens_out"]
        told = (f"tokens in {tokens_in['sum']:,} / out {tokens_out['sum']:,}" if tokens_in["questions"]
                else "tokens not reported")
        parts.append(f"the judge: {judge['requests']} request{'' if judge['requests'] == 1 else 's'}, {told}")
    return "usage: " + "; ".join(parts)


def render_cost(totals: Mapping | None) -> str | None:
    """The cost line, when prices were given and some reply was priced."""
    judge = totals.get("judge") if totals else None
    judged = judge is not None and judge["cost"]["questions"] > 0
    if not totals or not ((totals.get("cost") or {}).get("questions") or judged):
        return None
    if not (totals.get("cost") or {}).get("questions"):
        return f"cost: the judge {money(judge['cost']['sum'])} (the model's replies have no price)"
    cost, spent = totals["cost"], totals["spent"]["cost"]
    priced = cost["questions"]
    part = f" of the {totals['answered']} answered (the others reported no tokens)" \
        if priced < totals["answered"] else ""
    return (f"cost: {money(cost['sum'])} for {priced} questions{part}, {money(cost['sum'] / priced)} a question; "
            f"this run spent {money(spent['sum'])} on {totals['requests']} requests (cached replies cost nothing new)"
            + (f"; the judge {money(judge['cost']['sum'])}" if judged else ""))


USAGE_HEADER = ["run", "requests", "from cache", "tokens in", "cached", "tokens out", "reasoning", "latency p50",
                "latency p95", "questions/s", "cut by limit", "cost"]


def reports_something(totals: Mapping | None) -> bool:
    """Whether a run's usage block holds any figure (a report from before 0.2.0 has none)."""
    return bool(totals) and (any(totals[name]["questions"] for name in TOKENS) or totals["seconds"]["questions"] > 0)


def usage_cells(label: str, totals: Mapping | None) -> list[str]:
    """One run's row of the `pytest-mmlu compare` tokens-and-time table; "not reported" where nothing was."""
    if not reports_something(totals):
        return [label] + ["not reported"] * (len(USAGE_HEADER) - 1)

    def tokens(name: str) -> str:
        figure = totals[name]
        if not figure["questions"]:
            return "not reported"
        share = f" ({figure['questions']}/{totals['answered']})" if figure["questions"] < totals["answered"] else ""
        return f"{figure['sum']:,}{share}"

    latency, rate = totals["seconds"], totals.get("questions_per_second")
    return [label, str(totals["requests"]), str(totals["cached_replies"]), tokens("tokens_in"), tokens("tokens_cached"),
            tokens("tokens_out"), tokens("tokens_reasoning"),
            _seconds(latency["p50"], latency["p95"]) if latency["questions"] else "not measured",
            _seconds(latency["p95"]) if latency["questions"] else "not measured",
            "n/a" if rate is None else f"{rate:.2f}", str(totals["truncated"]), _cost_cell(totals)]


def _cost_cell(totals: Mapping) -> str:
    cost = totals.get("cost") or {}
    if not cost.get("questions"):
        return "no prices"
    return money(cost["sum"]) + (f" ({cost['questions']}/{totals['answered']})"
                                 if cost["questions"] < totals["answered"] else "")
