"""Local stand-ins for the model services, answering with each service's real reply shapes.

A fake is a threaded HTTP server on 127.0.0.1 (a free port) that records every request
and answers it like the real service would. Faults are scripted for the next requests:

    with OpenAIFake("deepseek", answer=always("C"), require_key="sk-test") as fake:
        fake.script(fake.error("rate_limited", retry_after=1), fake.error("server"))
        ...                       # the 1st request gets 429, the 2nd 500, then real answers
        fake.requests[-1].body    # what the client sent

A fake made with `rate_limit=(R, B)` lets POSTs through a token bucket of R a second with a burst of B, as a
service's rate limit does, and answers the others with the service's own 429 (`limits` counts both).

A fake made with `go_away_after=n` answers exactly n POSTs and then goes away as a crashed
server does: the next POST (counted under the fake's lock, whatever the thread scheduling) is not
recorded, its connection is reset and the listening socket shut, so every later connection is
refused. GETs (the start-up probe) never count.

What differs between services (routes, reply shapes, error bodies) is data and a
`render` method in each subclass; the serving and the faults are shared.
"""

from __future__ import annotations

import json
import math
import re
import select
import socket
import struct
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

# -- answerers: prompt text -> reply text -------------------------------------------


def always(letter: str) -> Callable[[str], str]:
    """A model that always picks `letter`, after a short explanation."""
    return lambda prompt: f"Looking at the options, {letter} fits best.\nAnswer: {letter}"


def choice_containing(word: str, otherwise: str = "A") -> Callable[[str], str]:
    """A model that reads the last question's `X. text` lines and picks the first choice containing `word`."""
    def answer(prompt: str) -> str:
        # the last paragraph with options: an instruction may follow it
        question = [p for p in prompt.split("\n\n") if re.search(r"^[A-J]\. ", p, re.MULTILINE)][-1]
        for letter, text in re.findall(r"^([A-J])\. (.*)$", question, re.MULTILINE):
            if word in text:
                return always(letter)(prompt)
        return always(otherwise)(prompt)
    return answer


def letter_of(reply: str) -> str:
    found = re.findall(r"Answer:\s*([A-J])", reply)
    return found[-1] if found else "A"


# -- requests and faults ----------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: object  # parsed JSON, or None
    sent: int = 0  # body bytes the fake managed to send back
    reply: object = None  # the JSON the fake answered with (tests recompute token totals from it)
    at: float = 0.0  # time.monotonic() when it came


@dataclass(frozen=True)
class Fault:
    """What to do with one request instead of answering it normally."""

    status: int = 200
    body: object = None  # bytes/str sent as is, else JSON; a callable gets the request; None: the normal answer
    headers: tuple[tuple[str, str], ...] = ()
    hang: float = 0.0  # wait this long before answering (past the client's timeout)
    cut: bool = False  # send the headers and part of the body, then reset the connection
    stall: float = 0.0  # with cut: wait this long between the part of the body and the reset
    size: int = 0  # stream a body of this many bytes (a runaway reply)


def status(code: int, body: object = b"", **headers: str) -> Fault:
    return Fault(code, body, tuple((k.replace("_", "-"), str(v)) for k, v in headers.items()))


def hang(seconds: float) -> Fault:
    return Fault(hang=seconds)


def cut(stall: float = 0.0) -> Fault:
    """A reply broken mid-body; with `stall`, it stops for that long first (a read timeout mid-body)."""
    return Fault(cut=True, stall=stall)


def huge(megabytes: float) -> Fault:
    return Fault(size=int(megabytes * 1024 * 1024))


def not_json() -> Fault:
    return Fault(200, b"<html><body><h1>Welcome to nginx!</h1></body></html>", (("Content-Type", "text/html"),))


