"""What start-up costs, by what it imports: a pytest run of other tests imports nothing of the run, and an MMLU
run whose questions are already known (parsed and cached by an earlier run on the same data) sends its
requests without importing `datasets`."""

import pytest

from fakeservers import OpenAIFake
from runs import run_pytest

SUBJECTS = ("astronomy", "virology")
# a conftest of the run's own folder: which heavy modules the run imported, read at its very end
IMPORTED = """
import sys

def pytest_unconfigure(config):
    loaded = sorted(m for m in ("datasets", "pyarrow", "requests", "pytest_mmlu.engine.evaluation",
                                "pytest_mmlu.plugin.session", "pytest_mmlu.report.summary") if m in sys.modules)
    print("imported:", ",".join(loaded) or "-")
"""


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data(subjects=SUBJECTS, per_subject=6, seed=31)


def imported(result) -> set[str]:
    line = next(line for line in result.outlines if line.startswith("imported:"))
    return set(line.removeprefix("imported:").strip().split(",")) - {"-"}


def test_other_tests_import_nothing_of_the_run(pytester):
    pytester.makeconftest(IMPORTED)
    pytester.makepyfile(test_own="""
        def test_own(request):
            assert request.config.pluginmanager.has_plugin("mmlu")  # the entry point is loaded
            assert request.config.pluginmanager.get_plugin("mmlu-session") is None
    """)
    result = run_pytest(pytester, "-p", "no:randomly", "-s")
    result.assert_outcomes(passed=1)
    assert imported(result) == set(), result.outlines[-5:]


def test_known_questions_are_asked_before_datasets_is_imported(pytester, data):
    pytester.makeconftest(IMPORTED)
    cache = pytester.path / "cache"

    def run(model):
        with OpenAIFake("openai", answer="A", models=("first", "second")) as fake:
            result = run_pytest(pytester, "--mmlu-backend=openai", f"--mmlu-base-url={fake.url}",
                                f"--mmlu-model={model}", f"--mmlu-dataset={data}", f"--mmlu-cache={cache}",
                                "-p", "no:randomly", "-s")
            asked = sum(r.method == "POST" for r in fake.requests)
        return result, asked

    first, asked = run("first")  # parses the data: `datasets` is needed
    assert asked == 12, first.outlines[-20:]
    assert {"datasets", "pytest_mmlu.engine.evaluation"} <= imported(first)
    assert list(cache.glob("questions-*.json")), "the parsed questions are kept beside the replies"

    second, asked = run("second")  # another model on the same data: every question asked again
    assert asked == 12, second.outlines[-20:]
    assert "datasets" not in imported(second)
    assert "pytest_mmlu.engine.evaluation" in imported(second)  # it was an MMLU run
    for result in (first, second):
        counts = result.parseoutcomes()
        assert counts.get("passed", 0) + counts.get("failed", 0) == 12, result.outlines[-15:]
