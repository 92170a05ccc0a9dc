"""Several JSON reports side by side: one row per run, subject x run, position bias and calibration per run, paired
tests and intervals between runs.

Pure functions from reports to numbers (`compare_runs`) and from numbers to text (`render`);
the command line (`pytest_mmlu.cli`) only reads files and prints.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

from ..core.errors import ReportError
from .baseline import compare
from .changes import LetterChanges
from .label import default_label, model_name
from .markdown import accuracy_cell, cell, interval_cell
from .schema import BiasResult, CalibrationBlock, ReadReport, Score
from .schema import read_report as read_report_file
from .stats import paired_difference_interval
from .usage import USAGE_HEADER, reports_something, usage_cells

__all__ = ["FORMATS", "ReportError", "RunReport", "RunsComparison", "Score", "compare_runs", "read_report",
           "read_reports", "render"]

SIGNIFICANCE = 0.05
MARK = "*"  # beside a difference significant at 5%
FORMATS = ("text", "markdown", "csv", "json")


@dataclass
class RunReport:
    path: str
    label: str
    config: dict
    overall: Score
    subjects: dict[str, Score]
    questions: dict[str, dict]
    usage: dict | None = None  # the report's tokens and time (schema.UsageTotals); None before 0.2.0
    bias: BiasResult | None = None
    calibration: CalibrationBlock | None = None  # where log-probabilities were read
    orders: dict | None = None  # --mmlu-permute: the overall figures of the orders (schema.Tally's own)

    @property
    def model(self) -> str:
        return model_name(self.config.get("served_model") or self.config.get("model")) or "?"

    @property
    def how(self) -> str:
        """How it ran, for the `Format` column: backend, scoring, shots."""
        c = self.config
        permute = {None: "", "circular": ", circular"}.get(c.get("permute"), f", {c.get('permute')} orders")
        return f"{c.get('backend', '?')}, {c.get('scoring', '?')}, {c.get('shots', 0)}-shot{permute}"

    @property
    def data(self) -> str:
        dataset = str(self.config.get("dataset") or "?")
        names = list(self.subjects)
        what = names[0] if len(names) == 1 else f"{len(names)} subjects"
        return f"{dataset}: {what}"


def run_of(report: ReadReport) -> RunReport:
    """A report read through the one reader (schema.read_report), as a comparison needs it."""
    overall, subjects, config = report.overall(), report.subjects(), report.config
    label = config.get("label") or default_label(config.get("served_model") or config.get("model"),
                                                 config.get("backend"))
    usage = report.data.get("usage")
    raw = report.data.get("overall") or {}
    orders = {k: raw[k] for k in ORDER_FIGURES if k in raw} if raw.get("permuted") else None
    return RunReport(report.path, str(label), config, overall, subjects, report.questions,
                     usage if isinstance(usage, dict) and reports_something(usage) else None, report.bias(),
                     report.calibration(), orders)


ORDER_FIGURES = ("permuted", "original_correct", "original_accuracy", "consistent", "consistency")


def orders_note(run: RunReport) -> str | None:
    """--mmlu-permute: the run's accuracy in every order, in its own, and its consistency, in one line."""
    o = run.orders
    if not o or not isinstance(o.get("permuted"), int):
        return None
    permute = run.config.get("permute")
    how = "every rotation of its choices" if permute in (None, "circular") else f"{permute} orders of its choices"

    def pct(x):
        return f"{x * 100:.1f}%" if isinstance(x, (int, float)) and not isinstance(x, bool) else "n/a"
    return (f"{run.label}: each question asked in {how}: right in every order {pct(run.overall.accuracy)}, in its "
            f"own order {pct(o.get('original_accuracy'))}, the same choice in every order {pct(o.get('consistency'))} "
            f"({o['permuted']} questions)")


def read_report(path) -> RunReport:
    """One report, as this command needs it."""
    return run_of(read_report_file(path))


def read_reports(paths) -> list[RunReport]:
    """Reports in the order given; labels made unique (by file name, then by position)."""
    return unique_labels([read_report(p) for p in paths])


