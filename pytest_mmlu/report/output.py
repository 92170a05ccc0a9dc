"""Output files (--mmlu-report, --mmlu-markdown): found unwritable at start, not after the run."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import OptionError


def check_writable(target: str, option: str) -> None:
    """Raise OptionError (a usage error, one line) when `target` cannot be written; leaves no new file."""
    path = Path(target).expanduser()
    if path.is_dir():
        raise OptionError(f"{option} {target}: is a folder; give a file name")
    blocking = next((parent for parent in path.parents if parent.exists() and not parent.is_dir()), None)
    if blocking is not None:
        raise OptionError(f"{option} {target}: cannot write there ({blocking} is a file, not a folder)")
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise OptionError(f"{option} {target}: cannot write there ({exc.strerror or exc})") from None
    if not existed:
        path.unlink()
