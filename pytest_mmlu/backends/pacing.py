"""The pace of new requests to one service key, adapted to its rate limits.

Nothing is paced until the service refuses a request for its rate (HTTP 429) or says it has no requests left
(`x-ratelimit-remaining-requests: 0`). A refusal of a request sent at the pace in force sets a pace (request
starts per second) of `BETA` times the rate the service was accepting; each later success raises it along a cubic
curve (as TCP's CUBIC and client-side adaptive retries do, counted here in successes rather than seconds, so that
slow and fast limits adapt alike): quickly back towards the rate where the refusal came, a plateau there, then
probing past it. A wait the service names holds every new request until then.

The request threads wait here before each request, so fewer requests are in flight: their number falls to pace x
latency, never below 1, and rises back to the scheduler's (`--mmlu-concurrency`) as the pace grows. One `Pacer`
serves every server of an endpoint, so servers behind one key share it; with `shared` (a file: xdist's controller
makes one and hands it to its workers) the processes of a run share it too: its state lives in the file, read and
written under an exclusive lock, so one pace spans them all.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import struct
import threading
import time
from collections import deque
from typing import Callable, Iterator, Mapping

try:
    import fcntl
except ImportError:  # Windows: each process paces itself
    fcntl = None

BETA = 0.7  # the pace after a refusal, as a share of the rate that was accepted
BACK_AFTER = 6  # successes after a cut until the pace is back at the rate where the refusal came
GROWTH = (1 - BETA) / BACK_AFTER ** 3  # the cubic's scale, as a share of that rate
WINDOW = 1.0  # seconds over which the accepted rate is measured before any pace
SAMPLES = 5  # acceptances over which it is measured at a pace
KEPT = 60.0  # acceptances older than this say nothing of the rate now
RING = 512  # acceptances a shared pace keeps (enough for WINDOW at 500 a second)
_STATE = struct.Struct(f"<6dq{RING}d")  # rate, next, hold, cut, peak, since (as a double), count, acceptances
SLOWEST = 0.05  # requests per second: the pace never goes below one request every 20 s


class Pacer:
    def __init__(self, clock: Callable[[], float] = time.monotonic, shared: str | None = None):
        self._clock = clock
        self.shared = shared if fcntl is not None else None  # the file the processes of a run share it through
        self._fd: int | None = None
        self._cond = threading.Condition()
        self.rate: float | None = None  # request starts per second; None: not paced
        self._next = 0.0  # the earliest start of the next request at the pace
        self._hold = 0.0  # no request starts before this (a wait the service named)
        self._cut = -math.inf  # when the pace was last lowered
        self._peak = 0.0  # the accepted rate when it was (CUBIC's W_max)
        self._since = 0  # successes since the cut
        self._accepted: deque[float] = deque(maxlen=RING)  # when recent requests were accepted
        self.refusals = 0  # every refusal met, by every thread
        self.answered = 0  # every request accepted, by every thread of this process
        self.lowest: float | None = None  # the slowest pace set
        self._mine = threading.local()  # refusals met by this thread since it last asked (`refusals_here`)

    def start(self) -> float:
        """Wait for the next request's turn; the time it starts (to tell a refusal under an older pace)."""
        with self._cond:
            while True:
                with self._state():
                    now = self._clock()
                    at = max(self._hold, self._next if self.rate else 0.0)
                    if now >= at:
                        if self.rate:
                            self._next = max(now, self._next) + 1.0 / self.rate
                        return now
                # another process may move the pace meanwhile: look again at least every quarter second
                self._cond.wait(min(at - now, 0.25) if self.shared else at - now)

    def accepted(self, started: float, headers: Mapping[str, str]) -> None:
        """A request was answered; rate-limit headers saying nothing is left hold the next ones until the reset."""
        with self._cond, self._state():
            now = self._clock()
            self.answered += 1
            self._accepted.append(now)
            self._trim(now)
            if self.rate is not None:
                self._since += 1
                self.rate = max(SLOWEST, self._peak * (1 + GROWTH * (self._since - BACK_AFTER) ** 3))
            left = _number(headers.get("x-ratelimit-remaining-requests"))
            if left is not None and left < 1:
                # the reset is until the whole limit is back; the next request may go when one is
                reset = duration(headers.get("x-ratelimit-reset-requests"))
                if reset:
                    self._hold = max(self._hold, now + reset / _size(headers))
            self._cond.notify_all()

    def refused(self, started: float, wait: float | None) -> None:
        """A request was refused for the rate; `wait`: how long the others should hold off (`hold_for`)."""
        with self._cond, self._state():
            now = self._clock()
            self.refusals += 1
            self._mine.count = getattr(self._mine, "count", 0) + 1
            if started < self._cut:
                return  # sent at the pace before the last cut: that cut already answered it
            if self.rate is not None and self._since == 0:
                # nothing accepted since the last cut: a storm of refusals, not a new measure of the rate; the
                # waits hold the requests, and the pace stays where the last measure put it
                if wait:
                    self._hold = max(self._hold, now + wait)
                return
            measured = self._measured(now)
            # with no pace yet and little accepted, assume one a second: later refusals cut further if need be
            if self.rate is None:
                self._peak = max(measured, 1.0)
            else:  # at a pace: the rate accepted, where enough were to measure it
                self._peak = max(SLOWEST, min(measured, self.rate) if measured else self.rate)
            self.rate = max(SLOWEST, BETA * self._peak)
            self.lowest = self.rate if self.lowest is None else min(self.lowest, self.rate)
            self._since = 0
            self._cut = now
            self._next = now + 1.0 / self.rate
            if wait:
                self._hold = max(self._hold, now + wait)

    @contextlib.contextmanager
    def _state(self) -> Iterator[None]:
        """Under the thread lock: with a shared file, its state for the duration, under its exclusive lock."""
        if self.shared is None:
            yield
            return
        if self._fd is None:
            self._fd = os.open(self.shared, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            self._load(os.pread(self._fd, _STATE.size, 0))
            yield
            os.pwrite(self._fd, self._dump(), 0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _load(self, data: bytes) -> None:
        if len(data) < _STATE.size:  # a new file: this process's state is the first
            return
        rate, self._next, self._hold, self._cut, self._peak, since, count, *ring = _STATE.unpack(data)
        self.rate, self._since = (rate or None), int(since)
        self._accepted = deque(ring[:count], maxlen=RING)

    def _dump(self) -> bytes:
        ring = list(self._accepted)[-RING:]
        return _STATE.pack(self.rate or 0.0, self._next, self._hold, self._cut, self._peak, float(self._since),
                           len(ring), *ring, *([0.0] * (RING - len(ring))))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def refusals_here(self) -> int:
        """Refusals this thread met since it last asked: those of the request it just made, retries included."""
        count, self._mine.count = getattr(self._mine, "count", 0), 0
        return count

    def _trim(self, now: float) -> None:
        """Keep what the measure needs: the last WINDOW before any pace, then the last SAMPLES (KEPT at most)."""
        accepted = self._accepted
        while accepted and (accepted[0] < now - (WINDOW if self.rate is None else KEPT)
                            or (self.rate is not None and len(accepted) > SAMPLES)):
            accepted.popleft()

    def _measured(self, now: float) -> float:
        """The rate being accepted: before any pace, requests accepted over the last WINDOW (a burst the service
        allowed at the start does not count for more); at a pace, from the last SAMPLES acceptances, so that a
        pace still rising is not underestimated."""
        self._trim(now)
        if self.rate is None:
            return len(self._accepted) / WINDOW
        if len(self._accepted) < 2:
            return 0.0
        return (len(self._accepted) - 1) / max(1e-3, self._accepted[-1] - self._accepted[0])


# -- what a service says about waiting ---------------------------------------------------------------------------


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration(text: str | None) -> float | None:
    """Seconds in OpenAI's reset format ("1s", "6m0s", "120ms", "0.5s") or Google's Duration ("27s", "0.200s");
    a bare number is seconds."""
    if not text:
        return None
    text = text.strip()
    number = _number(text)
    if number is not None:
        return max(0.0, number)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNITS[u] for n, u in parts)


def hold_for(headers: Mapping[str, str], wait: float | None) -> float | None:
    """How long every request should hold off after a refusal: until one request is back where the rate-limit
    headers say so (a `Retry-After` in whole seconds is for the refused request), else the wait named."""
    if (_number(headers.get("x-ratelimit-remaining-requests")) or 0) < 1:
        reset = duration(headers.get("x-ratelimit-reset-requests"))
        if reset is not None:
            return min(wait, reset / _size(headers)) if wait is not None else reset / _size(headers)
    return wait


def _size(headers: Mapping[str, str]) -> float:
    return max(1.0, _number(headers.get("x-ratelimit-limit-requests")) or 1.0)


def wait_named(headers: Mapping[str, str], body: object) -> float | None:
    """The seconds a refusal asks the client to wait, where the service names them: `retry-after-ms`,
    `Retry-After` (seconds; an HTTP date is left to the backoff), the requests' reset when none are left, or
    Gemini's `RetryInfo.retryDelay` in the body."""
    ms = _number(headers.get("retry-after-ms"))
    if ms is not None:
        return max(0.0, ms / 1000)
    seconds = _number(headers.get("retry-after"))
    if seconds is not None:
        return max(0.0, seconds)
    if (_number(headers.get("x-ratelimit-remaining-requests")) or 0) < 1:
        reset = duration(headers.get("x-ratelimit-reset-requests"))
        if reset is not None:  # until the whole limit is back; one request is back sooner
            return reset / _size(headers)
    return _retry_delay(body)


def _retry_delay(body: object) -> float | None:
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            return duration(str(detail.get("retryDelay") or ""))
    return None


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None
