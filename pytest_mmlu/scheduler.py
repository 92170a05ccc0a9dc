"""Requests in flight: up to N per server, served in item order, each item waits for its own reply.

A shared priority queue (position in the run) feeds N threads per server (N may differ from
server to server: a llama.cpp server says how many it serves at once), so a faster server simply
takes more of the work.
"""

from __future__ import annotations

import itertools
import queue
import threading
from typing import Callable, Sequence

STOP = object()


class Job:
    __slots__ = ("position", "key", "task", "done", "result", "error")

    def __init__(self, position: int, key: str, task):
        self.position = position
        self.key = key
        self.task = task
        self.done = threading.Event()
        self.result = None
        self.error: BaseException | None = None


class Prefetcher:
    def __init__(self, servers: list, concurrency: int | Sequence[int], run: Callable[[object, object], object]):
        self.servers = servers
        # one count for every server, or one per server
        self.concurrency = [concurrency] * len(servers) if isinstance(concurrency, int) else list(concurrency)
        self.run = run  # run(server, task) -> result, in a worker thread
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._tiebreak = itertools.count()
        self._threads: list[threading.Thread] = []

    def submit(self, position: int, key: str, task) -> Job:
        with self._lock:
            job = self._jobs.get(key)
            if job is None:
                job = self._jobs[key] = Job(position, key, task)
                self._queue.put((position, next(self._tiebreak), job))
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
                thread = threading.Thread(target=self._work, args=(server,), daemon=True,
                                          name=f"mmlu-request-{n}")
                thread.start()
                self._threads.append(thread)

    def _work(self, server) -> None:
        while True:
            _, _, job = self._queue.get()
            if job is STOP:
                return
            try:
                job.result = self.run(server, job.task)
            except BaseException as exc:  # handed to the item that waits for it
                job.error = exc
            finally:
                job.done.set()

    def stop(self) -> None:
        """Drop what was not started; in-flight requests finish (and are cached) on their own."""
        with self._lock:
            while True:
                try:
                    _, _, job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is not STOP:
                    job.error = InterruptedError("run stopped before this question was asked")
                    job.done.set()
            for _ in self._threads:
                self._queue.put((float("inf"), next(self._tiebreak), STOP))
