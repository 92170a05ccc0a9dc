"""haonan-li/cmmlu: 67 subjects in Chinese, one CSV per subject and split (dev/<subject>.csv, test/<subject>.csv,
with an unnamed index column), the answer a letter."""

from __future__ import annotations

from ..core.subjects import CMMLU_SUBJECTS
from .family import Adapter
from .rows import Row, empty_options

CHOICES = ("A", "B", "C", "D")
ARCHIVE = "cmmlu_v1_0_1.zip"


def rows(columns: dict, language=None):
    n = len(columns.get("Question", []))
    subjects = columns.get("subject") or [None] * n  # the file names the subject
    for i in range(n):
        choices = [columns[letter][i] for letter in CHOICES]
        answer = columns["Answer"][i]
        yield Row(subjects[i], columns["Question"][i], choices, answer.strip() if isinstance(answer, str) else answer,
                  skip=empty_options(choices))


CMMLU = Adapter(
    name="CMMLU", hub_ids=("haonan-li/cmmlu",),
    columns=frozenset({"Question", "A", "B", "C", "D", "Answer"}),
    # the archive unpacked (dev/, test/) or the GitHub repository's data/dev/, data/test/
    rows=rows, configs="subject", files="**/{split}/{config}.csv", shots_split="dev",
    subjects=tuple(sorted(CMMLU_SUBJECTS)), reading="multilingual", categories=CMMLU_SUBJECTS,
    hub_note=(f"the hub repository holds a loading script and {ARCHIVE}, which `datasets` no longer runs; "
              f"download {ARCHIVE}, unzip it and pass the folder to --mmlu-dataset"),
)
