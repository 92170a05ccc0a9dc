"""One process's side of an MMLU run under pytest, on the controller and on every xdist worker alike: the
engine (its evaluation), the header, the run's label, the items' positions and the replies asked ahead.

`Session` is a plugin object with the run's hooks, registered by hooks.py only for an MMLU run, so a pytest
run of other tests neither imports the engine nor calls these hooks for its items."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..backends import default_base_url
from ..engine.concurrency import describe as describe_concurrency
from ..engine.evaluation import Evaluation
from ..engine.handoff import Handoff
from ..report.label import default_label, public_url
from .items import MMLUCollector, QuestionItem
from .lookahead import RunOrder, WorkerQueue, blind

HANDOFF_KEY = "mmlu"  # the one key in xdist's workerinput: Handoff.to_json()
ROUTES = {"completions": " (completions: the next token after the prompt)",
          "chat": " (chat: the first token of the reply)"}


def _workers(config: pytest.Config) -> tuple[int, int]:
    """Processes sharing the servers, and this one's index (they split a server's slots)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        wid = str(workerinput.get("workerid", "gw0"))
        index = int(wid[2:]) if wid[2:].isdigit() else 0
        return int(workerinput.get("workercount", 1)), index
    n = getattr(config.option, "numprocesses", None)
    return (n if isinstance(n, int) and n > 0 else 1), 0


