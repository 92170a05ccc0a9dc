"""The HTML page's data and its safety, without a browser: what report/page builds from reports, checked against
an independent reading of the JSON and against `compare`. (tests/test_page_browser.py opens it in Chromium.)"""

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from pytest_mmlu import cli
from pytest_mmlu.core.subjects import category_of
from pytest_mmlu.report.compare import compare_runs, read_reports
from pytest_mmlu.report.page import build_page, embed_json, page_data
from pytest_mmlu.report.schema import read_report, to_report
from pytest_mmlu.report.summary import summarize

GOLDEN = Path(__file__).parent / "golden" / "reports"
HOSTILE = ["<script>alert(1)</script>", "</script><script>alert(2)</script>", "<img src=x onerror=alert(3)>",
           '<a href="javascript:alert(4)">here</a>', "&lt;b&gt; &amp; &#60;script&#62; &quot;", "<!-- <script>",
           "line\u2028separator\u2029", "</SCRIPT >", "{{data}} {{script}}"]
DATA_BLOCK = re.compile(r'<script type="application/json" id="mmlu-data">(.*?)</script>', re.S)


def record(subject, index, mark, expected="A", text=""):
    """mark: P passed, F failed, U unparsed, E error, J a letter read by the judge (passed)."""
    outcome = {"P": "passed", "F": "failed", "U": "failed", "E": "error", "J": "passed"}[mark]
    predicted = {"P": expected, "J": expected, "F": "C"}.get(mark)
    r = {"nodeid": f"mmlu::{subject}::q{index:04d}", "subject": subject, "index": index, "expected": expected,
         "predicted": predicted, "outcome": outcome, "unparsed": mark == "U", "reply": f"{text} Answer: {predicted}",
         "error": "timed out" if mark == "E" else None, "question": f"{text} question {index}",
         "choices": ["one", text or "two", "three", "four"], "prompt": f"SHOTS|{text} question {index}",
         "shots_at": 0}
    if mark == "J":
        r.update(judge=expected, judge_reply=expected, judge_cached=False, how="judge")
    if mark in "PF":
        r["logprobs"] = {"A": -0.2 - index / 10, "B": -2.0, "C": -0.1 if mark == "F" else -3.0, "D": -4.0}
    return r


def report(pattern: dict[str, str], label, text="", not_run=(), **config):
    recs = [record(s, i, m, text=text) for s, marks in pattern.items() for i, m in enumerate(marks)]
    cfg = {"label": label, "backend": "llama", "served_model": "m.gguf", "dataset": "cais/mmlu", "split": "test",
           "shots": 1, "scoring": "logprobs", "prompt": "harness", "pytest_mmlu": "0.2.0", **config}
    rep = to_report(summarize(recs, [r["nodeid"] for r in recs] + list(not_run), category_of), [], recs, cfg,
                    not_run=not_run)
    rep["shots"] = {s: f"the {s} shot" for s in pattern}
    return rep


A = {"astronomy": "PPPFUPPEJP", "virology": "PFFPPUPPPF"}
B = {"astronomy": "PFPPPUFPPP", "virology": "FFPPPPUPEP"}
C = {"astronomy": "PPPP"}  # another run over fewer questions


@pytest.fixture
def paths(tmp_path):
    out = []
    for name, pattern, extra in (("a", A, {"not_run": ["mmlu::virology::q0010"]}), ("b", B, {}), ("c", C, {})):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(report(pattern, f"run {name}", **extra)))
        out.append(str(path))
    return out


def kind(record):  # independent of report.tally
    if record["outcome"] == "error":
        return "error"
    return "correct" if record["outcome"] == "passed" else ("unparsed" if record["unparsed"] else "wrong")


def data_of(page: str):
    blocks = DATA_BLOCK.findall(page)
    assert len(blocks) == 1
    return json.loads(blocks[0])


def test_each_answer_counts_as_its_record_says(paths):
    data = page_data([read_report(p) for p in paths])
    raw = [json.loads(Path(p).read_text()) for p in paths]
    for k, rep in enumerate(raw):
        by_id = {q["id"]: q["answers"][k] for q in data["questions"]}
        for r in rep["questions"]:
            assert by_id[r["nodeid"]]["kind"] == kind(r)
            assert by_id[r["nodeid"]]["judged"] == (r.get("judge") not in (None, "none", "fault"))
        for nodeid in rep["not_run"]:
            assert by_id[nodeid] == {"kind": "not_run"}
        present = {r["nodeid"] for r in rep["questions"]} | set(rep["not_run"])
        assert sum(a is not None for a in by_id.values()) == len(present)


def test_counts_per_outcome_match_the_reports_own_tallies(paths):
    data = page_data([read_report(p) for p in paths])
    for k, run in enumerate(data["runs"]):
        answers = [q["answers"][k] for q in data["questions"] if q["answers"][k]]
        count = {v: sum(a["kind"] == v for a in answers) for v in ("correct", "wrong", "unparsed", "error", "not_run")}
        o = run["overall"]
        assert (count["correct"], count["wrong"], count["unparsed"], count["error"], count["not_run"]) == (
            o["correct"], o["wrong"], o["unparsed"], o["errors"], o["not_run"])
        assert sum(bool(a.get("judged")) for a in answers) == o["judged"]
    assert data["runs"][0]["overall"]["judged"] == 1


def test_filters_by_subject_and_category_cover_every_question(paths):
    data = page_data([read_report(p) for p in paths])
    ids = {q["id"] for q in data["questions"]}
    raw_ids = {r["nodeid"] for p in paths for r in json.loads(Path(p).read_text())["questions"]}
    assert ids == raw_ids | {"mmlu::virology::q0010"}
    assert {q["category"] for q in data["questions"] if q["subject"] == "virology"} == {"other"}
    order = [(q["subject"], q["index"]) for q in data["questions"]]
    assert order == sorted(order)


