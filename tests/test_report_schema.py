"""The JSON report's format: one writer, one reader, a schema version; reports of earlier versions still read."""

import json

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
                        "language", "cached", "how"]
    assert (ok["outcome"], ok["predicted"], ok["cached"], ok["language"]) == ("passed", "B", True, "ES_LA")
    assert error["outcome"] == "error" and error["fault"] == {"kind": "gone", "backend": "llama", "where": "http://x",
                                                              "reason": "refused"}
    judged = answer_record("n", Q, Verdict("C", False, "judge"), Reply(text="hmm", first_token="Hm"), False,
                           Reading("letter", "C", reply="C"), first_is_letter=False)
    assert list(judged)[-5:] == ["judge", "judge_reply", "judge_cached", "first_token", "first_is_letter"]
    assert (judged["outcome"], judged["judge"], judged["first_is_letter"]) == ("failed", "C", False)


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
