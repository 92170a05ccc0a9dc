"""The `pytest-mmlu` command: `pytest-mmlu compare REPORT...`, `pytest-mmlu view REPORT... -o PAGE.html` and
`pytest-mmlu merge REPORT... -o RUN.json` (also `python -m pytest_mmlu ...`)."""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .core.errors import MergeError, OptionError, headline
from .core.subjects import CATEGORIES, category_of
from .report import chart as chart_mod
from .report import gates as gates_mod
from .report.baseline import compare, load_baseline
from .report.compare import FORMATS, ReportError, compare_runs, read_reports, render
from .report.markdown import render_markdown, write_markdown
from .report.merge import join
from .report.output import check_writable
from .report.page import write_page
from .report.schema import read_report, to_report, write_report
from .report.stop import find_stop
from .report.summary import render as render_summary
from .report.summary import summarize

DEFAULT_PAGE = "mmlu.html"


BAD_INPUT = 4  # merge: a file, a value or a set of reports it cannot use, as a run's usage error


class _Parser(argparse.ArgumentParser):
    """argparse, except that a command may answer a usage error in one line with its own exit status."""

    one_line_status: int | None = None  # merge: 4, as a run's bad option

    def error(self, message):
        if self.one_line_status is None:
            super().error(message)
        self.exit(self.one_line_status, f"{self.prog}: {message}\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="pytest-mmlu", description="Tools for pytest-mmlu's JSON reports.")
    p.add_argument("--version", action="version", version=f"pytest-mmlu {__version__}")
    commands = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    c = commands.add_parser(
        "compare", help="compare several runs (JSON reports written with --mmlu-report)",
        description="One row per run, accuracy by subject, and paired tests (McNemar, exact) between runs "
                    "on the questions both answered.")
    c.add_argument("reports", nargs="+", metavar="REPORT", help="JSON reports (--mmlu-report)")
    c.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    c.add_argument("--chart", metavar="PATH", help="also draw a bar chart, .png or .svg (needs "
                                                   "pytest-mmlu[plot])")
    c.add_argument("--reliability", metavar="PATH", help="also draw a reliability diagram of the runs that read "
                                                         "log-probabilities, .png or .svg (needs pytest-mmlu[plot])")
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
    m = commands.add_parser(
        "merge", help="join the reports of a run's shards (--mmlu-shard) into the report of one run",
        description="The shards' JSON reports joined into the report of one run: the same summary, gates and "
                    "comparison as one run over the same questions. Refuses reports of other configurations, "
                    "overlapping questions, a shard given twice or missing. Exit status: 0 when every gate holds "
                    "and no question errored, 1 otherwise, 4 for input it cannot use.")
    m.one_line_status = BAD_INPUT
    m.add_argument("reports", nargs="+", metavar="REPORT", help="JSON reports (--mmlu-report), one per shard")
    m.add_argument("--output", "-o", metavar="RUN.json", required=True, help="where to write the merged report")
    m.add_argument("--mmlu-min-accuracy", dest="gates", action="append", default=[], type=gates_mod.parse_gate,
                   metavar="[SCOPE=]VALUE", help="a gate, as in a run: overall or for a subject or category, "
                                                 "VALUE as 0.55 or 55%%; repeatable")
    m.add_argument("--mmlu-baseline", dest="baseline", metavar="PATH",
                   help="a previous JSON report to compare with, question by question")
    m.add_argument("--mmlu-max-drop", dest="drop_gates", action="append", default=[], type=gates_mod.parse_drop,
                   metavar="[SCOPE=]POINTS", help="with --mmlu-baseline, a gate, as in a run: fails on a "
                                                  "significant drop of more than POINTS points; repeatable")
    m.add_argument("--markdown", metavar="PATH", help="also write the summary as Markdown (appended to "
                                                      "$GITHUB_STEP_SUMMARY when that is set)")
    return p


def compare_command(args) -> int:
    for option, target in (("--chart", args.chart), ("--reliability", args.reliability)):
        if target:  # fail before printing anything, so a CI log shows one clear line
            chart_mod.check_path(target, option)
            chart_mod.require_matplotlib(option)
    comparison = compare_runs(read_reports(args.reports))
    drawn, without = chart_mod.reliability(comparison) if args.reliability else ([], [])
    if args.reliability and not drawn:
        raise chart_mod.ChartError(f"--reliability: no run read log-probabilities (--mmlu-scoring logprobs): "
                                   f"{_named(without)}")
    text = render(comparison, args.format, page=args.page)
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    if args.chart:
        chart_mod.draw_chart(comparison, args.chart)
        print(f"chart written to {args.chart}", file=sys.stderr)
    if args.reliability:
        chart_mod.draw_reliability(drawn, args.reliability)
        if without:
            print(f"pytest-mmlu compare: --reliability: left out, no log-probabilities: {_named(without)}",
                  file=sys.stderr)
        print(f"reliability diagram written to {args.reliability}", file=sys.stderr)
    return 0


def _named(runs) -> str:
    return ", ".join(f"{run.label} ({run.path})" for run in runs)


def view_command(args) -> int:
    write_page(args.output, [read_report(path) for path in args.reports])
    print(f"page written to {args.output}", file=sys.stderr)
    return 0


def merge_command(args) -> int:
    """The shards joined, then what the plugin does at the end of a run: summary, gates, comparison, files."""
    for option, target in (("--output", args.output), ("--markdown", args.markdown)):
        if target:
            check_writable(target, option)
    if args.drop_gates and not args.baseline:
        raise OptionError("--mmlu-max-drop needs --mmlu-baseline (the report to compare with)")
    reports = [read_report(path) for path in args.reports]
    joined = join(reports)
    own = joined.config.get("categories")  # the shards' mappings, joined

    def category(subject: str) -> str:
        return category_of(subject, own if isinstance(own, dict) else None)

    summary = summarize(joined.records, joined.selected, category, joined.config.get("wall_seconds"))
    gates_mod.check_scopes(args.gates, summary.subjects, CATEGORIES)
    gates_mod.check_scopes(args.drop_gates, summary.subjects, CATEGORIES, "--mmlu-max-drop")
    verdicts, comparison, drop_verdicts = gates_mod.evaluate(args.gates, summary), None, []
    if args.baseline:
        comparison = compare(load_baseline(args.baseline), {r["nodeid"]: r for r in joined.records}, category)
        drop_verdicts = gates_mod.evaluate_drops(args.drop_gates, comparison.scopes)
    config, label = joined.config, joined.config.get("label")
    write_report(args.output, to_report(summary, verdicts, joined.records, config, comparison, drop_verdicts,
                                        joined.not_run, find_stop(joined.records, summary.overall.selected),
                                        joined.shots, merged=joined.parts))
    for line in render_summary(summary, verdicts + drop_verdicts, comparison, label=label):
        print(line)
    cut_short = [r.path for r in reports if r.config.get("interrupted")]
    for r in reports:
        if r.data.get("stopped"):
            s = r.data["stopped"]
            print(f"{r.path}: the run was stopped: {headline(s['kind'], s['backend'], s['where'], s['reason'])}")
    if cut_short:
        print(f"{', '.join(cut_short)}: the run did not finish, so the merged run is incomplete")
    print(f"merged {len(reports)} reports into {args.output}")
    if args.markdown:
        write_markdown(args.markdown, render_markdown(summary, verdicts + drop_verdicts, comparison, label, config))
        print(f"markdown written to {args.markdown}")
    holds = gates_mod.gates_hold(verdicts + drop_verdicts, summary.overall.errors, cut_short=bool(cut_short))
    return 0 if holds else 1


COMMANDS = {"compare": compare_command, "view": view_command, "merge": merge_command}


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ReportError, MergeError, OptionError, chart_mod.ChartError) as exc:
        print(f"pytest-mmlu {args.command}: {exc}", file=sys.stderr)
        return BAD_INPUT if args.command == "merge" else 1
    except OSError as exc:
        print(f"pytest-mmlu {args.command}: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 1
