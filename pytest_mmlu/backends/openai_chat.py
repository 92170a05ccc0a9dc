"""OpenAI-compatible services: llama.cpp's server, vLLM, OpenAI, DeepSeek, Mistral, Ollama's /v1.

Chat completions for `generate`; completions with `logprobs` for `logprobs` (the harness route), or
chat completions with `logprobs`/`top_logprobs` and one output token (the chat route, `score_chat`).
llama.cpp's server also says how many requests it serves at once (`/props` `total_slots`).
"""

from __future__ import annotations

import copy

from ..core.errors import BackendError, BadReply, KeyRejected, Unreachable
from ..core.prompt import Prompt
from ..core.reply import Reply
from .base import Backend
from .letters import read_letters
from .transport import Transport
from .usage import openai_usage

TOP_K = 20  # the most OpenAI, DeepSeek and vLLM (by default) give


class OpenAIChat(Backend):
    """Any OpenAI-compatible server; llama.cpp's own fields (slots, prompt cache) where the service has them."""

    def __init__(self, service, base_url: str, model: str | None, transport: Transport):
        super().__init__(service, base_url, model, transport)
        self.slot: int | None = None  # llama.cpp: the slot this view's requests are pinned to

    def on_slot(self, slot: int) -> "OpenAIChat":
        """The same server, with every request pinned to one of its slots (`id_slot`)."""
        view = copy.copy(self)
        view.slot = slot
        return view

    def probe(self) -> str | None:
        """One cheap request before the run: is the server there, is the key accepted?

        Returns the id of the model that will answer: on a server that ignores `model` (llama.cpp) or when no
        model is named, the one the server lists first; otherwise the named model where the server lists it. A
        service listing many models (OpenAI, DeepSeek, Mistral) does not serve its first one to every request.
        """
        try:
            data = self.transport.get_json(f"{self.base_url}/v1/models")
        except (Unreachable, KeyRejected):
            raise
        except BackendError:
            return None  # a server without /v1/models can still answer completions
        if self.service.server_slots:
            self.slots = self._total_slots()
        models = data.get("data") if isinstance(data, dict) else None
        ids = [m.get("id") for m in models if isinstance(m, dict)] if isinstance(models, list) else []
        if self.service.served_model_id or not self.model:
            return ids[0] if ids else None
        return self.model if self.model in ids else None

    def _total_slots(self) -> int | None:
        try:
            props = self.transport.get_json(f"{self.base_url}/props")
        except BackendError:
            return None  # llama-cpp-python's server has no /props
        slots = props.get("total_slots") if isinstance(props, dict) else None
        return slots if isinstance(slots, int) and slots > 0 else None

    def _server_fields(self) -> dict:
        """llama.cpp's own request fields: keep the slot's cached prefix, and the slot itself."""
        if not self.service.server_slots:
            return {}  # OpenAI and others reject fields they do not know
        return {"cache_prompt": True, **({"id_slot": self.slot} if self.slot is not None else {})}

    def _post(self, path: str, payload: dict) -> dict:
        """One request: the model asked for (if any) and llama.cpp's slot fields added to the payload."""
        if self.model:
            payload["model"] = self.model
        payload.update(self._server_fields())
        return self.transport.post_json(f"{self.base_url}{path}", payload)

    def generate(self, prompt: Prompt, max_tokens: int, temperature: float) -> Reply:
        payload = {"messages": list(prompt.messages), "max_tokens": max_tokens,
                   "temperature": temperature, "stream": False}
        data = self._post("/v1/chat/completions", payload)
        choice = _first_choice(data, self.base_url)
        message = choice.get("message")
        if not isinstance(message, dict):
            raise BadReply(f"reply from {self.base_url} has no choices[0].message")
        reasoning = message.get(self.service.reasoning_field) if self.service.reasoning_field else None
        content = message.get("content") or ""
        return Reply(text=content if isinstance(content, str) else str(content),
                     reasoning=reasoning or None,
                     truncated=choice.get("finish_reason") == "length", usage=openai_usage(data))

    def score(self, prompt: Prompt, letters: tuple[str, ...]) -> Reply:
        payload = {"prompt": prompt.text, "max_tokens": 1, "temperature": 0,
                   "logprobs": 20, "stream": False}
        data = self._post("/v1/completions", payload)
        top = _top_logprobs(_first_choice(data, self.base_url), self.base_url)
        # the continuation ' A', exactly as lm-evaluation-harness scores it
        found = {letter: top[f" {letter}"] for letter in letters if f" {letter}" in top}
        return Reply(text=(data["choices"][0].get("text") or ""), logprobs=found,
                     note=None if found else "no choice letter among the top 20 next tokens",
                     usage=openai_usage(data))

    def score_chat(self, prompt: Prompt, letters: tuple[str, ...]) -> Reply:
        payload = {"messages": list(prompt.messages), "max_tokens": 1, "temperature": 0,
                   "logprobs": True, "top_logprobs": TOP_K, "stream": False}
        data = self._post("/v1/chat/completions", payload)
        choice = _first_choice(data, self.base_url)
        logprobs = choice.get("logprobs")
        content = logprobs.get("content") if isinstance(logprobs, dict) else None
        if not isinstance(content, list):
            raise BadReply(f"reply from {self.base_url} has no logprobs.content; does this server give "
                           f"log-probabilities on its chat route?")
        if not content:  # the model stopped at once: no token, nothing to read
            return Reply(first_token="", note="the model generated no token", usage=openai_usage(data))
        first = content[0] if isinstance(content[0], dict) else {}
        top = first.get("top_logprobs")
        if not isinstance(top, list) or not all(isinstance(e, dict) and "token" in e for e in top):
            raise BadReply(f"reply from {self.base_url} has chat logprobs of an unknown shape")
        reading = read_letters(((e["token"], e.get("logprob", float("-inf"))) for e in top), letters,
                               first_token=first.get("token"), k=TOP_K)
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        return Reply(text=str(message.get("content") or ""), logprobs=reading.scores,
                     first_token=reading.first_token, note=reading.note, usage=openai_usage(data))

    def check_logprobs(self) -> None:
        """At start: one tiny request, so a model that refuses chat log-probabilities stops the run once."""
        try:
            self.score_chat(Prompt.single("Reply with the letter A."), ("A", "B"))
        except (Unreachable, KeyRejected):
            raise
        except BackendError as exc:
            raise BackendError(f"{self.model or 'the model'} at {self.base_url} refused a chat log-probability "
                               f"request: {exc}") from None



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
