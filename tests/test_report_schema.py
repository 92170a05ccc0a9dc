"""The JSON report's format: one writer, one reader, a schema version; reports of earlier versions still read."""

import json
from pathlib import Path

import pytest

from pytest_mmlu.cli import main
from pytest_mmlu.core.errors import BaselineError, ReportError, RunStop
from pytest_mmlu.core.question import Question
from pytest_mmlu.core.reply import Reply
from pytest_mmlu.core.subjects import category_of
from pytest_mmlu.report.baseline import load_baseline
from pytest_mmlu.report.compare import read_report as read_run
from pytest_mmlu.report.schema import (
    SCHEMA_VERSION,
    Record,
    Report,
    answer_record,
    error_record,
    read_report,
    to_report,
    write_report,
)
from pytest_mmlu.report.summary import summarize
from pytest_mmlu.scoring.judge import Reading
from pytest_mmlu.scoring.verdict import Verdict

Q = Question("astronomy", 3, "What is 2 + 2?", ("3", "4", "5", "6"), 1, {"language": "ES_LA"})


def records() -> list[Record]:
    return [answer_record("mmlu::astronomy::q0003", Q, Verdict("B", False, "answer-line"), Reply(text="Answer: B"),
                          cached=True),
            error_record("mmlu::astronomy::q0004", Q, "the llama backend went away; run again",
                         RunStop("gone", "llama", "http://x", "refused").to_json())]


def report() -> Report:
    recs = records()
    return to_report(summarize(recs, [r["nodeid"] for r in recs], category_of), [], recs, {"label": "a run"})


def test_records_keep_their_fields_in_order():
    ok, error = records()
    assert list(ok) == ["nodeid", "subject", "index", "expected", "predicted", "outcome", "unparsed", "reply", "error",
                        "language", "cached", "how", "question", "choices"]
    assert (ok["question"], ok["choices"]) == ("What is 2 + 2?", ["3", "4", "5", "6"])
    assert (ok["outcome"], ok["predicted"], ok["cached"], ok["language"]) == ("passed", "B", True, "ES_LA")
    assert error["outcome"] == "error" and error["fault"] == {"kind": "gone", "backend": "llama", "where": "http://x",
                                                              "reason": "refused"}
    judged = answer_record("n", Q, Verdict("C", False, "judge"), Reply(text="hmm", first_token="Hm"), False,
                           Reading("letter", "C", reply="C"), first_is_letter=False)
    assert list(judged)[-7:-2] == ["judge", "judge_reply", "judge_cached", "first_token", "first_is_letter"]
    assert (judged["outcome"], judged["judge"], judged["first_is_letter"]) == ("failed", "C", False)


def test_a_record_keeps_the_whole_reply_and_its_prompt_without_the_shots():
    from pytest_mmlu.prompts import build

    shots = [Question("astronomy", i, f"Shot {i}?", ("a", "b", "c", "d"), i % 4) for i in range(3)]
    long_reply = "Let me think. " * 200 + "Answer: B"
    for fmt in ("harness", "instruct", "letter", "mmlu-pro"):
        prompt = build(fmt, Q, shots)
        record = answer_record("n", Q, Verdict("B", False, "answer-line"), Reply(text=long_reply), False,
                               prompt=prompt)
        assert record["reply"] == long_reply  # whole, not its start
        shots_text = prompt.text[prompt.shots[0]:prompt.shots[1]]
        assert "Shot 0?" in shots_text and "Shot 2?" in shots_text and "2 + 2" not in shots_text
        assert "Shot" not in record["prompt"] and "What is 2 + 2?" in record["prompt"]
        at = record["shots_at"]
        assert record["prompt"][:at] + shots_text + record["prompt"][at:] == prompt.text, fmt
    zero = answer_record("n", Q, Verdict("B", False, "answer-line"), Reply(text="B"), False,
                         prompt=build("harness", Q))
    assert "shots_at" not in zero and zero["prompt"] == build("harness", Q).text


def test_the_writer_and_the_reader_agree(tmp_path):
    path = tmp_path / "out" / "report.json"
    write_report(path, report())
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION and data["not_run"] == []
    read = read_report(path)
    assert read.schema_version == SCHEMA_VERSION and read.config == {"label": "a run"}
    assert set(read.questions) == {"mmlu::astronomy::q0003", "mmlu::astronomy::q0004"}
    assert (read.overall().correct, read.overall().total, read.overall().errors) == (1, 1, 1)


def test_a_report_without_schema_version_still_reads(tmp_path, capsys):
    old = report()
    del old["schema_version"]  # as 0.1.0 wrote it
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    assert read_report(path).schema_version == 0
    assert set(load_baseline(path)) == {"mmlu::astronomy::q0003", "mmlu::astronomy::q0004"}
    assert read_run(path).label == "a run"
    assert main(["compare", str(path), str(path)]) == 0
    assert "a run" in capsys.readouterr().out


@pytest.mark.parametrize("version, problem", [(SCHEMA_VERSION + 1, "newer"), ("1", "not_report"),
                                              (-1, "not_report")])
def test_an_unknown_schema_version_is_refused_in_one_line(tmp_path, version, problem):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({**report(), "schema_version": version}))
    with pytest.raises(ReportError) as caught:
        read_report(path)
    assert caught.value.problem == problem and str(path) in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(BaselineError, match=f"baseline {path}"):
        load_baseline(path)


GOLDEN = Path(__file__).parent / "golden" / "reports"


@pytest.mark.parametrize("name, version, label, correct, unparsed", [
    ("written-by-0.1.0.json", "0.1.0", "v0.1.0 model-a", 3, 4),
    ("written-by-0.2.0.dev0.json", "0.2.0.dev0", "main-fc239ab model-b", 2, 1)])
def test_reports_written_by_earlier_versions_still_read(name, version, label, correct, unparsed):
    """Reports as 0.1.0 and the main branch before the layered core wrote them (a real run of each tree on
    the same 12 questions, only the stand-in's port and the data folder's path rewritten)."""
    path = GOLDEN / name
    report = read_report(path)
    assert report.schema_version == 0 and report.config["pytest_mmlu"] == version
    o = report.overall()
    assert (o.correct, o.total, o.unparsed, o.errors) == (correct, 12, unparsed, 0)
    baseline = load_baseline(path)
    assert len(baseline) == 12 and sum(r["outcome"] == "passed" for r in baseline.values()) == correct
    assert read_run(path).label == label


def test_compare_reads_earlier_reports_beside_todays(tmp_path, capsys):
    today = tmp_path / "today.json"
    write_report(today, report())
    assert main(["compare", str(GOLDEN / "written-by-0.1.0.json"), str(GOLDEN / "written-by-0.2.0.dev0.json"),
                 str(today)]) == 0
    out = capsys.readouterr().out
    runs = out.split("\n\n")[0].splitlines()  # the first table: one line per run
    assert runs[0] == "runs" and len(runs) == 5
    assert runs[2].startswith("v0.1.0 model-a ") and "25.00% (3/12)" in runs[2]
    assert runs[3].startswith("main-fc239ab model-b ") and "16.67% (2/12)" in runs[3]
    assert runs[4].startswith("a run ")
