"""Plain MMLU from a local folder (hub or original CSV layout) or one file.

Everything is read through `datasets.load_dataset`, which honours its own cache and
offline mode. Rows that are malformed stop the run with file and row named.
"""

from __future__ import annotations

from pathlib import Path

from ..core.errors import DatasetError
from ..core.question import Question
from .rows import FILE_FORMATS, json_list, load_dataset
from .source import MANY_SUBJECTS, LocalSource, columns_to_questions

CSV_SPLIT_NAMES = {"validation": "val"}  # the original release names its validation split `val`
NOT_SUBJECTS = {"all", "auxiliary_train"}


class HubFolder(LocalSource):
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
            ds = load_dataset("parquet", data_files=[str(p) for p in self._files("all", split)], split="train")
            grouped = columns_to_questions(ds.to_dict(), where)
            return {s: grouped.get(s, []) for s in subjects}
        files = {s: [str(p) for p in self._files(s, split)] for s in subjects if self._files(s, split)}
        out = {s: [] for s in subjects}
        if files:
            dd = load_dataset("parquet", data_files=files)
            for s in files:
                out.update(columns_to_questions(dd[s].to_dict(), f"{self.path / s}/{split}-*.parquet", s))
        return out


class CsvFolder(LocalSource):
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
        dd = load_dataset("csv", data_files=files, column_names=list(self.COLUMNS), header=None,
                           features=features, keep_default_na=False)
        for s, path in files.items():
            cols = dd[s].to_dict()
            columns = {"question": cols["question"], "answer": cols["answer"],
                       "choices": [list(c) for c in zip(cols["A"], cols["B"], cols["C"], cols["D"])]}
            out.update(columns_to_questions(columns, path, s))
        return out


class SingleFile(LocalSource):
    """One .jsonl/.csv/.parquet file with the cais/mmlu columns; it serves whichever split is asked."""

    kind = "file"

    def _all(self) -> dict[str, list[Question]]:
        if "all" not in self._memo:
            fmt = FILE_FORMATS[self.path.suffix.lower()]
            try:
                cols = load_dataset(fmt, data_files=str(self.path), split="train").to_dict()
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
            self._memo["all"] = columns_to_questions(cols, str(self.path))
        return self._memo["all"]

    def subjects(self, split: str) -> list[str]:
        return sorted(self._all())

    def has_split(self, split: str, subject: str) -> bool:
        return split != "dev"

    def _load(self, split, subjects):
        grouped = self._all()
        return {s: grouped.get(s, []) for s in subjects}
