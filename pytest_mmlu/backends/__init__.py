"""Backends: one module per protocol behind one interface (`base.Backend`), the table of services, the HTTP
transport they share, API keys, and the reading of letters from token log-probabilities."""

from ..core.errors import BackendError, BadReply, KeyRejected, Unreachable
from .base import Backend
from .services import (
                       OPENAI_DEFAULT,
                       PROTOCOL_CLASSES,
                       SERVICES,
                       Service,
                       auth_headers,
                       default_base_url,
                       logprob_route,
                       make_backend,
                       needs_key,
                       normalise_url,
)

__all__ = ["OPENAI_DEFAULT", "PROTOCOL_CLASSES", "SERVICES", "Backend", "BackendError", "BadReply", "KeyRejected",
           "Service", "Unreachable", "auth_headers", "default_base_url", "logprob_route", "make_backend",
           "needs_key", "normalise_url"]
