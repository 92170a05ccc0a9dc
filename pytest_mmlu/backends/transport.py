"""HTTP for the backends: timeouts, bounded retries with capped backoff, honest errors.

Retries are urllib3's: exponential backoff with a cap, `Retry-After` honoured
(but never beyond the cap), no retry for 4xx other than 408/429. A refusal for the
rate (429) is retried here instead, so that the endpoint's `Pacer` learns of it and
slows the requests that follow; it waits what the service names, else the backoff.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import urllib.parse
import urllib.request
from typing import Mapping

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from ..core.errors import BackendError, BackendTimeout, BadReply, KeyRejected, RateLimited, Unreachable
from .pacing import Pacer, hold_for, wait_named

__all__ = ["BACKOFF_CAP", "MAX_REPLY_BYTES", "RETRY_STATUS", "BackendTimeout", "RateLimited", "Transport",
           "connect_error"]

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})  # 429: retried here, paced (see _request)
MAX_REPLY_BYTES = 8 * 1024 * 1024
BACKOFF_CAP = 30.0
REFUSALS_CAP = 10  # refusals for the rate one request may meet, in (--mmlu-retries + 1)s, others answered or not


class _CappedRetry(Retry):
    # a server asking for an hour's pause must not stall a CI run for an hour
    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.backoff_max)

    # a refusal for the rate comes back to Transport._request (which tells the pacer), Retry-After or not
    def is_retry(self, method, status_code, has_retry_after=False):
        return status_code != 429 and super().is_retry(method, status_code, has_retry_after)


def _retry(retries: int, backoff: float) -> Retry:
    return _CappedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=retries,
        status_forcelist=RETRY_STATUS,  # but 429: see _CappedRetry.is_retry
        allowed_methods=None,  # our POSTs are safe to repeat
        backoff_factor=backoff,
        backoff_max=BACKOFF_CAP,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class Transport:
    def __init__(self, *, timeout: float, retries: int, headers: dict | None = None,
                 secrets: tuple[str, ...] = (), backoff: float = 0.5,
                 max_bytes: int = MAX_REPLY_BYTES, pacer: Pacer | None = None):
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.headers = dict(headers or {})
        self.secrets = tuple(s for s in secrets if s)
        self.max_bytes = max_bytes
        self.pacer = pacer or Pacer()  # shared by the transports of one endpoint (one key)
        self._local = threading.local()
        # the environment is read once, here: request threads must not iterate os.environ while
        # pytest's main thread sets and deletes PYTEST_CURRENT_TEST (a KeyError mid-request)
        self._proxies = urllib.request.getproxies_environment()
        self._verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        # urllib3 logs each retry as a warning, which pytest would show under every item it overlaps;
        # what the retries came to is this module's one error line
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=_retry(self.retries, self.backoff), pool_maxsize=64)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update(self.headers)
            session.trust_env = False  # proxies and CA bundle come from the snapshot taken in __init__
            session.verify = self._verify
            self._local.session = session
        return session

    def _proxies_for(self, url: str) -> dict:
        proxies = {k: v for k, v in self._proxies.items() if k != "no"}
        host = urllib.parse.urlsplit(url).hostname or ""
        if not proxies or urllib.request.proxy_bypass_environment(host, self._proxies):
            return {}
        return proxies

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def post_json(self, url: str, payload: dict) -> dict:
        return self._request("POST", url, payload)

    def get_json(self, url: str) -> dict:
        return self._request("GET", url, None)

    def _request(self, method: str, url: str, payload: dict | None) -> dict:
        # urllib3 retries what fails before the reply starts; a reply cut mid-body, and a refusal for the rate,
        # are retried here
        cuts = refusals = in_a_row = 0
        answered = self.pacer.answered
        while True:
            started = self.pacer.start()
            try:
                data, headers = self._once(method, url, payload)
            except _CutOff as cut:
                if cuts == self.retries:
                    raise BackendError(self.redact(f"connection to {url} broke while reading the reply ({cut})"))
                time.sleep(min(self.backoff * 2 ** cuts, BACKOFF_CAP))
                cuts += 1
                continue
            except _Refused as refused:
                named = None if refused.wait is None else min(refused.wait, BACKOFF_CAP)
                self.pacer.refused(started, None if refused.hold is None else min(refused.hold, BACKOFF_CAP))
                # refusals while other requests are answered are the rate, met by the pace: only refusals in a
                # row with nothing answered in between count, twice --mmlu-retries of them (the pace serialises
                # the requests a storm refuses, so one request meets more of it than it would alone); and all of
                # them against a cap
                if self.pacer.answered > answered:
                    in_a_row, answered = 0, self.pacer.answered
                if in_a_row == 2 * self.retries or refusals == REFUSALS_CAP * (self.retries + 1):
                    raise RateLimited(f"rate limited by {url} (HTTP 429) after {refusals + 1} tries"
                                      + ("" if in_a_row == 2 * self.retries else ", others answered meanwhile")
                                      ) from None
                time.sleep(min(named if named is not None else self.backoff * 2 ** in_a_row, BACKOFF_CAP))
                refusals += 1
                in_a_row += 1
                continue
            self.pacer.accepted(started, headers)
            return data

    def _once(self, method: str, url: str, payload: dict | None) -> tuple[dict, Mapping[str, str]]:
        try:
            response = self._session().request(method, url, json=payload, timeout=self.timeout, stream=True,
                                               proxies=self._proxies_for(url))
        except requests.exceptions.ConnectTimeout:
            raise Unreachable(self.redact(f"cannot reach {url}: connection timed out")) from None
        except requests.exceptions.Timeout:
            raise BackendTimeout(f"no reply from {url} within {self.timeout:g}s "
                                 f"({self.retries + 1} tries)") from None
        except requests.exceptions.RetryError as exc:
            raise BackendError(self.redact(f"{url}: gave up after {self.retries + 1} tries ({exc})")) from None
        except requests.exceptions.ConnectionError as exc:
            if _is_refused(exc):
                raise Unreachable(f"cannot reach {url}: connection refused") from None
            if _timed_out(exc):  # urllib3 gave up on read timeouts: requests calls that a ConnectionError
                raise BackendTimeout(f"no reply from {url} within {self.timeout:g}s "
                                     f"({self.retries + 1} tries)") from None
            raise _CutOff(self.redact(_short(exc))) from None
        with response:
            body = self._read(response)
        status = response.status_code
        if status in (401, 403):
            raise KeyRejected(f"HTTP {status} from {url}: {self.redact(_message(body))}")
        if status == 429:
            data = _json_or_none(body)
            if _quota_gone(data):
                raise KeyRejected(f"HTTP 429 from {url}: {self.redact(_message(body))}")
            wait = wait_named(response.headers, data)
            raise _Refused(wait, hold_for(response.headers, wait))
        if status >= 400:
            raise BackendError(f"HTTP {status} from {url}: {self.redact(_message(body))}")
        try:
            return json.loads(body), response.headers
        except ValueError:
            raise BadReply(f"reply from {url} is not JSON: {self.redact(_snippet(body))!r}") from None

    def _read(self, response: requests.Response) -> bytes:
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(65536):
                size += len(chunk)
                if size > self.max_bytes:
                    raise BadReply(f"reply from {response.url} is larger than "
                                   f"{self.max_bytes // (1024 * 1024)} MiB; not read further")
                chunks.append(chunk)
        except requests.exceptions.Timeout:
            raise BackendTimeout(f"reply from {response.url} stalled for {self.timeout:g}s") from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError) as exc:
            if _timed_out(exc):  # requests reports a read timeout mid-body as ConnectionError
                raise BackendTimeout(f"reply from {response.url} stalled for {self.timeout:g}s") from None
            raise _CutOff(_short(exc)) from None
        return b"".join(chunks)


def connect_error(url: str, timeout: float) -> str | None:
    """Why no TCP connection to this address can be opened (a cheap check at start), or None."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=min(timeout, 10)).close()
    except OSError as exc:
        return str(exc.strerror or exc)
    return None


