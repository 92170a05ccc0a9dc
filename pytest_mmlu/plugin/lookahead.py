"""Which items an xdist worker will run next, so their requests can be in flight already.

Each worker holds a queue of item indices sent by the controller; we read it
without taking from it. (Without xdist the session's item list says it all.)
"""

from __future__ import annotations

import itertools

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
