"""A prompt as it is put to a model: one string (completions, in-process models) and the same as chat messages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prompt:
    """What a model is asked; the formats that build one from a question are in `prompts/`."""

    text: str  # the whole prompt as one string (completions, in-process models)
    messages: tuple[dict, ...]  # the same as chat messages
    shots: tuple[int, int] | None = None  # where in `text` the few-shot examples are: [start, end)

    @classmethod
    def single(cls, text: str, shots: tuple[int, int] | None = None) -> "Prompt":
        return cls(text=text, messages=({"role": "user", "content": text},), shots=shots)

    def without_shots(self) -> tuple[str, int | None, str]:
        """The text with its shots cut out, where they were cut (None: no shots), and the shots' text: a
        subject's shots are the same in every one of its prompts, so a report keeps them once."""
        if self.shots is None:
            return self.text, None, ""
        start, end = self.shots
        return self.text[:start] + self.text[end:], start, self.text[start:end]
