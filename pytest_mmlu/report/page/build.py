"""One self-contained HTML page from one report (a run's page) or several (runs side by side).

The page is a template (page.html) with its style (page.css), its script (page.js) and the data inlined. The data
is JSON in a `<script type="application/json">` that the script reads with `JSON.parse`; every text from a model
or a dataset reaches the page through `textContent` only. A Content-Security-Policy forbids every request: the
inline script and style are allowed by their hashes, nothing else loads.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
from importlib.resources import files
from pathlib import Path

from ...core.subjects import CATEGORIES
from .. import compare
from ..compare import Pair, RunReport
from ..label import public_url
from ..schema import ReadReport
from ..stats import wilson_interval
from ..tally import judge_kind_of, kind_of
from ..usage import render_cost, render_usage

DATA_ID = "mmlu-data"
OLD_REPLY_CHARS = 500  # reports written before the question was kept (0.1.0) kept the start of each reply
# config keys the page shows: none can carry a key (addresses go through public_url again)
CONFIG_KEYS = ("backend", "model", "served_model", "dataset", "revision", "split", "shots", "limit", "scoring",
               "logprob_route", "prompt", "max_tokens", "temperature", "subjects", "language", "pytest_mmlu",
               "started", "wall_seconds", "interrupted", "dataset_notes", "permute")
JUDGE_KEYS = ("backend", "model", "served_model")
QUESTION_KEYS = ("question", "choices")  # a question's own text, shared by the runs
RECORD_SKIP = ("nodeid", "subject", "index", "language", "error_type", "cultural_sensitivity") + QUESTION_KEYS
KINDS = {"correct": "correct", "wrong": "wrong", "unparsed": "unparsed", "errors": "error"}
# what the page shows of each kind of gate (schema.GateResult, DropGateResult, EquivalenceGateResult)
GATE_FIELDS = {
    "gates": {"scope": "text", "minimum": "number", "actual": "number", "holds": "verdict", "reason": "text"},
    "drop_gates": {"scope": "text", "max_drop_points": "number", "drop_points": "number", "p_value": "number",
                   "common": "number", "holds": "verdict", "reason": "text", "correction": "text",
                   "adjusted_p_value": "number", "family": "number"},
    "equivalence_gates": {"scope": "text", "margin_points": "number", "difference_points": "number",
                          "interval": "interval", "common": "number", "holds": "verdict", "reason": "text"},
}
BIN_FIELDS = {"low": "number", "high": "number", "questions": "number", "correct": "number", "accuracy": "number",
              "confidence": "number"}
# text that must not end the data's script element, nor a line in old JavaScript parsers
JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def build_page(runs: list[ReadReport]) -> str:
    """The page of these reports, as one HTML string."""
    if not runs:
        raise ValueError("build_page needs at least one report")
    data = page_data(runs)
    style, script = _asset("page.css"), _asset("page.js")
    if "</script" in script.lower() or "</style" in style.lower():
        raise ValueError("page.js or page.css would end its own element")
    csp = (f"default-src 'none'; script-src '{_sha256(script)}'; style-src '{_sha256(style)}'; img-src data:; "
           f"base-uri 'none'; form-action 'none'")
    values = {"title": html.escape(_title(data["runs"])), "csp": csp, "style": style, "script": script,
              "data_id": DATA_ID, "data": embed_json(data)}
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], _asset("page.html"))


def write_page(path, runs: list[ReadReport]) -> None:
    """Write the page of these reports (UTF-8), its folder made if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_page(runs), encoding="utf-8")


def embed_json(value) -> str:
    """JSON that can sit inside a `<script>` element: no `<`, `>` or `&` can close it or open a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return re.sub("[<>&\u2028\u2029]", lambda m: JSON_ESCAPES[m.group()], text)


def page_data(reports: list[ReadReport]) -> dict:
    """What the page shows, as plain data: the runs, every question with each run's answer, the pairs."""
    runs = compare.unique_labels([compare.run_of(r) for r in reports])
    comparison = compare.compare_runs(runs)
    return {
        "runs": [_run(run, report) for run, report in zip(runs, reports)],
        "questions": _questions(runs, reports),
        "pairs": [_pair(p, runs) for p in comparison.pairs],
        "tables": {"runs": [compare.RUN_HEADER] + [compare.run_cells(r) for r in runs],  # as `compare` prints
                   "pairs": [compare.PAIR_HEADER] + [compare.pair_cells(p) for p in comparison.pairs],
                   "robustness": [compare.ROBUSTNESS_HEADER] + [compare.robustness_cells(r) for r in runs]},
        "shared_subjects": comparison.subjects,
        "categories": list(CATEGORIES),
    }


