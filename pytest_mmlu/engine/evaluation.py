"""One process's side of a run: the questions, their prompts, and their replies on the way.

The plan (plan.py) says how to ask and read; the model is an `Endpoint` (endpoint.py) behind its servers, with
the reply cache; the judge (judge.py) reads what the rules cannot. Replies are asked ahead of their items, in
run order (`submit`); an item takes its own (`reply`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .. import prompts
from ..backends import SERVICES, Backend
from ..core.errors import CannotReach, NotCached, SetupError, UnknownSubject
from ..core.prices import Price, price_for, read_prices
from ..core.prompt import Prompt
from ..core.question import Question
from ..core.reply import Reply
from ..core.subjects import category_of, resolve_selection
from ..data import open_source, sample
from ..scoring.judge import Reading
from .budget import Spending
from .cache import ReplyCache, cache_key
from .endpoint import MODEL, Endpoint
from .handoff import Handoff
from .judge import Judge
from .plan import choose_scoring, make_plan
from .settings import Settings

SKIPPED = "\0skipped"  # in the parsed-questions file: rows the data left out (not a subject name)


class Evaluation:
    """The questions of this process, and the replies to them."""

    def __init__(self, settings: Settings, rootdir: Path, cache_dir: Path | None):
        self.settings = settings
        service = SERVICES[settings.backend]
        scoring = choose_scoring(settings.scoring, service)
        self.source = open_source(settings.dataset, settings.language)
        self.plan = make_plan(settings, service, self.source, scoring)
        self.model = Endpoint(service, settings.base_urls, settings.model, rootdir=rootdir, timeout=settings.timeout,
                              retries=settings.retries, role=MODEL, concurrency=settings.concurrency)
        self.cache = None if settings.no_cache or cache_dir is None else ReplyCache(cache_dir)
        self.model.cache = self.cache
        self.judge = Judge.from_settings(settings, self.plan.scoring, self.plan.reading, rootdir, self.cache)
        self.offline = settings.offline  # replies come only from the cache
        self.offline_note: str | None = None  # why, for the header
        self._questions: list[Question] | None = None
        self.selected = 0  # questions selected before --mmlu-shard took its share
        self._shots: dict[str, list[Question]] = {}
        self._ready: dict[tuple, Reply] = {}  # cached replies found ahead of their item
        self._waiting: dict[tuple, str] = {}  # questions whose request is queued or in flight -> key
        self._for_judge: dict[str, tuple[int, Question]] = {}  # reply key -> the question it answers
        self._prompts: dict[tuple, Prompt] = {}  # questions submitted -> their prompt, until their record takes it
        self.prices = read_prices(settings.prices) if settings.prices else {}
        self.spending: Spending | None = None  # with --mmlu-budget, from start_spending()
        self.model_price: Price | None = None  # the run model's price, once the model is known (start_spending)
        self.judge_price: Price | None = None  # the judge's, from the price file

    @property
    def service(self):
        return self.model.service

    # -- money ----------------------------------------------------------------------------------------------
    def price(self) -> Price | None:
        """The run model's price: --mmlu-price, else the price file's entry for the model as asked or served."""
        if self.settings.price is not None:
            return self.settings.price
        return self._price_of(self.model, self.settings.model)

    def _price_of(self, endpoint: Endpoint, asked: str | None) -> Price | None:
        return price_for(self.prices, endpoint.service.name, asked or endpoint.model, endpoint.model_id)

    def settle_prices(self) -> None:
        """The model's and the judge's prices, once the served models are known."""
        self.model_price = self.price()
        self.judge_price = (self._price_of(self.judge.endpoint, self.settings.judge_model)
                            if self.judge is not None else None)

    def start_spending(self) -> None:
        """With --mmlu-budget: the account of this process (each xdist worker keeps 1/N of the budget)."""
        self.settle_prices()
        price, budget = self.model_price, self.settings.budget
        if budget is None:
            return
        if budget.money and price is None:
            raise SetupError(f"--mmlu-budget {budget.describe()} needs the price of {self.service.name} "
                             f"{self.settings.model or self.model.model or 'model'}: --mmlu-price IN/OUT, or "
                             f"--mmlu-prices with an entry for it")
        self.spending = Spending(budget, price, self.service.name, self.model.workers[0])

    # -- data ---------------------------------------------------------------------------------------------
    def subjects(self) -> list[str]:
        split = self.settings.split
        available = self.source.subjects(split)
        splits = self.source.splits() if not available else None
        if splits is not None and split not in splits:  # say so, not "no subject selected"
            raise UnknownSubject(f"the dataset has no split {split!r} (it has {', '.join(map(repr, splits))}); "
                                 f"choose one with --mmlu-split")
        return resolve_selection(self.settings.subjects, available, self.source.categories)

    def category_of(self, subject: str) -> str:
        """A subject's category in this dataset (CMMLU's anatomy is STEM, MMLU's is other)."""
        return category_of(subject, self.source.categories)

    def questions(self) -> list[Question]:
        if self._questions is None:
            by_subject = self._parsed(self.settings.split, self.subjects())
            questions = [q for subject in sorted(by_subject) for q in sample(by_subject[subject], self.settings.limit)]
            self.selected = len(questions)
            shard = self.settings.shard
            self._questions = shard.take(questions) if shard is not None else questions
        return self._questions

    def _parsed(self, split: str, subjects: list[str]) -> dict[str, list[Question]]:
        """Local data, once parsed, is kept beside the reply cache under its content fingerprint,
        so a warm re-run need not even import `datasets`."""
        revision = self.source.revision()
        if self.cache is None or revision is None:
            return self.source.load(split, subjects)
        name = cache_key({"source": self.source.describe(), "revision": revision, "split": split,
                          "subjects": subjects})
        path = self.cache.directory / f"questions-{name[:24]}.json"
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
            by_subject = {s: [Question(s, i, q, tuple(c), a, *meta[:1], targets=tuple(meta[1]) if meta[1:] else ())
                              for i, q, c, a, *meta in rows[s]] for s in subjects}
            self.source.skipped = rows.get(SKIPPED, [])  # rows the data left out, for the header
            return by_subject
        except (OSError, ValueError, KeyError, TypeError):
            pass  # absent or damaged: parse the data again
        by_subject = self.source.load(split, subjects)
        rows = {s: [(q.index, q.question, q.choices, q.answer)
                    + ((q.meta, q.targets) if q.targets else (q.meta,) if q.meta else ()) for q in qs]
                for s, qs in by_subject.items()}
        if self.source.skipped:
            rows[SKIPPED] = self.source.skipped
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)  # atomic: xdist workers may write it at once
        return by_subject

    def shots(self, subject: str) -> list[Question]:
        if subject not in self._shots:
            self._shots[subject] = self.source.shots(subject, self.settings.shots) if self.settings.shots else []
        return self._shots[subject]

    def check_questions(self) -> list[str]:
        """At start: the subjects and their questions load (an unknown subject or a malformed row stops the run
        here, not as a collection error). Returns the subjects the dataset has."""
        self.subjects()  # unknown subjects stop here, with suggestions
        self.questions()
        return self.source.subjects(self.settings.split)

    def check_shots(self) -> None:
        """At start: every selected subject has its few-shot examples."""
        if self.settings.shots:
            for subject in self.subjects():
                self.shots(subject)

    # -- the servers --------------------------------------------------------------------------------------
    def connect(self) -> None:
        """At start, on the controller: the judge and the model's servers answer, or the run scores from the
        cache (--mmlu-offline, or every question cached); `offline_note` says which."""
        if self.judge is not None:  # the judge is asked even when the model's replies come from the cache
            self.judge.endpoint.check_reachable()
        if self.offline:
            self.go_offline()
            self.offline_note = "offline (--mmlu-offline): cached replies only, the backend is not contacted"
            self.settle_prices()
            if self.service.served_model_id and self.model.model_id is None:
                self.offline_note += ("; no model id of a past run at this address is stored in the cache, "
                                      "so no reply can match")
            return
        try:
            self.model.check_reachable(chat_logprobs=self.plan.route == "chat")
        except CannotReach as exc:
            self.go_offline()
            if not self.all_cached():
                raise
            reason = str(exc).split("; is the server")[0]
            self.offline_note = f"{reason}; every selected question has a cached reply: scoring from the cache"
        self.start_spending()

    def go_offline(self) -> None:
        """From now on replies come only from the cache; the served model id is the one stored with it."""
        self.offline = True
        self.model.model_id = self.model.stored_model_id()

    def all_cached(self) -> bool:
        """Does every question of the selection have a cached reply (with the stored model id)?"""
        return self.cache is not None and all(
            self.model.cached(self.key_for(self.prompt(v))) is not None
            for q in self.questions() for v in self.variants(q))

    def handoff(self) -> Handoff:
        judge = self.judge.endpoint.state() if self.judge is not None else None
        return Handoff(self.model.state(), judge, self.offline)

    def take_handoff(self, handoff: Handoff) -> None:
        """On an xdist worker: what the controller learned at start."""
        self.model.take_state(handoff.model)
        if self.judge is not None and handoff.judge is not None:
            self.judge.endpoint.take_state(handoff.judge)
        if handoff.offline:
            self.go_offline()
            self.settle_prices()
        else:
            self.start_spending()

    # -- answering ------------------------------------------------------------------------------------------
    def variants(self, question: Question) -> list[Question]:
        """The orders a question is asked in: its own alone, or each of --mmlu-permute's (its own first)."""
        permute = self.settings.permute
        return permute.variants(question) if permute is not None else [question]

    def prompt(self, question: Question) -> Prompt:
        return prompts.build(self.plan.prompt, question, self.shots(question.subject))

    def shots_texts(self, subjects) -> dict[str, str]:
        """Each subject's few-shot examples as its prompts carry them (the same in every prompt of a subject):
        the report keeps them once, and each question's prompt without them."""
        if not self.settings.shots:
            return {}
        first: dict[str, Question] = {}
        for question in self.questions():
            first.setdefault(question.subject, question)
        return {s: self.prompt(first[s]).without_shots()[2] for s in sorted(set(subjects)) if s in first}

    def asked_prompt(self, question: Question) -> Prompt:
        """The prompt this question was (or would be) asked with, for its record: built once, at submit."""
        return self._prompts.pop(question.ident, None) or self.prompt(question)

    def key_for(self, prompt: Prompt) -> str:
        return self.model.key_for(self.plan.key_material(prompt))

    def submit(self, position: int, question: Question) -> None:
        """Make sure the replies to this question (in each of its orders) are on their way, or found in the cache.
        A question's orders go one after another: they share its shots and text, which a server's prompt cache
        (or llama.cpp's prefix reuse in process) then serves once."""
        for variant in self.variants(question):
            self._submit(position, variant)

    def _submit(self, position: int, question: Question) -> None:
        qid = question.ident
        if qid in self._ready or qid in self._waiting:
            return
        prompt = self._prompts[qid] = self.prompt(question)  # kept for the question's record
        key = self.key_for(prompt)
        hit = self.model.cached(key)
        if hit is not None:
            self._ready[qid] = hit
            if self.judge is not None:  # re-scoring cached replies: the judge starts now
                self.judge.submit(position, question, hit)
        elif self.offline or self.model.stopped:
            return  # reply() says why there is none
        else:
            self._waiting[qid] = key
            if self.judge is not None:
                self._for_judge[key] = (position, question)
            self.model.requests(self._ask, affinity=True).submit(position, key, (key, prompt, question.letters),
                                                                 group=question.subject)

    def replies(self, position: int, question: Question) -> list[tuple[Question, Reply, bool]]:
        """The question in each order it is asked in, with its reply and whether that came from the cache."""
        self.submit(position, question)
        return [(variant, *self.reply(position, variant)) for variant in self.variants(question)]

    def reply(self, position: int, question: Question) -> tuple[Reply, bool]:
        """The reply to one question in one order, and whether it came from the cache."""
        qid = question.ident
        self._submit(position, question)
        if qid in self._ready:
            return self._ready.pop(qid), True
        if qid not in self._waiting:
            if self.offline:
                raise NotCached("no cached reply (--mmlu-offline)")
            raise self.model.stopped.again()
        return self.model.requests(self._ask).wait(self._waiting.pop(qid)), False

    def _ask(self, lane: tuple[int, Backend], task: tuple[str, Prompt, tuple[str, ...]]) -> Reply:
        """In a request thread: ask (with failover), store; an unreadable reply goes to the judge at once."""
        key, prompt, letters = task
        reply = self.model.ask(lane, key, lambda backend: self.plan.ask(backend, prompt, letters))
        if self.spending is not None:
            stop = self.spending.add(reply)
            if stop is not None:
                self.model.stop_asking(stop)
        if self.judge is not None and key in self._for_judge:
            self.judge.submit(*self._for_judge.pop(key), reply)
        return reply

    def judge_reading(self, position: int, question: Question, reply: Reply) -> Reading | None:
        """The judge's reading of a reply the rules cannot read; None without a judge or when not needed."""
        if self.judge is None:
            return None
        return self.judge.reading(position, question, reply)

    def stop(self) -> None:
        if self.judge is not None:
            self.judge.stop()
        self.model.stop()

    def close(self) -> None:
        self.stop()
        if self.cache is not None:
            self.cache.close()
