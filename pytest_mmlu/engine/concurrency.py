"""How many requests each server gets at once, and which of its slots each request thread keeps to.

A llama.cpp server serves `total_slots` requests at once (`--parallel`); more only queue, fewer leave
slots idle. Under xdist the processes share the servers, so each takes its share of the slots.
"""

from __future__ import annotations

import math
from typing import Sequence


def per_server(servers: int, override: int | None, slots: Sequence[int | None], default: int,
               processes: int = 1) -> list[int]:
    """Requests in flight per server from one process: --mmlu-concurrency, else the server's slots
    shared among the processes, else the backend's default."""
    if override:
        return [override] * servers
    slots = list(slots)[:servers] + [None] * (servers - len(slots))
    return [max(1, math.ceil(s / max(1, processes))) if s else default for s in slots]


def lanes(backends: Sequence, counts: Sequence[int], slots: Sequence[int | None],
          workers: tuple[int, int] = (1, 0)) -> tuple[list, list[int]]:
    """Request threads as (server, count) pairs for the scheduler.

    Where a server says how many slots it has, it can pin a request to one (`on_slot`: llama.cpp's `id_slot`); each
    thread gets its own slot, and each process its own range of slots: a slot then serves one
    thread's stream of questions in run order, so it keeps the subject's few-shot prefix cached.
    """
    _, index = workers
    servers, out = [], []
    for backend, count, total in zip(backends, counts, list(slots) + [None] * (len(backends) - len(slots))):
        if total:  # a backend that knows its slots can pin a request to one
            for n in range(count):
                servers.append(backend.on_slot((index * count + n) % total))
                out.append(1)
        else:
            servers.append(backend)
            out.append(count)
    return servers, out


def describe(counts: Sequence[int], override: int | None, slots: Sequence[int | None], processes: int) -> str:
    """For the header: the figure and where it came from."""
    figure = "+".join(str(c) for c in counts) if len(set(counts)) > 1 else str(counts[0] if counts else 1)
    if override:
        return f"{figure} per process (--mmlu-concurrency)"
    if any(slots):
        shared = f" over {processes} processes" if processes > 1 else ""
        known = "+".join(str(s) if s else "?" for s in slots)
        return f"{figure} per process (the server's slots, /props total_slots {known}{shared})"
    return f"{figure} per process (backend default)"