# -- the runs ---------------------------------------------------------------------------------------------------


def _run(run: RunReport, report: ReadReport) -> dict:
    data, config = report.data, run.config
    shown = {k: config[k] for k in CONFIG_KEYS if config.get(k) not in (None, "", [])}
    if config.get("base_urls"):
        shown["base_urls"] = [public_url(str(u)) for u in config["base_urls"]]
    if isinstance(config.get("judge"), dict):
        shown["judge"] = {k: config["judge"][k] for k in JUDGE_KEYS if config["judge"].get(k)}
    overall = dict(data.get("overall") or {})
    overall.update(_score(run.overall.correct, run.overall.total))
    return {
        "label": run.label,
        "file": Path(run.path).name,
        "schema_version": report.schema_version,
        "config": shown,
        "overall": overall,
        "categories": {c: {**t, **_score(t.get("correct", 0), t.get("total", 0))}
                       for c, t in _ordered(data.get("categories") or {}, CATEGORIES)},
        "subjects": {s: {**t, **_score(t.get("correct", 0), t.get("total", 0))}
                     for s, t in sorted((data.get("subjects") or {}).items())},
        **{key: [_fields(g, fields) for g in data.get(key) or [] if isinstance(g, dict)]
           for key, fields in GATE_FIELDS.items()},
        "bias": _bias(run.bias),
        "calibration": _calibration(run.calibration),
        "baseline": _baseline(data.get("baseline")),
        "breakdowns": data.get("breakdowns") or {},
        "stopped": data.get("stopped"),
        "shots": data.get("shots") or {},
        "missing": _missing(report),
        "usage": [line for line in (render_usage(data.get("usage")), render_cost(data.get("usage"))) if line],
    }


def _fields(raw: dict, fields: dict) -> dict:
    """The fields the page reads, each of the kind it reads (a number, a word, a verdict), None where the report
    has something else: a report is data, and a stray value must not stop the page's script."""
    return {key: READ_AS[kind](raw.get(key)) for key, kind in fields.items()}


def _number(x) -> int | float | None:
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def _interval(x) -> list[float] | None:
    values = [_number(v) for v in x] if isinstance(x, list) and len(x) == 2 else [None]
    return None if None in values else values


READ_AS = {"number": _number, "interval": _interval, "text": lambda x: None if x is None else str(x),
           "verdict": lambda x: x is True}


def _bias(raw) -> dict:
    """Position bias as the report has it (schema.BiasResult), each figure a number: what the page's table reads."""
    letters = [str(x) for x in raw.get("letters") or []]

    def per_letter(key):
        counts = raw.get(key) if isinstance(raw.get(key), dict) else {}
        return {x: _number(counts.get(x)) or 0 for x in letters}

    positions = raw.get("by_position") if isinstance(raw.get("by_position"), dict) else {}
    confusion = raw.get("confusion") if isinstance(raw.get("confusion"), dict) else {}
    return {"questions": raw["questions"], "answered": raw["answered"], "wrong": raw["wrong"], "letters": letters,
            **{key: per_letter(key) for key in ("expected", "predicted", "wrong_picks", "wrong_even")},
            "by_position": {x: _fields(p, {"correct": "number", "total": "number"})
                            for x, p in positions.items() if x in letters and isinstance(p, dict)},
            "confusion": {x: {y: _number(row.get(y)) or 0 for y in letters}
                          for x, row in confusion.items() if x in letters and isinstance(row, dict)},
            "imbalance": raw.get("imbalance"), "imbalance_letter": READ_AS["text"](raw.get("imbalance_letter"))}


def _calibration(block) -> dict | None:
    """Calibration as the report has it (the reader checked its figures), the reliability bins that hold questions
    kept as numbers: the diagram's points."""
    if not block:
        return None
    overall = dict(block["overall"])
    bins = [_fields(b, BIN_FIELDS) for b in overall.get("bins") or [] if isinstance(b, dict)]
    overall["bins"] = [b for b in bins if b["questions"] and b["accuracy"] is not None
                       and b["confidence"] is not None]
    return {"overall": overall, "subjects": dict(block["subjects"])}


