"""Ollama's native API: `/api/chat` without streaming; `/api/tags` to check the model is pulled."""

from __future__ import annotations

from ..prompts import Prompt
from ..transport import Transport
from .base import BackendError, BadReply, KeyRejected, Reply, Unreachable


class OllamaChat:
    def __init__(self, service, base_url: str, model: str | None, transport: Transport):
        self.service = service
        self.name = service.name
        self.base_url = base_url
        self.model = model or service.model
        self.transport = transport

    def probe(self) -> str:
        """Is the server there, and is the model pulled? Ollama would otherwise fail every question alike."""
        try:
            data = self.transport.get_json(f"{self.base_url}/api/tags")
        except (Unreachable, KeyRejected):
            raise
        except BackendError as exc:
            raise BackendError(f"{self.base_url} does not answer like an Ollama server: {exc}") from None
        models = data.get("models") if isinstance(data, dict) else None
        if not isinstance(models, list):
            raise BadReply(f"reply from {self.base_url}/api/tags has no model list")
        pulled = {_tagged(m.get(k)) for m in models if isinstance(m, dict) for k in ("name", "model") if m.get(k)}
        if _tagged(self.model) not in pulled:
            raise self._not_pulled()
        return self.model

    def generate(self, prompt: Prompt, max_tokens: int, temperature: float) -> Reply:
        payload = {"model": self.model, "messages": list(prompt.messages), "stream": False,
                   "options": {"temperature": temperature, "num_predict": max_tokens}}
        try:
            data = self.transport.post_json(f"{self.base_url}/api/chat", payload)
        except BackendError as exc:
            if type(exc) is BackendError and str(exc).startswith("HTTP 404 ") and "not found" in str(exc):
                raise self._not_pulled() from None
            raise
        message = data.get("message") if isinstance(data, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise BadReply(f"reply from {self.base_url}/api/chat has no message.content")
        return Reply(text=message["content"], reasoning=message.get("thinking") or None,
                     truncated=data.get("done_reason") == "length")

    def score(self, prompt: Prompt, letters: tuple[str, ...]) -> Reply:
        raise BackendError("Ollama's /api/chat gives no next-token log-probabilities; "
                           "use --mmlu-scoring=generate")

    def close(self) -> None:
        pass

    def _not_pulled(self) -> BackendError:
        return BackendError(f"model '{self.model}' is not pulled on the Ollama server at {self.base_url}; "
                            f"run: ollama pull {self.model}")


def _tagged(name: str) -> str:
    """`mistral` and `mistral:latest` are the same model to Ollama."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"
