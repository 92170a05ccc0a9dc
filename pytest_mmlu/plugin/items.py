"""MMLU questions as pytest items, without test files: mmlu::<subject>::q0042."""

from __future__ import annotations

import pytest

from ..backends.letters import letter_of
from ..core.errors import BackendError, NotCached, RunStop, one_line
from ..core.question import Question
from ..core.reply import Reply
from ..report.schema import Record, answer_record, error_record, permuted_record
from ..scoring.verdict import describe_failure
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
        self.replies: list[tuple[Question, Reply, bool]] = []  # each order asked: the question, reply, cached
        self.record: Record | None = None
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
            self.replies = self.evaluation.replies(self.position, self.question)
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
            what = " ".join(str(exc).split())
            self._keep(error_record(self.nodeid, self.question, f"internal error: {type(exc).__name__}"
                                    + (f": {what}" if what else ""), internal=True))
            raise

    def runtest(self):
        ev = self.evaluation
        records, failures = [], []
        for variant, reply, cached in self.replies:
            verdict = ev.plan.verdict(reply, variant.letters)
            reading = ev.judge_reading(self.position, variant, reply)
            if reading is not None:  # the rules could not read the reply: the judge's word decides
                verdict = reading.applied(verdict)
            first_is_letter = letter_of(reply.first_token, variant.letters) is not None
            records.append(answer_record(self.nodeid, variant, verdict, reply, cached, reading, first_is_letter,
                                         ev.asked_prompt(variant), ev.model_price, ev.judge_price))
            if records[-1]["outcome"] != "passed":
                failures.append(describe_failure(variant, verdict, reply))
        if len(records) == 1:
            self._keep(records[0])
        else:
            self._keep(permuted_record([variant for variant, _, _ in self.replies], records))
        if self.record["outcome"] != "passed":
            raise WrongAnswer(failures[0] if len(records) == 1 else self._orders_failure(records, failures))

    def _orders_failure(self, records: list[Record], failures: list[str]) -> str:
        """--mmlu-permute: how many orders were right, and the first order that was not, in full."""
        r = self.record
        wrong = next(i for i, x in enumerate(records) if x["outcome"] != "passed")
        order = " ".join(self.question.letters[j] for j in r["orders"][wrong]["order"])
        return (f"{self.question.subject} {self.question.name}: right in {r['orders_right']} of {len(records)} "
                f"orders of its choices ({'the same choice in every order' if r['consistent'] else 'inconsistent'}"
                f"); the first order not right (its letters {' '.join(self.question.letters)} show the data's "
                f"{order}):\n" + failures[0])

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
