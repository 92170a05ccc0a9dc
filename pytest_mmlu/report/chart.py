"""A bar chart of accuracy per run (grouped per subject when several), with 95% Wilson error bars.

matplotlib is optional (`pip install 'pytest-mmlu[plot]'`) and imported here only, headless (Agg).
"""

from __future__ import annotations

from pathlib import Path

from ..core.errors import ChartError
from .stats import wilson_interval

EXTRA = "pip install 'pytest-mmlu[plot]'"
SUFFIXES = (".png", ".svg")
MAX_GROUPS = 20  # beyond this, one group per run's overall accuracy reads better than a forest of bars


def require_matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise ChartError(f"--chart needs matplotlib: {EXTRA}") from None
    return matplotlib


def check_path(path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ChartError(f"--chart {path}: the file name must end in .png or .svg")
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
    """Write the chart; the same reports give the same bytes (no dates, fixed SVG ids)."""
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
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        metadata = {"Date": None, "Creator": None} if path.suffix.lower() == ".svg" else {"Software": None}
        fig.savefig(path, format=path.suffix.lower()[1:], metadata=metadata, bbox_inches="tight", pad_inches=0.15)
    return path
