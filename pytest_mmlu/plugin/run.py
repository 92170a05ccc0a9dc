"""The run as a whole: set up once per process, finished and summarised on the controller."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from .. import __version__
from ..backends import default_base_url
from ..core.errors import KEY, CannotReach, OptionError, SetupError
from ..core.subjects import CATEGORIES, category_of
from ..data.annotations import annotate, describe
from ..engine.concurrency import describe as describe_concurrency
from ..engine.evaluation import Evaluation
from ..report.baseline import compare, load_baseline
from ..report.gates import check_scopes, evaluate, evaluate_drops
from ..report.label import default_label, public_url
from ..report.markdown import render_markdown
from ..report.output import check_writable
from ..report.schema import RunConfig, to_report, write_report
from ..report.stop import find_stop, stop_block
from ..report.summary import render, summarize
from . import interrupts
from .items import QuestionItem
from .lookahead import upcoming
from .scoreboard import Scoreboard

__all__ = ["Run"]

MANY_FAILURES = 100  # beyond this, failures are listed one line each unless --tb is given
ROUTES = {"completions": " (completions: the next token after the prompt)",
          "chat": " (chat: the first token of the reply)"}
STARTUP_ERRORS = (SetupError, ValueError)  # ValueError: what a library raises on a value it cannot use


class Run:
    def __init__(self, config: pytest.Config, settings):
        self.config = config
        self.settings = settings
        self.is_worker = hasattr(config, "workerinput")
        self.is_controller = not self.is_worker
        self.scoreboard = Scoreboard()
        self.summary = self.verdicts = self.comparison = None
        self.redux = None  # --mmlu-redux: ({(subject, index): error_type}, what matched)
        self.drop_verdicts = []
        self.started, self._clock = time.time(), time.monotonic()
        self.wall_seconds: float | None = None
        self.interrupted = False
        self.shortened = 0
        self.unwritten: dict[str, str] = {}  # output file -> why it could not be written at the end
        self.stop = None  # a fault that ended the run (faults.StopReport)
        self.offline_note: str | None = None  # why replies come only from the cache
        self._submitted: set[int] = set()  # under xdist: positions already handed to the evaluation
        self._horizon = 0  # without xdist: every position below this was handed over
        try:
            self.evaluation = Evaluation(settings, config.rootpath, self._cache_dir())
            self.evaluation.workers = self._workers()
            if self.is_worker:
                self.evaluation.model_id = config.workerinput.get("mmlu_model_id")
                if self.evaluation.judge is not None:
                    self.evaluation.judge.model_id = config.workerinput.get("mmlu_judge_model_id")
                if config.workerinput.get("mmlu_offline"):
                    self.evaluation.go_offline()
                self.evaluation.server_slots = config.workerinput.get("mmlu_slots") or []
            else:
                self._check_at_start()
        except STARTUP_ERRORS as exc:
            raise SetupError(str(exc)) from None
        if self.is_controller:
            config.pluginmanager.register(self.scoreboard, "mmlu-scoreboard")
        self._sigint = interrupts.listen() if self.is_controller else None

    def _workers(self) -> tuple[int, int]:
        """Processes sharing the servers, and this one's index (they split a server's slots)."""
        if self.is_worker:
            wid = str(self.config.workerinput.get("workerid", "gw0"))
            index = int(wid[2:]) if wid[2:].isdigit() else 0
            return int(self.config.workerinput.get("workercount", 1)), index
        n = getattr(self.config.option, "numprocesses", None)
        return (n if isinstance(n, int) and n > 0 else 1), 0

    def _cache_dir(self) -> Path | None:
        if self.settings.no_cache:
            return None
        if self.settings.cache:
            return Path(self.settings.cache).expanduser()
        if getattr(self.config, "cache", None) is not None:
            return self.config.cache.mkdir("mmlu")
        return self.config.rootpath / ".mmlu-cache"

    def _check_at_start(self) -> None:
        ev = self.evaluation
        subjects = ev.subjects()  # unknown subjects stop here, with suggestions
        ev.questions()  # unreadable or malformed data stops here too, not as a collection error
        available = ev.source.subjects(self.settings.split)
        check_scopes(self.settings.gates, available, CATEGORIES)
        if self.settings.drop_gates and not self.settings.baseline:
            raise OptionError("--mmlu-max-drop needs --mmlu-baseline (the report to compare with)")
        check_scopes(self.settings.drop_gates, available, CATEGORIES, "--mmlu-max-drop")
        for option, target in (("--mmlu-report", self.settings.report), ("--mmlu-markdown", self.settings.markdown)):
            if target:  # found out now, not after an hour of questions
                check_writable(target, option)
        if self.settings.shots:
            for subject in subjects:
                ev.shots(subject)
        self.baseline = load_baseline(self.settings.baseline) if self.settings.baseline else None
        self.redux = annotate(self.settings.redux, ev.questions()) if self.settings.redux else None
        if self.config.option.collectonly:
            return
        if ev.judge is not None:  # the judge is asked even when the model's replies come from the cache
            ev.judge.check_reachable()
        if ev.offline:
            ev.go_offline()
            self.offline_note = "offline (--mmlu-offline): cached replies only, the backend is not contacted"
            if ev.service.served_model_id and ev.model_id is None:
                self.offline_note += ("; no model id of a past run at this address is stored in the cache, "
                                      "so no reply can match")
            return
        try:
            ev.check_reachable()
        except CannotReach as exc:
            ev.go_offline()
            if not ev.all_cached():
                raise
            reason = str(exc).split("; is the server")[0]
            self.offline_note = f"{reason}; every selected question has a cached reply: scoring from the cache"

    # -- xdist -----------------------------------------------------------------
    def for_workers(self) -> dict:
        judge = self.evaluation.judge
        return {"mmlu_model_id": self.evaluation.model_id, "mmlu_offline": self.evaluation.offline,
                "mmlu_slots": self.evaluation.server_slots,
                "mmlu_judge_model_id": judge.model_id if judge is not None else None}

    def selected_ids(self, nodeids) -> None:
        self.scoreboard.select(nodeids)

    # -- collection and running ------------------------------------------------
    def header(self) -> list[str]:
        ev, s = self.evaluation, self.settings
        where = ", ".join(public_url(u) for u in s.base_urls) if s.base_urls else "in process"
        model = s.model or ev.model_id or ev.service.model or "(as served)"
        served = f" (served as {ev.model_id})" if ev.model_id and ev.model_id != model else ""
        revision = ev.source.revision()
        cache = "off" if ev.cache is None else str(ev.cache.path)
        workers = getattr(self.config.option, "numprocesses", None)
        copies = ([f"mmlu: -n {workers}: each xdist worker loads its own copy of the model"]
                  if workers and ev.service.protocol == "llama_cpp" else [])
        offline = [f"mmlu: {self.offline_note}"] if self.offline_note else []
        return copies + offline + [
            f"mmlu: run {self.label}",
            f"mmlu: backend {ev.service.name} at {where}; model {model}{served}",
            f"mmlu: dataset {ev.source.describe()}" + (f" @ {revision}" if revision else "")
            + f"; split {s.split}; shots {s.shots}; limit {s.limit or 'none'}",
            f"mmlu: scoring {ev.scoring}{ROUTES.get(ev.route, '')}; prompt {ev.prompt_format}; "
            f"concurrency {describe_concurrency(ev.per_server(), s.concurrency, ev.server_slots, ev.workers[0])}; "
            f"cache {cache}",
        ] + [f"mmlu: {note}" for note in ev.source.notes(s.shots)] \
            + ([f"mmlu: {describe(self.redux[1])}"] if self.redux else []) \
            + ([ev.judge.describe()] if ev.judge is not None else [])

    @property
    def label(self) -> str:
        if self.settings.label:
            return self.settings.label
        ev, s = self.evaluation, self.settings
        served = ev.model_id if ev.service.served_model_id or ev.service.protocol == "llama_cpp" else None
        model = served or s.model or ev.service.model or ev.model_id
        url = s.base_urls[0] if s.base_urls else default_base_url(ev.service)
        if model is None and self.config.option.collectonly and url:  # the server is not asked what it serves
            return default_label(f"the model at {public_url(url)}", ev.service.name)
        return default_label(model, ev.service.name)

    def collected(self, items) -> None:
        for position, item in enumerate(items):
            if isinstance(item, QuestionItem):
                item.position = position
        if not self.is_worker:
            self.scoreboard.select(item.nodeid for item in items)

    def prefetch(self, item: QuestionItem) -> None:
        ev = self.evaluation
        window = max(2, 8 * sum(ev.per_server()))
        items = item.session.items
        if self.is_worker:
            positions = [p for p in upcoming(item, item.position, window) if p not in self._submitted]
            self._submitted.update(positions)
        else:  # the whole run order is known: only the window's new end needs submitting
            positions = range(max(item.position, self._horizon), min(item.position + window, len(items)))
            self._horizon = max(self._horizon, item.position + window)
        for position in positions:
            nxt = items[position]
            if isinstance(nxt, QuestionItem):
                ev.submit(position, nxt.question)

    # -- the end -----------------------------------------------------------------
    def finish(self, session: pytest.Session) -> None:
        self.evaluation.stop()
        if not self.is_controller:
            return
        self.interrupted = session.exitstatus == pytest.ExitCode.INTERRUPTED or bool(session.shouldstop)
        self._shorten_failures()
        records = list(self.scoreboard.records.values())
        if self.redux:  # known-bad questions of a plain MMLU run, matched at start
            for r in records:
                r.setdefault("error_type", self.redux[0].get((r["subject"], r["index"])))
        self.summary = summarize(records, list(self.scoreboard.selected), category_of)
        self.verdicts = evaluate(self.settings.gates, self.summary)
        self.stop = find_stop(records, self.summary.overall.selected)
        if self.baseline is not None:
            self.comparison = compare(self.baseline, self.scoreboard.records, category_of)
            self.drop_verdicts = evaluate_drops(self.settings.drop_gates, self.comparison.scopes)
        self.wall_seconds = time.monotonic() - self._clock
        for wanted, write in ((self.settings.report, lambda: self._write_report(records)),
                              (self.settings.markdown, self._write_markdown)):
            if wanted and not self.config.option.collectonly:  # nothing was asked: keep the last run's files
                try:
                    write()
                except OSError as exc:  # the disk filled or the folder went away during the run
                    self.unwritten[wanted] = str(exc.strerror or exc)
        gated = self.settings.gates or self.settings.drop_gates
        if gated and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED,
                                            pytest.ExitCode.NO_TESTS_COLLECTED):
            holds = all(v.holds for v in self.verdicts + self.drop_verdicts) and self.summary.overall.errors == 0 \
                and self.scoreboard.other_failures == 0
            session.exitstatus = pytest.ExitCode.OK if holds else pytest.ExitCode.TESTS_FAILED
        if self.stop is not None:  # not a verdict on the model: 4 for a rejected key, 2 for a server gone,
            # with or without gates (as Ctrl-C keeps its 2), so CI tells a broken backend from a regression
            session.exitstatus = pytest.ExitCode.USAGE_ERROR if self.stop.kind == KEY \
                else pytest.ExitCode.INTERRUPTED

    def _shorten_failures(self) -> None:
        # thousands of wrong answers in full are unreadable, and pytest's failure section
        # grows quadratically with them; --tb=auto (the default) means we may choose
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        failed = len(reporter.stats.get("failed", ())) if reporter is not None else 0
        if failed > MANY_FAILURES and self.config.option.tbstyle == "auto":
            self.config.option.tbstyle = "no"
            self.shortened = failed

    def run_config(self) -> RunConfig:
        ev, s = self.evaluation, self.settings
        return {"label": self.label, "backend": ev.service.name, "model": s.model or ev.service.model,
                "served_model": ev.model_id,
                "base_urls": [public_url(u) for u in s.base_urls], "dataset": ev.source.describe(),
                "revision": ev.source.revision(), "split": s.split, "shots": s.shots, "limit": s.limit,
                "scoring": ev.scoring, "logprob_route": ev.route, "prompt": ev.prompt_format,
                "max_tokens": ev.max_tokens,
                "temperature": s.temperature, "subjects": list(s.subjects), "interrupted": self.interrupted,
                "pytest_mmlu": __version__, "language": ev.source.language, "dataset_notes": ev.source.notes(s.shots),
                "redux": self.redux[1] if self.redux else None,
                "started": datetime.fromtimestamp(self.started, timezone.utc).isoformat(timespec="seconds"),
                "wall_seconds": None if self.wall_seconds is None else round(self.wall_seconds, 3),
                "judge": None if ev.judge is None else {
                    "backend": ev.judge.service.name, "model": ev.judge.model, "served_model": ev.judge.model_id,
                    "base_url": public_url(ev.judge.base_url) if ev.judge.base_url else None}}

    def _write_report(self, records) -> None:
        answered = {r["nodeid"] for r in records}
        report = to_report(self.summary, self.verdicts, records, self.run_config(), self.comparison,
                           drop_verdicts=self.drop_verdicts,
                           not_run=[n for n in self.scoreboard.selected if n not in answered], stopped=self.stop)
        write_report(self.settings.report, report)

    def _write_markdown(self) -> None:
        text = render_markdown(self.summary, self.verdicts + self.drop_verdicts, self.comparison, self.label,
                               self.run_config())
        path = Path(self.settings.markdown)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary:
            with open(step_summary, "a", encoding="utf-8") as f:
                f.write(text + "\n")

    def terminal_summary(self, terminalreporter) -> None:
        if self.summary is None or self.config.option.collectonly or not self.summary.overall.selected:
            return
        tr = terminalreporter
        tr.write_sep("=", "MMLU results")
        for line in render(self.summary, self.verdicts + self.drop_verdicts, self.comparison,
                           width=tr._tw.fullwidth, label=self.label):
            tr.write_line(line)
        cache = self.evaluation.cache
        if cache is not None and cache.damaged_rows:
            tr.write_line(f"{cache.damaged_rows} damaged cache entries were ignored and asked again", red=True)
        if self.stop is not None:
            for line in stop_block(self.stop, self.evaluation.service.key_env):
                tr.write_line(line, red=True)
        elif self.evaluation.offline and self.summary.overall.not_run:
            where = f"listed under not_run in {self.settings.report}" if self.settings.report else \
                "--mmlu-report lists them"
            tr.write_line(f"{self.summary.overall.not_run} questions have no cached reply and were not run "
                          f"({where})", yellow=True)
        elif self.interrupted:
            tr.write_line("run interrupted: the numbers above cover the questions answered so far; "
                          "re-run the same command to ask only the rest (replies are cached)", yellow=True)
        for path, why in self.unwritten.items():
            tr.write_line(f"could not write {path}: {why}", red=True)
        if self.settings.report and self.settings.report not in self.unwritten:
            tr.write_line(f"report written to {self.settings.report}")
        if self.settings.markdown and self.settings.markdown not in self.unwritten:
            tr.write_line(f"markdown written to {self.settings.markdown}")
        if self.shortened:
            tr.write_line(f"{self.shortened} failures are listed one line each (short test summary); "
                          f"--tb=short shows each in full, and --mmlu-report keeps every reply")

    def close(self) -> None:
        interrupts.restore(self._sigint)
        self.evaluation.stop()
        if self.evaluation.cache is not None:
            self.evaluation.cache.close()
