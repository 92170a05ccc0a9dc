"""The README's main command run from a clone of this repository: the test suite's own settings (no hub, a
temporary HF home, cleared keys) stay out of it, and a line blames an environment variable only when the user
set it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from datafolders import make_questions, write_hub_layout
from fakeservers import ClosedPort, OpenAIFake

CLONE = Path(__file__).resolve().parents[1]
HF_VARIABLES = ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE", "HF_HOME", "HF_DATASETS_CACHE", "HF_ENDPOINT")


def from_clone(*args, **env) -> subprocess.CompletedProcess:
    """`pytest ARGS` started in the clone, as a user would, with no Hugging Face variable but those given."""
    clean = {k: v for k, v in os.environ.items() if k not in HF_VARIABLES and not k.startswith("PYTEST_")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--mmlu-no-cache", *args],
                          cwd=CLONE, env={**clean, **env}, capture_output=True, text=True, timeout=300)


def test_main_command_from_the_clone_blames_the_hub_not_the_test_suite(tmp_path):
    with ClosedPort() as gone, OpenAIFake("openai") as fake:
        done = from_clone("--mmlu-backend=openai", f"--mmlu-base-url={fake.url}",
                          "--mmlu-subject=college_computer_science",
                          HF_ENDPOINT=gone.url, HF_HOME=str(tmp_path / "hf"))
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert (f"cannot reach the Hugging Face hub at {gone.url} (connection refused) to load cais/mmlu, and no "
            f"cached copy was found") in done.stderr
    assert "OFFLINE" not in done.stderr.replace("set HF_DATASETS_OFFLINE=1 where", "")  # only the advice names it
    assert not fake.requests


def test_main_command_from_the_clone_uses_the_users_hf_home(tmp_path):
    subjects = ("astronomy",)
    data = write_hub_layout(tmp_path / "data", {"test": [r for s in subjects for r in make_questions(s, 3, seed=1)]})
    home = tmp_path / "users-hf"
    with OpenAIFake("openai", answer="A") as fake:
        done = from_clone("--mmlu-backend=openai", f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={data}",
                          HF_HOME=str(home))
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "3 questions" in done.stdout or "collected 3 items" in done.stdout, done.stdout
    assert any((home / "datasets").iterdir())  # datasets cached the folder under the user's HF home
    assert "tests/test_" not in done.stdout


def test_offline_line_names_only_the_variable_the_user_set(tmp_path):
    with OpenAIFake("openai") as fake:
        done = from_clone("--mmlu-backend=openai", f"--mmlu-base-url={fake.url}", "--mmlu-subject=astronomy",
                          HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    line = next(line for line in done.stderr.splitlines() if "cais/mmlu" in line)
    assert "cais/mmlu is not in the local Hugging Face cache and HF_HUB_OFFLINE=1 is set" in line
    assert "HF_DATASETS_OFFLINE" not in line
