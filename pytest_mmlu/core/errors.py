"""Every error the plugin raises on purpose, in one tree, and how a backend fault reads in one line.

    MMLUError
    ├── SetupError            stops the run at start with one line (a usage error, exit status 4)
    │   ├── CannotReach       no server answers at start: the run may still score what the cache holds
    │   ├── OptionError       an option's value that cannot be used (also a ValueError)
    │   ├── UnknownSubject    (also a ValueError)
    │   ├── DatasetError      data that cannot be found, loaded or parsed
    │   ├── CacheDamaged      the reply cache file is damaged
    │   └── BaselineError     --mmlu-baseline is not a readable report (also a ReportError)
    ├── ReportError           a file that is not a readable pytest-mmlu report (also a ValueError)
    ├── ChartError            a chart that cannot be drawn (no matplotlib, a bad file name)
    ├── NotCached             offline: this question has no cached reply, so it is not run
    └── BackendError          the backend could not give a reply: an error, never a wrong answer
        ├── Unreachable       no connection (refused, unresolved, connect timeout)
        ├── KeyRejected       HTTP 401/403, or the service's own words for a bad key
        ├── BadReply          the service answered, but not with anything the backend can read
        ├── BackendTimeout    no reply within --mmlu-timeout
        ├── RateLimited       HTTP 429 after the retries
        └── RunStop           a fault after which no question can be answered (a rejected key, every server gone)
"""

from __future__ import annotations

KEY = "key"  # RunStop kind: the service rejected the API key
GONE = "gone"  # RunStop kind: every server stopped answering
BUDGET = "budget"  # RunStop kind: the run spent its --mmlu-budget


class MMLUError(Exception):
    """The root of every error pytest-mmlu raises on purpose."""


# -- at start -------------------------------------------------------------------------------------------


class SetupError(MMLUError):
    """A problem that stops the run at start with one line (a usage error)."""


class CannotReach(SetupError):
    """No server answers at start: the run may still score what the cache holds."""


class OptionError(SetupError, ValueError):
    """An option's value that cannot be used: an unknown gate scope, an output path that cannot be written."""


class UnknownSubject(SetupError, ValueError):
    """A subject or category that the dataset does not have (the message suggests the closest names)."""


class DatasetError(SetupError):
    """Data that cannot be found, loaded or parsed; the message names the file and row."""


class CacheDamaged(SetupError):
    """The reply cache file is damaged: delete it, or run with --mmlu-no-cache."""


class ReportError(MMLUError, ValueError):
    """A file that is not a readable pytest-mmlu report; the message names it.

    `problem` says which way (missing, folder, unreadable, not_json, not_report, newer), `detail` what was found
    and `cause` the exception behind it, so that a caller can word it its own way (report.baseline)."""

    def __init__(self, message: str, problem: str = "", detail: str = "", cause: BaseException | None = None):
        super().__init__(message)
        self.problem = problem
        self.detail = detail
        self.cause = cause


class BaselineError(ReportError, SetupError):
    """--mmlu-baseline names a file that is not a readable pytest-mmlu report."""


class MergeError(MMLUError, ValueError):
    """Reports that are not the parts of one run (`pytest-mmlu merge`): other configurations, questions in two
    of them, a shard given twice or missing; the message names the files, in one line."""


class ChartError(MMLUError):
    """A chart that cannot be drawn: matplotlib missing, or a file name that is not .png or .svg."""


class NotCached(MMLUError):
    """Offline: this question has no cached reply, so it is not run."""


# -- while asking -----------------------------------------------------------------------------------------


class BackendError(MMLUError):
    """The backend could not give a reply: an error, never a wrong answer."""


class Unreachable(BackendError):
    """No connection to the server: another server may take the question; with none left, the run stops."""


class KeyRejected(BackendError):
    """The service refused the API key: the run stops at once (asking on would only repeat it)."""


class BadReply(BackendError):
    """The service answered, but not with anything this backend can read."""


class BackendTimeout(BackendError):
    """No reply within --mmlu-timeout, after the retries."""


class RateLimited(BackendError):
    """HTTP 429 after the retries."""


def headline(kind: str, backend: str, where: str, reason: str) -> str:
    if kind == KEY:
        return f"key rejected for {backend} ({reason})"
    if kind == BUDGET:
        return f"the budget was spent ({reason})"
    return f"the {backend} backend at {where} went away ({reason})"


class RunStop(BackendError):
    """A fault after which no question can be answered: asking on would only repeat it.

    The engine raises it for the question that met the fault and for every later one; the item stops the
    session, and the controller prints one block for the run (report.stop)."""

    def __init__(self, kind: str, backend: str, where: str, reason: str):
        self.kind, self.backend, self.where, self.reason = kind, backend, where, reason
        super().__init__(headline(kind, backend, where, reason))

    def again(self) -> "RunStop":
        """A fresh exception for each question that meets the fault (tracebacks are per raise)."""
        return RunStop(self.kind, self.backend, self.where, self.reason)

    def to_json(self) -> dict:
        return {"kind": self.kind, "backend": self.backend, "where": self.where, "reason": self.reason}


def one_line(exc: BaseException) -> str:
    """What happened, where, and what to do: one line for failure text, summaries, JUnit and the report."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, RunStop):
        hint = {KEY: "fix the key, then run the same command again",
                BUDGET: "run the same command again (with a larger --mmlu-budget) to ask the rest"}.get(
            exc.kind, "start the server, then run the same command again")
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
