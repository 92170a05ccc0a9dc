"""How a run is named and described in reports and comparisons."""

from __future__ import annotations

from pathlib import PurePath
from urllib.parse import urlsplit, urlunsplit


def model_name(model: str | None) -> str | None:
    """A GGUF path reads as its file name; any other model id as it is."""
    if model and model.lower().endswith(".gguf"):
        return PurePath(model.replace("\\", "/")).name
    return model


def default_label(model: str | None, backend: str | None) -> str:
    """`mistral-7b-instruct-v0.2.Q4_K_M.gguf (llama)`."""
    return f"{model_name(model) or 'unknown model'} ({backend or 'unknown backend'})"


def public_url(url: str) -> str:
    """An address fit for a report: no user, password, query or fragment (where keys may hide)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