def unique_labels(runs: list[RunReport]) -> list[RunReport]:
    """The runs, their labels made unique (by file name, then by position)."""
    seen: dict[str, int] = {}
    for run in runs:
        seen[run.label] = seen.get(run.label, 0) + 1
    for run in runs:
        if seen[run.label] > 1:
            run.label = f"{run.label} [{Path(run.path).name}]"
    taken: set[str] = set()
    for position, run in enumerate(runs, 1):
        if run.label in taken:
            run.label = f"{run.label} #{position}"
        taken.add(run.label)
    return runs


# -- the numbers ------------------------------------------------------------------------


@dataclass
class Pair:
    """Run b against run a on the questions both answered (errors in either left out)."""

    a: str
    b: str
    common: int
    a_correct: int
    b_correct: int
    right_only_a: int  # right in a, wrong in b
    right_only_b: int
    p_value: float
    only_a: int  # questions answered by a alone (or errored in b), and so on
    only_b: int
    errors_excluded: int
    mismatched: int  # same node id, another expected letter
    notes: list[str] = field(default_factory=list)
    letter_changes: LetterChanges = field(default_factory=LetterChanges)  # and how many were near-ties

    @property
    def difference(self) -> float | None:
        """b minus a, in percentage points."""
        return (self.b_correct - self.a_correct) / self.common * 100 if self.common else None

    @property
    def significant(self) -> bool:
        return self.common > 0 and self.p_value < SIGNIFICANCE

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 90% interval of the difference, b minus a, in percentage points (Newcombe's, as the equivalence
        gate uses it: inside ±m means equivalent within m points by two one-sided tests at 5%)."""
        if not self.common:
            return None
        both = self.a_correct - self.right_only_a
        neither = self.common - both - self.right_only_a - self.right_only_b
        low, high = paired_difference_interval(both, self.right_only_a, self.right_only_b, neither)
        return low * 100, high * 100


@dataclass
class RunsComparison:
    """Several runs side by side: the runs, the subjects two or more share, and every pair's paired test."""

    runs: list[RunReport]
    subjects: list[str]  # the subject x run matrix's rows: subjects that at least two runs share
    pairs: list[Pair]


def pair(a: RunReport, b: RunReport) -> Pair:
    c = compare(a.questions, b.questions)  # the same paired counts as --mmlu-baseline
    notes = []
    for key in ("dataset", "split"):
        if a.config.get(key) != b.config.get(key):
            notes.append(f"different {key}: {a.config.get(key)} / {b.config.get(key)}")
    return Pair(a.label, b.label, c.common, c.baseline_correct, c.current_correct, len(c.newly_wrong),
                len(c.newly_right), c.p_value, c.only_in_baseline, c.only_in_current, c.errors_excluded,
                c.mismatched, notes, c.letter_changes)


def compare_runs(runs: list[RunReport]) -> RunsComparison:
    counts: dict[str, int] = {}
    for run in runs:
        for subject in run.subjects:
            counts[subject] = counts.get(subject, 0) + 1
    shared = sorted(s for s, n in counts.items() if n >= 2)
    return RunsComparison(runs, shared, [pair(a, b) for a, b in combinations(runs, 2)])


# -- rendering ----------------------------------------------------------------------------