class Bucket:
    """A service's request limit: R requests a second with a burst of B (a token bucket), as providers meter."""

    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.at = time.monotonic()
        self.accepted = self.refused = 0

    def take(self) -> float:
        """0 when the request may pass (a token taken), else the seconds until the next token (under the fake's lock)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.accepted += 1
            return 0.0
        self.refused += 1
        return (1 - self.tokens) / self.rate

    def full_in(self) -> float:
        return (self.burst - self.tokens) / self.rate


# -- the server ---------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real services
    disable_nagle_algorithm = True  # no delayed-ACK stalls between headers and body

    def do_GET(self):
        self.server.fake._handle(self)

    do_POST = do_GET

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # the listen backlog (default 5): 8 clients connecting at once on a loaded machine overflow 5, and a
    # dropped SYN is sent again only after 1 s, which a test with a 1 s timeout would read as a server gone
    request_queue_size = 128


class FakeService:
    """Shared machinery; subclasses give `route`, `render`, `key_of` and `errors`."""

    errors: dict[str, tuple[int, object]] = {}  # name -> (status, body template); "key" answers a bad key

    def __init__(self, answer: Callable[[str], str] | str = "A", *, require_key: str | None = None,
                 models: tuple[str, ...] | None = None, go_away_after: int | None = None,
                 rate_limit: tuple[float, int] | None = None):
        self.limits = Bucket(*rate_limit) if rate_limit else None
        self.answer = always(answer) if isinstance(answer, str) else answer
        self.require_key = require_key
        self.models = models
        self.requests: list[Recorded] = []
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)  # notified as each request is recorded
        self._closing = threading.Event()
        self._go_away_after = go_away_after  # answer this many POSTs, then go away (GETs never count)
        self._posts = 0  # POSTs let through so far
        self.went_away = threading.Event()  # set when the (go_away_after + 1)-th POST came
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    # -- scripting --------------------------------------------------------------------
    def script(self, *faults: Fault, times: int = 1) -> "FakeService":
        with self._lock:
            self._faults.extend(list(faults) * times)
        return self

    def error(self, name: str, retry_after: float | str | None = None) -> Fault:
        """The service's real error reply called `name` (key, forbidden, not_found, rate_limited, server...)."""
        code, body = self.errors[name]
        headers = (("Retry-After", str(retry_after)),) if retry_after is not None else ()
        return Fault(code, lambda req: _fill(body, self, req), headers)

    def reply(self, text: str | None = None, **shape) -> Fault:
        """A successful reply of the given shape (finish reason, reasoning...), rendered for the request."""
        return Fault(200, lambda req: self.render(req, self.answer(self.prompt_of(req)) if text is None else text,
                                                  **shape))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def wait_for_requests(self, n: int, timeout: float = 10.0) -> bool:
        """Wait until n requests are recorded: a handler records its request in its own thread, so a
        client that gave up on a request (a timeout) may be back before the fake has recorded it."""
        with self._recorded:
            return self._recorded.wait_for(lambda: len(self.requests) >= n, timeout)

    def close(self) -> None:
        self._closing.set()
        self._stop_listening()

    def _stop_listening(self) -> None:
        """New connections are refused at once, then the serving loop ends; connections already open
        are reset at their next request (see _handle). Safe to call more than once, from any thread."""
        try:
            self._server.socket.shutdown(socket.SHUT_RDWR)  # refused from now on; wakes the serving loop
        except OSError:
            pass  # already closed (or a system that cannot shut a listening socket down: closed below)
        self._server.shutdown()  # returns once serve_forever has seen its socket ready and stopped
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- what subclasses say ------------------------------------------------------------
    def route(self, req: Recorded) -> tuple[int, object]:
        raise NotImplementedError

    def render(self, req: Recorded, text: str, **shape) -> dict:
        raise NotImplementedError

    def prompt_of(self, req: Recorded) -> str:
        raise NotImplementedError

    def key_of(self, req: Recorded) -> str | None:
        auth = req.headers.get("authorization", "")
        return auth[len("Bearer "):] if auth.startswith("Bearer ") else None

    def knows(self, model: str | None) -> bool:
        return self.models is None or model in self.models

    # -- serving --------------------------------------------------------------------------
    def _admit(self, h: _Handler) -> bool:
        """Whether this request is served: not once the fake is closing, and with `go_away_after=n`,
        not the (n+1)-th POST, which makes the fake go away. Decided under the lock, so exactly n
        POSTs are let through (and answered) however the handler threads are scheduled."""
        with self._lock:
            if self._closing.is_set():
                return False
            if h.command != "POST" or self._go_away_after is None:
                return True
            if self._posts < self._go_away_after:
                self._posts += 1
                return True
            self._closing.set()
            self.went_away.set()
            self._stop_listening()
            return False

    def _handle(self, h: _Handler) -> None:
        if not self._admit(h):  # a stopped server: kept-alive connections are reset too
            h.close_connection = True
            # linger 0: the close sends a reset, as a crashed server's kernel does
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
            return
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        req = Recorded(h.command, parts.path, parse_qs(parts.query),
                       {k.lower(): v for k, v in h.headers.items()}, body, at=time.monotonic())
        with self._recorded:
            self.requests.append(req)
            self._recorded.notify_all()
        if self.require_key is not None and self.key_of(req) != self.require_key:
            return self._send(h, req, *self._key_rejection(req))
        with self._lock:
            fault = self._faults.popleft() if self._faults else Fault()
            wait = self.limits.take() if self.limits is not None and h.command == "POST" else 0.0
            limit = self.limit_headers(wait) if self.limits is not None else ()
        if wait:
            code, body, headers = self.refusal(req, wait)
            return self._send(h, req, code, body, headers + limit)
        if fault.hang and self._closing.wait(fault.hang):
            return
        if fault.cut:
            return self._cut(h, req, fault.stall)
        if fault.size:
            return self._stream(h, req, fault.size)
        if fault.body is None:
            code, payload = self.route(req)
            code = code if fault.status == 200 else fault.status
        else:
            code, payload = fault.status, fault.body(req) if callable(fault.body) else fault.body
        self._send(h, req, code, payload, fault.headers + limit)

    def refusal(self, req: Recorded, wait: float) -> tuple[int, object, tuple]:
        """The service's own 429 for a request over its rate limit; `wait`: seconds until it would pass."""
        code, body = self.errors["rate_limited"]
        return code, _fill(body, self, req), ()

    def limit_headers(self, wait: float) -> tuple:
        """Rate-limit headers the service sends with every reply (none by default; under the lock)."""
        return ()

    def _key_rejection(self, req: Recorded) -> tuple[int, object]:
        code, body = self.errors["key"]
        return code, _fill(body, self, req)

    def _send(self, h, req, code, payload, headers=()) -> None:
        if isinstance(payload, (bytes, str)):
            data, kind = (payload.encode() if isinstance(payload, str) else payload), "text/html"
        else:
            data, kind = json.dumps(payload, indent=2).encode(), "application/json"
        names = {k.lower() for k, _ in headers}
        # recorded before the reply leaves: the client may read it (and a test look at it) before write returns
        req.reply = payload if isinstance(payload, dict) else None
        try:
            h.send_response(code)
            if "content-type" not in names:
                h.send_header("Content-Type", kind)
            for k, v in headers:
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            req.sent = len(data)
        except OSError:
            h.close_connection = True

    def _cut(self, h, req, stall: float) -> None:
        data = json.dumps(self.render(req, self.answer(self.prompt_of(req)))).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data[: len(data) // 3])
        req.sent = len(data) // 3
        h.wfile.flush()
        self._closing.wait(stall)
        # linger 0: the close sends a reset, as a crashing proxy does
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()
        h.close_connection = True

    def _stream(self, h, req, size: int) -> None:
        chunk = b"a" * 65536
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(size))
        h.end_headers()
        try:
            h.wfile.write(b'{"x": "')
            req.sent = 7
            while req.sent < size and not self._closing.is_set():
                part = chunk[: size - req.sent]
                h.wfile.write(part)
                req.sent += len(part)
        except OSError:  # the client stopped reading: what a bounded reader should do
            pass
        h.close_connection = True


