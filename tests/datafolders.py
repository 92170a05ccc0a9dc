"""Build local MMLU folders for tests and benchmarks: hub layout, original CSV layout, one file."""

from __future__ import annotations

import csv
import json
import random
import re
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


# -- the MMLU family, each in its hub repository's layout (README configs, file names, columns) -------


def _readme(root: Path, configs: dict[str, list[tuple[str, str]]], text: str) -> None:
    lines = ["---", "configs:"]
    for config, files in configs.items():
        lines += [f"- config_name: {config}", "  data_files:"]
        lines += [f"  - split: {split}\n    path: {path}" for split, path in files]
    (root / "README.md").write_text("\n".join(lines + ["---", "", text]) + "\n")


def make_pro_questions(category: str, n: int, seed: int = 0, options: int = 10) -> list[dict]:
    """Rows with TIGER-Lab/MMLU-Pro's columns; every third row pads its options with "N/A"."""
    rng = random.Random(f"pro:{seed}:{category}")
    rows = []
    for i in range(n):
        a, b = rng.randint(2, 60), rng.randint(2, 60)
        right = a + b
        count = options - 2 if i % 3 == 2 else options
        wrong = rng.sample([x for x in range(right - 20, right + 21) if x != right], count - 1)
        answer = rng.randrange(count)
        opts = [str(x) for x in wrong[:answer] + [right] + wrong[answer:]] + ["N/A"] * (options - count)
        rows.append({"question_id": 1000 * seed + i, "question": f"In {category} problem {i}: what is {a} + {b}?",
                     "options": opts, "answer": "ABCDEFGHIJ"[answer], "answer_index": answer,
                     "cot_content": f"A: Let's think step by step. {a} + {b} = {right}. "
                                    f"The answer is ({'ABCDEFGHIJ'[answer]}).",
                     "category": category, "src": f"ori_mmlu-{category.replace(' ', '_')}"})
    return rows


def write_mmlu_pro(root: Path, test: list[dict], validation: list[dict]) -> Path:
    root = Path(root)
    (root / "data").mkdir(parents=True, exist_ok=True)
    schema = pa.schema([("question_id", pa.int64()), ("question", pa.string()), ("options", pa.list_(pa.string())),
                        ("answer", pa.string()), ("answer_index", pa.int64()), ("cot_content", pa.string()),
                        ("category", pa.string()), ("src", pa.string())])
    for split, rows in (("test", test), ("validation", validation)):
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), root / "data" / f"{split}-00000-of-00001.parquet")
    _readme(root, {"default": [("test", "data/test-*"), ("validation", "data/validation-*")]}, "MMLU-Pro copy.")
    return root


def write_mmmlu(root: Path, by_language: dict[str, list[dict]]) -> Path:
    """openai/MMMLU: test/mmlu_<LL-CC>.csv with an unnamed index column, `Question,A,B,C,D,Answer,Subject`;
    rows given with the cais/mmlu columns (question, subject, choices, answer)."""
    root = Path(root)
    (root / "test").mkdir(parents=True, exist_ok=True)
    configs = {}
    for language, rows in by_language.items():
        name = f"mmlu_{language.replace('_', '-')}.csv"
        with open(root / "test" / name, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["", "Question", "A", "B", "C", "D", "Answer", "Subject"])
            for i, r in enumerate(rows):
                writer.writerow([i, r["question"], *r["choices"], "ABCD"[r["answer"]], r["subject"]])
        configs[language] = [("test", f"test/{name}")]
    _readme(root, {"default": [("test", "test/*.csv")], **configs}, "MMMLU copy.")
    return root


GLOBAL_COLUMNS = ("sample_id", "subject", "subject_category", "question", "option_a", "option_b", "option_c",
                  "option_d", "answer", "required_knowledge", "time_sensitive", "reference", "culture", "region",
                  "country", "cultural_sensitivity_label", "is_annotated")


