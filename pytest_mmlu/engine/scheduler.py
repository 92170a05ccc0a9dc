"""Requests in flight: up to N per server, served in item order, each item waits for its own reply.

A shared queue ordered by position in the run feeds N threads per server (N may differ from
server to server: a llama.cpp server says how many it serves at once), so a faster server simply
takes more of the work.

With `affinity`, each thread keeps to one group (a subject) while that group has questions waiting,
and prefers groups no other thread is on: a subject's few-shot prompts then go one after another to
the same server slot, which keeps their shared prefix cached. No thread waits while work is queued.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from typing import Callable, Sequence

STOP = object()


class Job:
    __slots__ = ("position", "key", "task", "group", "done", "result", "error", "order")

    def __init__(self, position: int, key: str, task, group=None, order: int = 0):
        self.position = position
        self.key = key
        self.task = task
        self.group = group
        self.order = order  # tie-break: first submitted first
        self.done = threading.Event()
        self.result = None
        self.error: BaseException | None = None

    def sort_key(self) -> tuple:
        return (self.position, self.order)


def pick(groups: Sequence, mine, others: set) -> int:
    """Which queued job a thread takes (groups in run order): the first of its own group, else the
    first of a group no other thread is on, else the first (no thread idles while work waits)."""
    for i, group in enumerate(groups):
        if group == mine:
            return i
    for i, group in enumerate(groups):
        if group not in others:
            return i
    return 0


class Prefetcher:
    def __init__(self, servers: list, concurrency: int | Sequence[int], run: Callable[[object, object], object],
                 affinity: bool = False):
        self.servers = servers
        # one count for every server, or one per server
        self.concurrency = [concurrency] * len(servers) if isinstance(concurrency, int) else list(concurrency)
        self.run = run  # run(server, task) -> result, in a worker thread
        self.affinity = affinity
        self._pending: list[Job] = []  # sorted by position
        self._keys: list[tuple] = []  # their sort keys, for bisect
        self._claims: dict[int, object] = {}  # thread number -> the group it is on
        self._stopping = False
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._tiebreak = itertools.count()
        self._threads: list[threading.Thread] = []

    def submit(self, position: int, key: str, task, group=None) -> Job:
        with self._lock:
            job = self._jobs.get(key)
            if job is None:
                job = self._jobs[key] = Job(position, key, task, group, next(self._tiebreak))
                if self._stopping:
                    job.error = InterruptedError("run stopped before this question was asked")
                    job.done.set()
                    return job
                at = bisect.bisect(self._keys, job.sort_key())
                self._keys.insert(at, job.sort_key())
                self._pending.insert(at, job)
                self._ready.notify()
                if not self._threads:
                    self._start()
            return job

    def wait(self, key: str):
        job = self._jobs[key]  # kept: two questions with the same prompt share one request
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def _start(self) -> None:
        for server, count in zip(self.servers, self.concurrency):
            for n in range(count):
                thread = threading.Thread(target=self._work, args=(server, len(self._threads)), daemon=True,
                                          name=f"mmlu-request-{n}")
                self._threads.append(thread)
                thread.start()

    def _pick(self, lane: int) -> int:
        """Index of the job this thread takes next (lock held, queue not empty)."""
        if not self.affinity:
            return 0
        others = {g for n, g in self._claims.items() if n != lane}
        return pick([job.group for job in self._pending], self._claims.get(lane), others)

    def _take(self, lane: int) -> Job | None:
        with self._ready:
            while not self._pending and not self._stopping:
                self._ready.wait()
            if self._stopping:
                return None
            i = self._pick(lane)
            del self._keys[i]
            job = self._pending.pop(i)
            self._claims[lane] = job.group
            return job

    def _work(self, server, lane: int) -> None:
        while True:
            job = self._take(lane)
            if job is None:
                return
            try:
                job.result = self.run(server, job.task)
            except BaseException as exc:  # handed to the item that waits for it
                job.error = exc
            finally:
                job.done.set()

    def stop(self) -> None:
        """Drop what was not started; in-flight requests finish (and are cached) on their own."""
        with self._ready:
            for job in self._pending:
                job.error = InterruptedError("run stopped before this question was asked")
                job.done.set()
            self._pending.clear()
            self._keys.clear()
            self._stopping = True
            self._ready.notify_all()
