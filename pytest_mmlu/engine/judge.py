"""The judge at run time: its backend, its requests in flight, its cache entries.

A reply the rules cannot read is handed to the judge as soon as it arrives (or is
found in the cache), so judge requests run alongside the model's; the item waits for
the judge's reading only when its turn comes. What the judge is asked and how its
answer is read lives in scoring/judge.py.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ..backends import SERVICES, auth_headers, default_base_url, make_backend, needs_key
from ..backends.keys import find_key
from ..backends.transport import Transport, connect_error
from ..core.errors import BackendError, KeyRejected, SetupError, Unreachable
from ..core.prompt import Prompt
from ..core.question import Question
from ..core.reply import Reply
from ..scoring.judge import Reading, fault, judge_messages, needs_judge, read_judgement
from .cache import ReplyCache, cache_key
from .scheduler import Prefetcher

JUDGE_MAX_TOKENS = 16  # one letter or "none"; reasoning models get their service's budget


def check_options(settings) -> None:
    """Judge options that make no sense together, found before anything is loaded."""
    if not settings.judge and (settings.judge_model or settings.judge_base_url):
        raise SetupError("--mmlu-judge-model and --mmlu-judge-base-url need --mmlu-judge BACKEND")


class Judging:
    def __init__(self, settings, rootdir: Path, cache: ReplyCache | None):
        self.settings = settings
        self.service = SERVICES[settings.judge]
        self.model = settings.judge_model or self.service.model
        self.base_url = settings.judge_base_url or default_base_url(self.service)
        self.max_tokens = self.service.max_tokens if self.service.reasoning_field else JUDGE_MAX_TOKENS
        self.cache = cache
        self.style = "mmlu"  # the answer-reading rules of the dataset (evaluation sets it)
        self.key = find_key(self.service.key_env, rootdir) if self.service.key_env else None
        if not self.key and needs_key(self.service, self.base_url):
            raise SetupError(f"the {self.service.name} judge needs an API key: set {self.service.key_env} "
                                  f"in the environment or in {Path(rootdir) / '.env'}")
        self.model_id: str | None = None  # as the judge's server reports it, for the cache key
        self._backend = None
        self._ident: dict | None = None
        self._prefetcher: Prefetcher | None = None
        self._jobs: dict[tuple, str] = {}  # question -> judge key of the job for its reply
        self._lock = threading.RLock()  # submit() runs in request threads too
        self._down: str | None = None  # the judge is gone or refuses the key: later requests fail fast

    def describe(self) -> str:
        where = self.base_url or "in process"
        model = self.model or self.model_id or "(as served)"
        return f"mmlu: judge {self.service.name} at {where}; model {model} (reads only unreadable replies)"

    # -- the judge's backend ---------------------------------------------------------
    def backend(self):
        with self._lock:
            return self._backend or self._make_backend()

    def _make_backend(self):
        if self._backend is None:
            transport = Transport(timeout=self.settings.timeout, retries=self.settings.retries,
                                  headers=auth_headers(self.service, self.key),
                                  secrets=(self.key,) if self.key else ())
            try:
                self._backend = make_backend(self.service, self.base_url, self.model, transport)
            except ImportError as exc:
                raise SetupError(f"the {self.service.name} judge needs {exc.name}: "
                                      f"pip install 'pytest-mmlu[{self.service.name}]'") from None
        return self._backend

    def check_reachable(self) -> None:
        """At start: the judge answers and accepts its key; learn the model it serves."""
        why = connect_error(self.base_url, self.settings.timeout) if self.base_url else None
        if why:
            raise SetupError(f"cannot reach the {self.service.name} judge at {self.base_url} "
                                  f"({why}); is the server running?")
        try:
            self.model_id = self.backend().probe()
        except KeyRejected as exc:
            raise SetupError(f"key rejected for the {self.service.name} judge: {exc}") from None
        except (Unreachable, BackendError) as exc:
            raise SetupError(f"the judge: {exc}") from None

    def identity(self) -> dict:
        if self._ident is None:
            ident = {"role": "judge", "backend": self.service.name, "model": self.model}
            if self.service.served_model_id:
                ident["served_model"] = self.model_id
            ident.update(self.backend().identity())
            self._ident = ident
        return self._ident

    def key_for(self, messages: tuple[dict, ...]) -> str:
        return cache_key({"v": 1, **self.identity(), "messages": list(messages), "max_tokens": self.max_tokens,
                          "temperature": 0.0})

    # -- judging ----------------------------------------------------------------------
    def submit(self, position: int, question: Question, reply: Reply) -> None:
        """Called as a reply arrives (any thread): an unreadable one goes to the judge right away."""
        try:
            self._submit(position, question, reply)
        except Exception:  # noqa: BLE001 - the item's own reading() tries again and reports the fault
            pass

    def _submit(self, position: int, question: Question, reply: Reply) -> None:
        qid = (question.subject, question.index)
        if qid in self._jobs or not needs_judge(reply, question.letters, self.style):
            return
        messages = judge_messages(question, reply.text)
        key = self.key_for(messages)
        with self._lock:  # the job exists before anyone can wait for it
            if qid in self._jobs:
                return
            self.prefetcher().submit(position, key, (key, messages, question.letters))
            self._jobs[qid] = key

    def reading(self, position: int, question: Question, reply: Reply) -> Reading | None:
        """The judge's reading of this reply, or None when the rules could read it (or there is nothing to read)."""
        try:
            self._submit(position, question, reply)
        except Exception as exc:  # noqa: BLE001 - a judge that cannot even be asked is a fault
            return fault(f"{type(exc).__name__}: {exc}")
        with self._lock:
            key = self._jobs.pop((question.subject, question.index), None)
        if key is None:
            return None
        try:
            return self._prefetcher.wait(key)
        except (BackendError, InterruptedError) as exc:
            return fault(str(exc))
        except Exception as exc:  # whatever else the judge's backend raises is its fault, not a letter
            return fault(f"{type(exc).__name__}: {exc}")

    def prefetcher(self) -> Prefetcher:
        with self._lock:
            if self._prefetcher is None:
                self._prefetcher = Prefetcher([self.backend()], self.service.concurrency, self._ask)
            return self._prefetcher

    def _ask(self, backend, task) -> Reading:
        """In a request thread: the cache, else the judge; its raw reply is stored, its reading is not."""
        key, messages, letters = task
        if self.cache is not None:
            data = self.cache.get(key)
            if data is not None:
                try:
                    return _cached(read_judgement(Reply.from_json(data), letters))
                except TypeError:
                    self.cache.damaged_rows += 1
        if self._down:
            raise BackendError(f"not asked: {self._down}")
        prompt = Prompt(text=messages[-1]["content"], messages=messages)
        try:
            reply = backend.generate(prompt, self.max_tokens, 0.0)  # faults: see reading()
        except (Unreachable, KeyRejected) as exc:
            self._down = self._down or str(exc)  # the rest fail fast, as faults
            raise
        if self.cache is not None:
            self.cache.put(key, reply.to_json())
        return read_judgement(reply, letters)

    def stop(self) -> None:
        if self._prefetcher is not None:
            self._prefetcher.stop()
        if self._backend is not None:
            self._backend.close()


def _cached(reading: Reading) -> Reading:
    return Reading(reading.outcome, reading.letter, reading.detail, reading.reply, cached=True)
