"""Requests in flight: bounded per server, served in order, errors handed to their own item."""

import threading
import time

import pytest

from pytest_mmlu.engine.scheduler import Prefetcher, pick


def test_in_flight_is_bounded_per_server_and_results_match():
    lock = threading.Lock()
    state = {"now": 0, "peak": 0, "calls": 0}
    # the first 6 calls wait until all 6 are in flight at once: one per thread, 3 per server
    # (a scheduler that allowed fewer breaks the barrier, and the waits below raise)
    together = threading.Barrier(6, timeout=10)

    def run(server, task):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
            state["calls"] += 1
            first = state["calls"] <= 6
        if first:
            together.wait()
        time.sleep(0.02)  # each call holds its place a while: a scheduler that allowed more shows a peak over 6
        with lock:
            state["now"] -= 1
        return (server, task * 2)

    pre = Prefetcher(["s1", "s2"], 3, run)
    for i in range(40):
        pre.submit(i, f"k{i}", i)
    results = [pre.wait(f"k{i}") for i in range(40)]
    assert [r[1] for r in results] == [i * 2 for i in range(40)]
    assert state["peak"] == 6  # 3 per server, 2 servers
    assert {r[0] for r in results} == {"s1", "s2"}
    pre.stop()


def test_lower_positions_are_served_first():
    order = []
    started, gate = threading.Event(), threading.Event()

    def run(server, task):
        started.set()
        gate.wait()
        order.append(task)
        return task

    pre = Prefetcher(["s"], 1, run)
    pre.submit(0, "first", 0)  # taken by the one thread, waiting on the gate
    assert started.wait(10)
    for pos in (9, 3, 7, 1):
        pre.submit(pos, f"k{pos}", pos)
    gate.set()
    for pos in (0, 1, 3, 7, 9):
        pre.wait("first" if pos == 0 else f"k{pos}")
    assert order == [0, 1, 3, 7, 9]


def test_an_error_reaches_only_its_own_item():
    def run(server, task):
        if task == 2:
            raise ValueError("server fault")
        return task

    pre = Prefetcher(["s"], 2, run)
    for i in range(4):
        pre.submit(i, f"k{i}", i)
    assert pre.wait("k1") == 1
    with pytest.raises(ValueError, match="server fault"):
        pre.wait("k2")
    assert pre.wait("k3") == 3


def test_stop_fails_what_was_not_started():
    started, gate = threading.Event(), threading.Event()

    def run(server, task):
        started.set()  # the one thread has taken job 0
        gate.wait()
        return task

    pre = Prefetcher(["s"], 1, run)
    for i in range(5):
        pre.submit(i, f"k{i}", i)
    assert started.wait(10)
    pre.stop()
    gate.set()
    assert pre.wait("k0") == 0
    with pytest.raises(InterruptedError):
        pre.wait("k4")


@pytest.mark.parametrize("groups, mine, others, expected", [
    (["A", "A", "B", "C"], "B", {"A"}, 2),  # its own subject first, though A comes first in the run
    (["A", "A", "B", "C"], None, {"A"}, 2),  # a free thread takes a subject no one is on
    (["A", "A", "B", "C"], "Z", {"A", "B"}, 3),  # its subject is done: the first unclaimed one
    (["A", "A"], "B", {"A"}, 0),  # only claimed work left: help, do not idle
    (["A", "B"], None, set(), 0),
])
def test_which_question_a_thread_takes_next(groups, mine, others, expected):
    assert pick(groups, mine, others) == expected


def test_with_affinity_every_question_is_answered_once():
    done = []
    pre = Prefetcher(["s1", "s2"], 2, lambda server, task: done.append(task) or task, affinity=True)
    for i in range(40):
        pre.submit(i, f"k{i}", i, group=f"subject{i // 7}")
    assert [pre.wait(f"k{i}") for i in range(40)] == list(range(40))
    assert sorted(done) == list(range(40))
    pre.stop()


def test_with_affinity_no_thread_idles_while_work_waits():
    done = []
    pre = Prefetcher(["s"], 3, lambda server, task: done.append(task) or task, affinity=True)
    for i in range(12):
        pre.submit(i, f"k{i}", i, group="only-subject")
    assert [pre.wait(f"k{i}") for i in range(12)] == list(range(12))
    pre.stop()
