"""What every dataset shares: loading through `datasets`, reading a file's columns, and turning
rows into validated questions (2 to 10 choices; an answer that is one of them)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..core.errors import DatasetError
from ..core.question import ALL_LETTERS, Question
from . import hub

FILE_FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
SHOW_ROWS = 5
MIN_CHOICES, MAX_CHOICES = 2, len(ALL_LETTERS)


def load_dataset(*args, **kwargs):
    import datasets  # imported lazily: it is slow to import and not needed for --help

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    try:
        return hub.load(datasets.load_dataset, *args, **kwargs)  # fails fast when the hub is out of reach
    except hub.HubUnreachable as exc:
        raise DatasetError(str(exc)) from None


@dataclass
class Row:
    """One row of any dataset, in the benchmark's words; `skip` says why it is left out (reported)."""

    subject: str | None
    question: object
    choices: object
    answer: object
    meta: dict = field(default_factory=dict)
    skip: str | None = None
    problem: str | None = None  # malformed, for a reason only the dataset's adapter can see
    targets: tuple[int, ...] = ()  # several right choices (MixEval): any of them passes; `answer` is the first


def answer_index(value, n_choices: int = 4) -> int | None:
    """A letter (A-J) or a number (int or digit string) naming one of `n_choices` choices."""
    if isinstance(value, str):
        value = value.strip()
        if len(value) == 1 and value.upper() in ALL_LETTERS:
            value = ALL_LETTERS.index(value.upper())
        elif value.isdigit():
            value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n_choices:
        return value
    return None


def empty_options(choices, letters=ALL_LETTERS) -> str | None:
    """Why a row is left out when some of its options are empty (None, NaN from a CSV, blank), else None."""
    empty = [letter for letter, c in zip(letters, choices)
             if c is None or (isinstance(c, float) and c != c) or not str(c).strip()]
    return f"empty option {', '.join(empty)}" if empty else None


def _problem(row: Row) -> str | None:
    choices = row.choices
    if row.problem:
        return row.problem
    if not isinstance(row.question, str) or not row.question.strip():
        return "empty question"
    if not isinstance(choices, (list, tuple)) or not MIN_CHOICES <= len(choices) <= MAX_CHOICES:
        n = len(choices) if isinstance(choices, (list, tuple)) else "no"
        return f"{n} choice{'' if n == 1 else 's'}, not {MIN_CHOICES} to {MAX_CHOICES}"
    if answer_index(row.answer, len(choices)) is None:
        n = len(choices)
        return (f"answer {row.answer!r} is not one of its {n} choices "
                f"(0-{n - 1} or A-{ALL_LETTERS[n - 1]})")
    if not row.subject:
        return "no subject"
    return None


@dataclass
class Parsed:
    by_subject: dict[str, list[Question]]
    skipped: list[str]  # "FILE row N (subject: why)" for rows left out on purpose


def to_questions(rows: Iterable[Row], where: str) -> Parsed:
    """Validated questions grouped by subject, indexed in data order; malformed rows stop the run."""
    by_subject: dict[str, list[Question]] = {}
    bad: list[str] = []
    skipped: list[str] = []
    for number, row in enumerate(rows, start=1):
        if row.skip:
            skipped.append(f"{where} row {number} ({row.subject}: {row.skip})")
            continue
        problem = _problem(row)
        if problem:
            bad.append(f"row {number}: {problem}")
            continue
        group = by_subject.setdefault(row.subject, [])
        group.append(Question(row.subject, len(group), row.question, tuple(str(c) for c in row.choices),
                              answer_index(row.answer, len(row.choices)), dict(row.meta), targets=row.targets))
    if bad:
        more = f" and {len(bad) - SHOW_ROWS} more" if len(bad) > SHOW_ROWS else ""
        raise DatasetError(f"malformed rows in {where}: {'; '.join(bad[:SHOW_ROWS])}{more}")
    return Parsed(by_subject, skipped)


def columns_of(path: Path) -> set[str]:
    """The column names of one data file, read from its header only."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq
            return set(pq.read_schema(path).names)
        if suffix == ".csv":
            with open(path, newline="", encoding="utf-8") as f:
                return {c.strip() for c in next(csv.reader(f), [])}
        if suffix in (".jsonl", ".json"):
            with open(path, encoding="utf-8") as f:
                first = f.readline()
            data = json.loads(first) if first.strip() else {}
            return set(data) if isinstance(data, dict) else set()
    except (OSError, ValueError, StopIteration):
        return set()
    except Exception:  # a damaged parquet file: it is reported when loaded
        return set()
    return set()


def first_data_file(folder: Path) -> Path | None:
    for pattern in ("*.parquet", "*.csv", "*.jsonl"):
        found = sorted(p for p in folder.rglob(pattern)
                       if not any(part.startswith(".") for part in p.relative_to(folder).parts))
        if found:
            return found[0]
    return None


def json_list(text):
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text
