"""API keys: from the environment, else from a .env file in the rootdir. Never printed."""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values


def find_key(variable: str, rootdir: Path) -> str | None:
    value = os.environ.get(variable)
    if value:
        return value.strip()
    env_file = Path(rootdir) / ".env"
    if env_file.is_file():
        value = dotenv_values(env_file).get(variable)
        if value:
            return value.strip()
    return None
