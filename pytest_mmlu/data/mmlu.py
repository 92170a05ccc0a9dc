"""MMLU questions from the hub, a local folder (hub or original CSV layout) or one file.

Everything is read through `datasets.load_dataset`, which honours its own cache and
offline mode. Rows that are malformed stop the run with file and row named.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

from ..question import Question
from ..subjects import SUBJECTS
from .rows import FILE_FORMATS, DatasetError, Row, json_list, load_dataset as _load_dataset, to_questions

CSV_SPLIT_NAMES = {"validation": "val"}  # the original release names its validation split `val`
NOT_SUBJECTS = {"all", "auxiliary_train"}
MANY_SUBJECTS = 4  # above this, one load of the `all` config beats one load per subject


def _to_questions(columns: dict, where: str, subject: str | None = None) -> dict[str, list[Question]]:
    """Column lists (as `Dataset.to_dict()` gives them) to questions grouped by subject."""
    questions = columns.get("question", [])
    subjects = columns.get("subject") or [subject] * len(questions)
    rows = (Row(subj or subject, text, choices, answer)
            for text, subj, choices, answer in zip(questions, subjects, columns["choices"], columns["answer"]))
    return to_questions(rows, where).by_subject


class DataSource:
    kind = "hub"
    language: str | None = None  # the locale of a multilingual dataset

    def __init__(self, spec: str):
        self.spec = spec
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
                ds = _load_dataset(self.spec, "all", split=split)
                grouped = _to_questions(ds.to_dict(), f"{self.spec} all/{split}")
            else:
                grouped = {}
                for subject in subjects:
                    ds = _load_dataset(self.spec, subject, split=split)
                    grouped.update(_to_questions(ds.to_dict(), f"{self.spec} {subject}/{split}", subject))
        except DatasetError:
            raise
        except Exception as exc:  # datasets raises many kinds; one line for the user
            raise DatasetError(f"cannot load {self.spec} split {split!r}: {str(exc).splitlines()[0]}") from None
        return {s: grouped.get(s, []) for s in subjects}


class _LocalSource(DataSource):
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


class HubFolder(_LocalSource):
    """FOLDER/<subject>/<split>-*.parquet, as the hub repository is laid out."""

    kind = "local hub layout"

    def _files(self, config: str, split: str) -> list[Path]:
        return sorted((self.path / config).glob(f"{split}-*.parquet"))

    def subjects(self, split: str) -> list[str]:
        return sorted(p.name for p in self.path.iterdir()
                      if p.is_dir() and p.name not in NOT_SUBJECTS and self._files(p.name, split))

    def splits(self) -> list[str]:
        return sorted({f.name.split("-")[0] for f in self.path.glob("*/*.parquet")})

    def has_split(self, split: str, subject: str) -> bool:
        return bool(self._files(subject, split))

    def _load(self, split, subjects):
        if len(subjects) > MANY_SUBJECTS and self._files("all", split):
            where = f"{self.path / 'all'}/{split}-*.parquet"
            ds = _load_dataset("parquet", data_files=[str(p) for p in self._files("all", split)], split="train")
            grouped = _to_questions(ds.to_dict(), where)
            return {s: grouped.get(s, []) for s in subjects}
        files = {s: [str(p) for p in self._files(s, split)] for s in subjects if self._files(s, split)}
        out = {s: [] for s in subjects}
        if files:
            dd = _load_dataset("parquet", data_files=files)
            for s in files:
                out.update(_to_questions(dd[s].to_dict(), f"{self.path / s}/{split}-*.parquet", s))
        return out


class CsvFolder(_LocalSource):
    """The original release: data/<split>/<subject>_<split>.csv, headerless question,A,B,C,D,answer."""

    kind = "MMLU CSV layout"
    COLUMNS = ("question", "A", "B", "C", "D", "answer")

    def _dir(self, split: str) -> tuple[Path, str]:
        name = CSV_SPLIT_NAMES.get(split, split)
        base = self.path / "data" if (self.path / "data").is_dir() else self.path
        return base / name, name

    def _file(self, subject: str, split: str) -> Path:
        folder, name = self._dir(split)
        return folder / f"{subject}_{name}.csv"

    def subjects(self, split: str) -> list[str]:
        folder, name = self._dir(split)
        suffix = f"_{name}.csv"
        return sorted(p.name[: -len(suffix)] for p in folder.glob(f"*{suffix}")) if folder.is_dir() else []

    def splits(self) -> list[str]:
        base = self._dir("test")[0].parent
        names = {v: k for k, v in CSV_SPLIT_NAMES.items()}
        return sorted(names.get(d.name, d.name) for d in base.iterdir() if d.is_dir() and any(d.glob("*.csv")))

    def has_split(self, split: str, subject: str) -> bool:
        return self._file(subject, split).is_file()

    def _load(self, split, subjects):
        from datasets import Features, Value

        files = {s: str(self._file(s, split)) for s in subjects if self.has_split(split, s)}
        out = {s: [] for s in subjects}
        if not files:
            return out
        features = Features({c: Value("string") for c in self.COLUMNS})
        dd = _load_dataset("csv", data_files=files, column_names=list(self.COLUMNS), header=None,
                           features=features, keep_default_na=False)
        for s, path in files.items():
            cols = dd[s].to_dict()
            columns = {"question": cols["question"], "answer": cols["answer"],
                       "choices": [list(c) for c in zip(cols["A"], cols["B"], cols["C"], cols["D"])]}
            out.update(_to_questions(columns, path, s))
        return out


class SingleFile(_LocalSource):
    """One .jsonl/.csv/.parquet file with the cais/mmlu columns; it serves whichever split is asked."""

    kind = "file"

    def _all(self) -> dict[str, list[Question]]:
        if "all" not in self._memo:
            fmt = FILE_FORMATS[self.path.suffix.lower()]
            try:
                cols = _load_dataset(fmt, data_files=str(self.path), split="train").to_dict()
            except Exception as exc:
                raise DatasetError(f"cannot read {self.path}: {str(exc).splitlines()[0]}") from None
            if "choices" not in cols and all(c in cols for c in "ABCD"):
                cols["choices"] = [list(c) for c in zip(cols["A"], cols["B"], cols["C"], cols["D"])]
            elif cols.get("choices") and isinstance(cols["choices"][0], str):
                cols["choices"] = [json_list(c) for c in cols["choices"]]
            missing = [c for c in ("question", "subject", "choices", "answer") if c not in cols]
            if missing:
                raise DatasetError(f"{self.path} lacks the column(s) {', '.join(missing)} "
                                   f"(expected question, subject, choices, answer)")
            self._memo["all"] = _to_questions(cols, str(self.path))
        return self._memo["all"]

    def subjects(self, split: str) -> list[str]:
        return sorted(self._all())

    def has_split(self, split: str, subject: str) -> bool:
        return split != "dev"

    def _load(self, split, subjects):
        grouped = self._all()
        return {s: grouped.get(s, []) for s in subjects}
