"""The table of services: what differs between backends is data here, not code.

Adding an OpenAI-compatible service is one row in SERVICES; a new protocol is one module in this
package with one `Backend` subclass, named in PROTOCOL_CLASSES.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass

from .base import Backend


@dataclass(frozen=True)
class Service:
    """One service a backend talks to: its protocol, defaults, key and capabilities."""

    name: str
    protocol: str  # module in this package that speaks it: openai_chat, ollama, gemini, llama_cpp
    base_url: str | None  # default address, without /v1
    model: str | None  # default model; None: whatever the server serves
    key_env: str | None = None  # environment variable holding the API key
    key_required: bool = False
    scorings: tuple[str, ...] = ("generate",)  # the first is the default
    concurrency: int = 8  # requests in flight per process by default
    max_tokens: int = 1024  # generate: room for a short explanation and the answer line
    reasoning_field: str | None = None  # where a reasoning model puts its thoughts
    served_model_id: bool = False  # ask the server which model it serves (for the cache key)
    key_header: str = "Authorization"  # where the key travels: never in a URL
    logprob_routes: tuple[str, ...] = ()  # where logprobs scoring can read letters: completions, chat
    no_logprobs: str | None = None  # why this service cannot do logprobs scoring, said at start
    server_slots: bool = False  # llama.cpp: ask /props how many requests it serves at once; pin slots


PROTOCOL_CLASSES = {
    "openai_chat": "OpenAIChat",
    "ollama": "OllamaChat",
    "gemini": "Gemini",
    "llama_cpp": "LlamaCpp",
}

OPENAI_DEFAULT = "https://api.openai.com"

SERVICES: dict[str, Service] = {s.name: s for s in (
    Service("llama", "openai_chat", "http://localhost:8080", None,
            scorings=("logprobs", "generate"), concurrency=4, served_model_id=True,
            logprob_routes=("completions", "chat"), server_slots=True),
    Service("openai", "openai_chat", OPENAI_DEFAULT, "gpt-4o-mini", key_env="OPENAI_API_KEY",
            scorings=("generate", "logprobs"), concurrency=16, served_model_id=False,
            logprob_routes=("completions", "chat")),
    Service("ollama", "ollama", "http://localhost:11434", "mistral:7b", concurrency=4,
            scorings=("generate", "logprobs"), logprob_routes=("chat",)),
    Service("deepseek", "openai_chat", "https://api.deepseek.com", "deepseek-chat",
            key_env="DEEPSEEK_API_KEY", key_required=True, concurrency=16,
            scorings=("generate", "logprobs"), logprob_routes=("chat",)),
    Service("deepseek-r1", "openai_chat", "https://api.deepseek.com", "deepseek-reasoner",
            key_env="DEEPSEEK_API_KEY", key_required=True, concurrency=16, max_tokens=8192,
            reasoning_field="reasoning_content",
            no_logprobs="deepseek-reasoner gives no log-probabilities (DeepSeek's API refuses them); "
                        "use --mmlu-scoring=generate, or --mmlu-backend=deepseek for deepseek-chat"),
    Service("gemini", "gemini", "https://generativelanguage.googleapis.com", "gemini-1.5-flash",
            key_env="GEMINI_API_KEY", key_required=True, concurrency=8, key_header="x-goog-api-key",
            scorings=("generate", "logprobs"), logprob_routes=("chat",)),
    Service("mistral", "openai_chat", "https://api.mistral.ai", "mistral-small-latest",
            key_env="MISTRAL_API_KEY", key_required=True, concurrency=8,
            no_logprobs="Mistral's API has no log-probabilities; use --mmlu-scoring=generate"),
    Service("llama-cpp", "llama_cpp", None, None, scorings=("logprobs", "generate"), concurrency=1,
            logprob_routes=("completions", "chat")),
)}


def logprob_route(service: Service, base_url: str | None, prompt_format: str | None) -> str:
    """Where logprobs scoring reads its letters: `completions` (harness prompt, lm-evaluation-harness
    parity) wherever a completions endpoint serves, else `chat` (the `letter` prompt, first token).
    OpenAI's own API serves its chat models on the chat route only."""
    if prompt_format is not None:
        return "chat" if prompt_format == "letter" else "completions"
    if "completions" in service.logprob_routes and base_url != OPENAI_DEFAULT:
        return "completions"
    return "chat"


def normalise_url(url: str) -> str:
    """Accept an address with or without a trailing /v1 (or Gemini's /v1beta)."""
    url = url.strip().rstrip("/")
    for suffix in ("/v1beta", "/v1"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


def default_base_url(service: Service) -> str | None:
    if service.name == "openai" and os.environ.get("OPENAI_BASE_URL"):
        return normalise_url(os.environ["OPENAI_BASE_URL"])
    return service.base_url


def needs_key(service: Service, base_url: str | None) -> bool:
    return service.key_required or (service.key_env is not None and base_url == OPENAI_DEFAULT)


def auth_headers(service: Service, key: str | None) -> dict:
    if not key:
        return {}
    return {service.key_header: f"Bearer {key}" if service.key_header == "Authorization" else key}


def make_backend(service: Service, base_url: str | None, model: str | None, transport) -> Backend:
    module = importlib.import_module(f".{service.protocol}", __package__)
    cls = getattr(module, PROTOCOL_CLASSES[service.protocol])
    return cls(service, base_url, model, transport)
