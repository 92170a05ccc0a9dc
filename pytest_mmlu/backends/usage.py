"""Token counts and server timings read from each service's reply, into a `Usage`: one reader per reply shape.

Only what a service reports is kept: a missing or malformed figure stays None ("not reported"), never 0.
"""

from __future__ import annotations

from ..core.reply import Usage

NS = 1e-9  # Ollama's durations are in nanoseconds


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else None


def _sum(*values: int | None) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def openai_usage(data) -> Usage | None:
    """OpenAI-compatible `usage` (OpenAI, vLLM, DeepSeek, Mistral, llama.cpp, Ollama's /v1), with OpenAI's
    `prompt_tokens_details.cached_tokens` and `completion_tokens_details.reasoning_tokens`, DeepSeek's
    `prompt_cache_hit_tokens`, and llama.cpp's `timings` (its server time, and `cache_n`: prompt tokens reused
    from the slot)."""
    if not isinstance(data, dict):
        return None
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
    timings = data.get("timings") if isinstance(data.get("timings"), dict) else None
    if usage is None and timings is None:
        return None
    usage, timings = usage or {}, timings or {}
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    cached = _count(prompt_details.get("cached_tokens")) if isinstance(prompt_details, dict) else None
    if cached is None:
        cached = _count(usage.get("prompt_cache_hit_tokens"))  # DeepSeek
    if cached is None:
        cached = _count(timings.get("cache_n"))  # llama.cpp
    reasoning = (_count(completion_details.get("reasoning_tokens")) if isinstance(completion_details, dict)
                 else None)
    prompt_ms, predicted_ms = _number(timings.get("prompt_ms")), _number(timings.get("predicted_ms"))
    server_ms = None if prompt_ms is None and predicted_ms is None else (prompt_ms or 0.0) + (predicted_ms or 0.0)
    tokens_in = _count(usage.get("prompt_tokens"))
    tokens_out = _count(usage.get("completion_tokens"))
    if not usage:  # timings alone: llama.cpp's own counts
        tokens_in = _sum(_count(timings.get("prompt_n")), _count(timings.get("cache_n")))
        tokens_out = _count(timings.get("predicted_n"))
    source = ", ".join(name for name, there in (("openai usage", usage), ("llama.cpp timings", timings)) if there)
    return Usage(source, tokens_in, tokens_out, reasoning, cached,
                 None if server_ms is None else round(server_ms / 1000, 6))


def gemini_usage(data) -> Usage | None:
    """Gemini's `usageMetadata`. Its thoughts (`thoughtsTokenCount`) are billed as output beside
    `candidatesTokenCount`, so both make `tokens_out`."""
    meta = data.get("usageMetadata") if isinstance(data, dict) else None
    if not isinstance(meta, dict):
        return None
    thoughts = _count(meta.get("thoughtsTokenCount"))
    candidates = _count(meta.get("candidatesTokenCount"))
    return Usage("gemini usageMetadata", _count(meta.get("promptTokenCount")),
                 _sum(candidates, thoughts), thoughts, _count(meta.get("cachedContentTokenCount")))


def ollama_usage(data) -> Usage | None:
    """Ollama's native counts (`prompt_eval_count`, `eval_count`) and its `total_duration` (nanoseconds).
    Ollama leaves `prompt_eval_count` out when the whole prompt came from its cache: then it is not reported."""
    if not isinstance(data, dict):
        return None
    tokens_in, tokens_out = _count(data.get("prompt_eval_count")), _count(data.get("eval_count"))
    total = _number(data.get("total_duration"))
    if tokens_in is None and tokens_out is None and total is None:
        return None
    return Usage("ollama counts", tokens_in, tokens_out, server_seconds=None if total is None else total * NS)
