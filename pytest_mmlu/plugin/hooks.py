"""Hook implementations only: each hands off to the object that does the work.

Every process has a `Session` (its side of the run: the engine, the header, the items' positions); the controller
alone has an `Outcome` (the records, the summary, the gates, the exit status, the files), registered as a plugin
of its own only where there is no `workerinput`, as pytest registers junitxml's LogXML.
"""

from __future__ import annotations

import pytest

from ..core.errors import SetupError
from . import options
from .items import MMLUCollector, QuestionItem
from .outcome import Outcome
from .session import Session

SESSION = pytest.StashKey[Session]()
OUTCOME = pytest.StashKey[Outcome]()
START_ERRORS = (SetupError, ValueError)  # ValueError: what a library raises on a value it cannot use


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    settings = options.resolve(config)
    if not settings.active:
        return
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = []  # no paths given: only MMLU items, not the repository's testpaths
    try:
        session = config.stash[SESSION] = Session(config, settings)
        if not hasattr(config, "workerinput"):  # the controller alone sums up the run
            outcome = config.stash[OUTCOME] = Outcome(config, settings, session)
            config.pluginmanager.register(outcome, "mmlu-outcome")
            session.start(outcome)
    except START_ERRORS as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_unconfigure(config: pytest.Config) -> None:
    outcome = config.stash.get(OUTCOME, None)
    if outcome is not None:
        outcome.close()
        config.pluginmanager.unregister(outcome)
        del config.stash[OUTCOME]
    session = config.stash.get(SESSION, None)
    if session is not None:
        session.close()
        del config.stash[SESSION]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    session = node.config.stash.get(SESSION, None)
    if session is not None:
        node.workerinput.update(session.handoff())


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    session = config.stash.get(SESSION, None)
    if session is None:
        return None
    outcome = config.stash.get(OUTCOME, None)
    return session.header(outcome.header_notes() if outcome is not None else [])


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    session = collector.config.stash.get(SESSION, None)
    if session is not None and isinstance(collector, pytest.Session):
        # an explicit node id: children of the session would otherwise start with "::"
        report.result.append(MMLUCollector.from_parent(collector, name="mmlu", nodeid="mmlu",
                                                       path=collector.config.rootpath,
                                                       evaluation=session.evaluation))
    return report


def pytest_collection_finish(session: pytest.Session) -> None:
    mmlu = session.config.stash.get(SESSION, None)
    if mmlu is not None:
        mmlu.collected(session.items)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem) -> None:
    if isinstance(item, QuestionItem):
        item.config.stash[SESSION].prefetch(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    if isinstance(item, QuestionItem) and item.record is not None:
        report.mmlu = item.record  # plain data: travels from xdist workers with the report
        if report.failed and call.when == "setup" and call.excinfo is not None:
            report.longrepr = item.repr_failure(call.excinfo)  # a backend fault: one line, not a traceback
    return report


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    mmlu = session.config.stash.get(SESSION, None)
    if mmlu is not None:
        mmlu.stop()  # requests not started are dropped; the outcome sums up what was answered
