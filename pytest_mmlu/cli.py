"""The `pytest-mmlu` command: `pytest-mmlu compare REPORT...` and `pytest-mmlu view REPORT... -o PAGE.html`
(also `python -m pytest_mmlu ...`)."""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .report import chart as chart_mod
from .report.compare import FORMATS, ReportError, compare_runs, read_reports, render
from .report.page import write_page
from .report.schema import read_report

DEFAULT_PAGE = "mmlu.html"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pytest-mmlu", description="Tools for pytest-mmlu's JSON reports.")
    p.add_argument("--version", action="version", version=f"pytest-mmlu {__version__}")
    commands = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    c = commands.add_parser(
        "compare", help="compare several runs (JSON reports written with --mmlu-report)",
        description="One row per run, accuracy by subject, and paired tests (McNemar, exact) between runs "
                    "on the questions both answered.")
    c.add_argument("reports", nargs="+", metavar="REPORT", help="JSON reports (--mmlu-report)")
    c.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    c.add_argument("--chart", metavar="PATH", help="also draw a bar chart, .png or .svg (needs "
                                                   "pytest-mmlu[plot])")
    c.add_argument("--output", "-o", metavar="PATH", help="write the table here instead of standard output")
    c.add_argument("--page", metavar="PATH_OR_URL", help="where the results page of these runs is (pytest-mmlu "
                                                         "view): the Markdown links it")
    v = commands.add_parser(
        "view", help="one HTML page of a run, or of several side by side (JSON reports written with --mmlu-report)",
        description="One self-contained HTML page: the run at a glance, every question with filters and search; "
                    "with several reports, the runs side by side. It opens from a file and fetches nothing.")
    v.add_argument("reports", nargs="+", metavar="REPORT", help="JSON reports (--mmlu-report)")
    v.add_argument("--output", "-o", metavar="PATH", default=DEFAULT_PAGE,
                   help=f"where to write the page (default: {DEFAULT_PAGE})")
    return p


def compare_command(args) -> int:
    if args.chart:  # fail before printing anything, so a CI log shows one clear line
        chart_mod.check_path(args.chart)
        chart_mod.require_matplotlib()
    comparison = compare_runs(read_reports(args.reports))
    text = render(comparison, args.format, page=args.page)
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    if args.chart:
        chart_mod.draw_chart(comparison, args.chart)
        print(f"chart written to {args.chart}", file=sys.stderr)
    return 0


def view_command(args) -> int:
    write_page(args.output, [read_report(path) for path in args.reports])
    print(f"page written to {args.output}", file=sys.stderr)
    return 0


COMMANDS = {"compare": compare_command, "view": view_command}


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ReportError, chart_mod.ChartError) as exc:
        print(f"pytest-mmlu {args.command}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"pytest-mmlu {args.command}: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 1
