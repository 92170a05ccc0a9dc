"""The entry point: what every pytest run pays for, MMLU or not. The options are declared, and in
`pytest_configure` the settings say whether this is an MMLU run; only then are the engine, data and report
imported, and the run's hooks registered as plugin objects (as pytest registers junitxml's LogXML only where it
is needed): a `Session` in every process (session.py), and on the controller alone, where there is no
`workerinput`, an `Outcome` (outcome.py: the records, summary, gates, exit status and files).
"""

from __future__ import annotations

import pytest

from ..core.errors import SetupError
from . import options

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
    from .outcome import Outcome  # the engine, data and report: imported for an MMLU run only
    from .session import Session

    try:
        session = Session(config, settings)
        config.pluginmanager.register(session, "mmlu-session")
        if not hasattr(config, "workerinput"):  # the controller alone sums up the run
            outcome = Outcome(config, settings, session)
            config.pluginmanager.register(outcome, "mmlu-outcome")
            session.start(outcome)
    except START_ERRORS as exc:
        raise pytest.UsageError(str(exc)) from None