def _pct(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"


def _ci(score: Score) -> str:
    return interval_cell(*score.interval) if score.total else "n/a"


def run_cells(run: RunReport) -> list[str]:
    c, o = run.config, run.overall
    return [run.label, str(c.get("backend", "?")), run.model, run.data, str(c.get("shots", 0)),
            str(c.get("scoring", "?")), str(o.total), accuracy_cell(o.correct, o.total), _ci(o),
            str(o.unparsed), str(o.errors)]


RUN_HEADER = ["run", "backend", "model", "data", "shots", "scoring", "questions", "accuracy", "95% interval",
              "unparsed", "errors"]
PAIR_HEADER = ["run A", "run B", "common questions", "A", "B", "B - A (points)", "90% interval", "right only in A",
               "right only in B", "McNemar p", ""]
PAIR_RIGHT = set(range(2, 10))


def pair_cells(p: Pair) -> list[str]:
    if not p.common:
        return [p.a, p.b, "0", "n/a", "n/a", "n/a", "n/a", "0", "0", "n/a", ""]
    low, high = p.interval
    return [p.a, p.b, str(p.common), accuracy_cell(p.a_correct, p.common), accuracy_cell(p.b_correct, p.common),
            f"{p.difference:+.2f}", f"[{low:+.2f}, {high:+.2f}]", str(p.right_only_a), str(p.right_only_b),
            f"{p.p_value:.3g}", MARK if p.significant else ""]


ROBUSTNESS_HEADER = ["run", "answered", "most over-picked", "imbalance", "wrong answers", "with log-probabilities",
                     "confidence", "accuracy", "ECE", "Brier"]
ROBUSTNESS_RIGHT = {1, 3, 4, 5, 6, 7, 8, 9}


def robustness_cells(run: RunReport) -> list[str]:
    """Position bias (the imbalance of the wrong answers) and calibration (where log-probabilities were read)."""
    b = run.bias or {}
    cells = [run.label, str(b.get("answered", 0)), b.get("imbalance_letter") or "n/a",
             "n/a" if b.get("imbalance") is None else f"{b['imbalance']:.2f}", str(b.get("wrong", 0))]
    c = (run.calibration or {}).get("overall")
    if not c:
        return cells + ["0", "n/a", "n/a", "n/a", "n/a"]
    return cells + [str(c["questions"]), _pct(c["confidence"], 1), _pct(c["accuracy"], 1), f"{c['ece']:.3f}",
                    f"{c['brier']:.3f}"]


def pair_notes(p: Pair) -> list[str]:
    notes = list(p.notes)
    apart = [(p.only_a, f"answered by {p.a} only"), (p.only_b, f"answered by {p.b} only"),
             (p.errors_excluded, "errored in one run"), (p.mismatched, "another question under the same node id")]
    left = [f"{n} {what}" for n, what in apart if n]
    if left:
        notes.append(f"compared on {p.common} common questions; left out: {', '.join(left)}")
    if p.common:
        notes.append(p.letter_changes.describe())
    return [f"{p.a} vs {p.b}: {note}" for note in notes]


def _matrix_cells(comparison: RunsComparison, subject: str) -> list[str]:
    cells = [subject]
    for run in comparison.runs:
        s = run.subjects.get(subject)
        cells.append(accuracy_cell(s.correct, s.total) if s is not None else "")
    return cells


def _align(rows: list[list[str]], right: set[int] = frozenset()) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        out.append("  ".join(v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths)))
                   .rstrip())
    return out


USAGE_RIGHT = set(range(1, len(USAGE_HEADER)))


def _usage_rows(comparison: RunsComparison) -> list[list[str]]:
    """The tokens-and-time rows, when at least one run reported something."""
    if not any(r.usage for r in comparison.runs):
        return []
    return [usage_cells(r.label, r.usage) for r in comparison.runs]


def render_text(comparison: RunsComparison) -> str:
    lines = ["runs"]
    lines += _align([RUN_HEADER] + [run_cells(r) for r in comparison.runs], right={4, 6, 7, 9, 10})
    usage = _usage_rows(comparison)
    if usage:
        lines += ["", "tokens and time (as the services reported them)"]
        lines += _align([USAGE_HEADER] + usage, right=USAGE_RIGHT)
    if comparison.subjects:
        lines += ["", "accuracy by subject (subjects in two runs or more)"]
        lines += _align([["subject"] + [r.label for r in comparison.runs]]
                        + [_matrix_cells(comparison, s) for s in comparison.subjects],
                        right=set(range(1, len(comparison.runs) + 1)))
    lines += ["", "position bias (imbalance: the most over-picked letter's multiple of its even share of the wrong "
                  "answers) and calibration"]
    lines += _align([ROBUSTNESS_HEADER] + [robustness_cells(r) for r in comparison.runs], right=ROBUSTNESS_RIGHT)
    lines += [note for note in map(orders_note, comparison.runs) if note]
    if comparison.pairs:
        lines += ["", "pairs, on the questions both runs answered (McNemar's exact test; Newcombe's 90% interval)"]
        lines += _align([PAIR_HEADER] + [pair_cells(p) for p in comparison.pairs], right=PAIR_RIGHT)
        lines += [note for p in comparison.pairs for note in pair_notes(p)]
        lines.append(f"{MARK} significant at 5%")
    return "\n".join(lines) + "\n"


