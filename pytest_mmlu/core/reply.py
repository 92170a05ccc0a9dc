"""What a model said: cached as it arrives, read and judged later."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Reply:
    """One model's answer to one prompt, as every backend returns it and the reply cache stores it."""

    text: str = ""  # generated text (generate scoring)
    logprobs: dict[str, float] = field(default_factory=dict)  # letter -> log-probability (logprobs scoring)
    reasoning: str | None = None  # reasoning kept for the report, never parsed as the answer
    truncated: bool = False  # cut off by the token limit
    note: str | None = None  # why there is no answer (safety block, no candidates...)
    first_token: str | None = None  # chat log-probabilities: the token the model actually put first

    def to_json(self) -> dict:
        # an empty first token (the model stopped at once) is still an answer to "what came first"
        return {k: v for k, v in asdict(self).items()
                if v not in (None, False, "", {}) or (k == "first_token" and v is not None)}

    @classmethod
    def from_json(cls, data: dict) -> "Reply":
        return cls(**data)
