"""Backend faults as users read them: one line per question, one block per run.

A fault that ends the run (a rejected key, every server gone) is a `RunStop`:
the evaluation raises it for the question that met it and for every later one,
the item stops the session, and the controller prints `stop_block` once.
"""

from __future__ import annotations

from dataclasses import dataclass

from _pytest._code.code import ExceptionChainRepr, ReprEntry, ReprFileLocation, ReprTraceback

from .backends import BackendError, BadReply, KeyRejected, Unreachable

KEY = "key"  # the service rejected the API key
GONE = "gone"  # every server stopped answering


class RunStop(BackendError):
    """A fault after which no question can be answered: asking on would only repeat it."""

    def __init__(self, kind: str, backend: str, where: str, reason: str):
        self.kind, self.backend, self.where, self.reason = kind, backend, where, reason
        super().__init__(headline(kind, backend, where, reason))

    def again(self) -> "RunStop":
        """A fresh exception for each question that meets the fault (tracebacks are per raise)."""
        return RunStop(self.kind, self.backend, self.where, self.reason)

    def to_json(self) -> dict:
        return {"kind": self.kind, "backend": self.backend, "where": self.where, "reason": self.reason}


class NotCached(Exception):
    """Offline: this question has no cached reply, so it is not run."""


def headline(kind: str, backend: str, where: str, reason: str) -> str:
    if kind == KEY:
        return f"key rejected for {backend} ({reason})"
    return f"the {backend} backend at {where} went away ({reason})"


def one_line(exc: BaseException) -> str:
    """What happened, where, and what to do: one line for failure text, summaries, JUnit and the report."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, RunStop):
        hint = "fix the key, then run the same command again" if exc.kind == KEY else \
            "start the server, then run the same command again"
    elif isinstance(exc, KeyRejected):
        hint = "check the API key"
    elif isinstance(exc, Unreachable):
        hint = "is the server running? run the same command again to ask the rest"
    elif isinstance(exc, BadReply):
        hint = "not cached; run again to ask again"
    elif isinstance(exc, InterruptedError):
        hint = "run the same command again to ask it"
    else:
        hint = "not cached; run the same command again to retry"
    return f"{text}; {hint}"


def short_repr(line: str, path: str) -> ExceptionChainRepr:
    """A longrepr holding one line, that pytest prints as is, serialises for xdist and puts in JUnit."""
    entry = ReprEntry([line], None, None, None, "value")
    return ExceptionChainRepr([(ReprTraceback([entry], None, "value"), ReprFileLocation(path, 0, line), None)])


@dataclass
class StopReport:
    """The controller's view of a run that a fault ended, from the question records."""

    kind: str
    backend: str
    where: str
    reason: str
    answered: int  # replies received from the backend in this run
    not_asked: int  # selected questions without an answer: re-running asks exactly these


def find_stop(records, selected: int) -> StopReport | None:
    stops = [r["fault"] for r in records if r.get("fault")]
    if not stops:
        return None
    first = next((f for f in stops if f["kind"] == KEY), stops[0])  # a rejected key outranks the rest
    answered = sum(1 for r in records if r["outcome"] in ("passed", "failed") and not r.get("cached"))
    scored = sum(1 for r in records if r["outcome"] in ("passed", "failed"))
    return StopReport(first["kind"], first["backend"], first["where"], first["reason"], answered,
                      selected - scored)


def stop_block(stop: StopReport, key_env: str | None) -> list[str]:
    asked = f"{stop.not_asked} questions were not asked; run the same command again to ask only those"
    if stop.kind == KEY:
        fix = f"set a valid {key_env}, then " if key_env else "fix the key, then "
        return [f"{headline(stop.kind, stop.backend, stop.where, stop.reason)}; "
                f"{stop.answered} answers kept", f"{stop.not_asked} questions were not asked; {fix}"
                f"run the same command again to ask only those"]
    return [f"the {stop.backend} backend at {stop.where} went away after {stop.answered} answers "
            f"({stop.reason}); {asked}"]
