"""Running the plugin as users do: `pytest` in a subprocess, and the JSON report it wrote. The test modules'
own `run` helpers keep their defaults (backend, data, retries) and hand the run to `run_pytest`."""

import json


def run_pytest(pytester, *args, report=None, fresh=False):
    """`pytest *args` in a subprocess. With `report` (a path the args write --mmlu-report to), the report is read
    into `result.report` (None when there is none); `fresh` removes one left by an earlier run first."""
    if fresh and report is not None and report.exists():
        report.unlink()
    result = pytester.runpytest_subprocess(*args)
    if report is not None:
        result.report = json.loads(report.read_text()) if report.exists() else None
    return result
