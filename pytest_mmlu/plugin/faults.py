"""A backend fault as pytest shows it: a longrepr of one line, not a traceback (the words are core.errors.one_line)."""

from __future__ import annotations

from _pytest._code.code import ExceptionChainRepr, ReprEntry, ReprFileLocation, ReprTraceback


def short_repr(line: str, path: str) -> ExceptionChainRepr:
    """A longrepr holding one line, that pytest prints as is, serialises for xdist and puts in JUnit."""
    entry = ReprEntry([line], None, None, None, "value")
    return ExceptionChainRepr([(ReprTraceback([entry], None, "value"), ReprFileLocation(path, 0, line), None)])
