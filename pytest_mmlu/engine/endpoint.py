"""A model behind one or more servers (or in process), under a role: the model a run asks, or its judge.

One type for both, so that what they share is built once: the API key, one backend per server, the check at
start (reachable, key accepted, the model served, the server's slots), the identity in every cache key, the
reply cache, asking with failover to the other servers, the request threads, and stopping.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..backends import Backend, Service, auth_headers, make_backend, needs_key
from ..backends.keys import find_key
from ..backends.pacing import Pacer
from ..backends.transport import Transport, connect_error
from ..core.errors import GONE, KEY, BackendError, CannotReach, KeyRejected, RunStop, SetupError, Unreachable
from ..core.reply import Reply
from .cache import ReplyCache, cache_key
from .concurrency import lanes, per_server
from .scheduler import Prefetcher


@dataclass(frozen=True)
class Role:
    """Whose endpoint it is: how its messages name it, and what a fault that leaves it no server means."""

    noun: str  # "backend" or "judge", as in "the llama backend", "the deepseek judge"
    ends_run: bool  # True: a rejected key or every server gone ends the run; False: a fault of the one reply
    tag: dict  # added to its identity, so that its cache keys never meet another role's


MODEL = Role("backend", ends_run=True, tag={})
JUDGE = Role("judge", ends_run=False, tag={"role": "judge"})


@dataclass(frozen=True)
class EndpointState:
    """What the controller learned at start that the xdist workers cannot learn (they do not probe)."""

    model_id: str | None = None
    slots: tuple[int | None, ...] = ()
    pace_file: str | None = None  # where the processes share one pace (backends.pacing), made by the controller


class Endpoint:
    """One model behind `urls` (none: in process), asked under `role`."""

    def __init__(self, service: Service, urls: tuple[str, ...], model: str | None, *, rootdir: Path,
                 timeout: float, retries: int, role: Role = MODEL, concurrency: int | None = None,
                 pin_slots: bool = True, cache: ReplyCache | None = None):
        self.service = service
        self.urls = tuple(urls)
        self.asked_model = model  # as given (--mmlu-model): part of the name the served model id is kept under
        self.model = model or service.model
        self.role = role
        self.timeout, self.retries = timeout, retries
        self.concurrency = concurrency  # None: the servers' slots, else the backend's default
        self.pin_slots = pin_slots  # keep each request thread to one server slot, where the server has them
        self.cache = cache
        self.workers = (1, 0)  # processes sharing the servers, and this one's index (xdist)
        self.model_id: str | None = None  # as the server reports it (part of the cache key)
        self.slots: list[int | None] = []  # per server, as each says (/props total_slots)
        self.key = find_key(service.key_env, rootdir) if service.key_env else None
        if not self.key and needs_key(service, self.urls[0] if self.urls else None):
            raise SetupError(f"{self.what} needs an API key: set {service.key_env} in the environment "
                             f"or in {Path(rootdir) / '.env'}")
        self.stopped: RunStop | None = None  # a rejected key, or every server gone: nothing more is asked
        self._cause: BackendError | None = None  # the fault behind `stopped`, as it was raised
        self._gone: set[int] = set()  # indices of servers that went away (the others take their questions)
        self._backends: list[Backend] | None = None
        self._ident: dict | None = None
        self._prefetcher: Prefetcher | None = None
        self.pacer = Pacer()  # the pace of this endpoint's requests: its servers share one key's rate limit
        self._pace_file: str | None = None  # made by state() on the xdist controller; removed by stop()
        self._lock = threading.RLock()  # request threads share the failover state

    @property
    def what(self) -> str:
        """`the llama backend`, `the deepseek judge`."""
        return f"the {self.service.name} {self.role.noun}"

    # -- the servers ----------------------------------------------------------------------------------------
    def backends(self) -> list[Backend]:
        with self._lock:
            if self._backends is None:
                headers = auth_headers(self.service, self.key)
                try:
                    self._backends = [
                        make_backend(self.service, url, self.model,
                                     Transport(timeout=self.timeout, retries=self.retries, headers=headers,
                                               secrets=(self.key,) if self.key else (), pacer=self.pacer))
                        for url in self.urls or (None,)]
                except ImportError as exc:
                    raise SetupError(f"{self.what} needs {exc.name}: "
                                     f"pip install 'pytest-mmlu[{self.service.name}]'") from None
            return self._backends

    def check_reachable(self, chat_logprobs: bool = False) -> None:
        """At start: every server answers and accepts the key; learn the served model id and the slots."""
        judge = not self.role.ends_run
        for url in self.urls:
            why = connect_error(url, self.timeout)
            if why:
                error = SetupError if judge else CannotReach
                raise error(f"cannot reach {self.what} at {url} ({why}); is the server running?")
        for backend in self.backends():
            try:
                model_id = backend.probe()
            except KeyRejected as exc:
                who = self.what if judge else self.service.name
                raise SetupError(f"key rejected for {who}: {exc}") from None
            except Unreachable as exc:
                raise (SetupError(f"the judge: {exc}") if judge else CannotReach(str(exc))) from None
            except BackendError as exc:
                raise SetupError(f"the judge: {exc}" if judge else str(exc)) from None
            self.model_id = self.model_id or model_id
            if self.cache is not None and model_id:  # so that offline runs find the same replies
                self.cache.put_meta(self._model_meta(backend.base_url), model_id)
            if chat_logprobs:
                try:
                    backend.check_logprobs()
                except BackendError as exc:
                    raise SetupError(str(exc)) from None
        self.slots = [b.slots for b in self.backends()]

    def _model_meta(self, url: str | None) -> str:
        return f"served_model {self.service.name} {url} {self.asked_model or ''}"

    def stored_model_id(self) -> str | None:
        """Offline: the served model id a past run at the same address stored with the cache."""
        if self.cache is None or not self.service.served_model_id or self.model_id is not None:
            return self.model_id
        for url in self.urls or (None,):
            found = self.cache.get_meta(self._model_meta(url))
            if found:
                return found
        return None

    def state(self) -> EndpointState:
        """For the xdist workers; from now on the pace is shared with them through a file (removed by stop())."""
        with self._lock:
            if self.pacer.shared is None and self._pace_file is None:
                fd, self._pace_file = tempfile.mkstemp(prefix="pytest-mmlu-pace-")
                os.close(fd)
                self.pacer.shared = self._pace_file
        return EndpointState(self.model_id, tuple(self.slots), self.pacer.shared)

    def take_state(self, state: EndpointState) -> None:
        self.model_id, self.slots = state.model_id, list(state.slots)
        if state.pace_file and os.path.exists(state.pace_file):
            self.pacer.shared = state.pace_file

    def per_server(self) -> list[int]:
        """Requests in flight per server from this process: the override, else the server's slots."""
        return per_server(len(self.backends()), self.concurrency, self.slots, self.service.concurrency,
                          self.workers[0])

    # -- the cache --------------------------------------------------------------------------------------------
    def identity(self) -> dict:
        """What identifies the model in a cache key: backend, model, the served model id, the backend's own."""
        if self._ident is None:
            ident = {**self.role.tag, "backend": self.service.name, "model": self.model}
            if self.service.served_model_id:
                ident["served_model"] = self.model_id
            ident.update(self.backends()[0].identity())
            self._ident = ident
        return self._ident

    def key_for(self, material: dict) -> str:
        """The cache key of one request: this endpoint's identity and what the request asks."""
        return cache_key({"v": 1, **self.identity(), **material})

    def cached(self, key: str) -> Reply | None:
        if self.cache is None:
            return None
        data = self.cache.get(key)
        if data is None:
            return None
        try:
            return Reply.from_json(data)
        except TypeError:
            self.cache.damaged_rows += 1
            return None

    # -- asking -----------------------------------------------------------------------------------------------
    def ask(self, lane: tuple[int, Backend], key: str, call: Callable[[Backend], Reply]) -> Reply:
        """In a request thread: `call` on this lane's server, stored as it arrives. A server that went away hands
        its questions to the others; a rejected key, or the last server gone, stops the endpoint: for the
        model the run (RunStop), for the judge every later request (a fault each)."""
        index, backend = lane
        servers = self.backends()
        while True:
            with self._lock:
                if self.stopped:
                    raise self.stopped.again() if self.role.ends_run else BackendError(f"not asked: {self._cause}")
                if index in self._gone:
                    index = next(i for i in range(len(servers)) if i not in self._gone)
                    backend = servers[index]
            try:
                started = time.perf_counter()
                self.pacer.refusals_here()  # from zero: what this request meets
                reply = call(backend)
                # the time of the request that answered: its transport retries included, a failed server's not
                reply = dataclasses.replace(reply, seconds=round(time.perf_counter() - started, 6),
                                            refusals=self.pacer.refusals_here())
                break
            except KeyRejected as exc:
                with self._lock:
                    if not self.stopped:
                        self.stopped = RunStop(KEY, self.service.name, self._where(index), str(exc))
                        self._cause = exc
                if not self.role.ends_run:
                    raise
            except Unreachable as exc:
                with self._lock:
                    self._gone.add(index)
                    if len(self._gone) == len(servers) and not self.stopped:
                        where = ", ".join(self.urls) or "in process"
                        self.stopped = RunStop(GONE, self.service.name, where, str(exc).rsplit(": ", 1)[-1])
                        self._cause = exc
                if not self.role.ends_run and self.stopped:
                    raise
        if self.cache is not None:
            self.cache.put(key, reply.to_json())
        return reply

    def stop_asking(self, stop: RunStop) -> None:
        """Ask nothing more (the budget was spent): requests not started raise `stop`; those in flight finish."""
        with self._lock:
            if not self.stopped:
                self.stopped = stop
                self._cause = stop

    def _where(self, index: int) -> str:
        return self.backends()[index].base_url or "in process"

    def requests(self, run: Callable[[tuple[int, Backend], object], object], affinity: bool = False) -> Prefetcher:
        """The request threads, started with the first job: `run(lane, task)` in each, a lane being a server's
        index and the backend (or its view pinned to one slot) that thread asks."""
        with self._lock:
            if self._prefetcher is None:
                servers, counts = [], []
                slots = self.slots if self.pin_slots else []
                for index, (backend, count) in enumerate(zip(self.backends(), self.per_server())):
                    views, numbers = lanes([backend], [count], slots[index:index + 1], self.workers)
                    servers += [(index, view) for view in views]
                    counts += numbers
                # threads pinned to server slots also keep to a subject: its shots stay cached in the slot
                pinned = len(servers) > len(self.backends())
                self._prefetcher = Prefetcher(servers, counts, run, affinity=affinity and pinned)
            return self._prefetcher

    def stop(self) -> None:
        """Drop the requests not started, and free the backends."""
        if self._prefetcher is not None:
            self._prefetcher.stop()
        for backend in self._backends or ():
            backend.close()
        self.pacer.close()
        if self._pace_file is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._pace_file)
            self._pace_file = None
