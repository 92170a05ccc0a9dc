"""Gemini's `generateContent` REST API (v1beta). The key travels in the `x-goog-api-key` header.

A reply Gemini withholds (safety, recitation) is an answer with a note, not an error:
the question is counted as unparsed and the reason is kept for the report.
"""

from __future__ import annotations

import dataclasses

from ..core.errors import BackendError, BadReply, KeyRejected, Unreachable
from ..core.prompt import Prompt
from ..core.reply import Reply
from .base import Backend
from .letters import read_letters
from .transport import Transport
from .usage import gemini_usage

WITHHELD = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"})
# Gemini answers a bad key with 400 INVALID_ARGUMENT, not 401
KEY_REJECTED = ("API_KEY_INVALID", "API key not valid", "API key expired")
TOP_K = 20


class Gemini(Backend):
    """Gemini's generateContent REST API."""

    def __init__(self, service, base_url: str, model: str | None, transport: Transport):
        super().__init__(service, base_url, (model or service.model).removeprefix("models/"), transport)

    def probe(self) -> str:
        """Is the key accepted and the model there? Answers the model's name."""
        try:
            data = self.transport.get_json(self._url())
        except BackendError as exc:
            raise self._mapped(exc) from None
        name = data.get("name") if isinstance(data, dict) else None
        return str(name).removeprefix("models/") if name else self.model

    def generate(self, prompt: Prompt, max_tokens: int, temperature: float) -> Reply:
        payload = {"contents": [{"role": "user", "parts": [{"text": prompt.text}]}],
                   "generationConfig": {"temperature": temperature, "maxOutputTokens": max_tokens}}
        try:
            data = self.transport.post_json(self._url(":generateContent"), payload)
        except BackendError as exc:
            raise self._mapped(exc) from None
        return self._reply(data)

    def score(self, prompt: Prompt, letters: tuple[str, ...]) -> Reply:
        raise BackendError("Gemini gives log-probabilities on generated replies only: use --mmlu-prompt=letter "
                           "with --mmlu-scoring=logprobs, or --mmlu-scoring=generate")

    def score_chat(self, prompt: Prompt, letters: tuple[str, ...]) -> Reply:
        payload = {"contents": [{"role": "user", "parts": [{"text": prompt.text}]}],
                   "generationConfig": {"temperature": 0, "maxOutputTokens": 1,
                                        "responseLogprobs": True, "logprobs": TOP_K}}
        try:
            data = self.transport.post_json(self._url(":generateContent"), payload)
        except BackendError as exc:
            raise self._mapped(exc) from None
        reply = self._reply(data)
        if reply.note:  # withheld: no letter, the reason kept
            return reply
        result = data["candidates"][0].get("logprobsResult")
        if not isinstance(result, dict):
            raise BadReply(f"reply from {self._url()} has no logprobsResult; does {self.model} give "
                           f"log-probabilities?")
        steps, chosen = result.get("topCandidates") or [], result.get("chosenCandidates") or []
        if not steps:
            return Reply(text=reply.text, first_token="", note="the model generated no token", usage=reply.usage)
        top = steps[0].get("candidates") if isinstance(steps[0], dict) else None
        if not isinstance(top, list) or not all(isinstance(c, dict) and "token" in c for c in top):
            raise BadReply(f"reply from {self._url()} has logprobsResult of an unknown shape")
        first = chosen[0].get("token") if chosen and isinstance(chosen[0], dict) else None
        reading = read_letters(((c["token"], c.get("logProbability", float("-inf"))) for c in top), letters,
                               first_token=first, k=TOP_K)
        return Reply(text=reply.text, logprobs=reading.scores, first_token=reading.first_token, note=reading.note,
                     usage=reply.usage)

    def check_logprobs(self) -> None:
        """At start: one tiny request, so a model that refuses log-probabilities stops the run once."""
        self.score_chat(Prompt.single("Reply with the letter A."), ("A", "B"))

    def _url(self, method: str = "") -> str:
        return f"{self.base_url}/v1beta/models/{self.model}{method}"

    def _mapped(self, exc: BackendError) -> BackendError:
        if isinstance(exc, (Unreachable, KeyRejected)) or type(exc) is not BackendError:
            return exc
        text = str(exc)
        if text.startswith("HTTP 400 ") and any(word in text for word in KEY_REJECTED):
            return KeyRejected(text)
        if text.startswith("HTTP 404 "):
            return BackendError(f"Gemini model {self.model} not found at {self.base_url}")
        if text.startswith("HTTP 400 ") and "Logprobs is not enabled" in text:
            return BackendError(f"Gemini model {self.model} gives no log-probabilities (\"Logprobs is not "
                                f"enabled\"); use another model or --mmlu-scoring=generate")
        return exc

    def _reply(self, data) -> Reply:
        """The reply's text (or why there is none) and its usageMetadata."""
        return dataclasses.replace(self._read(data), usage=gemini_usage(data))

    def _read(self, data) -> Reply:
        if not isinstance(data, dict) or not {"candidates", "promptFeedback", "usageMetadata"} & data.keys():
            raise BadReply(f"reply from {self._url()} is not a generateContent reply")
        blocked = (data.get("promptFeedback") or {}).get("blockReason")
        if blocked:
            return Reply(note=f"blocked by Gemini: {blocked}")
        candidates = data.get("candidates") or []
        if not isinstance(candidates, list) or (candidates and not isinstance(candidates[0], dict)):
            raise BadReply(f"reply from {self._url()} has candidates of an unknown shape")
        if not candidates:
            return Reply(note="blocked by Gemini: no candidates")
        candidate = candidates[0]
        finish = candidate.get("finishReason")
        parts = (candidate.get("content") or {}).get("parts") or []
        if not isinstance(parts, list):
            raise BadReply(f"reply from {self._url()} has content.parts of an unknown shape")
        parts = [p for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
        thoughts = "".join(p["text"] for p in parts if p.get("thought")) or None
        if finish in WITHHELD:
            return Reply(reasoning=thoughts, note=f"blocked by Gemini: {finish}")
        return Reply(text="".join(p["text"] for p in parts if not p.get("thought")), reasoning=thoughts,
                     truncated=finish == "MAX_TOKENS")
