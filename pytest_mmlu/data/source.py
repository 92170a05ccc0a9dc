"""What every source of questions answers, whatever the dataset and wherever it lies: its subjects, its
questions per split, its few-shot examples, how it is described, and which prompt and reading rules suit it.

`DataSource` is plain MMLU on the hub (cais/mmlu and its copies); `LocalSource` adds what a local folder or
file shares (a content fingerprint as its revision). The MMLU locations are in mmlu.py, the family in family.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Mapping, Sequence

from ..core.errors import DatasetError
from ..core.question import Question
from ..core.subjects import SUBJECTS
from .rows import Row, load_dataset, to_questions

MANY_SUBJECTS = 4  # above this, one load of the `all` config beats one load per subject


def columns_to_questions(columns: dict, where: str, subject: str | None = None) -> dict[str, list[Question]]:
    """Column lists (as `Dataset.to_dict()` gives them) to questions grouped by subject."""
    questions = columns.get("question", [])
    subjects = columns.get("subject") or [subject] * len(questions)
    rows = (Row(subj or subject, text, choices, answer)
            for text, subj, choices, answer in zip(questions, subjects, columns["choices"], columns["answer"]))
    return to_questions(rows, where).by_subject


class DataSource:
    """Plain MMLU from the hub, by dataset id; the base of every source."""

    kind = "hub"
    language: str | None = None  # the locale of a multilingual dataset
    categories: Mapping[str, str] | None = None  # subject -> category where the dataset has its own (not MMLU's)

    def __init__(self, spec: str):
        self.spec = spec
        self.skipped: list[str] = []  # "FILE row N (subject: why)": rows the data left out on purpose
        self._memo: dict = {}

    def describe(self) -> str:
        return f"{self.spec} ({self.kind})"

    def revision(self) -> str | None:
        return None

    def default_prompt(self, scoring: str) -> str:
        return "harness" if scoring == "logprobs" else "instruct"

    def extraction(self, prompt_format: str) -> str:
        """Which rules read the answer out of a reply (see scoring.extract.READERS)."""
        return "mmlu-pro" if prompt_format == "mmlu-pro" else "mmlu"

    def notes(self, shots: int = 0) -> list[str]:
        """Lines for the run's header: what the data left out, where the shots come from."""
        return []

    def subjects(self, split: str) -> list[str]:
        return sorted(SUBJECTS)

    def splits(self) -> list[str] | None:
        """The splits the data has, where that can be known without loading it (None: not known)."""
        return None

    def has_split(self, split: str, subject: str) -> bool:
        return True

    def load(self, split: str, subjects: Sequence[str]) -> dict[str, list[Question]]:
        key = (split, tuple(subjects))
        if key not in self._memo:
            self._memo[key] = self._load(split, list(subjects))
        return self._memo[key]

    def shots(self, subject: str, k: int) -> list[Question]:
        if k == 0:
            return []
        pool = self.load("dev", [subject]).get(subject, []) if self.has_split("dev", subject) else []
        if len(pool) < k:
            raise DatasetError(f"--mmlu-shots needs a 'dev' split; none found for {subject} in {self.describe()}"
                               + (f" (it has {len(pool)} questions, not {k})" if pool else ""))
        return pool[:k]

    def _load(self, split: str, subjects: list[str]) -> dict[str, list[Question]]:
        try:
            if len(subjects) > MANY_SUBJECTS:
                ds = load_dataset(self.spec, "all", split=split)
                grouped = columns_to_questions(ds.to_dict(), f"{self.spec} all/{split}")
            else:
                grouped = {}
                for subject in subjects:
                    ds = load_dataset(self.spec, subject, split=split)
                    grouped.update(columns_to_questions(ds.to_dict(), f"{self.spec} {subject}/{split}", subject))
        except DatasetError:
            raise
        except Exception as exc:  # datasets raises many kinds; one line for the user
            raise DatasetError(f"cannot load {self.spec} split {split!r}: {str(exc).splitlines()[0]}") from None
        return {s: grouped.get(s, []) for s in subjects}


class LocalSource(DataSource):
    """A local folder or file: its revision is a fingerprint of its files' names, sizes and times."""

    def __init__(self, spec: str, path: Path):
        super().__init__(spec)
        self.path = path

    def describe(self) -> str:
        return f"{self.path} ({self.kind})"

    def revision(self) -> str | None:
        digest = hashlib.sha256()
        files = [self.path] if self.path.is_file() else sorted(p for p in self.path.rglob("*") if p.is_file())
        for p in files:
            stat = p.stat()
            digest.update(f"{p.relative_to(self.path.parent)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:12]