def global_rows(rows: list[dict], labels=("CS", "CA", "-")) -> list[dict]:
    """cais/mmlu-style rows in Global-MMLU's columns, labels cycling CS, CA, - (not annotated)."""
    out = []
    for i, r in enumerate(rows):
        label = labels[i % len(labels)]
        out.append({"sample_id": f"{r['subject']}/test/{i}", "subject": r["subject"], "subject_category": "STEM",
                    "question": r["question"], **{f"option_{x}": c for x, c in zip("abcd", r["choices"])},
                    "answer": "ABCD"[r["answer"]], "required_knowledge": "[]", "time_sensitive": "[]",
                    "reference": "[]", "culture": "[]", "region": "[]", "country": "[]",
                    "cultural_sensitivity_label": label, "is_annotated": label != "-"})
    return out


def write_global_mmlu(root: Path, by_language: dict[str, dict[str, list[dict]]]) -> Path:
    """CohereLabs/Global-MMLU: <lang>/<split>-00000-of-00001.parquet; rows already in its columns."""
    return _by_language(root, by_language, lambda rows: pa.table({c: [r[c] for r in rows] for c in GLOBAL_COLUMNS}),
                        "Global-MMLU copy.")


def _by_language(root: Path, by_language: dict[str, dict[str, list[dict]]], table, title: str) -> Path:
    """A multilingual dataset's hub layout: <lang>/<split>-00000-of-00001.parquet, `table(rows)` each, and a README
    naming the configs."""
    root = Path(root)
    configs = {}
    for language, splits in by_language.items():
        (root / language).mkdir(parents=True, exist_ok=True)
        for split, rows in splits.items():
            pq.write_table(table(rows), root / language / f"{split}-00000-of-00001.parquet")
        configs[language] = [(split, f"{language}/{split}-*") for split in splits]
    _readme(root, configs, title)
    return root


def write_redux(root: Path, rows: list[dict]) -> Path:
    """edinburgh-dawg/mmlu-redux-2.0: <subject>/test-00000-of-00001.parquet; rows with cais/mmlu columns plus
    error_type, source, correct_answer, potential_reason (no subject column, as on the hub)."""
    root = Path(root)
    configs = {}
    for subject, group in _by_subject(rows).items():
        (root / subject).mkdir(parents=True, exist_ok=True)
        table = pa.table({"question": [r["question"] for r in group],
                          "choices": pa.array([r["choices"] for r in group], pa.list_(pa.string())),
                          "answer": pa.array([r["answer"] for r in group], pa.int64()),
                          "error_type": [r.get("error_type", "ok") for r in group],
                          "source": [r.get("source", "") for r in group],
                          "correct_answer": [r.get("correct_answer") for r in group],
                          "potential_reason": [r.get("potential_reason", "") for r in group]})
        pq.write_table(table, root / subject / "test-00000-of-00001.parquet")
        configs[subject] = [("test", f"{subject}/test-*")]
    _readme(root, configs, "MMLU-Redux copy.")
    return root


def right(prompt: str) -> str:
    """A model that always knows the sum (the data's questions are additions)."""
    a, b = map(int, re.findall(r"what is (\d+) \+ (\d+)\?", prompt)[-1])
    for letter, text in re.findall(r"^([A-J])\. (.*)$", prompt, re.MULTILINE)[-4:]:
        if text.strip() == str(a + b):
            return f"Answer: {letter}"
    raise AssertionError(f"no choice holds {a + b}")


PROX_SCHEMA = pa.schema([("question_id", pa.int64()), ("question", pa.string()),
                         *[(f"option_{i}", pa.string()) for i in range(10)],
                         ("answer", pa.string()), ("answer_index", pa.int64()), ("cot_content", pa.string()),
                         ("category", pa.string()), ("src", pa.string())])


