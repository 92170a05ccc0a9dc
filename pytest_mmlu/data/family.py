"""The MMLU family behind one interface: an `Adapter` says what differs (hub ids, the columns that
identify it, how a row becomes a question, configs, shots, prompt); `FamilySource` does the rest."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

from ..core.errors import DatasetError
from ..core.question import Question
from ..core.subjects import SUBJECTS
from .rows import FILE_FORMATS, Row, load_dataset, to_questions
from .source import DataSource, LocalSource

SHOW_SKIPPED = 5


@dataclass(frozen=True)
class Adapter:
    """What one dataset of the family does its own way; one instance per dataset (mmlu_pro.py, mmmlu.py...)."""

    name: str  # as its authors write it: "MMLU-Pro"
    hub_ids: tuple[str, ...]  # lower case
    columns: frozenset[str]  # the columns that tell its files apart from the others'
    rows: Callable[..., Iterator[Row]]  # (column lists as Dataset.to_dict() gives them, language=) -> rows
    configs: str = "single"  # hub configs: "single" (`default`), "language" or "subject"
    files: str = "{config}/{split}-*.parquet"  # a local folder without README configs
    languages: tuple[str, ...] = ()  # the configs of a multilingual dataset
    shots_split: str | None = "dev"  # where few-shot examples come from; None: English cais/mmlu
    prompts: dict = field(default_factory=dict)  # scoring -> default prompt format
    subjects: tuple[str, ...] = tuple(sorted(SUBJECTS))  # on the hub, before loading anything
    reading: str | None = None  # the rules that read its replies (scoring.extract.READERS), where not MMLU's
    hub_note: str = ""  # added to a failed load from the hub: how else to get the data
    categories: Mapping[str, str] | None = None  # subject -> category, where not MMLU's (core.subjects tables)


MULTILINGUAL = "MMMLU, Global-MMLU (and -Lite) and MMLU-ProX (and -Lite)"  # the datasets --mmlu-language serves


ENGLISH_MMLU = "cais/mmlu"  # the shots of the translations that have no dev split


def pick_language(adapter: Adapter, code: str | None, required: bool) -> str | None:
    if not adapter.languages:
        if code:
            raise DatasetError(f"--mmlu-language applies to {MULTILINGUAL}, not to {adapter.name}")
        return None
    if not code:
        if required:
            raise DatasetError(f"{adapter.name} needs --mmlu-language: one of {', '.join(adapter.languages)}")
        return None
    wanted = code.strip().replace("-", "_")
    for lang in adapter.languages:
        if lang.lower() == wanted.lower():
            return lang
    names = {lang.lower(): lang for lang in adapter.languages}
    close = [lang for lang in adapter.languages if lang.lower().startswith(wanted.lower()[:2])]
    close += [names[c] for c in difflib.get_close_matches(wanted.lower(), list(names), n=3, cutoff=0.5)
              if names[c] not in close]
    hint = f"; did you mean: {', '.join(close[:3])}?" if close else ""
    raise DatasetError(f"unknown {adapter.name} language {code!r}{hint} (one of {', '.join(adapter.languages)})")


class FamilySource(DataSource):
    """One dataset of the family, from the hub, a local copy of its repository, or one file."""

    def __init__(self, spec: str, adapter: Adapter, path: Path | None = None, language: str | None = None,
                 opener: Callable[[str], DataSource] = DataSource):
        super().__init__(spec)
        self.adapter = adapter
        self.opener = opener  # opens the English MMLU for the shots of translations (data.registry.open_source)
        self.path = path
        self.is_file = path is not None and path.is_file()
        self.language = pick_language(adapter, language, required=not self.is_file)
        self.kind = "file" if self.is_file else ("local hub layout" if path else "hub")
        self.skipped: list[str] = []
        self.categories = adapter.categories
        self._english: DataSource | None = None

    # -- what the run shows -----------------------------------------------------------------
    def describe(self) -> str:
        lang = f" {self.language}" if self.language else ""
        return f"{self.path or self.spec} ({self.adapter.name}{lang}, {self.kind})"

    def revision(self) -> str | None:
        return LocalSource.revision(self) if self.path else None

    def default_prompt(self, scoring: str) -> str:
        return self.adapter.prompts.get(scoring) or super().default_prompt(scoring)

    def extraction(self, prompt_format: str) -> str:
        if prompt_format == "mmlu-pro":
            return "mmlu-pro"
        return self.adapter.reading or ("multilingual" if self.adapter.languages else "mmlu")

    def notes(self, shots: int = 0) -> list[str]:
        notes = []
        if shots and self.adapter.shots_split is None:
            notes.append(f"few-shot examples come from the dev split of {ENGLISH_MMLU}"
                         + (", in English" if self.adapter.languages else ""))
        if self.skipped:
            more = f" and {len(self.skipped) - SHOW_SKIPPED} more" if len(self.skipped) > SHOW_SKIPPED else ""
            notes.append(f"{len(self.skipped)} row{'s' if len(self.skipped) != 1 else ''} left out: "
                         + "; ".join(self.skipped[:SHOW_SKIPPED]) + more)
        return notes

    # -- loading -----------------------------------------------------------------------------
    def _config(self, subject: str | None = None) -> str:
        if self.adapter.configs == "language":
            return self.language or "default"
        if self.adapter.configs == "subject":
            return subject
        return "default"

    def _readme_files(self, config: str, split: str) -> list[Path] | None:
        """The files the README's `configs:` front matter names for (config, split); None without one.
        Loaded by absolute path: `datasets` keys its cache of a local folder by file times, and two
        copies made the same second would share it."""
        configs = self._readme_configs()
        if configs is None:
            return None
        for entry in configs:
            if isinstance(entry, dict) and entry.get("config_name") == config:
                files = entry.get("data_files") or []
                patterns = [f.get("path") for f in files if isinstance(f, dict) and f.get("split") == split]
                patterns = [p for group in patterns for p in ([group] if isinstance(group, str) else group)]
                return sorted({p for pattern in patterns for p in self.path.glob(pattern) if p.is_file()})
        return None

    def _readme_configs(self) -> list | None:
        """The `configs:` of the README's front matter, read once (a subject-per-config dataset asks per subject)."""
        if "readme" not in self._memo:
            self._memo["readme"] = None
            readme = self.path / "README.md"
            front = re.match(r"---\s*\n(.*?)\n---", readme.read_text(encoding="utf-8"), re.S) \
                if readme.is_file() else None
            if front:
                import yaml  # a dependency of datasets

                try:
                    self._memo["readme"] = (yaml.safe_load(front[1]) or {}).get("configs") or []
                except yaml.YAMLError:
                    pass
        return self._memo["readme"]

    def _local_files(self, config: str, split: str) -> list[Path]:
        listed = self._readme_files(config, split)
        if listed is not None:
            return listed
        pattern = self.adapter.files.format(config=config, split=split, language=config.replace("_", "-"))
        return sorted(self.path.glob(pattern))

    def _columns(self, split: str, config: str) -> tuple[dict, str]:
        """The split's columns, and where they came from (for messages)."""
        memo = ("columns", split, config)
        if memo in self._memo:
            return self._memo[memo]
        try:
            if self.is_file:
                where = str(self.path)
                ds = load_dataset(FILE_FORMATS[self.path.suffix.lower()], data_files=str(self.path), split="train")
            elif self.path is not None:
                files = self._local_files(config, split)
                if not files:
                    raise DatasetError(f"{self.path} ({self.adapter.name}) has no {split!r} split "
                                       f"for config {config!r}")
                where = ", ".join(str(f) for f in files)
                ds = load_dataset(FILE_FORMATS[files[0].suffix.lower()], data_files=[str(f) for f in files],
                                  split="train")
            else:
                where = f"{self.spec} {config}/{split}"
                ds = load_dataset(self.spec, config, split=split)
        except DatasetError:
            raise
        except Exception as exc:  # datasets raises many kinds; one line for the user
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            note = f"; {self.adapter.hub_note}" if self.path is None and self.adapter.hub_note else ""
            raise DatasetError(f"cannot load {self.path or self.spec} ({self.adapter.name}) config {config!r} "
                               f"split {split!r}: {why}{note}") from None
        self._memo[memo] = (ds.to_dict(), where)
        return self._memo[memo]

    def _grouped(self, split: str, subjects: list[str] | None = None) -> dict[str, list[Question]]:
        if self.adapter.configs != "subject" or self.is_file:
            memo = ("grouped", split)
            if memo not in self._memo:
                columns, where = self._columns(split, self._config())
                parsed = to_questions(self.adapter.rows(columns, language=self.language), where)
                if split not in ("dev", "validation"):
                    self.skipped += parsed.skipped
                self._memo[memo] = parsed.by_subject
            return self._memo[memo]
        out = {}
        for subject in subjects or []:
            memo = ("grouped", split, subject)
            if memo not in self._memo:
                columns, where = self._columns(split, subject)
                columns = {**columns, "subject": [subject] * len(next(iter(columns.values()), []))}
                parsed = to_questions(self.adapter.rows(columns, language=self.language), where)
                self.skipped += parsed.skipped
                self._memo[memo] = parsed.by_subject.get(subject, [])
            out[subject] = self._memo[memo]
        return out

    def subjects(self, split: str) -> list[str]:
        if self.adapter.configs == "subject" and not self.is_file:
            if self.path is None:
                return list(self.adapter.subjects)
            return sorted(s for s in self.adapter.subjects if self._local_files(s, split))
        return sorted(self._grouped(split))

    def has_split(self, split: str, subject: str) -> bool:
        if self.is_file:
            return False
        try:
            return bool(self._grouped(split, [subject]).get(subject))
        except DatasetError:
            return False

    def _load(self, split: str, subjects: list[str]) -> dict[str, list[Question]]:
        grouped = self._grouped(split, subjects)
        return {s: grouped.get(s, []) for s in subjects}

    def shots(self, subject: str, k: int) -> list[Question]:
        if k == 0:
            return []
        if self.adapter.shots_split is None:
            if self._english is None:
                self._english = self.opener(ENGLISH_MMLU)
            return self._english.shots(subject, k)
        split = self.adapter.shots_split
        pool = [] if self.is_file else self._grouped(split, [subject]).get(subject, [])  # a missing split says so
        if len(pool) < k:
            raise DatasetError(f"--mmlu-shots needs the {split!r} split of {self.adapter.name}; "
                               + (f"it has {len(pool)} questions for {subject}, not {k}" if pool
                                  else f"none found for {subject} in {self.describe()}"))
        return pool[:k]
