"""The judge at run time: an `Endpoint` under the judge role, and the replies sent to it.

A reply the rules cannot read is handed to the judge as soon as it arrives (or is found in the cache), so judge
requests run alongside the model's; the item waits for the judge's reading only when its turn comes. What the
judge is asked and how its answer is read lives in scoring/judge.py.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from ..backends import SERVICES, Backend, default_base_url
from ..core.errors import BackendError, SetupError
from ..core.prompt import Prompt
from ..core.question import Question
from ..core.reply import Reply
from ..scoring.judge import Reading, fault, judge_messages, needs_judge, read_judgement
from .cache import ReplyCache
from .endpoint import JUDGE, Endpoint

JUDGE_MAX_TOKENS = 16  # one letter or "none"; reasoning models get their service's budget


def check_options(settings) -> None:
    """Judge options that make no sense together, found before anything is loaded."""
    if not settings.judge and (settings.judge_model or settings.judge_base_url):
        raise SetupError("--mmlu-judge-model and --mmlu-judge-base-url need --mmlu-judge BACKEND")


class Judge:
    """Reads, with a judge model, the replies the rules cannot read (`reading`)."""

    def __init__(self, endpoint: Endpoint, reading_style: str):
        self.endpoint = endpoint
        self.style = reading_style  # the answer-reading rules of the dataset: what counts as unreadable
        service = endpoint.service
        self.max_tokens = service.max_tokens if service.reasoning_field else JUDGE_MAX_TOKENS
        self._jobs: dict[tuple, str] = {}  # question -> judge key of the job for its reply
        self._lock = threading.RLock()  # submit() runs in request threads too

    @classmethod
    def from_settings(cls, settings, scoring: str, reading_style: str, rootdir: Path,
                      cache: ReplyCache | None) -> "Judge | None":
        """The run's judge (None without --mmlu-judge); options that cannot work stop the run at start."""
        check_options(settings)
        if not settings.judge:
            return None
        if scoring != "generate":
            raise SetupError(f"--mmlu-judge reads generated replies; it has nothing to read with {scoring} scoring")
        service = SERVICES[settings.judge]
        url = settings.judge_base_url or default_base_url(service)
        endpoint = Endpoint(service, (url,) if url else (), settings.judge_model, rootdir=rootdir,
                            timeout=settings.timeout, retries=settings.retries, role=JUDGE,
                            concurrency=service.concurrency, pin_slots=False, cache=cache)
        return cls(endpoint, reading_style)

    def describe(self) -> str:
        ep = self.endpoint
        where = ep.urls[0] if ep.urls else "in process"
        model = ep.model or ep.model_id or "(as served)"
        return f"mmlu: judge {ep.service.name} at {where}; model {model} (reads only unreadable replies)"

    def key_for(self, messages: tuple[dict, ...]) -> str:
        return self.endpoint.key_for({"messages": list(messages), "max_tokens": self.max_tokens,
                                      "temperature": 0.0})

    # -- judging ----------------------------------------------------------------------------------------------
    def submit(self, position: int, question: Question, reply: Reply) -> None:
        """Called as a reply arrives (any thread): an unreadable one goes to the judge right away."""
        try:
            self._submit(position, question, reply)
        except Exception:  # noqa: BLE001 - the item's own reading() tries again and reports the fault
            pass

    def _submit(self, position: int, question: Question, reply: Reply) -> None:
        qid = question.ident
        if qid in self._jobs or not needs_judge(reply, question.letters, self.style):
            return
        messages = judge_messages(question, reply.text)
        key = self.key_for(messages)
        with self._lock:  # the job exists before anyone can wait for it
            if qid in self._jobs:
                return
            self.endpoint.requests(self._ask).submit(position, key, (key, messages, question.letters))
            self._jobs[qid] = key

    def reading(self, position: int, question: Question, reply: Reply) -> Reading | None:
        """The judge's reading of this reply, or None when the rules could read it (or there is nothing to read)."""
        try:
            self._submit(position, question, reply)
        except Exception as exc:  # noqa: BLE001 - a judge that cannot even be asked is a fault
            return fault(f"{type(exc).__name__}: {exc}")
        with self._lock:
            key = self._jobs.pop(question.ident, None)
        if key is None:
            return None
        try:
            return self.endpoint.requests(self._ask).wait(key)
        except (BackendError, InterruptedError) as exc:
            return fault(str(exc))
        except Exception as exc:  # whatever else the judge's backend raises is its fault, not a letter
            return fault(f"{type(exc).__name__}: {exc}")

    def _ask(self, lane: tuple[int, Backend], task) -> Reading:
        """In a request thread: the cache, else the judge; its raw reply is stored, its reading is not."""
        key, messages, letters = task
        hit = self.endpoint.cached(key)
        if hit is not None:  # a cached reply keeps what its request cost
            reading = read_judgement(hit, letters)
            return dataclasses.replace(reading, cached=True, usage=hit.usage)
        prompt = Prompt(text=messages[-1]["content"], messages=messages)
        reply = self.endpoint.ask(lane, key, lambda backend: backend.generate(prompt, self.max_tokens, 0.0))
        return dataclasses.replace(read_judgement(reply, letters), usage=reply.usage)

    def stop(self) -> None:
        self.endpoint.stop()
