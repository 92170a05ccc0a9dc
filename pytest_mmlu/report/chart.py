"""`pytest-mmlu compare`'s charts: a bar chart of accuracy per run (grouped per subject when several), with 95%
Wilson error bars (`--chart`); a reliability diagram of the runs that read log-probabilities (`--reliability`).

matplotlib is optional (`pip install 'pytest-mmlu[plot]'`) and imported here only, headless (Agg). The same reports
give the same file, byte for byte (no dates, fixed SVG ids).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ChartError
from .stats import wilson_interval

EXTRA = "pip install 'pytest-mmlu[plot]'"
SUFFIXES = (".png", ".svg")
MAX_GROUPS = 20  # beyond this, one group per run's overall accuracy reads better than a forest of bars


def require_matplotlib(option: str = "--chart"):
    try:
        import matplotlib
    except ImportError:
        raise ChartError(f"{option} needs matplotlib: {EXTRA}") from None
    return matplotlib


def check_path(path, option: str = "--chart") -> Path:
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ChartError(f"{option} {path}: the file name must end in .png or .svg")
    return path


def bars(comparison) -> tuple[list[str], list[str], list[list[tuple[int, int] | None]]]:
    """(group names, run labels, per group per run (correct, total) or None): what the chart draws."""
    runs = comparison.runs
    labels = [r.label for r in runs]
    subjects = sorted({s for r in runs for s in r.subjects})
    if len(subjects) <= 1 or len(subjects) > MAX_GROUPS:
        name = subjects[0] if len(subjects) == 1 else "overall"
        return [name], labels, [[(r.overall.correct, r.overall.total) for r in runs]]
    groups = [[(r.subjects[s].correct, r.subjects[s].total) if s in r.subjects else None for r in runs]
              for s in subjects]
    return subjects, labels, groups


def draw_chart(comparison, path, title: str = "MMLU accuracy") -> Path:
    """Write the bar chart; the same reports give the same bytes."""
    path = check_path(path)
    matplotlib = require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names, labels, groups = bars(comparison)
    n_runs, n_groups = len(labels), len(names)
    grouped = n_groups > 1
    width = 0.8 / n_runs if grouped else 0.6
    fig_width = max(6.0, min(40.0, 1.0 + (n_groups * (0.6 + 0.35 * n_runs) if grouped else 1.1 * n_runs)))
    with matplotlib.rc_context({"svg.hashsalt": "pytest-mmlu", "svg.fonttype": "path", "font.size": 9}):
        fig = Figure(figsize=(fig_width, 5.0), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        colours = [f"C{i % 10}" for i in range(n_runs)]
        for r, label in enumerate(labels):
            xs, heights, low_err, high_err = [], [], [], []
            for g, group in enumerate(groups):
                counts = group[r]
                if counts is None or counts[1] == 0:
                    continue
                correct, total = counts
                acc = correct / total * 100
                low, high = wilson_interval(correct, total)
                xs.append(g + (r - (n_runs - 1) / 2) * width if grouped else r)
                heights.append(acc)
                low_err.append(acc - low * 100)
                high_err.append(high * 100 - acc)
            if not xs:
                continue
            ax.bar(xs, heights, width=width, color=colours[r], label=label if grouped else None,
                   yerr=[low_err, high_err], capsize=3, error_kw={"elinewidth": 1, "ecolor": "#333333"})
            for x, h, up in zip(xs, heights, high_err):
                ax.text(x, min(h + up + 1.0, 101.0), f"{h:.1f}%", ha="center", va="bottom",
                        fontsize=7 if grouped else 9)
        ax.set_ylim(0, 108)
        ax.set_yticks(range(0, 101, 10))
        ax.set_yticklabels([f"{v}%" for v in range(0, 101, 10)])
        ax.set_ylabel("accuracy (95% interval)")
        ax.set_title(title if not grouped else f"{title} by subject")
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        if grouped:
            ax.set_xticks(range(n_groups))
            ax.set_xticklabels([n.replace("_", " ") for n in names], rotation=30, ha="right")
            # below the subject names: bars near 100% stay clear, and long labels get the full width
            ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=min(n_runs, 3),
                      frameon=False)
        else:
            ax.set_xticks(range(n_runs))
            ax.set_xticklabels(labels, rotation=30, ha="right")
            ax.set_xlabel(names[0].replace("_", " "))
        _save(fig, path)
    return path


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"Date": None, "Creator": None} if path.suffix.lower() == ".svg" else {"Software": None}
    fig.savefig(path, format=path.suffix.lower()[1:], metadata=metadata, bbox_inches="tight", pad_inches=0.15)


# -- the reliability diagram ----------------------------------------------------------------------------------


@dataclass
class Reliability:
    """One run's points: the calibration bins that hold questions (schema.CalibrationBin), and its figures."""

    label: str
    bins: list[dict]
    ece: float | None
    questions: int


def reliability(comparison) -> tuple[list[Reliability], list]:
    """(the runs with log-probabilities, as the diagram draws them; the runs without, as RunReports)."""
    drawn, without = [], []
    for run in comparison.runs:
        overall = (run.calibration or {}).get("overall") or {}
        bins = [b for b in overall.get("bins") or [] if isinstance(b, dict) and b.get("questions")
                and _number(b.get("accuracy")) and _number(b.get("confidence"))]
        if bins:
            drawn.append(Reliability(run.label, bins, overall.get("ece"), overall.get("questions") or 0))
        else:
            without.append(run)
    return drawn, without


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def draw_reliability(runs: list[Reliability], path, title: str = "MMLU reliability diagram") -> Path:
    """Accuracy against mean confidence, one point per bin of confidence that holds questions (its area grows with
    them), one line per run; the diagonal is a model whose confidence is its accuracy. In an SVG, run K's points
    are the `<use>` elements of the group `reliability-K`."""
    path = check_path(path, "--reliability")
    matplotlib = require_matplotlib("--reliability")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    most = max(b["questions"] for run in runs for b in run.bins)
    with matplotlib.rc_context({"svg.hashsalt": "pytest-mmlu", "svg.fonttype": "path", "font.size": 9}):
        fig = Figure(figsize=(6.0, 6.0), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], linestyle="--", color="#8c959f", linewidth=1, label="confidence = accuracy")
        for k, run in enumerate(runs):
            bins = sorted(run.bins, key=lambda b: b["confidence"])
            xs, ys = [b["confidence"] for b in bins], [b["accuracy"] for b in bins]
            colour = f"C{k % 10}"
            ece = "" if run.ece is None else f", ECE {run.ece:.3f}"
            ax.plot(xs, ys, color=colour, linewidth=1.5, alpha=0.7)
            points = ax.scatter(xs, ys, s=[20 + 180 * b["questions"] / most for b in bins], color=colour,
                                edgecolors="white", linewidths=0.8, zorder=3,
                                label=f"{run.label} ({run.questions} questions{ece})")
            points.set_gid(f"reliability-{k}")
        ticks = [i / 10 for i in range(0, 11, 2)]
        ax.set_xlim(-0.03, 1.03)  # room for a point at 0% or 100%
        ax.set_ylim(-0.03, 1.03)
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
        ax.set_xticklabels([f"{t:.0%}" for t in ticks])
        ax.set_yticklabels([f"{t:.0%}" for t in ticks])
        ax.set_aspect("equal")
        ax.set_xlabel("mean confidence (10 bins; point area: questions in the bin)")
        ax.set_ylabel("accuracy")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.set_axisbelow(True)
        ax.legend(fontsize=8, loc="upper left", frameon=False)
        _save(fig, path)
    return path
