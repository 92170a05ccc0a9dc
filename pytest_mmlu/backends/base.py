"""The one interface every backend implements, and what it returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol

from ..prompts import Prompt


@dataclass(frozen=True)
class Reply:
    """What the model said: cached as it arrives, judged later."""

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


class BackendError(Exception):
    """The backend could not give a reply: an error, never a wrong answer."""


class Unreachable(BackendError):
    pass


class KeyRejected(BackendError):
    pass


class BadReply(BackendError):
    """The service answered, but not with anything this backend can read."""


class Backend(Protocol):
    name: str

    def identity(self) -> dict:
        """What identifies the model for the cache key (served model id, file...)."""

    def generate(self, prompt: Prompt, max_tokens: int, temperature: float) -> Reply:
        ...

    def score(self, prompt: Prompt, letters: tuple[str, ...]) -> Reply:
        """Next-token log-probabilities of ' A'..' D' after the prompt, in one forward pass."""

    def score_chat(self, prompt: Prompt, letters: tuple[str, ...]) -> Reply:
        """Letter scores from the first token of a chat reply's top log-probabilities (scoring/letters.py)."""

    def close(self) -> None:
        ...
