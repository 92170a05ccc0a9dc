"""SIGINT ends an MMLU run with its summary, also where the run was started with SIGINT ignored.

A shell without job control starts background jobs (`cmd &` in a script, some CI runners)
with SIGINT ignored, and Python then never raises KeyboardInterrupt: a SIGINT would let the
whole benchmark run on and end in exit status 1 instead of stopping it with status 2.
"""

from __future__ import annotations

import signal
import threading


def listen():
    """Turn an inherited 'ignore' back into KeyboardInterrupt; returns what `restore` needs."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.SIG_IGN:
        return None
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return previous


def restore(previous) -> None:
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, previous)
