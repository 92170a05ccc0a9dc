"""Hook implementations only: each hands off to the module that does the work."""

from __future__ import annotations

import pytest

from ..core.errors import SetupError
from . import options
from .items import MMLUCollector, QuestionItem
from .run import Run

RUN = pytest.StashKey[Run]()


def _run(config: pytest.Config) -> Run | None:
    return config.stash.get(RUN, None)


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
        run = Run(config, settings)
    except SetupError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[RUN] = run


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is not None:
        run.close()
        del config.stash[RUN]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    run = _run(node.config)
    if run is not None:
        node.workerinput.update(run.for_workers())


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    run = _run(config)
    return run.header() if run is not None else None


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    run = _run(collector.config)
    if run is not None and isinstance(collector, pytest.Session):
        # an explicit node id: children of the session would otherwise start with "::"
        report.result.append(MMLUCollector.from_parent(collector, name="mmlu", nodeid="mmlu",
                                                       path=collector.config.rootpath, evaluation=run.evaluation))
    return report


def pytest_collection_finish(session: pytest.Session) -> None:
    run = _run(session.config)
    if run is not None:
        run.collected(session.items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:
    run = _run(node.config)
    if run is not None:
        run.selected_ids(ids)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem) -> None:
    if isinstance(item, QuestionItem):
        _run(item.config).prefetch(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    if isinstance(item, QuestionItem) and item.record is not None:
        report.mmlu = item.record  # plain data: travels from xdist workers with the report
        if report.failed and call.when == "setup" and call.excinfo is not None:
            report.longrepr = item.repr_failure(call.excinfo)  # a backend fault: one line, not a traceback
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    run = _run(config)
    if run is not None and run.is_controller:
        run.terminal_summary(terminalreporter)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    run = _run(session.config)
    if run is not None:
        run.finish(session)
