"""Comparing runs from their JSON reports: numbers, formats (golden files), the command, the chart."""

import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_mmlu.cli import main
from pytest_mmlu.core.subjects import category_of
from pytest_mmlu.report.baseline import compare
from pytest_mmlu.report.compare import ReportError, compare_runs, read_report, read_reports, render
from pytest_mmlu.report.gates import DropGate, evaluate_drops, parse_drop
from pytest_mmlu.report.label import default_label, public_url
from pytest_mmlu.report.markdown import render_markdown
from pytest_mmlu.report.schema import to_report
from pytest_mmlu.report.stats import mcnemar_exact_p
from pytest_mmlu.report.summary import summarize

import figures

GOLDEN = Path(__file__).parent / "golden"


def record(subject, index, outcome, expected="A", unparsed=False, logprobs=False):
    """A wrong answer reads C; with `logprobs`, the letter read has probability 0.7 and the others 0.1 each."""
    predicted = None if unparsed or outcome == "error" else (expected if outcome == "passed" else "C")
    r = {"nodeid": f"mmlu::{subject}::q{index:04d}", "subject": subject, "index": index, "expected": expected,
         "predicted": predicted, "outcome": outcome, "unparsed": unparsed, "reply": ""}
    if logprobs and predicted:
        r["logprobs"] = {x: math.log(0.7 if x == predicted else 0.1) for x in "ABCD"}
    return r


def records(pattern: dict[str, str], logprobs=False) -> list[dict]:
    """{'astronomy': 'PPFFEU'}: P passed, F failed, U unparsed, E error, one letter per question."""
    out = []
    for subject, marks in pattern.items():
        for i, mark in enumerate(marks):
            out.append(record(subject, i, {"P": "passed", "F": "failed", "U": "failed", "E": "error"}[mark],
                              unparsed=mark == "U", logprobs=logprobs))
    return out


def report(pattern, label=None, **config):
    recs = records(pattern, logprobs=config.get("scoring", "logprobs") == "logprobs")
    cfg = {"backend": "llama", "model": None, "served_model": "/models/mistral-7b-instruct-v0.2.Q4_K_M.gguf",
           "dataset": "cais/mmlu (hub)", "split": "test", "shots": 0, "scoring": "logprobs", "prompt": "harness",
           **config}
    if label:
        cfg["label"] = label
    return to_report(summarize(recs, [r["nodeid"] for r in recs], category_of), [], recs, cfg)


def write(tmp_path, name, rep) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(rep))
    return name if Path.cwd() == tmp_path else str(path)


# three runs: an instruct model, a base model (much worse), and a run on part of the questions
INSTRUCT = {"astronomy": "PPPPPPPPFPPPPPPPPFPP", "virology": "PPPPFPPPPPPPPPPUPPPE"}
BASE = {"astronomy": "FPFFPFFUFFPFFFFPFFFF", "virology": "FFPFFFFFPFFFFFFFFPFF"}
PARTIAL = {"astronomy": "PPPPPPPFFPPPPPPPPPP"}


