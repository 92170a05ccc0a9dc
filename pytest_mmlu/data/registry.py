"""Which source serves a `--mmlu-dataset` value: a dataset of the family recognised by its hub id or, for local
data, by its columns (`ADAPTERS`); else plain MMLU from the hub, a local folder or one file."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import DatasetError
from .family import Adapter, FamilySource
from .global_mmlu import GLOBAL_MMLU
from .mmlu import CsvFolder, HubFolder, SingleFile
from .mmlu_pro import MMLU_PRO
from .mmmlu import MMMLU
from .redux import REDUX
from .rows import FILE_FORMATS, columns_of, first_data_file
from .source import DataSource

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
        if adapter:
            return FamilySource(spec, adapter, language=language, opener=open_source)
        return _plain(DataSource(spec), language)
    if path.is_file():
        if path.suffix.lower() not in FILE_FORMATS:
            raise DatasetError(f"dataset file {path} is not .jsonl, .csv or .parquet")
        adapter = adapter_for_columns(columns_of(path))
        if adapter:
            return FamilySource(spec, adapter, path, language, open_source)
        return _plain(SingleFile(spec, path), language)
    first = first_data_file(path)
    adapter = adapter_for_columns(columns_of(first)) if first else None
    if adapter:
        return FamilySource(spec, adapter, path, language, open_source)
    if any(path.glob("*/*.parquet")):
        return _plain(HubFolder(spec, path), language)
    if any(path.glob("data/*/*.csv")) or any(path.glob("*/*_*.csv")):
        return _plain(CsvFolder(spec, path), language)
    raise DatasetError(f"{path} holds no MMLU data: expected <subject>/<split>-*.parquet (hub layout), "
                       f"data/<split>/<subject>_<split>.csv (original CSV layout), a copy of an MMLU-Pro, "
                       f"MMMLU, Global-MMLU or MMLU-Redux repository, or one .jsonl/.csv/.parquet file")
