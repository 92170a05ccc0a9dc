"""What a report keeps of each question, checked against what went over the wire: the question and its
choices, the prompt as sent (the subject's shots kept once, in `shots`), the whole reply."""

import pytest

from fakeservers import OpenAIFake
from runs import run_pytest

SUBJECTS = ("astronomy", "virology")
LONG = "Let me weigh each option in turn. " * 40  # 1,360 characters before the answer line


@pytest.fixture(scope="module")
def data(hub_data):
    return hub_data(subjects=SUBJECTS, per_subject=3, seed=51, dev_per_subject=5, dev_seed=52)


def reply_to(prompt: str) -> str:
    return f"{LONG}\nAnswer: {'ABCD'[len(prompt) % 4]}"


@pytest.mark.parametrize("shots, workers", [(0, ()), (2, ()), (2, ("-n", "2"))])
def test_the_report_keeps_the_prompt_as_sent_and_the_whole_reply(pytester, data, shots, workers):
    report = pytester.path / "report.json"
    with OpenAIFake("openai", answer=reply_to) as fake:
        result = run_pytest(pytester, "--mmlu-backend=openai", f"--mmlu-base-url={fake.url}",
                            f"--mmlu-dataset={data}", f"--mmlu-shots={shots}", "--mmlu-no-cache",
                            f"--mmlu-report={report}", "-p", "no:randomly", *workers, report=report)
        sent = [r.body["messages"][-1]["content"] for r in fake.requests if r.method == "POST"]
    assert result.report is not None, result.outlines[-20:]
    questions = result.report["questions"]
    assert len(questions) == len(sent) == 6
    assert ("shots" in result.report) == bool(shots)
    for q in questions:
        prompt = q["prompt"]
        if shots:
            at, block = q["shots_at"], result.report["shots"][q["subject"]]
            assert block.count("\nAnswer: ") == shots
            prompt = prompt[:at] + block + prompt[at:]
        else:
            assert "shots_at" not in q
        assert prompt in sent  # the prompt as the server received it
        assert q["question"] in prompt and all(choice in prompt for choice in q["choices"])
        assert len(q["choices"]) == 4
        assert q["reply"] == reply_to(prompt)  # whole: 1,370 characters, not their start


def test_the_page_is_written_at_the_end_and_named_last(pytester, data):
    page, report = pytester.path / "out" / "page.html", pytester.path / "report.json"
    with OpenAIFake("openai", answer=reply_to) as fake:
        result = run_pytest(pytester, "--mmlu-backend=openai", f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={data}",
                            "--mmlu-no-cache", f"--mmlu-report={report}", f"--mmlu-html={page}", "-p", "no:randomly",
                            report=report)
    html = page.read_text(encoding="utf-8")
    assert html.lower().startswith("<!doctype html>") and "Content-Security-Policy" in html
    assert all(q["nodeid"] in html for q in result.report["questions"])
    lines = result.outlines
    named = next(i for i, line in enumerate(lines) if line.startswith("page written to "))
    assert lines[named] == f"page written to {page}: every question, to browse in a browser"
    assert lines[named - 1] == f"report written to {report}"  # the page comes last in the summary


def test_an_unwritable_page_stops_the_run_before_any_question(pytester, data):
    blocker = pytester.path / "file"
    blocker.write_text("not a folder")
    with OpenAIFake("openai", answer=reply_to) as fake:
        result = run_pytest(pytester, "--mmlu-backend=openai", f"--mmlu-base-url={fake.url}", f"--mmlu-dataset={data}",
                            "--mmlu-no-cache", f"--mmlu-html={blocker / 'page.html'}")
        asked = [r for r in fake.requests if r.method == "POST"]
    assert result.ret == 4 and not asked
    assert any("--mmlu-html" in line for line in result.errlines + result.outlines)