@pytest.fixture
def three(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths: the golden files name the reports as given
    return [write(tmp_path, "instruct.json", report(INSTRUCT)),
            write(tmp_path, "base.json", report(BASE, label="gemma base", backend="llama-cpp",
                                                served_model="gemma-3-270m-q4_k_m.gguf")),
            write(tmp_path, "partial.json", report(PARTIAL, label="deepseek | partial", backend="deepseek",
                                                   served_model=None, model="deepseek-chat", scoring="generate",
                                                   prompt="instruct"))]


# -- the numbers ---------------------------------------------------------------------------


def test_rows_follow_the_reports(three):
    runs = read_reports(three)
    assert [r.label for r in runs] == ["mistral-7b-instruct-v0.2.Q4_K_M.gguf (llama)", "gemma base",
                                       "deepseek | partial"]
    o = runs[0].overall
    assert (o.correct, o.total, o.unparsed, o.errors) == (35, 39, 1, 1)
    assert runs[2].subjects.keys() == {"astronomy"}


def test_pairs_match_an_independent_count(three):
    runs = read_reports(three)
    comparison = compare_runs(runs)
    assert comparison.subjects == ["astronomy", "virology"]
    for p in comparison.pairs:
        a = next(r for r in runs if r.label == p.a).questions
        b = next(r for r in runs if r.label == p.b).questions
        both = [n for n in a.keys() & b.keys() if "error" not in (a[n]["outcome"], b[n]["outcome"])]
        ok_a = {n for n in both if a[n]["outcome"] == "passed"}
        ok_b = {n for n in both if b[n]["outcome"] == "passed"}
        assert p.common == len(both)
        assert (p.a_correct, p.b_correct) == (len(ok_a), len(ok_b))
        assert (p.right_only_a, p.right_only_b) == (len(ok_a - ok_b), len(ok_b - ok_a))
        assert p.difference == pytest.approx((len(ok_b) - len(ok_a)) / len(both) * 100)
        assert p.p_value == mcnemar_exact_p(len(ok_a - ok_b), len(ok_b - ok_a))
    first = comparison.pairs[0]
    assert first.significant and first.difference < -50
    partial = comparison.pairs[1]  # instruct vs partial: only astronomy, 19 of its questions
    assert partial.common == 19 and partial.only_a == 21 and not partial.significant  # 20 virology + q0019


def test_same_node_id_with_another_answer_is_not_the_same_question():
    before = {r["nodeid"]: r for r in records({"astronomy": "PPPP"})}
    after = {n: dict(r) for n, r in before.items()}
    after["mmlu::astronomy::q0001"]["expected"] = "C"
    c = compare(before, after)
    assert c.common == 3 and c.mismatched == 1


@given(st.lists(st.sampled_from("PFUE"), min_size=1, max_size=40), st.data())
def test_pair_counts_add_up(first, data):
    second = data.draw(st.lists(st.sampled_from("PFUE"), min_size=len(first), max_size=len(first)))
    a = {r["nodeid"]: r for r in records({"astronomy": "".join(first)})}
    b = {r["nodeid"]: r for r in records({"astronomy": "".join(second)})}
    c = compare(a, b, category_of)
    assert c.common + c.errors_excluded == len(first)
    assert c.current_correct - c.baseline_correct == len(c.newly_right) - len(c.newly_wrong)
    for scope in ("overall", "astronomy", "stem") if c.common else ("overall",):
        p = c.scopes[scope]
        assert (p.common, p.baseline_correct, p.current_correct) == (c.common, c.baseline_correct, c.current_correct)
        assert (p.newly_wrong, p.newly_right) == (len(c.newly_wrong), len(c.newly_right))


# -- the regression gate ------------------------------------------------------------------


def scopes(before, after):
    a = {r["nodeid"]: r for r in records(before)}
    b = {r["nodeid"]: r for r in records(after)}
    return compare(a, b, category_of).scopes


def test_a_real_drop_fails_the_gate():
    # 12 right answers lost, none gained: -60 points, p = 2 / 2**12
    s = scopes({"astronomy": "P" * 20}, {"astronomy": "F" * 12 + "P" * 8})
    [v] = evaluate_drops([DropGate(5.0)], s)
    assert not v.holds and v.drop == pytest.approx(60.0) and v.p_value == pytest.approx(2 / 4096)
    assert "significant" in v.reason and "12 newly wrong" in v.reason


def test_noise_does_not_fail_the_gate():
    # 3 lost and 1 gained on 20: -10 points, more than allowed, but p = 0.625
    s = scopes({"astronomy": "PPPPPPPPPPFPPPPPPPPP"}, {"astronomy": "FFFPPPPPPPPPPPPPPPPP"})
    [v] = evaluate_drops([DropGate(5.0)], s)
    assert v.holds and v.drop == pytest.approx(10.0) and v.p_value > 0.05
    assert "not significant" in v.reason


def test_a_significant_drop_within_the_allowance_holds_and_zero_allows_none():
    s = scopes({"astronomy": "P" * 100}, {"astronomy": "F" * 8 + "P" * 92})  # -8 points, p = 2/256
    assert evaluate_drops([DropGate(10.0)], s)[0].holds
    assert not evaluate_drops([DropGate(0.0)], s)[0].holds
    assert evaluate_drops([DropGate(0.0)], scopes({"astronomy": "F" * 8}, {"astronomy": "P" * 8}))[0].holds


def test_drop_gates_per_scope():
    s = scopes({"astronomy": "P" * 12, "virology": "P" * 12}, {"astronomy": "F" * 12, "virology": "P" * 12})
    verdicts = evaluate_drops([parse_drop("astronomy=5"), parse_drop("virology=5"), parse_drop("stem=5"),
                               parse_drop("other=5"), parse_drop("humanities=5")], s)
    assert [v.holds for v in verdicts] == [False, True, False, True, False]
    assert verdicts[-1].reason == "no question answered in both runs"


@pytest.mark.parametrize("text, gate", [("2", DropGate(2.0)), ("stem=2", DropGate(2.0, "stem")),
                                        ("college_computer_science=0.5%", DropGate(0.5, "college_computer_science"))])
def test_drop_forms(text, gate):
    assert parse_drop(text) == gate


# -- labels and Markdown ----------------------------------------------------------------------


def test_labels_and_public_urls():
    assert default_label("/m/mistral-7b-instruct-v0.2.Q4_K_M.gguf", "llama") == \
        "mistral-7b-instruct-v0.2.Q4_K_M.gguf (llama)"
    assert default_label("mistralai/Mistral-7B-Instruct-v0.2", "openai") == \
        "mistralai/Mistral-7B-Instruct-v0.2 (openai)"
    assert public_url("https://user:sk-secret@example.com:8443/v1?key=sk-secret#x") == "https://example.com:8443/v1"


def test_duplicate_labels_are_told_apart(tmp_path):
    paths = [write(tmp_path, f"{n}.json", report(INSTRUCT, label="same")) for n in ("a", "b")]
    assert [r.label for r in read_reports(paths)] == ["same [a.json]", "same [b.json]"]


def test_run_markdown_has_gates_and_newly_wrong():
    from pytest_mmlu.report.gates import Gate, evaluate
    recs = records(INSTRUCT)
    summary = summarize(recs, [r["nodeid"] for r in recs], category_of)
    before = {r["nodeid"]: r for r in records({"astronomy": "P" * 20, "virology": "P" * 20})}
    c = compare(before, {r["nodeid"]: r for r in recs}, category_of)
    verdicts = evaluate([Gate(0.95)], summary) + evaluate_drops([DropGate(1.0)], c.scopes)
    text = render_markdown(summary, verdicts, c, "my run", {"backend": "llama", "dataset": "cais/mmlu (hub)"})
    assert text.startswith("## MMLU: my run\n")
    assert "| astronomy | 90.00% (18/20) |" in text and "| stem | 90.00% (18/20) |" in text
    assert "❌ FAIL" in text and "✅ PASS" in text  # 35/39 < 95%; 4 lost of 39: not significant
    assert "- `mmlu::astronomy::q0008`" in text and "4 newly wrong questions" in text


# -- formats: golden files ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt, suffix", [("text", "txt"), ("markdown", "md"), ("csv", "csv")])
def test_golden(three, fmt, suffix):
    out = render(compare_runs(read_reports(three)), fmt)
    golden = GOLDEN / f"compare.{suffix}"
    if os.environ.get("MMLU_UPDATE_GOLDEN"):
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


def test_markdown_has_the_published_layout(three):
    out = render(compare_runs(read_reports(three)), "markdown")
    assert "| Model | Format | Subject | Accuracy |" in out
    assert "| gemma base | llama-cpp, logprobs, 0-shot | astronomy | 20.00% (4/20) |" in out
    assert "deepseek \\| partial" in out  # a pipe in a label does not break the table


def test_csv_and_json_agree_with_the_reports(three):
    comparison = compare_runs(read_reports(three))
    rows = list(csv.DictReader(io.StringIO(render(comparison, "csv"))))
    assert {(r["run"], r["scope"]) for r in rows} >= {("gemma base", "overall"), ("gemma base", "virology")}
    for row in rows:
        rep = json.loads(Path(row["report"]).read_text())
        tally = rep["overall"] if row["scope"] == "overall" else rep["subjects"][row["scope"]]
        assert (int(row["correct"]), int(row["total"])) == (tally["correct"], tally["total"])
        assert float(row["accuracy"]) == pytest.approx(tally["accuracy"], abs=1e-6)
    data = json.loads(render(comparison, "json"))
    assert [p["significant"] for p in data["pairs"]] == [p.significant for p in comparison.pairs]
    assert data["runs"][1]["overall"]["correct"] == 7


# -- the command ----------------------------------------------------------------------------


def test_command_prints_the_table(three, capsys):
    assert main(["compare", *three]) == 0
    out = capsys.readouterr().out
    assert out.startswith("runs\n") and "* significant at 5%" in out


def test_python_dash_m(three):
    result = subprocess.run([sys.executable, "-m", "pytest_mmlu", "compare", "--format=json", *three],
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["runs"]) == 3


@pytest.mark.parametrize("content, message", [
    (None, "missing.json: no such file"),
    ("{oops", "missing.json: not JSON"),
    ('{"results": {"mmlu": 0.5}}', "missing.json: not a pytest-mmlu report (no 'questions' list)"),
    ('{"questions": [], "overall": {"accuracy": 0.5}}', "missing.json: not a pytest-mmlu report ('overall' has"),
])
def test_unreadable_or_foreign_files_get_one_line(three, capsys, content, message):
    if content is not None:
        Path("missing.json").write_text(content)
    assert main(["compare", three[0], "missing.json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("pytest-mmlu compare: " + message)
    with pytest.raises(ReportError, match="missing.json"):
        read_report("missing.json")


def test_output_file(three, tmp_path):
    assert main(["compare", "--format=markdown", "-o", "table.md", *three]) == 0
    assert (tmp_path / "table.md").read_text().startswith("## MMLU runs compared")


# -- the chart --------------------------------------------------------------------------------


def test_png_chart_is_an_image_with_bars(three, tmp_path):
    pytest.importorskip("matplotlib")
    Image = pytest.importorskip("PIL.Image")
    assert main(["compare", "--chart", "chart.png", three[0], three[1]]) == 0
    with Image.open(tmp_path / "chart.png") as image:
        assert image.format == "PNG" and image.size[0] >= 400 and 300 <= image.size[1] <= 700
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    white = sum(n for n, c in colours if c == (255, 255, 255))
    assert white < 0.95 * image.size[0] * image.size[1]  # not blank
    assert any(n > 2000 for n, c in colours if c not in ((255, 255, 255), (0, 0, 0)))  # large filled bars


def test_chart_files_are_deterministic(three, tmp_path):
    pytest.importorskip("matplotlib")
    for name in ("a.svg", "b.svg", "a.png", "b.png"):
        assert main(["compare", "--chart", name, *three]) == 0
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    svg = (tmp_path / "a.svg").read_text()
    assert "<dc:date>" not in svg


def test_single_subject_single_bar_per_run(three):
    from pytest_mmlu.report.chart import bars
    names, labels, groups = bars(compare_runs(read_reports([three[2]])))
    assert names == ["astronomy"] and groups == [[(17, 19)]]
    names, labels, groups = bars(compare_runs(read_reports(three)))
    assert names == ["astronomy", "virology"] and groups[1][2] is None


def test_chart_without_matplotlib_names_the_extra(three, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["compare", "--chart", "chart.png", *three]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "pip install 'pytest-mmlu[plot]'" in captured.err


def test_chart_needs_png_or_svg(three, capsys):
    assert main(["compare", "--chart", "chart.jpg", *three]) == 1
    assert ".png or .svg" in capsys.readouterr().err


def test_the_markdown_links_the_page(tmp_path, capsys):
    report = tmp_path / "a.json"
    report.write_text((Path(__file__).parent / "golden" / "reports" / "written-by-0.1.0.json").read_text())
    assert main(["compare", str(report), "--format", "markdown", "--page", "pages/mmlu (v2).html"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip("\n").splitlines()[-1] == "Every question, run by run: [the results page](<pages/mmlu (v2).html>)"
    assert main(["compare", str(report), "--format", "markdown"]) == 0
    assert "results page" not in capsys.readouterr().out


# -- the reliability diagram --------------------------------------------------------------------------------


def spread(pattern: dict[str, str], seed: int) -> dict:
    """A logprobs run whose confidence spreads over the bins: the letter read gets 0.3 to 0.99."""
    rep = report(pattern, label=f"spread {seed}")
    for i, r in enumerate(rep["questions"]):
        if r.get("logprobs"):
            top = 0.3 + ((i * 7 + seed) % 10) * 0.069
            r["logprobs"] = {x: math.log(top if x == r["predicted"] else (1 - top) / 3) for x in "ABCD"}
    recs = rep["questions"]
    return to_report(summarize(recs, [r["nodeid"] for r in recs], category_of), [], recs, rep["config"])


def points_of(svg: str, k: int) -> int:
    """The points of run K in the diagram's SVG: the paths of its group (one marker each)."""
    start = svg.index(f'id="reliability-{k}"')
    return svg[start:svg.index("</g>", start)].count("<path")


def test_reliability_svg_has_one_point_per_bin_and_names_the_runs_left_out(three, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    runs = [write(tmp_path, "s1.json", spread(INSTRUCT, 1)), write(tmp_path, "s2.json", spread(BASE, 4)), three[2]]
    assert main(["compare", "--reliability", "rel.svg", *runs]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("runs\n")  # the table, as without the diagram
    assert captured.err == ("pytest-mmlu compare: --reliability: left out, no log-probabilities: deepseek | partial "
                            "(partial.json)\nreliability diagram written to rel.svg\n")
    svg = (tmp_path / "rel.svg").read_text()
    for k, path in enumerate(runs[:2]):
        bins = figures.calibration(json.loads((tmp_path / path).read_text())["questions"])["bins"]
        assert len(bins) >= 5 and points_of(svg, k) == len(bins)
    assert 'id="reliability-2"' not in svg and "<dc:date>" not in svg
    assert main(["compare", "--reliability", "again.svg", *runs]) == 0
    assert (tmp_path / "again.svg").read_bytes() == (tmp_path / "rel.svg").read_bytes()


def test_reliability_png_beside_the_bar_chart(three, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    Image = pytest.importorskip("PIL.Image")
    assert main(["compare", "--chart", "bars.png", "--reliability", "rel.png", three[0], three[1]]) == 0
    assert capsys.readouterr().err == "chart written to bars.png\nreliability diagram written to rel.png\n"
    with Image.open(tmp_path / "rel.png") as image:
        assert image.format == "PNG" and 400 <= image.size[0] <= 700 and 400 <= image.size[1] <= 700
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert sum(n for n, c in colours if c == (255, 255, 255)) < 0.95 * image.size[0] * image.size[1]
    blue, orange = (31, 119, 180), (255, 127, 14)  # matplotlib's C0 and C1: the two runs' points
    assert {blue, orange} <= {c for n, c in colours if n >= 20}


def test_reliability_without_log_probabilities_fails_in_one_line(three, tmp_path, capsys):
    assert main(["compare", "--reliability", "rel.svg", three[2]]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == (
        "pytest-mmlu compare: --reliability: no run read log-probabilities (--mmlu-scoring logprobs): "
        "deepseek | partial (partial.json)\n")
    assert not (tmp_path / "rel.svg").exists()


def test_reliability_needs_png_or_svg_and_matplotlib(three, capsys, monkeypatch):
    assert main(["compare", "--reliability", "rel.jpg", *three]) == 1
    assert capsys.readouterr().err == ("pytest-mmlu compare: --reliability rel.jpg: the file name must end in .png "
                                       "or .svg\n")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["compare", "--reliability", "rel.png", *three]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ("pytest-mmlu compare: --reliability needs matplotlib: "
                                                   "pip install 'pytest-mmlu[plot]'\n")