class _CutOff(Exception):
    pass


class _Refused(Exception):
    """HTTP 429: `wait`, the seconds the service asked for, or None."""

    def __init__(self, wait: float | None, hold: float | None):
        super().__init__(wait)
        self.wait, self.hold = wait, hold  # this request's wait; every request's


def _quota_gone(data) -> bool:
    """OpenAI's 429 for a key out of credit (its parsed body): no wait will help (`insufficient_quota`)."""
    error = data.get("error") if isinstance(data, dict) else None
    return isinstance(error, dict) and "insufficient_quota" in (error.get("code"), error.get("type"))


def _json_or_none(body: bytes):
    try:
        return json.loads(body)
    except ValueError:
        return None


def _is_refused(exc: Exception) -> bool:
    text = str(exc)
    return any(word in text for word in ("Connection refused", "NewConnectionError",
                                         "Name or service not known", "nodename nor servname",
                                         "Failed to resolve", "No route to host"))


def _timed_out(exc: Exception) -> bool:
    """requests wraps a read timeout as ConnectionError(ReadTimeoutError) or (MaxRetryError(ReadTimeoutError))."""
    cause = exc.args[0] if exc.args else None
    return isinstance(cause, ReadTimeoutError) or isinstance(getattr(cause, "reason", None), ReadTimeoutError)


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200]


def _snippet(body: bytes) -> str:
    return body[:300].decode("utf-8", "replace").strip()


def _message(body: bytes) -> str:
    """The service's own words from an error reply (`error.message` and kin), on one line."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, list) and data:  # Gemini wraps its error in a list at times
        data = data[0]
    if isinstance(data, dict):
        error = data.get("error", data)
        text = error.get("message") or error.get("detail") if isinstance(error, dict) else error
        if isinstance(text, str) and text.strip():
            status = error.get("status") if isinstance(error, dict) else None  # Google's PERMISSION_DENIED
            return " ".join(text.split())[:300] + (f" ({status})" if isinstance(status, str) else "")
    return " ".join(_snippet(body).split())