def _fill(body, fake: FakeService, req: Recorded):
    """Error bodies are templates: {model} and {key_tail} come from the request."""
    model = (req.body or {}).get("model") if isinstance(req.body, dict) else None
    model = model or getattr(fake, "model_in_path", lambda r: None)(req) or "unknown"
    key = fake.key_of(req) or ""
    text = json.dumps(body) if not isinstance(body, (bytes, str)) else body
    if isinstance(text, bytes):
        return text
    text = text.replace("{model}", model).replace("{key_tail}", key[-4:])
    return json.loads(text) if not isinstance(body, str) else text


def _usage(prompt: str, text: str) -> tuple[int, int]:
    """Known token counts: a token per 4 characters."""
    return max(1, len(prompt) // 4), max(1, len(text) // 4)


def _cache_hit(prompt_tokens: int) -> int:
    """The stand-ins' prompt cache holds the first half of every prompt: a known count, not a realistic one."""
    return prompt_tokens // 2


def openai_usage(flavour: str, prompt_tokens: int, completion_tokens: int, reasoning_tokens: int | None = None):
    """`usage` as each OpenAI-compatible service sends it (and llama.cpp's `timings` beside it), or None."""
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
             "total_tokens": prompt_tokens + completion_tokens}
    hit = _cache_hit(prompt_tokens)
    if flavour == "openai":  # OpenAI always sends both details blocks
        usage["prompt_tokens_details"] = {"cached_tokens": hit, "audio_tokens": 0}
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens or 0, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    elif flavour == "deepseek":
        usage["prompt_tokens_details"] = {"cached_tokens": hit}
        usage.update(prompt_cache_hit_tokens=hit, prompt_cache_miss_tokens=prompt_tokens - hit)
        if reasoning_tokens is not None:  # the reasoner
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    elif flavour == "llama":
        usage["prompt_tokens_details"] = {"cached_tokens": hit}
    return usage  # mistral, Ollama's /v1: the three counts only


def llama_timings(prompt_tokens: int, completion_tokens: int) -> dict:
    """llama-server's `timings` (as in tests/recorded/llama-server/): 2 ms a prompt token, 20 ms a new token."""
    hit = _cache_hit(prompt_tokens)
    prompt_n = prompt_tokens - hit
    return {"cache_n": hit, "prompt_n": prompt_n, "prompt_ms": 2.0 * prompt_n, "prompt_per_token_ms": 2.0,
            "prompt_per_second": 500.0, "predicted_n": completion_tokens, "predicted_ms": 20.0 * completion_tokens,
            "predicted_per_token_ms": 20.0, "predicted_per_second": 50.0}


# -- OpenAI-compatible services ---------------------------------------------------------


