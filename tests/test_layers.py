"""The shape of the package, checked on every test run: the layers and cycles (import-linter's contracts in
pyproject.toml) and the lint rules (ruff). The output of a failing check is the failure message."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> str:
    """The tool installed beside this Python (the `test` extra), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def _check(*command: str) -> None:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"


def test_import_contracts_hold():
    _check(_tool("lint-imports"), "--no-cache")


def test_ruff_finds_nothing():
    _check(_tool("ruff"), "check", "pytest_mmlu", "tests", "bench")
