"""What a model said: cached as it arrives, read and judged later."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass(frozen=True)
class Usage:
    """What one request cost, as the service reported it: a figure it did not report is None, never 0.

    `tokens_out` counts every generated token the service bills as output, reasoning included (Gemini reports
    its thoughts apart: they are added); `tokens_reasoning` and `tokens_cached` are shares of `tokens_out` and
    `tokens_in`. Prices per token can be applied to these figures as they stand.
    """

    source: str  # where the figures came from: "openai usage", "gemini usageMetadata", "ollama counts"...
    tokens_in: int | None = None  # prompt tokens
    tokens_out: int | None = None  # generated tokens, reasoning included
    tokens_reasoning: int | None = None  # of tokens_out: reasoning (thinking) tokens
    tokens_cached: int | None = None  # of tokens_in: served from the service's prompt cache
    server_seconds: float | None = None  # the server's own time for the request, where it says

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict) -> "Usage":
        return cls(**data)


@dataclass(frozen=True)
class Reply:
    """One model's answer to one prompt, as every backend returns it and the reply cache stores it."""

    text: str = ""  # generated text (generate scoring)
    logprobs: dict[str, float] = field(default_factory=dict)  # letter -> log-probability (logprobs scoring)
    reasoning: str | None = None  # reasoning kept for the report, never parsed as the answer
    truncated: bool = False  # cut off by the token limit
    note: str | None = None  # why there is no answer (safety block, no candidates...)
    first_token: str | None = None  # chat log-probabilities: the token the model put first
    usage: Usage | None = None  # tokens and server time, as the service reported them
    # the client's wall time of the request that produced this reply, the transport's retries and their
    # back-off included; kept with the cached reply, so a cached reply shows what it cost when it was asked
    seconds: float | None = None
    refusals: int = 0  # requests refused for the rate (HTTP 429) and asked again before this reply came

    def to_json(self) -> dict:
        # an empty first token (the model stopped at once) is still an answer to "what came first"
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["usage"] = self.usage.to_json() if self.usage is not None else None
        return {k: v for k, v in data.items()
                if v not in (None, False, "", {}) or (k == "first_token" and v is not None)}

    @classmethod
    def from_json(cls, data: dict) -> "Reply":
        # rows cached before usage was kept have neither `usage` nor `seconds`: both stay None
        usage = data.get("usage")
        return cls(**{**data, "usage": Usage.from_json(usage) if isinstance(usage, dict) else None})