def openai_duration(seconds: float) -> str:
    """OpenAI's way of writing a reset time: 120ms, 1.5s, 6m0s."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.0f}s" if minutes else f"{rest:.3g}s"


def _oai_error(message, kind, code, param=None):
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


_HTML_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
             "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
             "</body>\r\n</html>\r\n")

OPENAI_ERRORS = {
    "key": (401, _oai_error("Incorrect API key provided: sk-****{key_tail}. You can find your API key at "
                            "https://platform.openai.com/account/api-keys.", "invalid_request_error",
                            "invalid_api_key")),
    "forbidden": (403, _oai_error("Country, region, or territory not supported", "request_forbidden",
                                  "unsupported_country_region_territory")),
    "not_found": (404, _oai_error("The model `{model}` does not exist or you do not have access to it.",
                                  "invalid_request_error", "model_not_found")),
    "rate_limited": (429, _oai_error("Rate limit reached for {model} on requests per min (RPM): Limit 3, "
                                     "Used 3, Requested 1. Please try again in 20s.", "requests",
                                     "rate_limit_exceeded")),
    "server": (500, _oai_error("The server had an error while processing your request. Sorry about that!",
                               "server_error", None)),
    "bad_gateway": (502, _HTML_502),
    "unavailable": (503, _oai_error("The engine is currently overloaded, please try again later",
                                    "server_error", None)),
}

FLAVOURS = {  # what differs between OpenAI-compatible services
    "openai": dict(name="openai", id=lambda: f"chatcmpl-{uuid.uuid4().hex[:29]}", fingerprint="fp_0ba0d124f1",
                   errors=OPENAI_ERRORS),
    "deepseek": dict(name="deepseek", id=lambda: str(uuid.uuid4()), fingerprint="fp_3a5770e1b4_prod0225",
                     errors={
        **OPENAI_ERRORS,
        "key": (401, _oai_error("Authentication Fails, Your api key: ****{key_tail} is invalid",
                                "authentication_error", "invalid_request_error")),
        "balance": (402, _oai_error("Insufficient Balance", "unknown_error", "invalid_request_error")),
        "not_found": (400, _oai_error("Model Not Exist", "invalid_request_error", "invalid_request_error")),
        "rate_limited": (429, _oai_error("Rate Limit Reached", "rate_limit_error", "invalid_request_error")),
        "unavailable": (503, _oai_error("Server Overloaded", "server_error", "server_error")),
    }),
    "mistral": dict(name="mistral", id=lambda: uuid.uuid4().hex, fingerprint=None, errors={
        **OPENAI_ERRORS,
        "key": (401, {"message": "Unauthorized", "request_id": "c61f2f15feca71626a990e3740f99245"}),
        "not_found": (400, {"object": "error", "message": "Invalid model: {model}", "type": "invalid_model",
                            "param": None, "code": "1500"}),
        "rate_limited": (429, {"message": "Requests rate limit exceeded",
                               "request_id": "5d1e2c0a7a4b4f6e9a0c1b2d3e4f5a6b"}),
    }),
    "llama": dict(name="llama", id=lambda: f"chatcmpl-{uuid.uuid4().hex[:32]}", fingerprint="b5460-ee3a9fcf",
                  errors={
        **OPENAI_ERRORS,
        "key": (401, {"error": {"code": 401, "message": "Invalid API Key", "type": "authentication_error"}}),
        "not_found": (404, {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}}),
        "unavailable": (503, {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}),
    }),
}


def openai_chat_body(fake, req: Recorded, text: str, finish: str = "stop", reasoning: str | None = None,
                     flavour: dict | None = None) -> dict:
    flavour = flavour or FLAVOURS["openai"]
    model = (req.body or {}).get("model") or "default"
    message = {"role": "assistant", "content": text}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    # reasoning is billed as output: completion_tokens counts it, reasoning_tokens says how much of it
    prompt_tokens, completion_tokens = _usage(fake.prompt_of(req), text + (reasoning or ""))
    reasoning_tokens = max(1, len(reasoning) // 4) if reasoning is not None else None
    body = {"id": flavour["id"](), "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}]}
    _add_usage(body, fake, flavour, prompt_tokens, completion_tokens, reasoning_tokens)
    if flavour["fingerprint"]:
        body["system_fingerprint"] = flavour["fingerprint"]
    return body


def _add_usage(body: dict, fake, flavour: dict, prompt_tokens: int, completion_tokens: int,
               reasoning_tokens: int | None = None) -> None:
    if not getattr(fake, "usage", True):  # a server (or a proxy) that reports no usage
        return
    body["usage"] = openai_usage(flavour["name"], prompt_tokens, completion_tokens, reasoning_tokens)
    if flavour["name"] == "llama":
        body["timings"] = llama_timings(prompt_tokens, completion_tokens)


class OpenAIFake(FakeService):
    """OpenAI-compatible chat and completions, in the flavour of openai, deepseek, mistral or llama."""

    def __init__(self, flavour: str = "openai", answer="A", *, reasoning: Callable[[str], str] | None = None,
                 usage: bool = True, **kw):
        self.flavour = FLAVOURS[flavour]
        self.errors = self.flavour["errors"]
        self.reasoning = reasoning  # a reasoning model: prompt -> its thoughts
        self.usage = usage  # False: replies carry no `usage` (a server or proxy that reports none)
        super().__init__(answer, **kw)

    def prompt_of(self, req):
        body = req.body or {}
        if "prompt" in body:
            return str(body["prompt"])
        messages = body.get("messages") or [{}]
        return str(messages[-1].get("content", ""))

    def render(self, req, text, finish="stop", reasoning=None):
        if reasoning is None and self.reasoning is not None:
            reasoning = self.reasoning(self.prompt_of(req))
        return openai_chat_body(self, req, text, finish, reasoning, self.flavour)

    def empty(self) -> Fault:
        return Fault(200, lambda req: {**self.render(req, ""), "choices": []})

    def refusal(self, req, wait):
        code, body, _ = super().refusal(req, wait)
        # OpenAI says when to come back (whole seconds); DeepSeek and Mistral say nothing
        return code, body, (("retry-after", str(math.ceil(wait))),) if self.flavour["name"] == "openai" else ()

    def limit_headers(self, wait):
        if self.flavour["name"] != "openai":
            return ()
        bucket = self.limits  # the bucket's size is the limit; reset: until it is full again
        return (("x-ratelimit-limit-requests", str(bucket.burst)),
                ("x-ratelimit-remaining-requests", str(int(bucket.tokens))),
                ("x-ratelimit-reset-requests", openai_duration(bucket.full_in())))

    def route(self, req):
        path = req.path.removeprefix("/v1")
        if req.method == "GET" and path == "/models":
            return 200, {"object": "list", "data": [{"id": m, "object": "model", "created": 1700000000,
                                                     "owned_by": "system"} for m in (self.models or ["default"])]}
        if req.method == "POST" and path in ("/chat/completions", "/completions"):
            if not self.knows((req.body or {}).get("model")):
                return self.errors["not_found"][0], _fill(self.errors["not_found"][1], self, req)
            if path == "/completions":
                return 200, self.completion(req)
            return 200, self.render(req, self.answer(self.prompt_of(req)))
        return 404, _oai_error(f"Invalid URL ({req.method} {req.path})", "invalid_request_error", None)

    def completion(self, req):
        """The next token's top log-probabilities, the chosen letter most likely."""
        chosen = letter_of(self.answer(self.prompt_of(req)))
        top = {f" {x}": (-0.21 if x == chosen else -2.5 - i * 0.4) for i, x in enumerate("ABCD")}
        top.update({"\n": -4.1, " The": -4.6})
        prompt_tokens, _ = _usage(self.prompt_of(req), chosen)
        body = {"id": f"cmpl-{uuid.uuid4().hex[:24]}", "object": "text_completion", "created": int(time.time()),
                "model": (req.body or {}).get("model") or "default",
                "choices": [{"text": f" {chosen}", "index": 0, "finish_reason": "length",
                             "logprobs": {"tokens": [f" {chosen}"], "text_offset": [len(self.prompt_of(req))],
                                          "token_logprobs": [top[f" {chosen}"]], "top_logprobs": [top]}}]}
        _add_usage(body, self, self.flavour, prompt_tokens, 1)
        return body


