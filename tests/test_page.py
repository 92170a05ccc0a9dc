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
from pytest_mmlu.report import gates
from pytest_mmlu.report.baseline import compare
from pytest_mmlu.report.compare import compare_runs, read_reports
from pytest_mmlu.report.page import build_page, embed_json, page_data
from pytest_mmlu.report.schema import read_report, to_report
from pytest_mmlu.report.summary import summarize

import figures

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


# -- position bias, calibration, gates: the figures the page shows, counted again from the records ------------


def test_position_bias_is_the_records_counted_again(paths):
    data = page_data([read_report(p) for p in paths])
    for k, path in enumerate(paths):
        mine, theirs = data["runs"][k]["bias"], figures.position_bias(json.loads(Path(path).read_text())["questions"])
        assert (mine["questions"], mine["answered"], mine["wrong"], mine["letters"]) == (
            theirs["questions"], theirs["answered"], theirs["wrong"], theirs["letters"])
        for x in theirs["letters"]:
            assert (mine["predicted"][x], mine["expected"][x]) == (theirs["picked"][x], theirs["right"][x])
            assert mine["wrong_picks"][x] == theirs["wrong_picks"][x]
            assert mine["wrong_even"][x] == pytest.approx(theirs["even"].get(x, 0.0), abs=1e-6)
            correct, total = theirs["by_position"][x]
            position = mine["by_position"].get(x, {"correct": 0, "total": 0})
            assert (position["correct"], position["total"]) == (correct, total)
        ratio, letter = theirs["imbalance"] or (None, None)
        assert (mine["imbalance"], mine["imbalance_letter"]) == (
            None if ratio is None else pytest.approx(ratio, abs=1e-6), letter)
    # by hand: run a's four wrong answers (F) all read C, each giving C an even share of 1/3: 4 / (4/3) = 3
    assert (data["runs"][0]["bias"]["wrong"], data["runs"][0]["bias"]["imbalance_letter"]) == (4, "C")
    assert data["runs"][0]["bias"]["imbalance"] == pytest.approx(3.0)
    assert data["runs"][2]["bias"]["imbalance"] is None  # run c: no wrong answer


def test_calibration_is_the_log_probabilities_counted_again(paths):
    data = page_data([read_report(p) for p in paths])
    for k, path in enumerate(paths):
        page, theirs = data["runs"][k]["calibration"], figures.calibration(json.loads(Path(path).read_text())["questions"])
        o = page["overall"]
        assert o["questions"] == theirs["questions"]
        for key in ("accuracy", "confidence", "ece", "brier"):
            assert o[key] == pytest.approx(theirs[key], abs=1e-6), key
        # the reliability diagram's points: the bins that hold questions, and only those
        assert [(round(b["low"] * 10), b["questions"], b["correct"]) for b in o["bins"]] == [
            (i, n, right) for i, (n, right, _) in theirs["bins"].items()]
        for b, (n, right, confidence) in zip(o["bins"], theirs["bins"].values()):
            assert b["accuracy"] == pytest.approx(right / n) and b["confidence"] == pytest.approx(confidence, abs=1e-6)
        assert set(page["subjects"]) == {"astronomy", "virology"} & set(json.loads(Path(path).read_text())["subjects"])
    row = {r[0]: r for r in data["tables"]["robustness"][1:]}
    for k, path in enumerate(paths):
        b, c = (f(json.loads(Path(path).read_text())["questions"]) for f in (figures.position_bias, figures.calibration))
        ratio, letter = b["imbalance"] or (None, "n/a")
        assert row[f"run {'abc'[k]}"][1:] == [str(b["answered"]), letter, "n/a" if ratio is None else f"{ratio:.2f}",
                                              str(b["wrong"]), str(c["questions"]), f"{c['confidence'] * 100:.1f}%",
                                              f"{c['accuracy'] * 100:.1f}%", f"{c['ece']:.3f}", f"{c['brier']:.3f}"]


def test_a_run_without_log_probabilities_has_no_calibration():
    data = page_data([read_report(GOLDEN / "written-by-0.2.0.dev0.json")])
    assert data["runs"][0]["calibration"] is None and data["runs"][0]["bias"]["questions"] == 12


