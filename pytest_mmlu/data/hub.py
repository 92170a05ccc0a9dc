"""The Hugging Face hub when there is no way to it: one look in a few seconds, the local copy if
there is one, else one line saying what to do (instead of the hub client's retries and warnings)."""

from __future__ import annotations

import logging
import os

import requests

BUILDERS = {"json", "csv", "parquet", "text", "arrow"}  # local files: no hub involved
PROBE_TIMEOUT = 5.0
OFFLINE_VARS = ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")
NOISY_LOGGERS = ("huggingface_hub", "datasets", "fsspec", "urllib3", "filelock")
HELP = ("set HF_DATASETS_OFFLINE=1 where a cached copy exists, or give a local folder or file with "
        "--mmlu-dataset (README: Data: offline and local)")

_unreachable: dict[str, str | None] = {}  # endpoint -> why it cannot be reached (None: it can)


class HubUnreachable(Exception):
    pass


def _offline_set() -> list[str]:
    """The offline variables the user set, as set: the line that blames them names only these."""
    return [f"{v}={os.environ[v].strip()}" for v in OFFLINE_VARS
            if os.environ.get(v, "").strip().upper() in ("1", "ON", "YES", "TRUE")]


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def why_unreachable(url: str) -> str | None:
    """None when the hub answers at all (any HTTP status will do), else the reason, in one phrase."""
    if url not in _unreachable:
        try:
            requests.head(f"{url}/api/datasets", timeout=PROBE_TIMEOUT, allow_redirects=False).close()
            _unreachable[url] = None
        except requests.exceptions.Timeout:
            _unreachable[url] = f"no answer within {PROBE_TIMEOUT:g}s"
        except requests.exceptions.RequestException as exc:
            text = str(exc)
            _unreachable[url] = ("name not resolved" if "resolve" in text or "Name or service" in text
                                 else "connection refused" if "refused" in text else "no connection")
    return _unreachable[url]


def _quiet() -> None:
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def _go_offline() -> None:
    """For this process only: the hub client reads its cache and does not retry the network."""
    import datasets.config
    import huggingface_hub.constants

    datasets.config.HF_HUB_OFFLINE = True
    huggingface_hub.constants.HF_HUB_OFFLINE = True
    if hasattr(datasets.config, "HF_DATASETS_OFFLINE"):
        datasets.config.HF_DATASETS_OFFLINE = True


def load(load_dataset, name: str, *args, **kwargs):
    """`load_dataset(name, ...)`, failing fast with one line when the hub cannot be reached."""
    if name in BUILDERS or os.path.exists(name):
        return load_dataset(name, *args, **kwargs)
    _quiet()
    offline = _offline_set()
    if offline:
        try:
            return load_dataset(name, *args, **kwargs)
        except Exception as exc:
            raise HubUnreachable(f"{name} is not in the local Hugging Face cache and {' and '.join(offline)} "
                                 f"{'is' if len(offline) == 1 else 'are'} set ({_first_line(exc)}); give a local "
                                 f"folder or file with --mmlu-dataset (README: Data: offline and local)") from None
    url = endpoint()
    reason = why_unreachable(url)
    if reason is None:
        return load_dataset(name, *args, **kwargs)
    _go_offline()
    try:
        return load_dataset(name, *args, **kwargs)  # a cached copy still serves
    except Exception:
        raise HubUnreachable(f"cannot reach the Hugging Face hub at {url} ({reason}) to load {name}, and no "
                             f"cached copy was found; {HELP}") from None


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
