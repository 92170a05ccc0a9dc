"""Data through the real `datasets` code path, in every layout users have on disk."""

import json
import subprocess
import sys

import pytest

from pytest_mmlu.core.subjects import SUBJECTS, UnknownSubject, resolve_selection
from pytest_mmlu.data import DatasetError, DataSource, open_source, sample

from datafolders import make_questions, write_csv_layout, write_file, write_hub_layout

SUBJECTS_HERE = ["astronomy", "college_physics", "philosophy", "sociology", "virology", "world_religions"]
ROWS = {"test": [r for i, s in enumerate(SUBJECTS_HERE) for r in make_questions(s, 4 + i, seed=5)],
        "dev": [r for s in SUBJECTS_HERE for r in make_questions(s, 5, seed=6)]}


def as_tuples(by_subject):
    return {s: [(q.index, q.question, q.choices, q.answer) for q in qs] for s, qs in by_subject.items()}


@pytest.fixture(scope="module")
def expected():
    out = {}
    for r in ROWS["test"]:
        group = out.setdefault(r["subject"], [])
        group.append((len(group), r["question"], tuple(r["choices"]), r["answer"]))
    return out


@pytest.mark.parametrize("layout", ["hub", "hub-no-all", "hub-no-readme", "csv", "jsonl", "csv-file", "parquet",
                                    "hub-id-path"])
def test_every_layout_gives_the_same_questions(tmp_path, expected, layout):
    if layout.startswith("hub") or layout == "hub-id-path":
        root = write_hub_layout(tmp_path / "d", ROWS, with_all=layout != "hub-no-all",
                                readme=layout != "hub-no-readme")
        # a hub id goes through load_dataset(id, config, split): a local repo folder takes the same path
        source = DataSource(str(root)) if layout == "hub-id-path" else open_source(str(root))
    elif layout == "csv":
        source = open_source(str(write_csv_layout(tmp_path / "d", ROWS)))
    else:
        suffix = {"jsonl": ".jsonl", "csv-file": ".csv", "parquet": ".parquet"}[layout]
        source = open_source(str(write_file(tmp_path / f"mmlu{suffix}", ROWS["test"])))
    assert as_tuples(source.load("test", SUBJECTS_HERE)) == expected
    few = source.load("test", ["virology"])  # per-subject loading gives the same indexes as `all`
    assert as_tuples(few) == {"virology": expected["virology"]}


def test_subjects_are_discovered(tmp_path):
    assert open_source(str(write_hub_layout(tmp_path / "h", ROWS))).subjects("test") == SUBJECTS_HERE
    assert open_source(str(write_csv_layout(tmp_path / "c", ROWS))).subjects("test") == SUBJECTS_HERE
    assert open_source("cais/mmlu").subjects("test") == sorted(SUBJECTS)


def test_shots_are_the_first_of_the_dev_split(tmp_path):
    source = open_source(str(write_csv_layout(tmp_path / "c", ROWS)))
    shots = source.shots("astronomy", 3)
    assert [q.question for q in shots] == [r["question"] for r in make_questions("astronomy", 3, seed=6)]
    no_dev = open_source(str(write_hub_layout(tmp_path / "h", {"test": ROWS["test"]})))
    with pytest.raises(DatasetError, match="--mmlu-shots needs a 'dev' split; none found for astronomy"):
        no_dev.shots("astronomy", 1)


@pytest.mark.parametrize("change, problem", [
    ({"choices": ["1"]}, "row 3: 1 choice, not 2 to 10"),
    ({"choices": [str(i) for i in range(11)]}, "row 3: 11 choices, not 2 to 10"),
    ({"choices": ["1", "2", "3"], "answer": 3}, r"row 3: answer 3 is not one of its 3 choices \(0-2 or A-C\)"),
    ({"answer": 4}, r"row 3: answer 4 is not one of its 4 choices \(0-3 or A-D\)"),
    ({"answer": "E"}, "row 3: answer 'E' is not one of its 4 choices"),
    ({"question": " "}, "row 3: empty question"),
])
def test_malformed_rows_are_named_by_file_and_row(tmp_path, change, problem):
    rows = make_questions("astronomy", 5)
    rows[2] = {**rows[2], **change}
    path = write_file(tmp_path / "bad.jsonl", rows)
    with pytest.raises(DatasetError, match=f"{path}.*{problem}"):
        open_source(str(path)).load("test", ["astronomy"])


def test_malformed_csv_rows(tmp_path):
    root = write_csv_layout(tmp_path / "c", {"test": make_questions("astronomy", 3)})
    with open(root / "data" / "test" / "astronomy_test.csv", "a") as f:
        f.write("a question,1,2,3,4,Z\n")
    with pytest.raises(DatasetError, match="astronomy_test.csv.*row 4"):
        open_source(str(root)).load("test", ["astronomy"])


def test_paths_that_are_not_data(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        open_source(str(tmp_path / "nowhere"))
    with pytest.raises(DatasetError, match="does not exist"):
        open_source("./mmlu.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no MMLU data"):
        open_source(str(tmp_path / "empty"))


def test_sample_is_seeded_and_the_same_in_another_process(tmp_path):
    questions = open_source(str(write_file(tmp_path / "m.jsonl", make_questions("astronomy", 50)))) \
        .load("test", ["astronomy"])["astronomy"]
    picked = [q.index for q in sample(questions, 7)]
    assert picked == sorted(picked) and len(set(picked)) == 7 and picked != list(range(7))
    code = ("import json, sys; sys.path.insert(0, 'tests'); from pytest_mmlu.data import open_source, sample; "
            f"qs = open_source({str(tmp_path / 'm.jsonl')!r}).load('test', ['astronomy'])['astronomy']; "
            "print(json.dumps([q.index for q in sample(qs, 7)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == picked
    assert sample(questions, None) == questions and sample(questions, 500) == questions


def test_selection_of_subjects():
    available = sorted(SUBJECTS)
    assert resolve_selection(["astronomy,virology"], available) == ["astronomy", "virology"]
    assert len(resolve_selection(["all"], available)) == 57
    assert "anatomy" in resolve_selection(["other"], available)  # the benchmark's own grouping
    assert "anatomy" not in resolve_selection(["stem"], available)
    assert len(resolve_selection(["stem", "humanities", "social_sciences", "other"], available)) == 57
    with pytest.raises(UnknownSubject, match=r"unknown MMLU subject 'colege_physics'; did you mean: college_physics"):
        resolve_selection(["colege_physics"], available)