class Session:
    """Created in `pytest_configure` in every process; on a worker it takes the controller's handoff."""

    def __init__(self, config: pytest.Config, settings):
        self.config = config
        self.settings = settings
        self.outcome = None  # the controller's Outcome (outcome.py), set by start()
        self.evaluation = Evaluation(settings, config.rootpath, self._cache_dir())
        self.evaluation.model.workers = _workers(config)
        workerinput = getattr(config, "workerinput", None)
        if workerinput is not None and workerinput.get(HANDOFF_KEY) is not None:
            self.evaluation.take_handoff(Handoff.from_json(workerinput[HANDOFF_KEY]))
        self.lookahead = WorkerQueue() if workerinput is not None else RunOrder()

    def _cache_dir(self) -> Path | None:
        if self.settings.no_cache:
            return None
        if self.settings.cache:
            return Path(self.settings.cache).expanduser()
        if getattr(self.config, "cache", None) is not None:
            return self.config.cache.mkdir("mmlu")
        return self.config.rootpath / ".mmlu-cache"

    def start(self, outcome) -> None:
        """On the controller, before any question: everything that can stop the run with one line, in the order
        users meet it: the data, the options that depend on it (the outcome's), the shots, the baseline and
        annotations (the outcome's), then the servers."""
        self.outcome = outcome
        ev = self.evaluation
        available = ev.check_questions()
        outcome.check_options(available)
        ev.check_shots()
        outcome.read_inputs(ev.questions())
        if not self.config.option.collectonly:
            ev.connect()

    def handoff(self) -> dict:
        """For xdist's workerinput: what this controller learned at start."""
        return {HANDOFF_KEY: self.evaluation.handoff().to_json()}

    # -- what the run shows ------------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        if self.settings.label:
            return self.settings.label
        ev, s = self.evaluation, self.settings
        model_id = ev.model.model_id
        served = model_id if ev.service.served_model_id or ev.service.protocol == "llama_cpp" else None
        model = served or s.model or ev.service.model or model_id
        url = s.base_urls[0] if s.base_urls else default_base_url(ev.service)
        if model is None and self.config.option.collectonly and url:  # the server is not asked what it serves
            return default_label(f"the model at {public_url(url)}", ev.service.name)
        return default_label(model, ev.service.name)

    def _money_lines(self) -> list[str]:
        ev, s = self.evaluation, self.settings
        price = ev.model_price or (None if self.config.option.collectonly else ev.price())
        lines = [f"mmlu: price {price.describe()}"] if price is not None else []
        if s.prices and price is None:
            lines.append(f"mmlu: no price for {ev.service.name} {s.model or ev.model.model or ev.model.model_id} "
                         f"in {s.prices}: costs not shown")
        if s.budget is not None:
            processes = ev.model.workers[0]
            share = f", {s.budget.describe(s.budget.amount / processes)} per process" if processes > 1 else ""
            lines.append(f"mmlu: budget {s.budget.describe()}{share}: no new question is asked once it is spent")
        return lines

    def header(self, notes: list[str] = ()) -> list[str]:
        """The lines under pytest's header; `notes` (the outcome's) come before the judge's line."""
        ev, s, plan = self.evaluation, self.settings, self.evaluation.plan
        where = ", ".join(public_url(u) for u in s.base_urls) if s.base_urls else "in process"
        model_id = ev.model.model_id
        model = s.model or model_id or ev.service.model or "(as served)"
        served = f" (served as {model_id})" if model_id and model_id != model else ""
        revision = ev.source.revision()
        cache = "off" if ev.cache is None else str(ev.cache.path)
        workers = getattr(self.config.option, "numprocesses", None)
        copies = ([f"mmlu: -n {workers}: each xdist worker loads its own copy of the model"]
                  if workers and ev.service.protocol == "llama_cpp" else [])
        offline = [f"mmlu: {ev.offline_note}"] if ev.offline_note else []
        unseen = blind() if workers else None  # an old pytest-xdist: the workers cannot read their queues
        concurrency = describe_concurrency(ev.model.per_server(), s.concurrency, ev.model.slots, ev.model.workers[0])
        shard = [f"mmlu: shard {s.shard}: {len(ev.questions()):,} of {ev.selected:,} questions"] if s.shard else []
        return copies + ([f"mmlu: -n {workers}: {unseen}"] if unseen else []) + offline + [
            f"mmlu: run {self.label}",
            f"mmlu: backend {ev.service.name} at {where}; model {model}{served}",
            f"mmlu: dataset {ev.source.describe()}" + (f" @ {revision}" if revision else "")
            + f"; split {s.split}; shots {s.shots}; limit {s.limit or 'none'}",
        ] + shard + [
            f"mmlu: scoring {plan.scoring}{ROUTES.get(plan.route, '')}; prompt {plan.prompt}; "
            f"concurrency {concurrency}; cache {cache}",
        ] + self._money_lines() + [f"mmlu: {note}" for note in ev.source.notes(s.shots)] \
            + [f"mmlu: {note}" for note in notes] \
            + ([ev.judge.describe()] if ev.judge is not None else [])

    # -- collection and running ------------------------------------------------------------------------------
    def collected(self, items) -> None:
        for position, item in enumerate(items):
            if isinstance(item, QuestionItem):
                item.position = position

    def prefetch(self, item: QuestionItem) -> None:
        """Before an item runs: the replies of the next items are asked for, in run order."""
        window = max(2, 8 * sum(self.evaluation.model.per_server()))
        items = item.session.items
        for position in self.lookahead.next_positions(item, window):
            nxt = items[position]
            if isinstance(nxt, QuestionItem):
                self.evaluation.submit(position, nxt.question)

    def stop(self) -> None:
        self.evaluation.stop()

    def close(self) -> None:
        self.evaluation.close()

    # -- the run's hooks -------------------------------------------------------------------------------------
    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        node.workerinput.update(self.handoff())

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        return self.header(self.outcome.header_notes() if self.outcome is not None else [])

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector):
        report = yield
        if isinstance(collector, pytest.Session):
            # an explicit node id: children of the session would otherwise start with "::"
            report.result.append(MMLUCollector.from_parent(collector, name="mmlu", nodeid="mmlu",
                                                           path=collector.config.rootpath,
                                                           evaluation=self.evaluation))
        return report

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected(session.items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem) -> None:
        if isinstance(item, QuestionItem):
            self.prefetch(item)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call):
        report = yield
        if isinstance(item, QuestionItem) and item.record is not None:
            report.mmlu = item.record  # plain data: travels from xdist workers with the report
            if report.failed and call.when == "setup" and call.excinfo is not None:
                report.longrepr = item.repr_failure(call.excinfo)  # a backend fault: one line, not a traceback
        return report

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.stop()  # requests not started are dropped; the outcome sums up what was answered

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """The outcome first (it writes the files), then this process's servers and cache."""
        if self.outcome is not None:
            self.outcome.close()
            config.pluginmanager.unregister(self.outcome)
            self.outcome = None
        self.close()
        config.pluginmanager.unregister(self)