def _score(correct: int, total: int) -> dict:
    low, high = wilson_interval(correct, total)
    return {"correct": correct, "total": total, "accuracy": correct / total if total else None,
            "interval": [round(low, 6), round(high, 6)]}


def _ordered(mapping: dict, order) -> list:
    rank = {name: i for i, name in enumerate(order)}
    return sorted(mapping.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


def _baseline(raw) -> dict | None:
    """The baseline comparison the run made, its lists of node ids cut to their counts and first ten."""
    if not isinstance(raw, dict):
        return None
    keys = ("common", "baseline_correct", "current_correct", "only_in_baseline", "only_in_current",
            "errors_excluded", "mismatched", "delta", "p_value")
    out = {k: raw.get(k) for k in keys}
    for key in ("newly_wrong", "newly_right"):
        ids = raw.get(key) or []
        out[key] = len(ids)
        out[f"{key}_first"] = ids[:10]
    return out


def _missing(report: ReadReport) -> list[str]:
    """What this report does not carry that the page would show, in words."""
    records = report.data["questions"]
    if not records:
        return []
    wrote = report.config.get("pytest_mmlu") or "an earlier pytest-mmlu"
    wrote = f"pytest-mmlu {wrote}" if wrote[:1].isdigit() else wrote
    absent = [what for key, what in (("question", "the question text"), ("choices", "the choices"),
                                     ("prompt", "the prompt as sent"))
              if not any(key in q for q in records)]
    notes = []
    if absent:
        notes.append(f"{', '.join(absent)} {'is' if len(absent) == 1 else 'are'} not in this report: "
                     f"written by {wrote}")
    if not any("question" in q for q in records):
        notes.append(f"replies may be cut to their first {OLD_REPLY_CHARS} characters: written by {wrote}")
    return notes


# -- the questions ---------------------------------------------------------------------------------------------


def _questions(runs: list[RunReport], reports: list[ReadReport]) -> list[dict]:
    """Every question of any run, in subject order, with each run's answer (None where the run had none)."""
    questions: dict[str, dict] = {}
    for position, (run, report) in enumerate(zip(runs, reports)):
        for nodeid, record in run.questions.items():
            q = questions.setdefault(nodeid, _question(nodeid, record, len(runs), report.category_of))
            for key in QUESTION_KEYS + ("language", "error_type"):
                if key in record and key not in q:
                    q[key] = record[key]
            q["answers"][position] = _answer(record)
        for nodeid in report.data.get("not_run") or []:
            q = questions.setdefault(nodeid, _question(nodeid, {}, len(runs), report.category_of))
            if q["answers"][position] is None:
                q["answers"][position] = {"kind": "not_run"}
    return sorted(questions.values(), key=lambda q: (q["subject"], q["index"], q["id"]))


def _question(nodeid: str, record: dict, n_runs: int, category) -> dict:
    parts = nodeid.split("::")
    subject = record.get("subject") or (parts[-2] if len(parts) >= 3 else "?")
    index = record.get("index")
    if not isinstance(index, int):
        digits = re.sub(r"\D", "", parts[-1])
        index = int(digits) if digits else 0
    return {"id": nodeid, "subject": subject, "category": category(subject), "index": index,
            "answers": [None] * n_runs}


def _answer(record: dict) -> dict:
    """One run's answer to a question: its record, less what the question holds, and the kind it counts as."""
    answer = {k: v for k, v in record.items() if k not in RECORD_SKIP}
    answer["kind"] = KINDS[kind_of(record)]
    answer["judged"] = judge_kind_of(record) == "judged"
    return answer


# -- the pairs -------------------------------------------------------------------------------------------------


def _pair(p: Pair, runs: list[RunReport]) -> dict:
    labels = [r.label for r in runs]
    return {"a": labels.index(p.a), "b": labels.index(p.b), "common": p.common, "a_correct": p.a_correct,
            "b_correct": p.b_correct, "right_only_a": p.right_only_a, "right_only_b": p.right_only_b,
            "difference": p.difference, "p_value": p.p_value, "significant": p.significant, "only_a": p.only_a,
            "only_b": p.only_b, "errors_excluded": p.errors_excluded, "mismatched": p.mismatched,
            "notes": compare.pair_notes(p)}


# -- the files -------------------------------------------------------------------------------------------------


def _title(runs: list[dict]) -> str:
    labels = [r["label"] for r in runs]
    return f"MMLU: {labels[0]}" if len(labels) == 1 else f"MMLU: {' vs '.join(labels)}"


def _asset(name: str) -> str:
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
