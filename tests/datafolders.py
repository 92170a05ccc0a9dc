"""Build local MMLU folders for tests and benchmarks: hub layout, original CSV layout, one file."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CSV_SPLITS = {"validation": "val"}


def make_questions(subject: str, n: int, seed: int = 0) -> list[dict]:
    """Synthetic rows with the cais/mmlu columns; deterministic for (subject, n, seed)."""
    rng = random.Random(f"{seed}:{subject}")
    rows = []
    for i in range(n):
        a, b = rng.randint(2, 60), rng.randint(2, 60)
        right = a + b
        wrong = rng.sample([x for x in range(right - 12, right + 13) if x != right], 3)
        answer = rng.randrange(4)
        choices = wrong[:answer] + [right] + wrong[answer:]
        rows.append({"question": f"In {subject.replace('_', ' ')} problem {i}: what is {a} + {b}?",
                     "subject": subject, "choices": [str(c) for c in choices], "answer": answer})
    return rows


def _by_subject(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["subject"], []).append(row)
    return out


def _table(rows: list[dict]) -> pa.Table:
    return pa.table({"question": pa.array([r["question"] for r in rows], pa.string()),
                     "subject": pa.array([r["subject"] for r in rows], pa.string()),
                     "choices": pa.array([list(r["choices"]) for r in rows], pa.list_(pa.string())),
                     "answer": pa.array([r["answer"] for r in rows], pa.int64())})


def write_hub_layout(root: Path, rows_by_split: dict[str, list[dict]], with_all: bool = True,
                     readme: bool = True) -> Path:
    root = Path(root)
    configs: dict[str, list[str]] = {}
    for split, rows in rows_by_split.items():
        groups = _by_subject(rows)
        if with_all:
            groups = {**groups, "all": [r for s in sorted(groups) for r in groups[s]]}
        for config, group in groups.items():
            folder = root / config
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(_table(group), folder / f"{split}-00000-of-00001.parquet")
            configs.setdefault(config, []).append(split)
    if readme:
        lines = ["---", "configs:"]
        for config in sorted(configs):
            lines += [f"- config_name: {config}", "  data_files:"]
            lines += [f"  - split: {split}\n    path: {config}/{split}-*" for split in configs[config]]
        (root / "README.md").write_text("\n".join(lines + ["---", "", "Test MMLU data."]) + "\n")
    return root


def write_csv_layout(root: Path, rows_by_split: dict[str, list[dict]]) -> Path:
    root = Path(root)
    for split, rows in rows_by_split.items():
        name = CSV_SPLITS.get(split, split)
        folder = root / "data" / name
        folder.mkdir(parents=True, exist_ok=True)
        for subject, group in _by_subject(rows).items():
            with open(folder / f"{subject}_{name}.csv", "w", newline="") as f:
                writer = csv.writer(f)
                for r in group:
                    writer.writerow([r["question"], *r["choices"], "ABCD"[r["answer"]]])
    return root


def write_file(path: Path, rows: list[dict]) -> Path:
    path = Path(path)
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif path.suffix == ".parquet":
        pq.write_table(_table(rows), path)
    elif path.suffix == ".csv":
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["question", "subject", "choices", "answer"])
            for r in rows:
                writer.writerow([r["question"], r["subject"], json.dumps(r["choices"]), r["answer"]])
    else:
        raise ValueError(path)
    return path
