"""The controller's tally: records from test reports (never from the controller's own items)."""

from __future__ import annotations

import pytest


class Scoreboard:
    def __init__(self):
        self.records: dict[str, dict] = {}
        self.selected: dict[str, None] = {}  # ordered set of the selected MMLU node ids
        self.other_failures = 0  # non-MMLU tests run alongside that failed

    def select(self, nodeids) -> None:
        for nodeid in nodeids:
            if nodeid.startswith("mmlu::"):
                self.selected.setdefault(nodeid)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, "mmlu", None)
        if record is None:
            if report.failed and not report.nodeid.startswith("mmlu::"):
                self.other_failures += 1
            return
        previous = self.records.get(report.nodeid)
        # an error in any phase outranks what an earlier phase said
        if previous is None or previous.get("outcome") != "error" or record.get("outcome") == "error":
            self.records[report.nodeid] = record
        if report.when == "teardown" and report.failed:
            self.records[report.nodeid] = {**self.records[report.nodeid], "outcome": "error",
                                          "error": "teardown failed"}
