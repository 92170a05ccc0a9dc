"""MixEval and MixEval-Hard (github.com/Psycoy/MixEval; hub MixEval/MixEval): their multiple-choice split.

A release is `mix_eval/data/mixeval-<date>/{mixeval,mixeval-hard}/multiple-choice.json`: one JSON object keyed by
index ("0", "1", ...), each item with `problem_type`, `context` (a passage, or null), `prompt` (the question),
`options` (2 to 10), `target` (a list of right option indices: any of them is right) and `benchmark_name` (the
benchmark the question comes from). The subjects are those benchmarks, in lower case (core.subjects). On the hub
the configs are `MixEval` and `MixEval_Hard`, the split `multiple_choice`; `SPEC:MixEval_Hard` picks the hard one
wherever there is a choice (the hub, a mixeval-<date> folder, a local copy of the hub repository).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..core.errors import DatasetError
from ..core.subjects import MIXEVAL_SUBJECTS
from .family import Adapter, FamilySource
from .rows import Row, load_dataset

KEYS = ("problem_type", "context", "prompt", "options", "target", "benchmark_name")
FILE = "multiple-choice.json"
CONFIGS = {"mixeval": "MixEval", "mixeval_hard": "MixEval_Hard"}  # the hub's configs, by their lower-case names
HUB_SPLIT = "multiple_choice"
SPLITS = ("test", HUB_SPLIT)  # --mmlu-split: the default, or the hub's name; the release has no other to run
NO_CONTEXT = ("", "none", "null")  # MixEval's construct_prompt_multichoice leaves these out


def subject_of(benchmark_name) -> str | None:
    """MMLU-Pro -> mmlu_pro, CommonsenseQA -> commonsenseqa: lower case, "_" for anything not a letter or digit."""
    name = re.sub(r"[^a-z0-9]+", "_", str(benchmark_name or "").strip().lower()).strip("_")
    return name or None


def split_config(spec: str) -> tuple[str, bool | None]:
    """`SPEC:MixEval_Hard` (or `:MixEval`) -> (SPEC, whether the hard one); a spec without one -> (spec, None)."""
    head, sep, tail = spec.rpartition(":")
    config = tail.strip().lower().replace("-", "_")
    if sep and head and config in CONFIGS:
        return head, config == "mixeval_hard"
    return spec, None


def _targets(target, n: int) -> tuple[tuple[int, ...], str | None]:
    """The right indices of a question with `n` options (in the data's order, once each), or why there are none."""
    if isinstance(target, str):
        try:
            target = json.loads(target)
        except ValueError:
            pass
    if isinstance(target, (int, str)) and not isinstance(target, bool):
        target = [target]
    if not isinstance(target, (list, tuple)) or not target:
        return (), f"target {target!r} is not a list of option indices"
    out: list[int] = []
    for t in target:
        value = int(t) if isinstance(t, str) and t.strip().isdigit() else t
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < n:
            return (), f"target {list(target)!r} is not a list of indices of its {n} options (0-{n - 1})"
        if value not in out:
            out.append(value)
    return tuple(out), None


def rows(columns: dict, language=None):
    n = len(columns.get("prompt") or [])
    kinds, contexts, prompts, options, targets, sources = ((columns.get(k) or [None] * n) for k in KEYS)
    for kind, context, prompt, choices, target, source in zip(kinds, contexts, prompts, options, targets, sources):
        problem = None if kind in (None, "multiple-choice") else f"problem_type {kind!r}, not multiple-choice"
        right: tuple[int, ...] = ()
        if isinstance(choices, (list, tuple)):
            right, why = _targets(target, len(choices))
            problem = problem or why
        if isinstance(prompt, str) and context is not None and str(context).replace(" ", "").lower() not in NO_CONTEXT:
            prompt = f"{context}\n{prompt}"  # the context before the question, as MixEval puts it
        yield Row(subject_of(source), prompt, choices, right[0] if right else None, problem=problem,
                  targets=right if len(right) > 1 else ())


HUB_NOTE = ("the release's files are also on GitHub: mix_eval/data/mixeval-<date>/mixeval/multiple-choice.json "
            "in github.com/Psycoy/MixEval; pass that file or its folder to --mmlu-dataset")
_SHARED = dict(hub_ids=("mixeval/mixeval",), columns=frozenset({"prompt", "options", "target", "benchmark_name"}),
               rows=rows, prompts={"generate": "mixeval", "logprobs": "mixeval"},
               subjects=tuple(sorted(MIXEVAL_SUBJECTS)), hub_note=HUB_NOTE, categories=MIXEVAL_SUBJECTS)
MIXEVAL = Adapter(name="MixEval", **_SHARED)
MIXEVAL_HARD = Adapter(name="MixEval-Hard", **_SHARED)


# -- local files --------------------------------------------------------------------------------------------------


def _visible(path: Path, folder: Path) -> bool:
    return not any(part.startswith(".") for part in path.relative_to(folder).parts)


def release_files(folder: Path) -> list[Path]:
    """The multiple-choice files of the MixEval releases under `folder`."""
    return sorted(p for p in folder.rglob(FILE) if p.is_file() and _visible(p, folder))


def is_hard(path: Path) -> bool:
    """Whether a release file is MixEval-Hard's: it lies in a folder named so (mixeval-hard)."""
    return "hard" in path.parent.name.lower()


def hub_copy(folder: Path) -> bool:
    """A local copy of the hub repository: its README's front matter names the MixEval configs."""
    readme = folder / "README.md"
    try:
        return readme.is_file() and bool(re.search(r"config_name:\s*['\"]?MixEval\b",
                                                     readme.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError):
        return False


def holds_mixeval(folder: Path) -> bool:
    return hub_copy(folder) or bool(release_files(folder))


def read_items(path: Path) -> list:
    """The items of one file: a JSON object keyed by index (the release), a JSON list, JSON lines or parquet."""
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pylist()
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read {path} (MixEval): {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # a damaged parquet file
        raise DatasetError(f"cannot read {path} (MixEval): {type(exc).__name__}") from None
    return list(data.values()) if isinstance(data, dict) else data if isinstance(data, list) else []


def keys_of(path: Path) -> set[str]:
    """The keys of a JSON file's first item, for telling a release file (one JSON object, indented) apart."""
    if path.suffix.lower() != ".json":
        return set()
    try:
        items = read_items(path)
    except DatasetError:
        return set()
    return set(items[0]) if items and isinstance(items[0], dict) else set()


def check_keys(found: set, first_kind, where: str) -> None:
    """Stop, in one line, on MixEval's free-form split or on data without the multiple-choice split's keys."""
    if first_kind == "free-form":
        raise DatasetError(f"{where} is MixEval's free-form split: only its multiple-choice questions ({FILE}) "
                           f"are run")
    if not MIXEVAL.columns <= found:
        shown = ", ".join(sorted(found)) if found else "no items"
        raise DatasetError(f"{where} has the keys {shown}: expected {', '.join(KEYS)} (MixEval's {FILE})")


def to_columns(items: list, where: str) -> dict:
    """Items (dicts) as column lists; the first item's keys stand for all (the release's items share them)."""
    first = items[0] if items and all(isinstance(item, dict) for item in items) else {}
    check_keys(set(first), first.get("problem_type"), where)
    return {key: [item.get(key) for item in items] for key in KEYS}


# -- the source ---------------------------------------------------------------------------------------------------


class MixEvalSource(FamilySource):
    """MixEval's multiple-choice questions from a release file or folder, a local copy of the hub repository, or
    the hub; `hard` picks MixEval-Hard where there is a choice (None: MixEval, said in the header)."""

    def __init__(self, spec: str, path: Path | None = None, hard: bool | None = None, language: str | None = None):
        super().__init__(spec, MIXEVAL_HARD if hard else MIXEVAL, path, language)
        self.chosen: str | None = None  # which of two releases was taken, for the header
        self.files: list[Path] | None = None  # None: the hub
        if path is None:
            self.hard = bool(hard)
            self._say_chosen(hard, f"{spec}:{CONFIGS['mixeval_hard']}")
        elif self.is_file:
            if hard is not None:
                raise DatasetError(f"{path} is one MixEval file already: pass it without :{CONFIGS['mixeval_hard']}")
            self.files, self.hard = [path], is_hard(path)
            self.kind = "release file" if path.name == FILE else "file"
        elif hub_copy(path):
            self.hard = bool(hard)
            self.kind = "local hub layout"
            self.files = self._readme_files(self._config(), HUB_SPLIT) or []
            if not self.files:
                raise DatasetError(f"{path}: its README names no {HUB_SPLIT!r} files for config {self._config()!r}")
            self._say_chosen(hard, f"{spec}:{CONFIGS['mixeval_hard']}")
        else:
            self.files = [self._release(path, hard)]
            self.hard = is_hard(self.files[0])
            self.kind = "release folder"
        self.adapter = MIXEVAL_HARD if self.hard else MIXEVAL

    def _say_chosen(self, hard: bool | None, other: str) -> None:
        if hard is None:
            self.chosen = f"MixEval, not MixEval-Hard ({other} for that one)"

    def _release(self, folder: Path, hard: bool | None) -> Path:
        found = release_files(folder)
        if len(found) == 1 and (hard is None or is_hard(found[0]) == hard):
            return found[0]
        wanted = [p for p in found if is_hard(p) == bool(hard)]
        if len(wanted) == 1:
            if hard is None and len(found) == 2:
                self._say_chosen(hard, str(next(p for p in found if is_hard(p)).parent))
            return wanted[0]
        folders = ", ".join(str(p.parent.relative_to(folder)) for p in found)
        which = "MixEval-Hard" if hard else "MixEval"
        if not wanted:
            raise DatasetError(f"{folder} holds no {which} {FILE} (found: {folders})")
        raise DatasetError(f"{folder} holds {len(wanted)} {which} releases ({folders}): pass the folder of one")

    def _config(self, subject: str | None = None) -> str:
        return CONFIGS["mixeval_hard" if self.hard else "mixeval"]

    def _columns(self, split: str, config: str) -> tuple[dict, str]:
        if split not in SPLITS:
            raise DatasetError(f"{self.adapter.name} has one split to run, its multiple-choice questions: "
                               f"--mmlu-split test (the default) or {HUB_SPLIT}, not {split!r}")
        memo = ("columns", config)
        if memo in self._memo:
            return self._memo[memo]
        if self.files is None:
            where = f"{self.spec} {config}/{HUB_SPLIT}"
            try:
                columns = load_dataset(self.spec, config, split=HUB_SPLIT).to_dict()
            except DatasetError:
                raise
            except Exception as exc:  # datasets raises many kinds; one line for the user
                why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise DatasetError(f"cannot load {self.spec} ({self.adapter.name}) config {config!r} split "
                                   f"{HUB_SPLIT!r}: {why}; {HUB_NOTE}") from None
            kinds = columns.get("problem_type") or [None]
            check_keys(set(columns), kinds[0], where)
        else:
            where = ", ".join(str(f) for f in self.files)
            columns = to_columns([item for f in self.files for item in read_items(f)], where)
        self._memo[memo] = (columns, where)
        return self._memo[memo]

    def notes(self, shots: int = 0) -> list[str]:
        return ([self.chosen] if self.chosen else []) + super().notes(shots)

    def shots(self, subject: str, k: int):
        if k == 0:
            return []
        raise DatasetError(f"{self.adapter.name} has no split of few-shot examples: run it with --mmlu-shots 0")
