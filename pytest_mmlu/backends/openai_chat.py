"""OpenAI-compatible services: llama.cpp's server, vLLM, OpenAI, DeepSeek, Mistral, Ollama's /v1.

Chat completions for `generate`; completions with `logprobs` for `logprobs`.
"""

from __future__ import annotations

from ..prompts import Prompt
from ..transport import Transport
from .base import BackendError, BadReply, KeyRejected, Reply, Unreachable


class OpenAIChat:
    def __init__(self, service, base_url: str, model: str | None, transport: Transport):
        self.service = service
        self.name = service.name
        self.base_url = base_url
        self.model = model
        self.transport = transport

    def probe(self) -> str | None:
        """One cheap request before the run: is the server there, is the key accepted?

        Returns the id of the model the server serves (llama.cpp servers ignore `model`).
        """
        try:
            data = self.transport.get_json(f"{self.base_url}/v1/models")
        except (Unreachable, KeyRejected):
            raise
        except BackendError:
            return None  # a server without /v1/models can still answer completions
        models = data.get("data") if isinstance(data, dict) else None
        if models and isinstance(models[0], dict):
            return models[0].get("id")
        return None

    def generate(self, prompt: Prompt, max_tokens: int, temperature: float) -> Reply:
        payload = {"messages": list(prompt.messages), "max_tokens": max_tokens,
                   "temperature": temperature, "stream": False}
        if self.model:
            payload["model"] = self.model
        data = self.transport.post_json(f"{self.base_url}/v1/chat/completions", payload)
        choice = _first_choice(data, self.base_url)
        message = choice.get("message")
        if not isinstance(message, dict):
            raise BadReply(f"reply from {self.base_url} has no choices[0].message")
        reasoning = message.get(self.service.reasoning_field) if self.service.reasoning_field else None
        content = message.get("content") or ""
        return Reply(text=content if isinstance(content, str) else str(content),
                     reasoning=reasoning or None,
                     truncated=choice.get("finish_reason") == "length")

    def score(self, prompt: Prompt, letters: tuple[str, ...]) -> Reply:
        payload = {"prompt": prompt.text, "max_tokens": 1, "temperature": 0,
                   "logprobs": 20, "stream": False}
        if self.model:
            payload["model"] = self.model
        data = self.transport.post_json(f"{self.base_url}/v1/completions", payload)
        top = _top_logprobs(_first_choice(data, self.base_url), self.base_url)
        # the continuation ' A', exactly as lm-evaluation-harness scores it
        found = {letter: top[f" {letter}"] for letter in letters if f" {letter}" in top}
        return Reply(text=(data["choices"][0].get("text") or ""), logprobs=found,
                     note=None if found else "no choice letter among the top 20 next tokens")

    def close(self) -> None:
        pass


def _first_choice(data, base_url: str) -> dict:
    choices = data.get("choices") if isinstance(data, dict) else None
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise BadReply(f"reply from {base_url} has no choices")
    return choices[0]


def _top_logprobs(choice: dict, base_url: str) -> dict[str, float]:
    """The next token's top log-probabilities, in either shape servers use."""
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, dict):
        raise BadReply(f"reply from {base_url} has no logprobs; does this server support them?")
    top = logprobs.get("top_logprobs")
    if isinstance(top, list) and top and isinstance(top[0], dict):  # completions: [{token: logprob}]
        return {str(k): float(v) for k, v in top[0].items()}
    content = logprobs.get("content")
    if isinstance(content, list) and content and isinstance(content[0], dict):  # chat shape
        return {e["token"]: float(e["logprob"]) for e in content[0].get("top_logprobs", [])}
    raise BadReply(f"reply from {base_url} has logprobs of an unknown shape")
