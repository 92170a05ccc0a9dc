"""Questions of the MMLU family, from the hub, a local folder or one file.

One small adapter per dataset (mmlu, mmlu_pro, mmmlu, global_mmlu, redux) behind one interface:
`open_source` recognises the dataset by its hub id or, for local data, by its columns.
Everything is read through `datasets.load_dataset`, which honours its own cache and offline
mode. Rows that are malformed stop the run with file and row named.
"""

from __future__ import annotations

import random
from pathlib import Path

from ..question import Question
from .family import Adapter, FamilySource
from .global_mmlu import GLOBAL_MMLU
from .mmlu import CsvFolder, DataSource, HubFolder, SingleFile
from .mmlu_pro import MMLU_PRO
from .mmmlu import MMMLU
from .redux import REDUX
from .rows import FILE_FORMATS, DatasetError, columns_of, first_data_file

__all__ = ["DataSource", "DatasetError", "FamilySource", "ADAPTERS", "open_source", "sample"]

ADAPTERS: tuple[Adapter, ...] = (MMLU_PRO, MMMLU, GLOBAL_MMLU, REDUX)


def adapter_for_id(spec: str) -> Adapter | None:
    wanted = spec.strip().strip("/").lower()
    return next((a for a in ADAPTERS if wanted in a.hub_ids), None)


def adapter_for_columns(columns: set[str]) -> Adapter | None:
    return next((a for a in ADAPTERS if a.columns <= columns), None)


def _plain(source: DataSource, language: str | None) -> DataSource:
    if language:
        raise DatasetError(f"--mmlu-language applies to MMMLU and Global-MMLU, not to {source.describe()}")
    return source


def open_source(spec: str, language: str | None = None) -> DataSource:
    path = Path(spec).expanduser()
    looks_like_path = spec.startswith((".", "/", "~")) or path.suffix.lower() in FILE_FORMATS
    if not path.exists():
        if looks_like_path:
            raise DatasetError(f"dataset path {spec} does not exist")
        adapter = adapter_for_id(spec)
        return FamilySource(spec, adapter, language=language) if adapter else _plain(DataSource(spec), language)
    if path.is_file():
        if path.suffix.lower() not in FILE_FORMATS:
            raise DatasetError(f"dataset file {path} is not .jsonl, .csv or .parquet")
        adapter = adapter_for_columns(columns_of(path))
        return FamilySource(spec, adapter, path, language) if adapter else _plain(SingleFile(spec, path), language)
    first = first_data_file(path)
    adapter = adapter_for_columns(columns_of(first)) if first else None
    if adapter:
        return FamilySource(spec, adapter, path, language)
    if any(path.glob("*/*.parquet")):
        return _plain(HubFolder(spec, path), language)
    if any(path.glob("data/*/*.csv")) or any(path.glob("*/*_*.csv")):
        return _plain(CsvFolder(spec, path), language)
    raise DatasetError(f"{path} holds no MMLU data: expected <subject>/<split>-*.parquet (hub layout), "
                       f"data/<split>/<subject>_<split>.csv (original CSV layout), a copy of an MMLU-Pro, "
                       f"MMMLU, Global-MMLU or MMLU-Redux repository, or one .jsonl/.csv/.parquet file")


def sample(questions: list[Question], limit: int | None, seed: int = 1234) -> list[Question]:
    """At most `limit` questions, the same ones in every process and run, in index order."""
    if limit is None or limit >= len(questions):
        return list(questions)
    subject = questions[0].subject if questions else ""
    picked = random.Random(f"{seed}:{subject}").sample(range(len(questions)), limit)
    return [questions[i] for i in sorted(picked)]
