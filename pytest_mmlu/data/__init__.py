"""MMLU questions from the hub, a local folder (hub or original CSV layout) or one file.

Everything is read through `datasets.load_dataset`, which honours its own cache and
offline mode. Rows that are malformed stop the run with file and row named.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Sequence

from ..question import LETTERS, Question
from ..subjects import SUBJECTS

FILE_FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
CSV_SPLIT_NAMES = {"validation": "val"}  # the original release names its validation split `val`
NOT_SUBJECTS = {"all", "auxiliary_train"}
MANY_SUBJECTS = 4  # above this, one load of the `all` config beats one load per subject
SHOW_ROWS = 5


class DatasetError(Exception):
    pass


def _load_dataset(*args, **kwargs):
    import datasets  # imported lazily: it is slow to import and not needed for --help

    from . import hub

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    try:
        return hub.load(datasets.load_dataset, *args, **kwargs)  # fails fast when the hub is out of reach
    except hub.HubUnreachable as exc:
        raise DatasetError(str(exc)) from None


def _answer_index(value) -> int | None:
    if isinstance(value, str):
        value = value.strip()
        if value.upper() in LETTERS and len(value) == 1:
            return LETTERS.index(value.upper())
        if value.isdigit():
            value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 4:
        return value
    return None


def _to_questions(columns: dict, where: str, subject: str | None = None) -> dict[str, list[Question]]:
    """Column lists (as `Dataset.to_dict()` gives them) to questions grouped by subject."""
    by_subject: dict[str, list[Question]] = {}
    bad: list[str] = []
    questions = columns.get("question", [])
    subjects = columns.get("subject") or [subject] * len(questions)
    for row, (text, subj, choices, answer) in enumerate(
            zip(questions, subjects, columns["choices"], columns["answer"]), start=1):
        subj = subj or subject
        answer_index = _answer_index(answer)
        problem = None
        if not isinstance(text, str) or not text.strip():
            problem = "empty question"
        elif not isinstance(choices, (list, tuple)) or len(choices) != 4:
            problem = f"{len(choices) if isinstance(choices, (list, tuple)) else 'no'} choices, not 4"
        elif answer_index is None:
            problem = f"answer {answer!r} is not 0-3 or A-D"
        elif not subj:
            problem = "no subject"
        if problem:
            bad.append(f"row {row}: {problem}")
            continue
        group = by_subject.setdefault(subj, [])
        group.append(Question(subj, len(group), text, tuple(str(c) for c in choices), answer_index))
    if bad:
        more = f" and {len(bad) - SHOW_ROWS} more" if len(bad) > SHOW_ROWS else ""
        raise DatasetError(f"malformed MMLU rows in {where}: {'; '.join(bad[:SHOW_ROWS])}{more}")
    return by_subject


class DataSource:
    kind = "hub"

    def __init__(self, spec: str):
        self.spec = spec
        self._memo: dict = {}

    def describe(self) -> str:
        return f"{self.spec} ({self.kind})"

    def revision(self) -> str | None:
        return None

    def subjects(self, split: str) -> list[str]:
        return sorted(SUBJECTS)

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
                cols["choices"] = [_json_list(c) for c in cols["choices"]]
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


def _json_list(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def open_source(spec: str) -> DataSource:
    path = Path(spec).expanduser()
    looks_like_path = spec.startswith((".", "/", "~")) or path.suffix.lower() in FILE_FORMATS
    if not path.exists():
        if looks_like_path:
            raise DatasetError(f"dataset path {spec} does not exist")
        return DataSource(spec)
    if path.is_file():
        if path.suffix.lower() not in FILE_FORMATS:
            raise DatasetError(f"dataset file {path} is not .jsonl, .csv or .parquet")
        return SingleFile(spec, path)
    if any(path.glob("*/*.parquet")):
        return HubFolder(spec, path)
    if any(path.glob("data/*/*.csv")) or any(path.glob("*/*_*.csv")):
        return CsvFolder(spec, path)
    raise DatasetError(f"{path} holds no MMLU data: expected <subject>/<split>-*.parquet (hub layout), "
                       f"data/<split>/<subject>_<split>.csv (original CSV layout), or give one "
                       f".jsonl/.csv/.parquet file")


def sample(questions: list[Question], limit: int | None, seed: int = 1234) -> list[Question]:
    """At most `limit` questions, the same ones in every process and run, in index order."""
    if limit is None or limit >= len(questions):
        return list(questions)
    subject = questions[0].subject if questions else ""
    picked = random.Random(f"{seed}:{subject}").sample(range(len(questions)), limit)
    return [questions[i] for i in sorted(picked)]
