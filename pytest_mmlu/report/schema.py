"""The JSON report (`--mmlu-report`): its fields, typed; the one function that builds it, the one that writes it,
and the one that reads it back (the baseline, `pytest-mmlu compare` and whatever comes next read through it).

`SCHEMA_VERSION` counts incompatible changes of the format. Reports written before the field existed (0.1.0)
have no `schema_version` and read as version 0: they have the same fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, TypedDict

from ..core.errors import ReportError
from ..core.permute import consistent
from ..core.prompt import Prompt
from ..core.question import Question
from ..core.reply import Reply
from ..core.subjects import category_of
from ..scoring.judge import Reading
from ..scoring.verdict import Verdict
from .bias import position_bias
from .calibration import calibration_of
from .stats import wilson_interval

SCHEMA_VERSION = 1
RECORDED_META = ("language", "error_type", "cultural_sensitivity", "original_answer")  # a dataset's facts


# -- one question ---------------------------------------------------------------------------------------------


class Fault(TypedDict):
    """The fault that ended the run (core.errors.RunStop), on the record of the question that met it."""

    kind: str  # "key" or "gone"
    backend: str
    where: str
    reason: str


class _RecordAlways(TypedDict):
    nodeid: str  # mmlu::<subject>::q0042 (mmlu::<language>::<subject>::q0042 for a multilingual run)
    subject: str
    index: int
    expected: str  # the correct letter
    predicted: str | None  # the letter read from the reply; None when none could be read, or on an error
    outcome: str  # "passed", "failed" or "error"
    unparsed: bool  # failed because no letter could be read
    reply: str  # the reply's text, whole
    error: str | None  # an error's one line


class OrderRecord(TypedDict, total=False):
    """--mmlu-permute: one order a question was asked in, and what came of it (a Record's own fields, less the
    question's: its text, choices, prompt and node id)."""

    order: list[int]  # order[i]: the data's choice shown at letter i ([0, 1, 2, 3]: the data's own order)
    expected: str  # the right letter in this order
    predicted: str | None
    outcome: str  # "passed" or "failed"
    unparsed: bool
    # and, as in a Record where they apply: how, reply, reasoning, truncated, logprobs, judge, judge_reply,
    # judge_cached, judge_error, first_token, first_is_letter, tokens_*, usage_source, seconds, refusals, cost,
    # judge_tokens_in, judge_tokens_out, judge_cost, cached


class Record(_RecordAlways, total=False):
    """One question: what each item's test report carries (plain data, it crosses xdist) and the report lists."""

    # a dataset's own facts about the question, where it has them
    targets: list[str]  # every right letter, where several are (MixEval): any passes; `expected` is the first
    language: str
    error_type: str  # MMLU-Redux
    cultural_sensitivity: str  # Global-MMLU: CS or CA
    original_answer: str  # MMLU-Redux wrong_groundtruth: the label before the annotators' correction
    # passed and failed questions
    cached: bool  # the reply came from the reply cache
    how: str  # which rule read the letter, or why none could be read
    reasoning: str  # the reasoning, whole, where the service keeps it apart
    truncated: bool  # cut off by the token limit
    logprobs: dict[str, float]  # letter -> log-probability (logprobs scoring)
    judge: str  # the judge's letter, "none" or "fault" (only replies the rules could not read)
    judge_reply: str
    judge_cached: bool
    judge_error: str  # the judge's fault, in one line
    first_token: str  # chat log-probabilities: the token the model put first
    first_is_letter: bool
    # what the reply cost, as the service reported it (core.reply.Usage); a figure not reported is absent.
    # A cached reply keeps the figures of the request that first produced it.
    tokens_in: int
    tokens_out: int  # generated tokens, reasoning included
    tokens_reasoning: int  # of tokens_out
    tokens_cached: int  # of tokens_in: from the service's prompt cache
    server_seconds: float  # the server's own time (llama.cpp timings, Ollama total_duration)
    usage_source: str  # where the figures came from: "openai usage", "gemini usageMetadata", "ollama counts"...
    seconds: float  # the client's wall time of the request, its transport retries included
    refusals: int  # times the request was refused for the rate (HTTP 429) and asked again
    cost: float  # dollars, at the run model's price (--mmlu-price, --mmlu-prices), where tokens were reported
    judge_tokens_in: int  # the judge's request, where its service reported it (a cached reading keeps them)
    judge_tokens_out: int
    judge_cost: float  # dollars, at the judge's price in --mmlu-prices
    # --mmlu-permute: every order the question was asked in, the data's own first. The record's `outcome` is the
    # item's (passed: right in every order); expected, predicted, reply, how and logprobs are the data's own
    # order's; token figures, seconds, refusals and costs are summed over the orders.
    orders: list[OrderRecord]
    original_outcome: str  # the outcome in the data's own order
    orders_right: int  # orders answered right
    consistent: bool  # the same choice (the data's index) picked in every order
    # the error that ended the run (a rejected key, every server gone)
    fault: Fault
    internal: bool  # the error was a bug of pytest-mmlu's, not a backend fault (its traceback is in the output)
    # the question as asked (written since 0.2; the results page shows them)
    question: str
    choices: list[str]
    prompt: str  # the prompt as sent, with the subject's shots cut out (Report.shots) where it has them
    shots_at: int  # where in `prompt` the shots were: Report.shots[subject] goes there


def _record(nodeid: str, question: Question, outcome: str) -> Record:
    record: Record = {"nodeid": nodeid, "subject": question.subject, "index": question.index,
                      "expected": question.expected, "predicted": None, "outcome": outcome, "unparsed": False,
                      "reply": "", "error": None}
    if len(question.expected_letters) > 1:
        record["targets"] = list(question.expected_letters)
    record.update({k: question.meta[k] for k in RECORDED_META if question.meta.get(k)})  # type: ignore[typeddict-item]
    return record


def _asked(record: Record, question: Question, prompt: Prompt | None) -> Record:
    """The question as asked, last in the record: its text, its choices, and the prompt without its shots."""
    record.update(question=question.question, choices=list(question.choices))
    if prompt is not None:
        text, at, _ = prompt.without_shots()
        record["prompt"] = text
        if at is not None:
            record["shots_at"] = at
    return record


def error_record(nodeid: str, question: Question, error: str, fault: Fault | None = None,
                 prompt: Prompt | None = None, internal: bool = False) -> Record:
    """A question that errored: the backend gave no reply, or (`internal`) a bug of the plugin's met it."""
    record = _record(nodeid, question, "error")
    record["error"] = error
    if internal:
        record["internal"] = True
    if fault is not None:
        record["fault"] = fault
    return _asked(record, question, prompt)


def answer_record(nodeid: str, question: Question, verdict: Verdict, reply: Reply, cached: bool,
                  reading: Reading | None = None, first_is_letter: bool | None = None,
                  prompt: Prompt | None = None, price=None, judge_price=None) -> Record:
    """A question that was answered: passed when the verdict's letter is the expected one."""
    record = _record(nodeid, question, "passed" if verdict.correct(question) else "failed")
    record.update(predicted=verdict.predicted, unparsed=verdict.unparsed, cached=cached,
                  reply=reply.text or "", how=verdict.reason)
    if reply.reasoning:
        record["reasoning"] = reply.reasoning
    if reply.truncated:
        record["truncated"] = True
    if reply.logprobs:
        record["logprobs"] = reply.logprobs
    if reading is not None:  # the judge read what the rules could not
        record["judge"] = reading.letter if reading.outcome == "letter" else reading.outcome
        record["judge_reply"] = reading.reply
        record["judge_cached"] = reading.cached
        if reading.outcome == "fault":
            record["judge_error"] = reading.detail
    if reply.first_token is not None:  # chat log-probabilities: what the model put first
        record["first_token"] = reply.first_token
        record["first_is_letter"] = bool(first_is_letter)
    if reply.usage is not None:
        figures = reply.usage.to_json()
        record["usage_source"] = figures.pop("source")
        record.update(figures)  # type: ignore[typeddict-item]
    if reply.seconds is not None:
        record["seconds"] = reply.seconds
    if reply.refusals:
        record["refusals"] = reply.refusals
    cost = price.cost(record) if price is not None else None
    if cost is not None:
        record["cost"] = round(cost, 10)
    if reading is not None and reading.usage is not None:
        figures = reading.usage.to_json()
        for name in ("tokens_in", "tokens_out"):
            if isinstance(figures.get(name), int):
                record[f"judge_{name}"] = figures[name]  # type: ignore[literal-required]
        judge_cost = judge_price.cost(figures) if judge_price is not None else None
        if judge_cost is not None:
            record["judge_cost"] = round(judge_cost, 10)
    return _asked(record, question, prompt)


QUESTION_FIELDS = ("nodeid", "subject", "index", "error", "question", "choices", "prompt", "shots_at") + RECORDED_META
SUMMED = ("tokens_in", "tokens_out", "tokens_reasoning", "tokens_cached", "server_seconds", "seconds", "refusals",
          "cost", "judge_tokens_in", "judge_tokens_out", "judge_cost")


def permuted_record(variants: list[Question], records: list[Record]) -> Record:
    """--mmlu-permute: one record of a question from its records in each order (the data's own first): it passes
    only when every order is right; a failure is unparsed only when no order gave a wrong letter."""
    orders = []
    for variant, r in zip(variants, records):
        order = list(variant.order or range(len(variant.choices)))
        orders.append({"order": order, **{k: v for k, v in r.items() if k not in QUESTION_FIELDS}})
    record: Record = dict(records[0])  # type: ignore[assignment]
    right = sum(o["outcome"] == "passed" for o in orders)
    everywhere = right == len(orders)
    record.update(outcome="passed" if everywhere else "failed", original_outcome=records[0]["outcome"],
                  orders_right=right,
                  unparsed=not everywhere and all(o["outcome"] == "passed" or o["unparsed"] for o in orders),
                  consistent=consistent([v.original(o["predicted"]) for v, o in zip(variants, orders)]),
                  cached=all(o.get("cached") for o in orders))
    for name in SUMMED:
        figures = [o[name] for o in orders if isinstance(o.get(name), (int, float))]
        if figures:
            total = sum(figures)
            record[name] = round(total, 10) if isinstance(total, float) else total  # type: ignore[literal-required]
    for name in ("judge", "judge_reply", "judge_cached", "judge_error", "first_token", "first_is_letter"):
        record.pop(name, None)  # said per order: a question's several replies have no one judge or first token
    record["orders"] = orders  # type: ignore[typeddict-item]
    return record


# -- the run ----------------------------------------------------------------------------------------------------


class _TallyAlways(TypedDict):

    accuracy: float | None  # correct / total; None when nothing was scored
    correct: int
    total: int  # scored: correct + wrong + unparsed
    wrong: int
    unparsed: int
    errors: int
    not_run: int
    judged: int  # of correct + wrong: letters the judge read
    judge_none: int  # of unparsed: the judge found no answer either
    judge_faults: int  # of unparsed: the judge failed
    interval: list[float]  # 95% Wilson interval of the accuracy, [low, high]


class Tally(_TallyAlways, total=False):
    """The counts of one scope: overall, a subject, a category, a breakdown's row (report.tally.Tally); the
    figures of --mmlu-permute only where questions were asked in several orders (`accuracy` is then the items',
    right in every order)."""

    permuted: int  # scored questions asked in several orders
    original_correct: int  # of them, right in the data's own order
    original_accuracy: float | None
    consistent: int  # of them, the same choice picked in every order
    consistency: float | None


class Overall(Tally, total=False):
    subject_average: float | None  # always written: the mean of the subjects' accuracies
    first_tokens: int  # chat log-probabilities: questions whose first token is known
    first_not_letter: int  # ... and where it was not a choice letter


class Figure(TypedDict):
    """A figure summed over the questions that reported it; `questions` 0: not reported."""

    sum: int | float
    questions: int


class Latency(TypedDict):
    p50: float | None  # seconds, over the questions with a measured request time
    p95: float | None
    questions: int


class UsageTotals(TypedDict):
    """What the run cost in tokens and time (report.usage.usage_totals). Replies from the cache count with the
    figures of the request that first produced them; `spent` counts only the requests this run made."""

    answered: int  # questions with a reply (passed or failed)
    replies: int  # their replies: one per question, or one per order under --mmlu-permute (since 0.2)
    requests: int  # of answered: replies asked of the backend by this run
    cached_replies: int  # of answered: replies from the reply cache
    tokens_in: Figure
    tokens_out: Figure  # reasoning included
    tokens_reasoning: Figure
    tokens_cached: Figure
    spent: dict[str, Figure]  # tokens_in, tokens_out, tokens_reasoning, tokens_cached of this run's requests
    seconds: Latency
    server_seconds: Figure
    truncated: int  # replies cut by the token limit
    questions_per_second: float | None  # answered / the run's wall time
    sources: dict[str, int]  # usage_source -> questions ("not reported": none given)
    refusals: int  # this run's requests refused for the rate (HTTP 429) and asked again (from 0.2.0, part 2)


class GateResult(TypedDict):
    """`--mmlu-min-accuracy`: one gate and its verdict."""

    scope: str
    minimum: float
    actual: float | None
    holds: bool
    reason: str


class DropGateResult(TypedDict, total=False):
    """`--mmlu-max-drop`: one gate against the baseline and its verdict."""

    scope: str
    max_drop_points: float
    drop_points: float | None
    p_value: float | None  # McNemar's exact p of this scope alone
    common: int
    holds: bool
    reason: str
    # since 0.2: the correction across the run's drop gates
    correction: str  # "holm" or "none"
    adjusted_p_value: float | None  # the p-value the verdict used
    family: int  # scopes tested together


class EquivalenceGateResult(TypedDict):
    """`--mmlu-equivalent`: one gate against the baseline and its verdict."""

    scope: str
    margin_points: float
    difference_points: float | None  # current minus baseline on the common questions
    interval: list[float] | None  # its 90% interval (Newcombe), percentage points, [low, high]
    common: int
    holds: bool
    reason: str


class LetterChangesResult(TypedDict):
    """Of the questions compared in two runs, those whose letter changed (report.changes.LetterChanges; since 0.2)."""

    changed: int  # questions with another letter in each run
    with_logprobs: int  # of changed: both runs kept the letters' log-probabilities
    near_ties: int  # of with_logprobs: the two letters less than `margin` apart in both runs
    margin: float  # nats


class PairedResult(TypedDict, total=False):
    """One scope of the baseline comparison (report.baseline.Paired), on the questions both runs answered."""

    common: int
    baseline_correct: int
    current_correct: int
    newly_wrong: int
    newly_right: int
    letter_changes: LetterChangesResult  # since 0.2


class BaselineResult(TypedDict, total=False):
    """`--mmlu-baseline`: this run against the baseline (report.baseline.BaselineComparison.to_json())."""

    common: int  # questions answered in both runs (errors in either left out)
    baseline_correct: int
    current_correct: int
    newly_wrong: list[str]  # node ids: right in the baseline, wrong now
    newly_right: list[str]
    only_in_baseline: int
    only_in_current: int
    errors_excluded: int
    subject_deltas: dict[str, float]
    mismatched: int  # same node id, another expected letter
    scopes: dict[str, PairedResult]  # "overall", subjects, categories
    letter_changes: LetterChangesResult  # since 0.2
    delta: float | None
    p_value: float


class PositionResult(TypedDict):
    correct: int
    total: int
    accuracy: float | None


class BiasResult(TypedDict):
    """Position bias (report.bias.PositionBias): letters picked against letters right, over the scored questions."""

    questions: int  # scored questions counted (errors left out)
    choices: dict[str, int]  # questions by their number of choices ("4": 100)
    letters: list[str]  # every letter of those questions, A first
    answered: int  # of them, those where a letter was read (not unparsed)
    expected: dict[str, int]  # of the answered: the right letter
    predicted: dict[str, int]  # of the answered: the letter read
    confusion: dict[str, dict[str, int]]  # right letter -> letter read -> count
    by_position: dict[str, PositionResult]  # right letter -> accuracy (unparsed count as not right)
    wrong: int  # answered with a wrong letter
    wrong_picks: dict[str, int]  # wrong answers that went to each letter
    wrong_even: dict[str, float]  # ... had each spread evenly over its question's other letters
    imbalance: float | None  # the largest wrong_picks / wrong_even; null without a wrong answer
    imbalance_letter: str | None


class CalibrationBin(TypedDict):
    low: float
    high: float
    questions: int
    correct: int
    accuracy: float | None
    confidence: float | None  # mean


class CalibrationResult(TypedDict, total=False):
    """Calibration (report.calibration) of the questions answered with log-probabilities."""

    questions: int
    correct: int
    accuracy: float
    confidence: float  # mean probability of the letter given
    ece: float  # expected calibration error, 10 equal-width bins
    brier: float  # multi-class, over each question's letters
    letters_missing: int  # questions where a letter had no log-probability (probability 0)
    bins: list[CalibrationBin]  # overall only: the reliability diagram's points


class CalibrationBlock(TypedDict):
    overall: CalibrationResult
    subjects: dict[str, CalibrationResult]


class JudgeConfig(TypedDict):
    backend: str
    model: str | None
    served_model: str | None
    base_url: str | None  # without credentials


class RunConfig(TypedDict):
    """How the run was made."""

    label: str
    backend: str
    model: str | None  # as asked (--mmlu-model, else the backend's default)
    served_model: str | None  # as the server reports it
    base_urls: list[str]  # without credentials
    dataset: str
    revision: str | None  # local data: a fingerprint of its files
    split: str
    shots: int
    limit: int | None
    scoring: str  # generate or logprobs
    logprob_route: str | None  # logprobs scoring: completions or chat
    prompt: str
    max_tokens: int
    temperature: float
    subjects: list[str]  # as selected (subjects, categories, all)
    interrupted: bool
    pytest_mmlu: str  # the plugin's version
    language: str | None
    dataset_notes: list[str]
    redux: dict | None  # --mmlu-redux: what was matched
    shard: str | None  # --mmlu-shard: "2/4" (written since 0.2)
    permute: str | None  # --mmlu-permute: "circular" or K (written since 0.2)
    categories: dict[str, str]  # the run's subjects -> their category in its dataset (written since 0.2)
    started: str  # ISO 8601, UTC
    wall_seconds: float | None
    judge: JudgeConfig | None


class Stopped(TypedDict):
    """The fault that ended the run (report.stop.StopReport)."""

    kind: str
    backend: str
    where: str
    reason: str
    answered: int
    not_asked: int


class _ReportAlways(TypedDict):
    schema_version: int  # absent from reports written before 0.2: read as 0
    overall: Overall
    bias: BiasResult  # since 0.2
    subjects: dict[str, Tally]
    categories: dict[str, Tally]
    gates: list[GateResult]
    config: RunConfig
    questions: list[Record]  # sorted by node id
    not_run: list[str]  # node ids of the selected questions that were not run


class Report(_ReportAlways, total=False):
    """The whole report. Keys written only when they apply: baseline, breakdowns, drop_gates, equivalence_gates,
    calibration, stopped, shots, merged; `usage` is absent from reports written before 0.2."""

    baseline: BaselineResult  # --mmlu-baseline
    breakdowns: dict  # "redux", "cultural": report.breakdown.Breakdown.to_json()
    drop_gates: list[DropGateResult]
    equivalence_gates: list[EquivalenceGateResult]
    calibration: CalibrationBlock  # where log-probabilities were read
    stopped: Stopped
    usage: UsageTotals
    shots: dict[str, str]  # subject -> its few-shot examples, as each of its prompts carries them (Record.shots_at)
    merged: list[dict]  # pytest-mmlu merge: the reports joined (report.merge.Joined.parts)


def to_report(summary, verdicts, records: Iterable[Record], config: RunConfig | Mapping, comparison=None,
              drop_verdicts=(), not_run: Iterable[str] = (), stopped=None,
              shots: Mapping[str, str] | None = None, merged: list[dict] | None = None,
              equivalence_verdicts=()) -> Report:
    """The report of a run, from its summary (report.summary), gate verdicts (report.gates) and records."""
    overall = {**summary.overall.to_json(), "subject_average": summary.subject_average}
    if summary.first_tokens:
        overall.update(first_tokens=summary.first_tokens, first_not_letter=summary.first_not_letter)
    report = {
        "schema_version": SCHEMA_VERSION,
        "overall": overall,
        "bias": summary.bias.to_json(),
        "subjects": {s: t.to_json() for s, t in summary.subjects.items()},
        "categories": {c: t.to_json() for c, t in summary.categories.items()},
        "gates": [{"scope": v.gate.scope, "minimum": v.gate.minimum, "actual": v.actual, "holds": v.holds,
                   "reason": v.reason} for v in verdicts],
        "config": dict(config),
        "questions": sorted(records, key=lambda r: r["nodeid"]),
    }
    if summary.calibration is not None:
        report["calibration"] = {"overall": summary.calibration.to_json(),
                                 "subjects": {s: c.to_json(bins=False) for s, c in summary.subject_calibration.items()}}
    if comparison is not None:
        report["baseline"] = comparison.to_json()
    if summary.breakdowns:
        report["breakdowns"] = {b.key: b.to_json() for b in summary.breakdowns}
    if drop_verdicts:
        report["drop_gates"] = [{"scope": v.gate.scope, "max_drop_points": v.gate.points, "drop_points": v.drop,
                                 "p_value": v.p_value, "common": v.common, "holds": v.holds, "reason": v.reason,
                                 "correction": v.correction, "adjusted_p_value": v.adjusted_p, "family": v.family}
                                for v in drop_verdicts]
    if equivalence_verdicts:
        report["equivalence_gates"] = [
            {"scope": v.gate.scope, "margin_points": v.gate.points, "difference_points": v.difference,
             "interval": None if v.interval is None else [round(x, 6) for x in v.interval], "common": v.common,
             "holds": v.holds, "reason": v.reason} for v in equivalence_verdicts]
    report["not_run"] = list(not_run)
    if summary.usage is not None:
        report["usage"] = summary.usage
    if shots:
        report["shots"] = dict(shots)
    if stopped is not None:
        report["stopped"] = dict(vars(stopped))
    if merged:
        report["merged"] = list(merged)
    return report  # type: ignore[return-value]


def write_report(path, report: Report) -> None:
    """The one writer: UTF-8 JSON, indented, its folder made if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")


# -- reading it back ------------------------------------------------------------------------------------------


@dataclass
class Score:
    """A tally as a reader needs it: correct of total (scored), with the unparsed and errors among them."""

    correct: int
    total: int  # scored: correct + wrong + unparsed
    unparsed: int = 0
    errors: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.correct, self.total)


@dataclass
class ReadReport:
    """A report as read back: checked to be a pytest-mmlu report, of any schema version up to this one."""

    path: str
    data: dict  # the report as written (the Report fields)
    schema_version: int  # 0: written before the field existed

    @property
    def questions(self) -> dict[str, Record]:
        """The question records by node id."""
        return {q["nodeid"]: q for q in self.data["questions"]}

    @property
    def config(self) -> dict:
        config = self.data.get("config")
        return config if isinstance(config, dict) else {}

    def category_of(self, subject: str) -> str:
        """A subject's category as the run put it (config.categories, since 0.2), else core.subjects' lookup."""
        own = self.config.get("categories")
        return category_of(subject, own if isinstance(own, dict) else None)

    def overall(self) -> Score:
        return self._score(self.data.get("overall"), "'overall'")

    def subjects(self) -> dict[str, Score]:
        raw = self.data.get("subjects") or {}
        if not isinstance(raw, dict):
            raise self._not_report("'subjects' is not a mapping")
        return {str(s): self._score(t, f"subject {s!r}") for s, t in sorted(raw.items())}

    def bias(self) -> BiasResult:
        """Position bias as the run wrote it; for reports written before 0.2, computed from their records."""
        raw = self.data.get("bias")
        if raw is None:
            return position_bias(self.data["questions"]).to_json()  # type: ignore[return-value]
        if not isinstance(raw, dict) or not _numbers(raw, ("questions", "answered", "wrong"), ("imbalance",)):
            raise self._not_report("'bias' is malformed")
        return raw  # type: ignore[return-value]

    def calibration(self) -> CalibrationBlock | None:
        """Calibration as the run wrote it (None where no log-probabilities were read); for reports written before
        0.2, computed from their records' log-probabilities."""
        if "calibration" not in self.data:
            if "bias" in self.data:
                return None  # written since 0.2: a run without log-probabilities
            overall, subjects = calibration_of(self.data["questions"])
            if overall is None:
                return None
            return {"overall": overall.to_json(),  # type: ignore[typeddict-item]
                    "subjects": {s: c.to_json(bins=False) for s, c in subjects.items()}}
        raw = self.data["calibration"]
        figures = ("questions",), ("accuracy", "confidence", "ece", "brier")
        if not isinstance(raw, dict) or not _numbers(raw.get("overall"), *figures) \
                or not isinstance(raw.get("subjects"), dict) \
                or not all(_numbers(c, *figures) for c in raw["subjects"].values()):
            raise self._not_report("'calibration' is malformed")
        return raw  # type: ignore[return-value]

    def _score(self, raw, where: str) -> Score:
        if not isinstance(raw, dict):
            raise self._not_report(f"{where} is missing")
        try:
            return Score(int(raw["correct"]), int(raw["total"]), int(raw.get("unparsed") or 0),
                         int(raw.get("errors") or 0))
        except (KeyError, TypeError, ValueError):
            raise self._not_report(f"{where} has no whole 'correct' and 'total'") from None

    def _not_report(self, why: str) -> ReportError:
        return _not_report(self.path, why)


def _numbers(raw, counts: tuple[str, ...], figures: tuple[str, ...]) -> bool:
    """Whether `raw` is a mapping with whole numbers at `counts` and numbers or null at `figures`."""
    def number(x):
        return isinstance(x, (int, float)) and not isinstance(x, bool)

    return isinstance(raw, dict) and all(isinstance(raw.get(k), int) and not isinstance(raw.get(k), bool)
                                         for k in counts) \
        and all(raw.get(k) is None or number(raw.get(k)) for k in figures)


def _not_report(path, why: str) -> ReportError:
    return ReportError(f"{path}: not a pytest-mmlu report ({why})", problem="not_report", detail=why)


def read_report(path) -> ReadReport:
    """The one reader. A file that is missing, not JSON or not a pytest-mmlu report raises ReportError, whose
    `problem` says which (missing, folder, unreadable, not_json, not_report, newer) and `cause` why."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReportError(f"{path}: no such file", problem="missing", cause=exc) from None
    except IsADirectoryError as exc:
        raise ReportError(f"{path}: a folder, not a report", problem="folder", cause=exc) from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else exc
        raise ReportError(f"{path}: cannot be read ({why})", problem="unreadable", cause=exc) from None
    except ValueError as exc:
        raise ReportError(f"{path}: not JSON ({exc})", problem="not_json", cause=exc) from None
    questions = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(questions, list) or not all(isinstance(q, dict) and "nodeid" in q and "outcome" in q
                                                  for q in questions):
        raise _not_report(path, "no 'questions' list")
    version = data.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise _not_report(path, f"'schema_version' is {version!r}")
    if version > SCHEMA_VERSION:
        why = f"report schema {version}; this one reads up to {SCHEMA_VERSION}"
        raise ReportError(f"{path}: written by a newer pytest-mmlu ({why}): upgrade pytest-mmlu", problem="newer",
                          detail=why)
    return ReadReport(str(path), data, version)