def gated_report(text=""):
    """Run B against run A as its baseline, with every kind of gate: its report as the plugin writes it."""
    base, current = ([record(s, i, m, text=text) for s, marks in pattern.items() for i, m in enumerate(marks)]
                     for pattern in (A, B))
    ids = [r["nodeid"] for r in current]
    summary = summarize(current, ids, category_of)
    comparison = compare({r["nodeid"]: r for r in base}, {r["nodeid"]: r for r in current}, category_of)
    verdicts = gates.evaluate([gates.parse_gate("0.5"), gates.parse_gate("astronomy=90%")], summary)
    drops = gates.evaluate_drops([gates.parse_drop("1"), gates.parse_drop("astronomy=1"),
                                  gates.parse_drop("virology=50")], comparison.scopes)
    equivalent = gates.evaluate_equivalence([gates.parse_equivalent("45"), gates.parse_equivalent("virology=2")],
                                            comparison.scopes)
    cfg = {"label": f"gated {text}", "backend": "llama", "dataset": "cais/mmlu", "split": "test", "shots": 0,
           "scoring": "logprobs", "prompt": "harness"}
    return to_report(summary, verdicts, current, cfg, comparison, drops, equivalence_verdicts=equivalent), base


def test_every_gate_reaches_the_page_with_its_verdict(tmp_path):
    rep, base = gated_report()
    path = tmp_path / "gated.json"
    path.write_text(json.dumps(rep))
    run = page_data([read_report(path)])["runs"][0]
    assert [g["scope"] for g in run["gates"]] == ["overall", "astronomy"]
    assert [g["holds"] for g in run["gates"]] == [g["holds"] for g in rep["gates"]] == [True, False]
    # drop gates: tested together, Holm's correction named with the number of scopes
    assert [(g["scope"], g["correction"], g["family"]) for g in run["drop_gates"]] == [
        ("overall", "holm", 3), ("astronomy", "holm", 3), ("virology", "holm", 3)]
    for mine, written in zip(run["drop_gates"], rep["drop_gates"]):
        assert mine == {k: written[k] for k in mine}
        assert mine["adjusted_p_value"] >= mine["p_value"]
    # equivalence gates: the difference counted again on the questions both runs answered, inside its interval
    now = {r["nodeid"]: r for r in rep["questions"]}
    was = {r["nodeid"]: r for r in base}
    for g in run["equivalence_gates"]:
        common = [n for n in now.keys() & was.keys() if "error" not in (now[n]["outcome"], was[n]["outcome"])
                  and (g["scope"] == "overall" or now[n]["subject"] == g["scope"])]
        difference = (sum(now[n]["outcome"] == "passed" for n in common)
                      - sum(was[n]["outcome"] == "passed" for n in common)) / len(common) * 100
        low, high = g["interval"]
        assert g["common"] == len(common) and g["difference_points"] == pytest.approx(difference)
        assert low <= difference <= high and g["holds"] == (-g["margin_points"] < low and high < g["margin_points"])
        assert "90% interval" in g["reason"]
    assert [g["holds"] for g in run["equivalence_gates"]] == [True, False]


def test_stray_values_in_a_report_do_not_reach_the_script(tmp_path):
    rep, _ = gated_report()
    rep["gates"][0].update(actual="58%", holds="yes", minimum=None)
    rep["equivalence_gates"][0]["interval"] = ["-1", 2]
    rep["drop_gates"][0].update(family=True, p_value=float("nan"))
    rep["calibration"]["overall"]["bins"][0] = {"low": "0", "questions": "12"}
    path = tmp_path / "stray.json"
    path.write_text(json.dumps(rep))
    run = data_of(build_page([read_report(path)]))["runs"][0]
    assert run["gates"][0] == {**run["gates"][0], "actual": None, "holds": False, "minimum": None}
    assert run["equivalence_gates"][0]["interval"] is None
    assert run["drop_gates"][0]["family"] is None and run["drop_gates"][0]["p_value"] is None
    assert all(isinstance(b["questions"], int) and b["questions"] > 0 for b in run["calibration"]["overall"]["bins"])


def test_hostile_text_in_the_new_figures_cannot_close_its_script(tmp_path):
    text = " ".join(HOSTILE)
    rep, _ = gated_report(text)
    rep["gates"][0]["scope"] = rep["drop_gates"][1]["reason"] = rep["equivalence_gates"][0]["scope"] = text
    rep["drop_gates"][0]["correction"] = text
    rep["calibration"]["subjects"][text] = rep["calibration"]["subjects"]["virology"]
    rep["bias"]["imbalance_letter"] = text
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(rep))
    page = build_page([read_report(path)])
    block = DATA_BLOCK.findall(page)
    assert len(block) == 1 and not re.search(r"[<>&\u2028\u2029]", block[0]) and page.count("</script>") == 2
    run = data_of(page)["runs"][0]
    assert run["gates"][0]["scope"] == run["equivalence_gates"][0]["scope"] == run["bias"]["imbalance_letter"] == text
    assert run["drop_gates"][0]["correction"] == run["drop_gates"][1]["reason"] == text
    assert text in run["calibration"]["subjects"]
