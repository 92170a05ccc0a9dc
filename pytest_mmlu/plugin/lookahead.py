"""Which items this process runs next, so their requests can be in flight already: the whole run order without
xdist, else what the xdist worker was sent (its queue read without taking from it). One strategy per process,
chosen when the session starts.

pytest-xdist before 3.7 keeps that queue where it cannot be read under a lock: there a worker sees only the item
it runs and the next one, and the header says so (`blind`), rather than falling back in silence."""

from __future__ import annotations

import itertools
from typing import Iterable

import pytest


def _worker_queue(config: pytest.Config):
    for plugin in config.pluginmanager.get_plugins():
        if type(plugin).__name__ == "WorkerInteractor" and hasattr(plugin, "torun"):
            return plugin
    return None


def upcoming(item: pytest.Item, position: int, count: int) -> list[int]:
    """Under xdist: positions (indices into session.items) of up to `count` items from this one on."""
    interactor = _worker_queue(item.config)
    if interactor is None:
        return [position]
    try:
        with interactor.torun.lock() as pending:
            queued = [i for i in itertools.islice(pending, count) if isinstance(i, int)]
    except Exception:  # xdist internals changed: fall back to no lookahead
        queued = []
    nxt = getattr(interactor, "nextitem_index", None)
    head = [position] + ([nxt] if isinstance(nxt, int) else [])
    return (head + queued)[:count]


def blind() -> str | None:
    """On the controller: why the workers of the installed pytest-xdist cannot read their queues (None: they can).
    Read from the module whose code the workers run, since the header is printed before any worker starts."""
    try:
        from xdist import __version__ as version
        from xdist import remote
    except ImportError:
        return None  # no xdist, no workers
    init = getattr(getattr(getattr(remote, "WorkerInteractor", None), "__init__", None), "__code__", None)
    queue = getattr(remote, "TestQueue", None)
    if init is not None and "torun" in init.co_names and callable(getattr(queue, "lock", None)):
        return None
    return (f"no lookahead: pytest-xdist {version} keeps each worker's queue out of reach, so a worker asks at "
            f"most one question ahead of the one it runs (pytest-xdist 3.7 or later: every question queued for it)")


class RunOrder:
    """Without xdist the session's item list is the run order: only the window's new end needs submitting."""

    def __init__(self):
        self._horizon = 0  # every position below this was handed over

    def next_positions(self, item, window: int) -> Iterable[int]:
        positions = range(max(item.position, self._horizon), min(item.position + window, len(item.session.items)))
        self._horizon = max(self._horizon, item.position + window)
        return positions


class WorkerQueue:
    """On an xdist worker: the items the controller sent it, in the order it will run them."""

    def __init__(self):
        self._submitted: set[int] = set()  # positions already handed to the evaluation

    def next_positions(self, item, window: int) -> Iterable[int]:
        positions = [p for p in upcoming(item, item.position, window) if p not in self._submitted]
        self._submitted.update(positions)
        return positions