def _md_table(header: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> list[str]:
    rule = ["---:" if i in right else "---" for i in range(len(header))]
    return ["| " + " | ".join(cell(v) for v in r) + " |" for r in [header, rule] + rows]


def results_rows(comparison: RunsComparison) -> list[list[str]]:
    """`| Model | Format | Subject | Accuracy |`, one row per run and subject, and the overall of each run."""
    rows = []
    for run in comparison.runs:
        for subject, s in run.subjects.items():
            rows.append([run.label, run.how, subject, accuracy_cell(s.correct, s.total)])
        if len(run.subjects) != 1:
            rows.append([run.label, run.how, f"all ({len(run.subjects)} subjects)",
                         accuracy_cell(run.overall.correct, run.overall.total)])
    return rows


def render_markdown(comparison: RunsComparison, page: str | None = None) -> str:
    lines = ["## MMLU runs compared", ""]
    lines += _md_table(["Model", "Format", "Subject", "Accuracy"], results_rows(comparison), right={3}) + [""]
    lines += ["### Runs", ""]
    lines += _md_table([h.capitalize() for h in RUN_HEADER], [run_cells(r) for r in comparison.runs],
                       right={4, 6, 7, 9, 10}) + [""]
    usage = _usage_rows(comparison)
    if usage:
        lines += ["### Tokens and time", ""]
        lines += _md_table([h[:1].upper() + h[1:] for h in USAGE_HEADER], usage, right=USAGE_RIGHT) + [""]
    if comparison.subjects:
        lines += ["### Accuracy by subject", ""]
        lines += _md_table(["Subject"] + [r.label for r in comparison.runs],
                           [_matrix_cells(comparison, s) for s in comparison.subjects],
                           right=set(range(1, len(comparison.runs) + 1))) + [""]
    lines += ["### Position bias and calibration", "",
              "Imbalance: the most over-picked letter's multiple of its even share of the wrong answers (1.00: no "
              "preference). Calibration where log-probabilities were read.", ""]
    lines += _md_table([h[:1].upper() + h[1:] for h in ROBUSTNESS_HEADER],
                       [robustness_cells(r) for r in comparison.runs], right=ROBUSTNESS_RIGHT) + [""]
    notes = [note for note in map(orders_note, comparison.runs) if note]
    if notes:
        lines += [f"- {cell(note)}" for note in notes] + [""]
    if comparison.pairs:
        lines += ["### Pairs", "", "On the questions both runs answered; McNemar's exact test; the 90% interval of "
                  "B - A is Newcombe's (inside ±m: equivalent within m points, two one-sided tests at 5%).", ""]
        header = [h[:1].upper() + h[1:] for h in PAIR_HEADER[:-1]] + ["Significant"]
        rows = [c[:-1] + ["yes" if p.significant else "no"] for p, c in
                ((p, pair_cells(p)) for p in comparison.pairs)]
        lines += _md_table(header, rows, right=PAIR_RIGHT) + [""]
        lines += [f"- {note}" for p in comparison.pairs for note in pair_notes(p)]
    if page:  # pytest-mmlu view's page of the same runs, where the reader can look further
        lines += ["", f"Every question, run by run: [the results page](<{page.replace('>', '%3E')}>)"]
    return "\n".join(lines).rstrip("\n") + "\n"


CSV_HEADER = ["run", "backend", "model", "dataset", "split", "shots", "scoring", "prompt", "scope", "correct",
              "total", "accuracy", "ci_low", "ci_high", "unparsed", "errors", "imbalance", "imbalance_letter",
              "calibrated", "confidence", "ece", "brier", "tokens_in", "tokens_out", "tokens_reasoning",
              "tokens_cached", "cost", "report"]
USAGE_CSV = ("tokens_in", "tokens_out", "tokens_reasoning", "tokens_cached")


def _usage_csv(run: RunReport, scope: str) -> list:
    """Tokens (the run's, on its overall row) and cost (per row, with prices); blank where not reported."""
    usage = run.usage or {}
    if scope != "overall":
        cost = (usage.get("cost_by_subject") or {}).get(scope)
        return ["", "", "", "", "" if cost is None else f"{cost:.8f}"]
    cells = [usage[name]["sum"] if (usage.get(name) or {}).get("questions") else "" for name in USAGE_CSV]
    cost = usage.get("cost") or {}
    return cells + [f"{cost['sum']:.8f}" if cost.get("questions") else ""]



def _figures(run: RunReport, scope: str) -> list:
    """The imbalance (the overall row only: position bias is the run's) and the scope's calibration."""
    b = (run.bias or {}) if scope == "overall" else {}
    imbalance = [] if b.get("imbalance") is None else [f"{b['imbalance']:.6f}", b.get("imbalance_letter") or ""]
    calibration = run.calibration or {}
    c = calibration.get("overall") if scope == "overall" else (calibration.get("subjects") or {}).get(scope)
    figures = [] if not c else [c["questions"]] + [f"{c[k]:.6f}" for k in ("confidence", "ece", "brier")]
    return (imbalance or ["", ""]) + (figures or ["", "", "", ""])


def render_csv(comparison: RunsComparison) -> str:
    """One row per run and scope (`overall`, then each subject): ready for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for run in comparison.runs:
        c = run.config
        for scope, s in [("overall", run.overall)] + list(run.subjects.items()):
            low, high = s.interval
            writer.writerow([run.label, c.get("backend", ""), run.model, c.get("dataset", ""), c.get("split", ""),
                             c.get("shots", ""), c.get("scoring", ""), c.get("prompt", ""), scope, s.correct,
                             s.total, "" if s.accuracy is None else f"{s.accuracy:.6f}", f"{low:.6f}",
                             f"{high:.6f}", s.unparsed, s.errors, *_figures(run, scope), *_usage_csv(run, scope),
                             run.path])
    return out.getvalue()


def to_json(comparison: RunsComparison) -> dict:
    def score(s: Score) -> dict:
        low, high = s.interval
        return {**asdict(s), "accuracy": s.accuracy, "interval": [round(low, 6), round(high, 6)]}

    return {
        "runs": [{"label": r.label, "report": r.path, "backend": r.config.get("backend"), "model": r.model,
                  "dataset": r.config.get("dataset"), "split": r.config.get("split"), "shots": r.config.get("shots"),
                  "scoring": r.config.get("scoring"), "prompt": r.config.get("prompt"), "overall": score(r.overall),
                  "subjects": {s: score(t) for s, t in r.subjects.items()}, "bias": r.bias,
                  "calibration": r.calibration, **({"usage": r.usage} if r.usage else {}),
                  **({"permute": r.config.get("permute"), "orders": r.orders} if r.orders else {})}
                 for r in comparison.runs],
        "shared_subjects": comparison.subjects,
        "pairs": [{**asdict(p), "difference_points": p.difference, "significant": p.significant,
                   "interval_90_points": None if p.interval is None else [round(x, 6) for x in p.interval]}
                  for p in comparison.pairs],
    }


def render_json(comparison: RunsComparison) -> str:
    return json.dumps(to_json(comparison), indent=2, ensure_ascii=False) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "csv": render_csv, "json": render_json}


def render(comparison: RunsComparison, fmt: str = "text", page: str | None = None) -> str:
    """The comparison in a format; `page` (a path or URL of the results page) is linked from the Markdown."""
    if fmt == "markdown":
        return render_markdown(comparison, page)
    return RENDERERS[fmt](comparison)