# -- Ollama --------------------------------------------------------------------------------


class OllamaFake(FakeService):
    """Ollama: native /api/tags and /api/chat, and its OpenAI-compatible /v1/chat/completions."""

    errors = {
        "key": (401, {"error": "unauthorized"}),  # Ollama behind an authenticating proxy
        "not_found": (404, {"error": 'model "{model}" not found, try pulling it first'}),
        "server": (500, {"error": "llama runner process has terminated: signal: killed"}),
        "bad_gateway": (502, _HTML_502),
        "unavailable": (503, {"error": "server busy, please try again.  maximum pending requests exceeded"}),
        "rate_limited": (429, {"error": "too many requests"}),
    }

    def __init__(self, answer="A", *, models=("mistral:7b", "llama3.2:latest"),
                 thinking: Callable[[str], str] | None = None, **kw):
        self.thinking = thinking
        super().__init__(answer, models=models, **kw)

    def prompt_of(self, req):
        messages = (req.body or {}).get("messages") or [{}]
        return str(messages[-1].get("content", ""))

    def render(self, req, text, finish="stop", thinking=None):
        body = req.body or {}
        if thinking is None and self.thinking is not None:
            thinking = self.thinking(self.prompt_of(req))
        message = {"role": "assistant", "content": text}
        if thinking is not None:
            message["thinking"] = thinking
        # known durations (nanoseconds): 2 ms a prompt token, 20 ms a generated one, 2 ms to load, 1 ms besides
        prompt_tokens, completion_tokens = _usage(self.prompt_of(req), text + (thinking or ""))
        prompt_ns, eval_ns, load_ns = prompt_tokens * 2_000_000, completion_tokens * 20_000_000, 2_000_000
        return {"model": body.get("model"), "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
                "message": message, "done_reason": finish, "done": True,
                "total_duration": prompt_ns + eval_ns + load_ns + 1_000_000, "load_duration": load_ns,
                "prompt_eval_count": prompt_tokens, "prompt_eval_duration": prompt_ns,
                "eval_count": completion_tokens, "eval_duration": eval_ns}

    def route(self, req):
        model = (req.body or {}).get("model")
        if req.method == "GET" and req.path == "/api/tags":
            return 200, {"models": [_ollama_tag(m) for m in self.models]}
        if req.method == "GET" and req.path == "/api/version":
            return 200, {"version": "0.6.8"}
        if req.method == "POST" and req.path in ("/api/chat", "/v1/chat/completions"):
            if not self.knows(model):
                body = _fill(self.errors["not_found"][1], self, req)
                if req.path.startswith("/v1"):  # the OpenAI-compatible route wraps its errors
                    body = _oai_error(body["error"], "api_error", None)
                return 404, body
            text = self.answer(self.prompt_of(req))
            if req.path == "/api/chat":
                return 200, self.render(req, text)
            body = openai_chat_body(self, req, text, flavour=dict(FLAVOURS["openai"], name="ollama",
                                                                     fingerprint="fp_ollama"))
            return 200, body
        return 404, "404 page not found"

    def knows(self, model):
        return model in self.models or f"{model}:latest" in self.models


