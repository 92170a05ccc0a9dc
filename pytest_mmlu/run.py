"""The run as a whole: set up once per process, finished and summarised on the controller."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import __version__
from .report.baseline import BaselineError, compare, load_baseline
from .cache import CacheDamaged
from .data import DatasetError
from .evaluation import Evaluation, SetupError
from .report.gates import check_scopes, evaluate
from .items import QuestionItem
from .concurrency import describe
from .lookahead import upcoming
from .report.scoreboard import Scoreboard
from .subjects import CATEGORIES, SUBJECTS, UnknownSubject, category_of
from .report.summary import render, summarize, to_report

__all__ = ["Run", "SetupError"]

MANY_FAILURES = 100  # beyond this, failures are listed one line each unless --tb is given
ROUTES = {"completions": " (completions: the next token after the prompt)",
          "chat": " (chat: the first token of the reply)"}
STARTUP_ERRORS = (SetupError, DatasetError, CacheDamaged, UnknownSubject, BaselineError, ValueError)


class Run:
    def __init__(self, config: pytest.Config, settings):
        self.config = config
        self.settings = settings
        self.is_worker = hasattr(config, "workerinput")
        self.is_controller = not self.is_worker
        self.scoreboard = Scoreboard()
        self.summary = self.verdicts = self.comparison = None
        self.interrupted = False
        self.shortened = 0
        self._submitted: set[int] = set()  # under xdist: positions already handed to the evaluation
        self._horizon = 0  # without xdist: every position below this was handed over
        try:
            self.evaluation = Evaluation(settings, config.rootpath, self._cache_dir())
            self.evaluation.workers = self._workers()
            if self.is_worker:
                self.evaluation.model_id = config.workerinput.get("mmlu_model_id")
                self.evaluation.server_slots = config.workerinput.get("mmlu_slots") or []
            else:
                self._check_at_start()
        except STARTUP_ERRORS as exc:
            raise SetupError(str(exc)) from None
        if self.is_controller:
            config.pluginmanager.register(self.scoreboard, "mmlu-scoreboard")

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
        if self.settings.shots:
            for subject in subjects:
                ev.shots(subject)
        self.baseline = load_baseline(self.settings.baseline) if self.settings.baseline else None
        if not self.config.option.collectonly:
            ev.check_reachable()

    # -- xdist -----------------------------------------------------------------
    def for_workers(self) -> dict:
        return {"mmlu_model_id": self.evaluation.model_id, "mmlu_slots": self.evaluation.server_slots}

    def selected_ids(self, nodeids) -> None:
        self.scoreboard.select(nodeids)

    # -- collection and running ------------------------------------------------
    def header(self) -> list[str]:
        ev, s = self.evaluation, self.settings
        where = ", ".join(s.base_urls) if s.base_urls else "in process"
        model = s.model or ev.model_id or ev.service.model or "(as served)"
        served = f" (served as {ev.model_id})" if ev.model_id and ev.model_id != model else ""
        revision = ev.source.revision()
        cache = "off" if ev.cache is None else str(ev.cache.path)
        workers = getattr(self.config.option, "numprocesses", None)
        copies = ([f"mmlu: -n {workers}: each xdist worker loads its own copy of the model"]
                  if workers and ev.service.protocol == "llama_cpp" else [])
        return copies + [
            f"mmlu: backend {ev.service.name} at {where}; model {model}{served}",
            f"mmlu: dataset {ev.source.describe()}" + (f" @ {revision}" if revision else "")
            + f"; split {s.split}; shots {s.shots}; limit {s.limit or 'none'}",
            f"mmlu: scoring {ev.scoring}{ROUTES.get(ev.route, '')}; prompt {ev.prompt_format}; "
            f"concurrency {describe(ev.per_server(), s.concurrency, ev.server_slots, ev.workers[0])}; "
            f"cache {cache}",
        ]

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
        self.summary = summarize(records, list(self.scoreboard.selected), category_of)
        self.verdicts = evaluate(self.settings.gates, self.summary)
        if self.baseline is not None:
            self.comparison = compare(self.baseline, self.scoreboard.records)
        if self.settings.report:
            self._write_report(records)
        if self.settings.gates and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED,
                                                          pytest.ExitCode.NO_TESTS_COLLECTED):
            holds = all(v.holds for v in self.verdicts) and self.summary.overall.errors == 0 \
                and self.scoreboard.other_failures == 0
            session.exitstatus = pytest.ExitCode.OK if holds else pytest.ExitCode.TESTS_FAILED

    def _shorten_failures(self) -> None:
        # thousands of wrong answers in full are unreadable, and pytest's failure section
        # grows quadratically with them; --tb=auto (the default) means we may choose
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        failed = len(reporter.stats.get("failed", ())) if reporter is not None else 0
        if failed > MANY_FAILURES and self.config.option.tbstyle == "auto":
            self.config.option.tbstyle = "no"
            self.shortened = failed

    def run_config(self) -> dict:
        ev, s = self.evaluation, self.settings
        return {"backend": ev.service.name, "model": s.model or ev.service.model, "served_model": ev.model_id,
                "base_urls": list(s.base_urls), "dataset": ev.source.describe(),
                "revision": ev.source.revision(), "split": s.split, "shots": s.shots, "limit": s.limit,
                "scoring": ev.scoring, "logprob_route": ev.route, "prompt": ev.prompt_format, "max_tokens": ev.max_tokens,
                "temperature": s.temperature, "subjects": list(s.subjects), "interrupted": self.interrupted,
                "pytest_mmlu": __version__}

    def _write_report(self, records) -> None:
        report = to_report(self.summary, self.verdicts, records, self.run_config(), self.comparison)
        path = Path(self.settings.report)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")

    def terminal_summary(self, terminalreporter) -> None:
        if self.summary is None or self.config.option.collectonly or not self.summary.overall.selected:
            return
        tr = terminalreporter
        tr.write_sep("=", "MMLU results")
        for line in render(self.summary, self.verdicts, self.comparison, width=tr._tw.fullwidth):
            tr.write_line(line)
        cache = self.evaluation.cache
        if cache is not None and cache.damaged_rows:
            tr.write_line(f"{cache.damaged_rows} damaged cache entries were ignored and asked again", red=True)
        if self.interrupted:
            tr.write_line("run interrupted: the numbers above cover the questions answered so far; "
                          "re-run the same command to ask only the rest (replies are cached)", yellow=True)
        if self.settings.report:
            tr.write_line(f"report written to {self.settings.report}")
        if self.shortened:
            tr.write_line(f"{self.shortened} failures are listed one line each (short test summary); "
                          f"--tb=short shows each in full, and --mmlu-report keeps every reply")

    def close(self) -> None:
        self.evaluation.stop()
        if self.evaluation.cache is not None:
            self.evaluation.cache.close()
