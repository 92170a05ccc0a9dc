"""Ollama's native API: `/api/chat` without streaming; `/api/tags` to check the model is pulled.

Log-probabilities (Ollama 0.12.11 and later): `/api/chat` with `logprobs`/`top_logprobs` answers a
top-level `logprobs` list, one entry per generated token; older servers ignore the fields.
"""

from __future__ import annotations

from ..core.errors import BackendError, BadReply, KeyRejected, Unreachable
from ..core.prompt import Prompt
from ..core.reply import Reply
from .base import Backend
from .letters import read_letters
from .transport import Transport
from .usage import ollama_usage

TOP_K = 20  # Ollama's maximum
LOGPROBS_SINCE = "0.12.11"


class OllamaChat(Backend):
    """Ollama's native chat API."""

    def __init__(self, service, base_url: str, model: str | None, transport: Transport):
        super().__init__(service, base_url, model or service.model, transport)

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
        data = self._chat(payload)
        message = data.get("message") if isinstance(data, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise BadReply(f"reply from {self.base_url}/api/chat has no message.content")
        return Reply(text=message["content"], reasoning=message.get("thinking") or None,
                     truncated=data.get("done_reason") == "length", usage=ollama_usage(data))

    def score(self, prompt: Prompt, letters: tuple[str, ...]) -> Reply:
        raise BackendError("Ollama gives log-probabilities on its chat route only: use --mmlu-prompt=letter "
                           "with --mmlu-scoring=logprobs, or --mmlu-scoring=generate")

    def score_chat(self, prompt: Prompt, letters: tuple[str, ...]) -> Reply:
        payload = {"model": self.model, "messages": list(prompt.messages), "stream": False,
                   "logprobs": True, "top_logprobs": TOP_K, "options": {"temperature": 0, "num_predict": 1}}
        data = self._chat(payload)
        entries = data.get("logprobs") if isinstance(data, dict) else None
        if entries is None:
            raise BackendError(self._too_old())
        if not isinstance(entries, list) or (entries and not isinstance(entries[0], dict)):
            raise BadReply(f"reply from {self.base_url}/api/chat has logprobs of an unknown shape")
        message = data.get("message") if isinstance(data.get("message"), dict) else {}
        if not entries:
            return Reply(first_token="", note="the model generated no token", usage=ollama_usage(data))
        first = entries[0]
        top = first.get("top_logprobs") or []
        if not isinstance(top, list) or not all(isinstance(e, dict) and "token" in e for e in top):
            raise BadReply(f"reply from {self.base_url}/api/chat has top_logprobs of an unknown shape")
        reading = read_letters(((e["token"], e.get("logprob", float("-inf"))) for e in top), letters,
                               first_token=first.get("token"), k=TOP_K)
        return Reply(text=str(message.get("content") or ""), logprobs=reading.scores,
                     first_token=reading.first_token, note=reading.note, usage=ollama_usage(data))

    def check_logprobs(self) -> None:
        """At start: one tiny request, so an Ollama too old for log-probabilities stops the run once."""
        self.score_chat(Prompt.single("Reply with the letter A."), ("A", "B"))

    def _chat(self, payload: dict) -> dict:
        try:
            return self.transport.post_json(f"{self.base_url}/api/chat", payload)
        except BackendError as exc:
            if type(exc) is BackendError and str(exc).startswith("HTTP 404 ") and "not found" in str(exc):
                raise self._not_pulled() from None
            raise

    def _too_old(self) -> str:
        try:
            version = (self.transport.get_json(f"{self.base_url}/api/version") or {}).get("version")
        except BackendError:
            version = None
        this = f" (this one is {version})" if version else ""
        return (f"the Ollama server at {self.base_url} answered without log-probabilities: they need Ollama "
                f"{LOGPROBS_SINCE} or later{this}; upgrade it, or use --mmlu-scoring=generate")

    def _not_pulled(self) -> BackendError:
        return BackendError(f"model '{self.model}' is not pulled on the Ollama server at {self.base_url}; "
                            f"run: ollama pull {self.model}")


def _tagged(name: str) -> str:
    """`mistral` and `mistral:latest` are the same model to Ollama."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"