def _ollama_tag(name: str) -> dict:
    family = name.split(":")[0].rstrip("0123456789.")
    return {"name": name, "model": name, "modified_at": "2025-03-14T10:21:09.283917Z", "size": 4113301824,
            "digest": uuid.uuid5(uuid.NAMESPACE_DNS, name).hex * 2,
            "details": {"parent_model": "", "format": "gguf", "family": family, "families": [family],
                        "parameter_size": "7.2B", "quantization_level": "Q4_0"}}


# -- Gemini ----------------------------------------------------------------------------------


def _google_error(code: int, status_word: str, message: str, details: list | None = None) -> dict:
    error = {"code": code, "message": message, "status": status_word}
    if details is not None:
        error["details"] = details
    return {"error": error}


_SAFETY = ("HARM_CATEGORY_SEXUALLY_EXPLICIT", "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_HARASSMENT",
           "HARM_CATEGORY_DANGEROUS_CONTENT")


def _ratings(blocked: str | None = None) -> list[dict]:
    return [{"category": c, "probability": "HIGH" if c == blocked else "NEGLIGIBLE",
             **({"blocked": True} if c == blocked else {})} for c in _SAFETY]


class GeminiFake(FakeService):
    """Gemini's generateContent REST API (v1beta); the key arrives in `x-goog-api-key`."""

    errors = {
        "key": (400, _google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
             "message": "API key not valid. Please pass a valid API key."}])),
        "no_key": (403, _google_error(403, "PERMISSION_DENIED",
                                      "Method doesn't allow unregistered callers (callers without established "
                                      "identity). Please use API Key or other form of API consumer identity "
                                      "to call this API.")),
        "forbidden": (403, _google_error(403, "PERMISSION_DENIED", "The caller does not have permission")),
        "not_found": (404, _google_error(404, "NOT_FOUND", "models/{model} is not found for API version v1beta, "
                                         "or is not supported for generateContent. Call ListModels to see the "
                                         "list of available models and their supported methods.")),
        "rate_limited": (429, _google_error(429, "RESOURCE_EXHAUSTED",
                                            "Resource has been exhausted (e.g. check quota).")),
        "server": (500, _google_error(500, "INTERNAL", "An internal error has occurred. Please retry or report "
                                      "in https://developers.generativeai.google/guide/troubleshooting")),
        "bad_gateway": (502, "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 502 "
                             "(Server Error)!!1</title>\n  <p><b>502.</b> <ins>That's an error.</ins>\n"),
        "unavailable": (503, _google_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")),
    }

    def __init__(self, answer="A", *, models=("gemini-1.5-flash", "gemini-2.5-flash"),
                 thoughts: Callable[[str], str] | None = None, **kw):
        self.thoughts = thoughts  # a thinking model: prompt -> its thought summary
        super().__init__(answer, models=models, **kw)

    def key_of(self, req):
        return req.headers.get("x-goog-api-key") or (req.query.get("key") or [None])[0]

    def refusal(self, req, wait):
        # Google names the wait in the body: a RetryInfo among the error's details, in whole seconds
        return 429, _google_error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your "
                                  "plan and billing details.", [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                 "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{math.ceil(wait)}s"}]), ()

    def _key_rejection(self, req):
        name = "key" if self.key_of(req) else "no_key"
        return self.errors[name][0], _fill(self.errors[name][1], self, req)

    def model_in_path(self, req) -> str | None:
        m = re.fullmatch(r"/v1beta/models/([^/:]+)(?::\w+)?", req.path)
        return m.group(1) if m else None

    def prompt_of(self, req):
        contents = (req.body or {}).get("contents") or [{}]
        return "".join(p.get("text", "") for p in contents[-1].get("parts", []))

    def render(self, req, text, finish="STOP", thoughts=None):
        if thoughts is None and self.thoughts is not None:
            thoughts = self.thoughts(self.prompt_of(req))
        candidate = {"finishReason": finish, "index": 0}
        parts = ([{"text": thoughts, "thought": True}] if thoughts else []) + ([{"text": text}] if text else [])
        if finish in ("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT"):
            candidate["safetyRatings"] = _ratings("HARM_CATEGORY_DANGEROUS_CONTENT")
        else:
            candidate = {"content": {"parts": parts, "role": "model"} if parts else {"role": "model"},
                         **candidate, "safetyRatings": _ratings()}
        return {"candidates": [candidate], "usageMetadata": self._usage(req, text, thoughts),
                "modelVersion": self.model_in_path(req) or "unknown", "responseId": uuid.uuid4().hex[:22]}

    def blocked(self, reason: str = "SAFETY") -> Fault:
        """The prompt itself blocked: promptFeedback and no candidates."""
        return Fault(200, lambda req: {"promptFeedback": {"blockReason": reason,
                                                          "safetyRatings": _ratings("HARM_CATEGORY_HARASSMENT")},
                                       "usageMetadata": self._usage(req, "", None),
                                       "modelVersion": self.model_in_path(req)})

    def empty(self) -> Fault:
        return Fault(200, lambda req: {"candidates": [], "usageMetadata": self._usage(req, "", None)})

    def _usage(self, req, text, thoughts):
        prompt_tokens, completion_tokens = _usage(self.prompt_of(req), text)
        thought_tokens = max(1, len(thoughts) // 4) if thoughts else 0
        usage = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": completion_tokens,
                 "totalTokenCount": prompt_tokens + completion_tokens + thought_tokens,
                 "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}]}
        hit = _cache_hit(prompt_tokens)
        if hit:  # implicit caching: the count and its share per modality
            usage["cachedContentTokenCount"] = hit
            usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": hit}]
        if thoughts:
            usage["thoughtsTokenCount"] = thought_tokens
        return usage

    def route(self, req):
        model = self.model_in_path(req)
        if model is None:
            return 404, _google_error(404, "NOT_FOUND", f"Method not found: {req.path}")
        if not self.knows(model):
            return 404, _fill(self.errors["not_found"][1], self, req)
        if req.method == "GET" and req.path == f"/v1beta/models/{model}":
            return 200, {"name": f"models/{model}", "version": "001", "displayName": model.replace("-", " ").title(),
                         "description": "Fast and versatile multimodal model.", "inputTokenLimit": 1000000,
                         "outputTokenLimit": 8192, "supportedGenerationMethods": ["generateContent", "countTokens"],
                         "temperature": 1, "topP": 0.95, "topK": 64, "maxTemperature": 2}
        if req.method == "POST" and req.path.endswith(":generateContent"):
            return 200, self.render(req, self.answer(self.prompt_of(req)))
        return 404, _google_error(404, "NOT_FOUND", f"Method not found: {req.path}")


# -- faults that need more than a scripted reply ------------------------------------------


class PostKeyFake(OpenAIFake):
    """A gateway whose model listing is open to all, that checks the key only on POST:
    the start-up probe passes, the first question meets the 401."""

    def key_of(self, req):
        return self.require_key if req.method == "GET" else super().key_of(req)


def _bound(port: int) -> tuple[socket.socket, str]:
    """A loopback socket bound to `port` (0: any free one), and its URL. SO_REUSEADDR: it may take over
    the port of a fake that has just closed."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


class Listener:
    """A bare TCP port that counts the connections made to it and answers none: proof of no contact.

    `connections` is exact once the clients are done: it also accepts and counts the connections still
    queued in the kernel (a connect() returns before the accept thread has seen it)."""

    def __init__(self, port: int = 0):
        self._sock, self.url = _bound(port)
        self._sock.listen(64)
        self._count = 0
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _take_queued(self) -> None:
        """Accept and close every connection waiting in the queue; the caller holds the lock."""
        while not self._closed.is_set() and select.select([self._sock], [], [], 0)[0]:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._count += 1
            conn.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                select.select([self._sock], [], [], 0.05)  # a client waits at most this long to be cut off
            except (OSError, ValueError):
                return
            with self._lock:
                self._take_queued()

    @property
    def connections(self) -> int:
        with self._lock:
            self._take_queued()
            return self._count

    def close(self) -> None:
        with self._lock:
            self._closed.set()
            self._sock.close()
        self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ClosedPort:
    """A loopback port bound and never listened on: connections to it are refused at once, and no other
    socket can take the port while this holds it (a port merely closed could be reused by a parallel
    test). `port` may be a port a fake has just given up."""

    def __init__(self, port: int = 0):
        self._sock, self.url = _bound(port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._sock.close()


# -- first-token log-probabilities (chat log-probability scoring) ------------------------------------
# A first-token model: prompt -> the top first tokens as (token, log-probability), best first.

RECORDED = Path(__file__).parent / "recorded"


def first_tokens(letter: str | Callable[[str], str], *, lead: str | None = None, spell: str = "{}",
                 letters: str = "ABCD", hidden: bool = False) -> Callable[[str], list[tuple[str, float]]]:
    """A chat model that means `letter` (or answerer(prompt)'s letter): its letter spelled `spell`
    (`{}`, ` {}`, `▁{}`...), the others below it; with `lead`, a word it would rather begin with;
    `hidden`: no letter at all among its top tokens."""
    def top(prompt: str) -> list[tuple[str, float]]:
        chosen = letter if isinstance(letter, str) else letter_of(letter(prompt))
        out = [] if lead is None else [(lead, -0.4)]
        if not hidden:
            out += [(spell.format(x), (-0.9 if lead else -0.2) if x == chosen else -2.6 - i * 0.4)
                    for i, x in enumerate(letters)]
        out += [(w, -5.0 - i * 0.3) for i, w in enumerate(("To", "This", "Sure", "I", "Let"))]
        return sorted(out, key=lambda p: -p[1])
    return top


def _bytes(token: str) -> list[int]:
    return list(token.encode())


class ChatLogprobsFake(OpenAIFake):
    """OpenAI-compatible chat with `logprobs`/`top_logprobs` (OpenAI, DeepSeek, vLLM): the first token's
    top log-probabilities at choices[0].logprobs.content[0].top_logprobs."""

    def __init__(self, flavour="openai", first=None, *, refuse: str | None = None, **kw):
        self.first = first or first_tokens("A")
        self.refuse = refuse  # a model that answers log-probability requests with this 400 message
        super().__init__(flavour, **kw)

    def route(self, req):
        body = req.body or {}
        if req.method == "POST" and req.path.endswith("/chat/completions") and body.get("logprobs"):
            if self.refuse:
                return 400, _oai_error(self.refuse, "invalid_request_error", "invalid_request_error")
            top = self.first(self.prompt_of(req))[: int(body.get("top_logprobs") or 0)]
            reply = self.render(req, top[0][0] if top else "", finish="length")
            entries = [{"token": t, "logprob": lp, "bytes": _bytes(t)} for t, lp in top]
            content = [{**entries[0], "top_logprobs": entries}] if entries else []
            reply["choices"][0]["logprobs"] = {"content": content, "refusal": None}
            return 200, reply
        return super().route(req)


class LlamaServerFake(FakeService):
    """llama.cpp's C++ llama-server, answering with the shapes recorded from a real one (tests/recorded/):
    /v1/models, /props (total_slots), /health, completions and chat with log-probabilities.
    With `first=None` the recorded top log-probabilities are served verbatim."""

    errors = FLAVOURS["llama"]["errors"]

    def __init__(self, first=None, *, slots: int = 4, next_tokens=None, **kw):
        self.first = first  # chat route: prompt -> top first tokens
        self.next_tokens = next_tokens  # completions route: prompt -> top next tokens
        self.slots = slots
        self.recorded = {p.stem: json.loads(p.read_text()) for p in (RECORDED / "llama-server").glob("*.json")}
        super().__init__("A", **kw)

    def prompt_of(self, req):
        return OpenAIFake.prompt_of(self, req)

    def render(self, req, text, **shape):
        body = json.loads(json.dumps(self.recorded["v1_chat_completions"]))
        body["choices"][0]["message"]["content"] = text
        return body

    def _with_top(self, name: str, top) -> dict:
        body = json.loads(json.dumps(self.recorded[name]))  # a deep copy of the recording
        choice = body["choices"][0]
        if top is not None:
            entries = [{"id": 1000 + i, "token": t, "bytes": _bytes(t), "logprob": lp} for i, (t, lp) in enumerate(top)]
            choice["logprobs"]["content"] = [{**entries[0], "top_logprobs": entries}]
            if "message" in choice:
                choice["message"]["content"] = top[0][0]
            else:
                choice["text"] = top[0][0]
        return body

    def route(self, req):
        body = req.body or {}
        if req.method == "GET" and req.path == "/v1/models":
            return 200, self.recorded["v1_models"]
        if req.method == "GET" and req.path == "/props":
            return 200, {**self.recorded["props"], "total_slots": self.slots}
        if req.method == "GET" and req.path == "/health":
            return 200, self.recorded["health"]
        if req.method == "POST" and req.path == "/v1/chat/completions":
            if body.get("logprobs"):
                top = None if self.first is None else self.first(self.prompt_of(req))
                return 200, self._with_top("v1_chat_completions_logprobs", top)
            return 200, self.render(req, "A. Berlin")
        if req.method == "POST" and req.path == "/v1/completions":
            top = None if self.next_tokens is None else self.next_tokens(self.prompt_of(req))
            return 200, self._with_top("v1_completions_logprobs", top)
        return 404, self.errors["not_found"][1]


class OllamaLogprobsFake(OllamaFake):
    """Ollama 0.12.11 or later: /api/chat with `logprobs` answers a top-level `logprobs` list."""

    def __init__(self, first=None, **kw):
        self.first = first or first_tokens("A")
        super().__init__(**kw)

    def route(self, req):
        if req.method == "GET" and req.path == "/api/version":
            return 200, {"version": "0.12.11"}
        code, body = super().route(req)
        if code == 200 and req.path == "/api/chat" and (req.body or {}).get("logprobs"):
            top = self.first(self.prompt_of(req))[: int(req.body.get("top_logprobs") or 0)]
            entries = [{"token": t, "logprob": lp, "bytes": _bytes(t)} for t, lp in top]
            body["message"]["content"] = top[0][0] if top else ""
            body["done_reason"] = "length"
            body["logprobs"] = [{**entries[0], "top_logprobs": entries}] if entries else []
        return code, body


class GeminiLogprobsFake(GeminiFake):
    """Gemini with `responseLogprobs`: candidates[0].logprobsResult.topCandidates / chosenCandidates;
    models in `refusing` answer 400 "Logprobs is not enabled for models/X"."""

    def __init__(self, first=None, *, refusing: tuple[str, ...] = ("gemini-2.5-flash",), **kw):
        self.first = first or first_tokens("A", spell="{}")
        self.refusing = refusing
        super().__init__(**kw)

    def route(self, req):
        config = (req.body or {}).get("generationConfig") or {}
        model = self.model_in_path(req)
        if req.method == "POST" and config.get("responseLogprobs") and self.knows(model):
            if model in self.refusing:
                return 400, _google_error(400, "INVALID_ARGUMENT", f"Logprobs is not enabled for models/{model}")
            top = self.first(self.prompt_of(req))[: int(config.get("logprobs") or 0)]
            body = self.render(req, top[0][0] if top else "", finish="MAX_TOKENS")
            cands = [{"token": t, "tokenId": 236000 + i, "logProbability": lp} for i, (t, lp) in enumerate(top)]
            body["candidates"][0]["logprobsResult"] = {"topCandidates": [{"candidates": cands}],
                                                       "chosenCandidates": cands[:1],
                                                       "logProbabilitySum": cands[0]["logProbability"] if cands else 0}
            body["candidates"][0]["avgLogprobs"] = cands[0]["logProbability"] if cands else 0
            return 200, body
        return super().route(req)
