"""MMLU questions as pytest items, without test files: mmlu::<subject>::q0042."""

from __future__ import annotations

import pytest

from ..backends.letters import letter_of
from ..core.errors import BackendError, NotCached, RunStop, one_line
from ..core.question import Question
from ..report.schema import Record, answer_record, error_record
from ..scoring.verdict import Verdict, describe_failure
from .faults import short_repr


class WrongAnswer(Exception):
    pass


class MMLUCollector(pytest.Collector):
    """The root of all MMLU items, attached to the session."""

    def __init__(self, *, evaluation, **kwargs):
        super().__init__(**kwargs)
        self.evaluation = evaluation

    def collect(self):
        by_subject: dict[str, list[Question]] = {}
        for question in self.evaluation.questions():
            by_subject.setdefault(question.subject, []).append(question)
        language = self.evaluation.source.language
        if language:  # mmlu::ES_LA::astronomy::q0042: runs in several languages never collide
            yield LanguageCollector.from_parent(self, name=language, by_subject=by_subject)
            return
        for subject, questions in by_subject.items():
            yield SubjectCollector.from_parent(self, name=subject, questions=questions)

    def reportinfo(self):
        return self.path, None, self.name


class LanguageCollector(pytest.Collector):
    def __init__(self, *, by_subject, **kwargs):
        super().__init__(**kwargs)
        self.by_subject = by_subject

    def collect(self):
        for subject, questions in self.by_subject.items():
            yield SubjectCollector.from_parent(self, name=subject, questions=questions)

    def reportinfo(self):
        return self.path, None, self.name


class SubjectCollector(pytest.Collector):
    def __init__(self, *, questions, **kwargs):
        super().__init__(**kwargs)
        self.questions = questions

    def collect(self):
        for question in self.questions:
            yield QuestionItem.from_parent(self, name=question.name, question=question)

    def reportinfo(self):
        return self.path, None, self.nodeid


class QuestionItem(pytest.Item):
    def __init__(self, *, question: Question, **kwargs):
        super().__init__(**kwargs)
        self.question = question
        self.evaluation = self.getparent(MMLUCollector).evaluation
        self.reply = None
        self.verdict: Verdict | None = None
        self.record: Record | None = None
        self.cached = False
        self.position = 0  # place in this process's run order, set before the run

    def _keep(self, record: Record) -> None:
        self.record = record  # rides on the reports (see hooks.pytest_runtest_makereport)
        # plain properties for --junitxml readers
        self.user_properties[:] = [("expected", record["expected"]), ("predicted", record["predicted"] or ""),
                                   ("outcome", "unparsed" if record["unparsed"] else record["outcome"])]
        if record.get("targets"):  # several right letters (MixEval): any passes
            self.user_properties.append(("targets", ",".join(record["targets"])))

    def setup(self):
        # the answer is fetched here, so a backend fault is an error, never a wrong answer
        try:
            self.reply, self.cached = self.evaluation.reply(self.position, self.question)
        except NotCached as exc:
            pytest.skip(str(exc))  # not run: no record, so the summary counts it as such
        except (BackendError, InterruptedError) as exc:
            fault = exc.to_json() if isinstance(exc, RunStop) else None
            self._keep(error_record(self.nodeid, self.question, one_line(exc), fault,
                                    self.evaluation.asked_prompt(self.question)))
            if isinstance(exc, RunStop):  # nothing more can be answered: stop after this item
                self.session.shouldstop = "mmlu: " + {"key": "key rejected", "budget": "budget spent"}.get(
                    exc.kind, "backend went away")
            raise
        except Exception as exc:  # a bug of ours, not the backend's: still an error of this question, not "not run"
            self._keep(error_record(self.nodeid, self.question, f"internal error: {one_line(exc)}"))
            raise

    def runtest(self):
        self.verdict = self.evaluation.plan.verdict(self.reply, self.question.letters)
        reading = self.evaluation.judge_reading(self.position, self.question, self.reply)
        if reading is not None:  # the rules could not read the reply: the judge's word decides
            self.verdict = reading.applied(self.verdict)
        first_is_letter = letter_of(self.reply.first_token, self.question.letters) is not None
        self._keep(answer_record(self.nodeid, self.question, self.verdict, self.reply, self.cached, reading,
                                 first_is_letter, self.evaluation.asked_prompt(self.question),
                                 self.evaluation.model_price, self.evaluation.judge_price))
        if self.record["outcome"] != "passed":
            raise WrongAnswer(describe_failure(self.question, self.verdict, self.reply))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, WrongAnswer):
            return str(excinfo.value)
        if isinstance(excinfo.value, (BackendError, InterruptedError)):
            return self.fault_repr(excinfo)
        return super().repr_failure(excinfo, style)

    def fault_repr(self, excinfo):
        """A backend fault in one line; --tb=long (or --full-trace) shows pytest's traceback too."""
        if self.config.option.tbstyle == "long" or self.config.option.fulltrace:
            return self._repr_failure_py(excinfo, style="long")
        return short_repr(one_line(excinfo.value), self.nodeid)

    def reportinfo(self):
        return self.path, None, self.nodeid
