"""A prompt as it is put to a model: one string (completions, in-process models) and the same as chat messages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prompt:
    """What a model is asked; the formats that build one from a question are in `prompts/`."""

    text: str  # the whole prompt as one string (completions, in-process models)
    messages: tuple[dict, ...]  # the same as chat messages

    @classmethod
    def single(cls, text: str) -> "Prompt":
        return cls(text=text, messages=({"role": "user", "content": text},))
