"""The one interface every backend implements: ask for a reply, score the choices, and the capabilities
around them, each a method with a default here, so that nothing asks a backend what it has.

Error semantics, for every method that talks to a service (see core/errors.py):
- `Unreachable`: no connection; the engine hands the question to another server, or stops the run.
- `KeyRejected`: the key was refused; the engine stops the run at once.
- `BadReply`, `BackendTimeout`, any other `BackendError`: this question errors (never a wrong answer).
A reply that is readable but holds no answer (a safety block, an empty text) is a `Reply` with a `note`,
not an error: the question is counted as unparsed.
"""

from __future__ import annotations

from ..core.errors import BackendError
from ..core.prompt import Prompt
from ..core.reply import Reply


class Backend:
    """One model at one address (or in process); `backends/services.py` builds one per server.

    Subclasses implement `generate`, and `score`/`score_chat` where the service gives log-probabilities.
    """

    def __init__(self, service, base_url: str | None, model: str | None, transport=None):
        self.service = service
        self.name: str = service.name
        self.base_url: str | None = base_url  # None: in process
        self.model: str | None = model
        self.transport = transport
        # requests the server serves at once, learned by probe(); a backend that knows them can pin to one (on_slot)
        self.slots: int | None = None

    def probe(self) -> str | None:
        """One cheap check before the run: is the server there, is the key accepted, is the model there?

        Returns the id of the model the server serves (part of the cache key), or None when it does not say.
        """
        return None

    def identity(self) -> dict:
        """What identifies the model for the cache key beyond backend and model name (a GGUF file's size...)."""
        return {}

    def check_logprobs(self) -> None:
        """At start, for the chat log-probability route: raise BackendError if the model cannot give them."""

    def on_slot(self, slot: int) -> "Backend":
        """The same server with every request pinned to one of its `slots` (asked only where `slots` is known)."""
        return self

    def generate(self, prompt: Prompt, max_tokens: int, temperature: float) -> Reply:
        """Generated text (generate scoring)."""
        raise BackendError(f"the {self.name} backend cannot generate replies")

    def score(self, prompt: Prompt, letters: tuple[str, ...]) -> Reply:
        """Next-token log-probabilities of ' A'..' D' after the prompt, in one forward pass (the completions route)."""
        raise BackendError(f"the {self.name} backend gives no log-probabilities after a plain prompt")

    def score_chat(self, prompt: Prompt, letters: tuple[str, ...]) -> Reply:
        """Letter scores from the first token of a chat reply's top log-probabilities (backends/letters.py)."""
        raise BackendError(f"the {self.name} backend gives no log-probabilities on its chat route")

    def close(self) -> None:
        """Free what the backend holds (an in-process model); HTTP backends hold nothing."""
