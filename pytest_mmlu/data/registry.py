"""Which source serves a `--mmlu-dataset` value: a dataset of the family recognised by its hub id or, for local
data, by its columns (`ADAPTERS`; MixEval's release files and folders also by their names); else plain MMLU from
the hub, a local folder or one file."""

from __future__ import annotations

import re
from pathlib import Path

from ..core.errors import DatasetError
from .cmmlu import CMMLU
from .family import MULTILINGUAL, Adapter, FamilySource
from .global_mmlu import GLOBAL_MMLU, GLOBAL_MMLU_LITE
from .kmmlu import KMMLU
from .mixeval import FILE as MIXEVAL_FILE
from .mixeval import KEYS as MIXEVAL_KEYS
from .mixeval import MIXEVAL, MixEvalSource, holds_mixeval, keys_of, split_config
from .mmlu import CsvFolder, HubFolder, SingleFile
from .mmlu_pro import MMLU_PRO
from .mmlu_prox import MMLU_PROX, MMLU_PROX_LITE
from .mmmlu import MMMLU
from .redux import REDUX
from .rows import FILE_FORMATS, columns_of, first_data_file
from .source import DataSource

# by columns, the first that fits: MMMLU before CMMLU (whose columns are MMMLU's less Subject); a -Lite after
# the dataset it shares its columns with (its folder's name tells it: lite_of)
ADAPTERS: tuple[Adapter, ...] = (MMLU_PRO, MMLU_PROX, MMLU_PROX_LITE, MMMLU, GLOBAL_MMLU, GLOBAL_MMLU_LITE, REDUX,
                                 KMMLU, CMMLU, MIXEVAL)
PLAIN_COLUMNS = ("question", "subject", "choices", "answer")  # cais/mmlu's; A, B, C, D may stand for choices


def adapter_for_id(spec: str) -> Adapter | None:
    wanted = spec.strip().strip("/").lower()
    return next((a for a in ADAPTERS if wanted in a.hub_ids), None)


def adapter_for_columns(columns: set[str]) -> Adapter | None:
    return next((a for a in ADAPTERS if a.columns <= columns), None)


def _letters_only(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def lite_of(adapter: Adapter, path: Path) -> Adapter:
    """A local copy of a -Lite dataset has the columns of the full one: a folder on its path named after the
    Lite dataset (Global-MMLU-Lite, mmlu_prox_lite, datasets--CohereLabs--Global-MMLU-Lite) tells it."""
    lite = next((a for a in ADAPTERS if a.name == f"{adapter.name}-Lite"), None)
    if lite and any(_letters_only(part).endswith(_letters_only(lite.name)) for part in path.resolve().parts):
        return lite
    return adapter


def known_datasets() -> str:
    names = [a.name for a in ADAPTERS]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _plain_columns(columns: set[str]) -> bool:
    return {"question", "subject", "answer"} <= columns and ("choices" in columns or set("ABCD") <= columns)


def _plain(source: DataSource, language: str | None) -> DataSource:
    if language:
        raise DatasetError(f"--mmlu-language applies to {MULTILINGUAL}, not to {source.describe()}")
    return source


def _family(spec: str, adapter: Adapter, path: Path | None, language: str | None, hard: bool | None) -> DataSource:
    if adapter is MIXEVAL:  # its own files (one JSON object per release) and its two configs
        return MixEvalSource(spec, path, hard, language)
    return FamilySource(spec, lite_of(adapter, path) if path else adapter, path, language, open_source)


def _expected(columns: set[str]) -> str:
    if columns & {"target", "benchmark_name", "problem_type"}:  # meant to be MixEval's
        return f"{', '.join(MIXEVAL_KEYS)} (MixEval's {MIXEVAL_FILE})"
    return f"{', '.join(PLAIN_COLUMNS)} (MMLU) or the columns of {known_datasets()}"


def open_source(spec: str, language: str | None = None) -> DataSource:
    spec, hard = split_config(spec)  # MixEval's `SPEC:MixEval_Hard`
    source = _open(spec, language, hard)
    if hard is not None and not isinstance(source, MixEvalSource):
        raise DatasetError(f"{spec}:{'MixEval_Hard' if hard else 'MixEval'} names a config of MixEval, "
                           f"but {source.describe()} is not MixEval")
    return source


def _open(spec: str, language: str | None, hard: bool | None) -> DataSource:
    path = Path(spec).expanduser()
    looks_like_path = spec.startswith((".", "/", "~")) or path.suffix.lower() in FILE_FORMATS
    if not path.exists():
        if looks_like_path:
            raise DatasetError(f"dataset path {spec} does not exist")
        adapter = adapter_for_id(spec)
        if adapter:
            return _family(spec, adapter, None, language, hard)
        return _plain(DataSource(spec), language)
    if path.is_file():
        if path.suffix.lower() not in FILE_FORMATS:
            raise DatasetError(f"dataset file {path} is not .jsonl, .csv or .parquet")
        columns = columns_of(path) or keys_of(path)  # a MixEval release file is one indented JSON object
        adapter = adapter_for_columns(columns)
        if adapter:
            return _family(spec, adapter, path, language, hard)
        if columns and not _plain_columns(columns):
            raise DatasetError(f"{path} has the columns {', '.join(sorted(columns))}: expected {_expected(columns)}")
        return _plain(SingleFile(spec, path), language)
    if holds_mixeval(path):
        return _family(spec, MIXEVAL, path, language, hard)
    first = first_data_file(path)
    columns = columns_of(first) if first else set()
    adapter = adapter_for_columns(columns)
    if adapter:
        return _family(spec, adapter, path, language, hard)
    if any(path.glob("*/*.parquet")):
        return _plain(HubFolder(spec, path), language)
    if any(path.glob("data/*/*.csv")) or any(path.glob("*/*_*.csv")):
        return _plain(CsvFolder(spec, path), language)
    found = f"; its first data file, {first.relative_to(path)}, has the columns {', '.join(sorted(columns))}" \
        if columns else ""
    raise DatasetError(f"{path} holds no MMLU data: expected <subject>/<split>-*.parquet (hub layout), "
                       f"data/<split>/<subject>_<split>.csv (original CSV layout), a copy of a repository of "
                       f"{known_datasets()}, or one .jsonl/.csv/.parquet file{found}")
