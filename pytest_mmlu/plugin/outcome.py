"""The controller's side of an MMLU run: it exists only where there is no `workerinput` (registered like pytest's
junitxml LogXML), so nothing in it asks "am I the controller?". It gathers the question records from the test
reports (under xdist the controller collects nothing), and at the end owns the summary, the gates, the exit
status and the output files (--mmlu-report, --mmlu-markdown, --mmlu-html)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from .. import __version__
from ..core.errors import KEY, OptionError
from ..core.subjects import CATEGORIES
from ..data.annotations import annotate, describe
from ..report.baseline import compare, load_baseline
from ..report.gates import check_scopes, evaluate, evaluate_drops, evaluate_equivalence, gates_hold
from ..report.label import public_url
from ..report.markdown import render_markdown, write_markdown
from ..report.output import check_writable
from ..report.page.build import build_page
from ..report.schema import ReadReport, Record, Report, RunConfig, to_report, write_report
from ..report.stop import find_stop, stop_block
from ..report.summary import render, summarize
from . import interrupts

MANY_FAILURES = 100  # beyond this, failures are listed one line each unless --tb is given


class Outcome:
    """What the run came to; a plugin object with its own hooks, on the controller only."""

    def __init__(self, config: pytest.Config, settings, session):
        self.config = config
        self.settings = settings
        self.session = session  # this process's side: the label, the evaluation's plan and servers
        self.records: dict[str, Record] = {}  # by node id, from the test reports
        self.selected: dict[str, None] = {}  # ordered set of the selected MMLU node ids
        # failures that are no MMLU verdict: the user's own tests run alongside, files that could not be
        # collected, MMLU items whose xdist worker crashed; any of them fails a gated run
        self.other_failures = 0
        self.baseline: dict[str, Record] | None = None
        self.redux = None  # --mmlu-redux: ({(subject, index): error_type}, what matched)
        self.summary = self.comparison = self.stop = None
        self.verdicts, self.drop_verdicts, self.equivalence_verdicts = [], [], []
        self.started, self._clock = time.time(), time.monotonic()
        self.wall_seconds: float | None = None
        self.interrupted = False
        self.cut_short = False  # -x or --maxfail stopped a gated run: its gates saw only part of it
        self.shortened = 0  # failures listed one line each
        self.unwritten: dict[str, str] = {}  # output file -> why it could not be written at the end
        self._built: Report | None = None  # the report, built once for --mmlu-report and --mmlu-html
        self._sigint = interrupts.listen()

    # -- at start (Session.start calls these in turn) ----------------------------------------------------------
    def check_options(self, available: list[str]) -> None:
        """Gate scopes the data has, and output files that can be written: found now, not after an hour."""
        s = self.settings
        check_scopes(s.gates, available, CATEGORIES)
        if s.drop_gates and not s.baseline:
            raise OptionError("--mmlu-max-drop needs --mmlu-baseline (the report to compare with)")
        check_scopes(s.drop_gates, available, CATEGORIES, "--mmlu-max-drop")
        if s.equivalence_gates and not s.baseline:
            raise OptionError("--mmlu-equivalent needs --mmlu-baseline (the report to compare with)")
        check_scopes(s.equivalence_gates, available, CATEGORIES, "--mmlu-equivalent")
        for option, target in (("--mmlu-report", s.report), ("--mmlu-markdown", s.markdown), ("--mmlu-html", s.html)):
            if target:
                check_writable(target, option)

    def read_inputs(self, questions) -> None:
        """The baseline report and the MMLU-Redux annotations, read once."""
        self.baseline = load_baseline(self.settings.baseline) if self.settings.baseline else None
        self.redux = annotate(self.settings.redux, questions) if self.settings.redux else None

    def header_notes(self) -> list[str]:
        return [describe(self.redux[1])] if self.redux else []

    # -- while the run goes -----------------------------------------------------------------------------------
    def select(self, nodeids) -> None:
        for nodeid in nodeids:
            if nodeid.startswith("mmlu::"):
                self.selected.setdefault(nodeid)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.select(item.nodeid for item in session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self.select(ids)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, "mmlu", None)
        if record is None:
            if report.failed:  # an own test, or an MMLU item that never got a verdict (its worker crashed)
                self.other_failures += 1
            return
        previous = self.records.get(report.nodeid)
        # an error in any phase outranks what an earlier phase said
        if previous is None or previous.get("outcome") != "error" or record.get("outcome") == "error":
            self.records[report.nodeid] = record
        if report.when == "teardown" and report.failed:
            self.records[report.nodeid] = {**self.records[report.nodeid], "outcome": "error",
                                           "error": "teardown failed"}

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:  # a file of the user's that could not be collected (--continue-on-collection-errors)
            self.other_failures += 1

    # -- the end ------------------------------------------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        s = self.settings
        self.interrupted = session.exitstatus == pytest.ExitCode.INTERRUPTED or bool(session.shouldstop)
        self._shorten_failures()
        records = list(self.records.values())
        if self.redux:  # known-bad questions of a plain MMLU run, matched at start
            for r in records:
                r.setdefault("error_type", self.redux[0].get((r["subject"], r["index"])))
        self.wall_seconds = time.monotonic() - self._clock
        category = self.session.evaluation.category_of  # the dataset's own categories
        self.summary = summarize(records, list(self.selected), category, self.wall_seconds)
        self.verdicts = evaluate(s.gates, self.summary, str(s.shard) if s.shard else None)
        self.stop = find_stop(records, self.summary.overall.selected)
        if self.baseline is not None:
            self.comparison = compare(self.baseline, self.records, category)
            self.drop_verdicts = evaluate_drops(s.drop_gates, self.comparison.scopes, s.drop_correction)
            self.equivalence_verdicts = evaluate_equivalence(s.equivalence_gates, self.comparison.scopes)
        self.wall_seconds = time.monotonic() - self._clock
        for wanted, write in ((s.report, lambda: self._write_report(records)), (s.markdown, self._write_markdown),
                              (s.html, lambda: self._write_html(records))):
            if wanted and not self.config.option.collectonly:  # nothing was asked: keep the last run's files
                try:
                    write()
                except OSError as exc:  # the disk filled or the folder went away during the run
                    self.unwritten[wanted] = str(exc.strerror or exc)
        if s.gated and session.exitstatus in (
                pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
            self.cut_short = bool(session.shouldfail)  # -x or --maxfail: the gates saw only part of the run
            holds = gates_hold(self.all_verdicts, self.summary.overall.errors, self.other_failures, self.cut_short)
            session.exitstatus = pytest.ExitCode.OK if holds else pytest.ExitCode.TESTS_FAILED
        if self.stop is not None:  # not a verdict on the model: 4 for a rejected key, 2 for a server gone,
            # with or without gates (as Ctrl-C keeps its 2), so CI tells a broken backend from a regression
            session.exitstatus = pytest.ExitCode.USAGE_ERROR if self.stop.kind == KEY \
                else pytest.ExitCode.INTERRUPTED

    @property
    def all_verdicts(self) -> list:
        """Every gate's verdict, in the order the summary lists them."""
        return self.verdicts + self.drop_verdicts + self.equivalence_verdicts

    def _shorten_failures(self) -> None:
        # thousands of wrong answers in full are unreadable, and pytest's failure section
        # grows quadratically with them; --tb=auto (the default) means we may choose
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        failed = len(reporter.stats.get("failed", ())) if reporter is not None else 0
        if failed > MANY_FAILURES and self.config.option.tbstyle == "auto":
            self.config.option.tbstyle = "no"
            self.shortened = failed

    def run_config(self) -> RunConfig:
        ev, s, plan = self.session.evaluation, self.settings, self.session.evaluation.plan
        judge = ev.judge.endpoint if ev.judge is not None else None
        return {"label": self.session.label, "backend": ev.service.name, "model": s.model or ev.service.model,
                "served_model": ev.model.model_id,
                "base_urls": [public_url(u) for u in s.base_urls], "dataset": ev.source.describe(),
                "revision": ev.source.revision(), "split": s.split, "shots": s.shots, "limit": s.limit,
                "scoring": plan.scoring, "logprob_route": plan.route, "prompt": plan.prompt,
                "max_tokens": plan.max_tokens, "temperature": s.temperature, "subjects": list(s.subjects),
                "interrupted": self.interrupted, "pytest_mmlu": __version__, "language": ev.source.language,
                "dataset_notes": ev.source.notes(s.shots), "redux": self.redux[1] if self.redux else None,
                "shard": str(s.shard) if s.shard else None, "permute": str(s.permute) if s.permute else None,
                "categories": {subject: ev.category_of(subject) for subject in sorted(
                    {r["subject"] for r in self.records.values()} | {n.split("::")[-2] for n in self.selected})},
                "started": datetime.fromtimestamp(self.started, timezone.utc).isoformat(timespec="seconds"),
                "wall_seconds": None if self.wall_seconds is None else round(self.wall_seconds, 3),
                "judge": None if judge is None else {
                    "backend": judge.service.name, "model": judge.model, "served_model": judge.model_id,
                    "base_url": public_url(judge.urls[0]) if judge.urls else None}}

    def _report(self, records: list[Record]) -> Report:
        if self._built is None:
            answered = {r["nodeid"] for r in records}
            self._built = to_report(self.summary, self.verdicts, records, self.run_config(), self.comparison,
                                    drop_verdicts=self.drop_verdicts, equivalence_verdicts=self.equivalence_verdicts,
                                    not_run=[n for n in self.selected if n not in answered], stopped=self.stop,
                                    shots=self.session.evaluation.shots_texts(r["subject"] for r in records))
        return self._built

    def _write_report(self, records: list[Record]) -> None:
        write_report(self.settings.report, self._report(records))

    def _write_html(self, records: list[Record]) -> None:
        report = self._report(records)
        where = self.settings.report or "this run (no --mmlu-report)"
        html = build_page([ReadReport(where, report, report["schema_version"])])
        path = Path(self.settings.html)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")

    def _write_markdown(self) -> None:
        write_markdown(self.settings.markdown, render_markdown(self.summary, self.all_verdicts, self.comparison,
                                                               self.session.label, self.run_config()))

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.summary is None or self.config.option.collectonly or not self.summary.overall.selected:
            return
        tr, s, ev = terminalreporter, self.settings, self.session.evaluation
        tr.write_sep("=", "MMLU results")
        for line in render(self.summary, self.all_verdicts, self.comparison,
                           width=tr._tw.fullwidth, label=self.session.label):
            tr.write_line(line)
        others = self.other_failures
        if others and s.gated:
            tr.write_line(f"{others} failure{'s' if others > 1 else ''} besides the MMLU verdicts (own tests, files "
                          f"that could not be collected, crashed workers) fail{'' if others > 1 else 's'} the gated "
                          f"run", red=True)
        if ev.cache is not None and ev.cache.damaged_rows:
            tr.write_line(f"{ev.cache.damaged_rows} damaged cache entries were ignored and asked again", red=True)
        if self.stop is not None:
            for line in stop_block(self.stop, ev.service.key_env):
                tr.write_line(line, red=True)
        elif ev.offline and self.summary.overall.not_run:
            where = f"listed under not_run in {s.report}" if s.report else "--mmlu-report lists them"
            tr.write_line(f"{self.summary.overall.not_run} questions have no cached reply and were not run "
                          f"({where})", yellow=True)
        elif self.cut_short:
            tr.write_line(f"the run stopped early ({self.config.option.maxfail} failure(s) allowed by -x or "
                          f"--maxfail): {self.summary.overall.not_run} questions were not run, so the gates fail "
                          f"the run", red=True)
        elif self.interrupted:
            tr.write_line("run interrupted: the numbers above cover the questions answered so far; "
                          "re-run the same command to ask only the rest (replies are cached)", yellow=True)
        for path, why in self.unwritten.items():
            tr.write_line(f"could not write {path}: {why}", red=True)
        if s.report and s.report not in self.unwritten:
            tr.write_line(f"report written to {s.report}")
        if s.markdown and s.markdown not in self.unwritten:
            tr.write_line(f"markdown written to {s.markdown}")
        if self.shortened:
            tr.write_line(f"{self.shortened} failures are listed one line each (short test summary); "
                          f"--tb=short shows each in full, and --mmlu-report keeps every reply")
        if s.html and s.html not in self.unwritten:  # last: where to look next
            tr.write_line(f"page written to {s.html}: every question, to browse in a browser")

    def close(self) -> None:
        interrupts.restore(self._sigint)