def test_pairs_are_the_figures_compare_prints(paths):
    data = page_data([read_report(p) for p in paths])
    pairs = compare_runs(read_reports(paths)).pairs
    assert len(data["pairs"]) == len(pairs) == 3
    for mine, theirs in zip(data["pairs"], pairs):
        assert [data["runs"][mine["a"]]["label"], data["runs"][mine["b"]]["label"]] == [theirs.a, theirs.b]
        for key in ("common", "a_correct", "b_correct", "right_only_a", "right_only_b", "p_value", "only_a",
                    "only_b", "errors_excluded", "mismatched", "difference", "significant"):
            assert mine[key] == getattr(theirs, key), key
    # and independently: right in A and wrong in B, on questions neither errored
    a, b = ({r["nodeid"]: r for r in json.loads(Path(p).read_text())["questions"]} for p in paths[:2])
    common = [n for n in a.keys() & b.keys() if "error" not in (a[n]["outcome"], b[n]["outcome"])]
    assert data["pairs"][0]["common"] == len(common)
    assert data["pairs"][0]["right_only_a"] == sum(a[n]["outcome"] == "passed" != b[n]["outcome"] for n in common)
    assert any("common questions" in note for note in data["pairs"][1]["notes"])  # a vs c: fewer questions


def test_embedded_json_cannot_close_its_script(tmp_path):
    text = " ".join(HOSTILE)
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(report(A, f"label {text}", text=text)))
    page = build_page([read_report(path)])
    block = DATA_BLOCK.findall(page)
    assert len(block) == 1 and not re.search(r"[<>&\u2028\u2029]", block[0])
    assert page.count("</script>") == 2  # the data's and the script's, nothing from the data
    data = data_of(page)
    assert data == json.loads(json.dumps(page_data([read_report(path)])))
    assert data["questions"][0]["question"].startswith(text)
    title = re.search(r"<title>(.*)</title>", page).group(1)
    assert "<script>" not in title and "&lt;script&gt;alert(1)&lt;/script&gt;" in title
    assert embed_json("</script>\u2028&") == '"\\u003c/script\\u003e\\u2028\\u0026"'


def test_csp_forbids_every_request_and_allows_only_its_own_script_and_style(tmp_path):
    page = build_page([read_report(GOLDEN / "written-by-0.2.0.dev0.json")])
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1)
    rules = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert rules["default-src"] == "'none'" and rules["img-src"] == "data:" and rules["base-uri"] == "'none'"
    script = re.findall(r"<script>(.*?)</script>", page, re.S)
    style = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(script) == 1 and len(style) == 1

    def digest(text):
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
    assert rules["script-src"] == digest(script[0]) and rules["style-src"] == digest(style[0])


def test_nothing_in_the_page_points_outside(tmp_path):
    page = build_page([read_report(p) for p in GOLDEN.glob("*.json")])
    code = DATA_BLOCK.sub("", page)  # the data is text shown as text (it holds the run's server address)
    assert re.findall(r"https?://[^\s\"')]+", code) == ["http://www.w3.org/2000/svg"]  # a namespace name
    assert not re.search(r"\b(src|href|action|srcset)\s*=", code, re.I)
    assert not re.search(r"\b(fetch|XMLHttpRequest|WebSocket|EventSource|sendBeacon|importScripts|innerHTML|"
                         r"outerHTML|insertAdjacentHTML|document\.write|eval)\b", code)


def test_reports_without_the_question_say_what_is_missing():
    data = page_data([read_report(GOLDEN / "written-by-0.1.0.json")])
    assert data["runs"][0]["missing"] == [
        "the question text, the choices, the prompt as sent are not in this report: written by pytest-mmlu 0.1.0",
        "replies may be cut to their first 500 characters: written by pytest-mmlu 0.1.0"]
    assert "question" not in data["questions"][0]


def test_config_carries_no_credentials(tmp_path):
    rep = report(A, "run", base_urls=["http://user:pw-SECRET@127.0.0.1:8080/v1?key=SECRET"],
                 judge={"backend": "openai", "model": "j", "served_model": None, "base_url": "http://x/?k=SECRET"},
                 api_key="SECRET")
    path = tmp_path / "r.json"
    path.write_text(json.dumps(rep))
    page = build_page([read_report(path)])
    assert "SECRET" not in page and "127.0.0.1:8080/v1" in page


def test_view_command_writes_the_page(paths, tmp_path, capsys):
    out = tmp_path / "out" / "page.html"
    assert cli.main(["view", *paths[:2], "-o", str(out)]) == 0
    assert capsys.readouterr().err == f"page written to {out}\n"
    data = data_of(out.read_text(encoding="utf-8"))
    assert [r["label"] for r in data["runs"]] == ["run a", "run b"]


@pytest.mark.parametrize("content, message", [
    (None, "pytest-mmlu view: {path}: no such file\n"),
    ("not json", "pytest-mmlu view: {path}: not JSON*"),
    ('{"questions": 3}', "pytest-mmlu view: {path}: not a pytest-mmlu report (no 'questions' list)\n"),
])
def test_view_command_refuses_in_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    assert cli.main(["view", str(path), "-o", str(tmp_path / "p.html")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.fullmatch(re.escape(message.format(path=path)).replace(r"\*", ".*"), err, re.S)
    assert not (tmp_path / "p.html").exists()