def prox_rows(rows: list[dict]) -> list[dict]:
    """make_pro_questions rows in MMLU-ProX's columns: the options one per column, None where MMLU-Pro has N/A."""
    out = []
    for r in rows:
        options = [None if o == "N/A" else o for o in r["options"]] + [None] * (10 - len(r["options"]))
        out.append({**{k: v for k, v in r.items() if k != "options"},
                    **{f"option_{i}": o for i, o in enumerate(options)}})
    return out


def write_mmlu_prox(root: Path, by_language: dict[str, dict[str, list[dict]]]) -> Path:
    """li-lab/MMLU-ProX (and -Lite): <lang>/<split>-00000-of-00001.parquet, splits validation and test."""
    return _by_language(root, by_language, lambda rows: pa.Table.from_pylist(rows, schema=PROX_SCHEMA),
                        "MMLU-ProX copy.")


KMMLU_COLUMNS = ("question", "answer", "A", "B", "C", "D", "Category", "Human Accuracy")


def write_kmmlu(root: Path, rows_by_split: dict[str, list[dict]]) -> Path:
    """HAERAE-HUB/KMMLU: data/<Subject>-<split>.csv with its columns and a 1-based answer; rows given with the
    cais/mmlu columns (0-based answer), subjects in KMMLU's names (Korean-History)."""
    root = Path(root)
    (root / "data").mkdir(parents=True, exist_ok=True)
    configs: dict[str, list[tuple[str, str]]] = {}
    for split, rows in rows_by_split.items():
        for subject, group in _by_subject(rows).items():
            name = f"data/{subject}-{split}.csv"
            with open(root / name, "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(KMMLU_COLUMNS)
                for r in group:
                    writer.writerow([r["question"], r["answer"] + 1, *r["choices"], subject.replace("-", " "),
                                     r.get("human_accuracy", 0.5)])
            configs.setdefault(subject, []).append((split, name))
    _readme(root, configs, "KMMLU copy.")
    return root


def write_cmmlu(root: Path, rows_by_split: dict[str, list[dict]], under: str = "") -> Path:
    """haonan-li/cmmlu as its archive unpacks: <split>/<subject>.csv with an unnamed index column,
    `Question,A,B,C,D,Answer` (a letter); `under="data"` for the GitHub repository's data/<split>/."""
    root = Path(root)
    for split, rows in rows_by_split.items():
        folder = root / under / split
        folder.mkdir(parents=True, exist_ok=True)
        for subject, group in _by_subject(rows).items():
            with open(folder / f"{subject}.csv", "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(["", "Question", "A", "B", "C", "D", "Answer"])
                for i, r in enumerate(group):
                    writer.writerow([i, r["question"], *r["choices"], "ABCD"[r["answer"]]])
    return root


def mixeval_item(benchmark: str, context, prompt: str, options: list[str], target: list[int]) -> dict:
    """One item of MixEval's multiple-choice.json, its keys in the release's order."""
    return {"problem_type": "multiple-choice", "context": context, "prompt": prompt, "options": options,
            "target": target, "benchmark_name": benchmark}


def write_mixeval(root: Path, releases: dict[str, dict[str, list[dict]]]) -> Path:
    """MixEval's release layout: mix_eval/data/mixeval-<date>/<mixeval|mixeval-hard>/multiple-choice.json, each
    one JSON object keyed by index ("0", "1", ...), indented as the repository has it. Returns mix_eval/data."""
    data = root / "mix_eval" / "data"
    for date, folders in releases.items():
        for name, items in folders.items():
            folder = data / f"mixeval-{date}" / name
            folder.mkdir(parents=True, exist_ok=True)
            text = json.dumps({str(i): item for i, item in enumerate(items)}, indent=4)
            (folder / "multiple-choice.json").write_text(text, encoding="utf-8")
            (folder / "free-form.json").write_text(json.dumps({"0": {
                "problem_type": "free-form", "context": None, "prompt": "What does a manometer measure?",
                "target": ["pressure"], "benchmark_name": "TriviaQA"}}, indent=4), encoding="utf-8")
    return data
