"""One process's side of a run: questions, prompts, the backend, the cache, requests in flight."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from .. import prompts
from ..backends import SERVICES, auth_headers, logprob_route, make_backend, needs_key
from ..backends.keys import find_key
from ..backends.transport import Transport, connect_error
from ..core.errors import GONE, KEY, BackendError, CannotReach, KeyRejected, NotCached, RunStop, SetupError, Unreachable
from ..core.question import Question
from ..core.reply import Reply
from ..core.subjects import resolve_selection
from ..data import open_source, sample
from .cache import ReplyCache, cache_key
from .concurrency import lanes, per_server
from .judge import Judging, check_options
from .scheduler import Prefetcher
from .settings import Settings

SKIPPED = "\0skipped"  # in the parsed-questions file: rows the data left out (not a subject name)


class Evaluation:
    def __init__(self, settings: Settings, rootdir: Path, cache_dir: Path | None):
        self.settings = settings
        self.service = SERVICES[settings.backend]
        self.scoring = settings.scoring or self.service.scorings[0]
        if self.scoring not in self.service.scorings:
            if self.scoring == "logprobs" and self.service.no_logprobs:
                raise SetupError(self.service.no_logprobs)
            raise SetupError(f"the {self.service.name} backend cannot do {self.scoring} scoring "
                             f"(it can: {', '.join(self.service.scorings)})")
        first_url = settings.base_urls[0] if settings.base_urls else None
        # logprobs: `completions` reads ' A' after the harness prompt, `chat` the first token of a reply
        self.route = logprob_route(self.service, first_url, settings.prompt) if self.scoring == "logprobs" else None
        self.max_tokens = settings.max_tokens or self.service.max_tokens
        self.concurrency = settings.concurrency or self.service.concurrency
        self.server_slots: list[int | None] = []  # per server, as each says (/props total_slots)
        self.workers = (1, 0)  # processes sharing the servers, and this one's index (xdist)
        self.source = open_source(settings.dataset, settings.language)
        # harness for logprobs (letter on a chat route), instruct for generate; a dataset may bring its own
        self.prompt_format = settings.prompt or ("letter" if self.route == "chat"
                                                 else self.source.default_prompt(self.scoring))
        if self.route and self.route not in self.service.logprob_routes:
            raise SetupError(f"the {self.service.name} backend gives log-probabilities on its "
                             f"{' and '.join(self.service.logprob_routes)} route only; --mmlu-prompt="
                             f"{self.prompt_format} needs the {self.route} route "
                             f"(letter: chat; harness, instruct: completions)")
        self.extraction = self.source.extraction(self.prompt_format)  # which rules read the replies
        self.key = None
        if self.service.key_env:
            self.key = find_key(self.service.key_env, rootdir)
            if not self.key and needs_key(self.service, settings.base_urls[0] if settings.base_urls else None):
                raise SetupError(f"the {self.service.name} backend needs an API key: set "
                                 f"{self.service.key_env} in the environment or in {rootdir / '.env'}")
        self.cache = None if settings.no_cache or cache_dir is None else ReplyCache(cache_dir)
        self.model_id: str | None = None  # as the server reports it, for the cache key
        self._backends = None
        self._ident: dict | None = None
        self._prefetcher = None
        self._questions = None
        self._shots: dict[str, list[Question]] = {}
        self._ready: dict[tuple, Reply] = {}  # cached replies found ahead of their item
        self._waiting: dict[tuple, str] = {}  # questions whose request is queued or in flight -> key
        self.stopped: RunStop | None = None  # a rejected key, or every server gone: nothing more is asked
        self._gone: set[int] = set()  # indices of servers that went away (others take their questions)
        self.offline = settings.offline  # replies come only from the cache
        self._lock = threading.Lock()
        self.judge = self._judging(settings, rootdir)
        self._for_judge: dict[str, tuple[int, Question]] = {}  # reply key -> the question it answers

    # -- data ---------------------------------------------------------------
    def subjects(self) -> list[str]:
        return resolve_selection(self.settings.subjects, self.source.subjects(self.settings.split))

    def questions(self) -> list[Question]:
        if self._questions is None:
            by_subject = self._parsed(self.settings.split, self.subjects())
            self._questions = [q for subject in sorted(by_subject)
                               for q in sample(by_subject[subject], self.settings.limit)]
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
            by_subject = {s: [Question(s, i, q, tuple(c), a, *meta) for i, q, c, a, *meta in rows[s]]
                          for s in subjects}
            self.source.skipped = rows.get(SKIPPED, [])  # rows the data left out, for the header
            return by_subject
        except (OSError, ValueError, KeyError, TypeError):
            pass  # absent or damaged: parse the data again
        by_subject = self.source.load(split, subjects)
        rows = {s: [(q.index, q.question, q.choices, q.answer) + ((q.meta,) if q.meta else ()) for q in qs]
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

    # -- backend ------------------------------------------------------------
    def backends(self) -> list:
        if self._backends is None:
            headers = auth_headers(self.service, self.key)
            urls = self.settings.base_urls or (None,)
            try:
                self._backends = [
                    make_backend(self.service, url, self.settings.model or self.service.model,
                                 Transport(timeout=self.settings.timeout, retries=self.settings.retries,
                                           headers=headers, secrets=(self.key,) if self.key else ()))
                    for url in urls]
            except ImportError as exc:
                raise SetupError(f"the {self.service.name} backend needs {exc.name}: "
                                 f"pip install 'pytest-mmlu[{self.service.name}]'") from None
        return self._backends

    def check_reachable(self) -> None:
        """At start: every server answers and accepts the key; learn the served model id."""
        for url in self.settings.base_urls:
            why = connect_error(url, self.settings.timeout)
            if why:
                raise CannotReach(f"cannot reach the {self.service.name} backend at {url} "
                                  f"({why}); is the server running?")
        for backend in self.backends():
            try:
                model_id = backend.probe()
            except KeyRejected as exc:
                raise SetupError(f"key rejected for {self.service.name}: {exc}") from None
            except Unreachable as exc:
                raise CannotReach(str(exc)) from None
            except BackendError as exc:
                raise SetupError(str(exc)) from None
            self.model_id = self.model_id or model_id
            if self.cache is not None and model_id:  # so that offline runs find the same replies
                self.cache.put_meta(self._model_meta(backend.base_url), model_id)
            if self.route == "chat":
                try:
                    backend.check_logprobs()
                except BackendError as exc:
                    raise SetupError(str(exc)) from None
        self.server_slots = [b.slots for b in self.backends()]

    def _model_meta(self, url: str | None) -> str:
        return f"served_model {self.service.name} {url} {self.settings.model or ''}"

    def go_offline(self) -> None:
        """From now on replies come only from the cache; the served model id is the one stored with it."""
        self.offline = True
        if self.cache is not None and self.service.served_model_id and self.model_id is None:
            for url in self.settings.base_urls or (None,):
                self.model_id = self.cache.get_meta(self._model_meta(url))
                if self.model_id:
                    break

    def all_cached(self) -> bool:
        """Does every question of the selection have a cached reply (with the stored model id)?"""
        return self.cache is not None and all(
            self.cached(self.key_for(self.prompt(q))) is not None for q in self.questions())

    def identity(self) -> dict:
        ident = {"backend": self.service.name, "model": self.settings.model or self.service.model}
        if self.service.served_model_id:
            ident["served_model"] = self.model_id
        ident.update(self.backends()[0].identity())
        return ident

    # -- answering ----------------------------------------------------------
    def prompt(self, question: Question) -> prompts.Prompt:
        return prompts.build(self.prompt_format, question, self.shots(question.subject))

    def key_for(self, prompt: prompts.Prompt) -> str:
        material = {"v": 1, **self._identity_cached(), "scoring": self.scoring}
        if self.scoring == "logprobs":
            material["prompt"] = prompt.text
            if self.route == "chat":
                material.update(route="chat", messages=list(prompt.messages))
        else:
            material.update(messages=list(prompt.messages), max_tokens=self.max_tokens,
                            temperature=self.settings.temperature)
        return cache_key(material)

    def _identity_cached(self) -> dict:
        if self._ident is None:
            self._ident = self.identity()
        return self._ident

    def cached(self, key: str) -> Reply | None:
        if self.cache is None:
            return None
        data = self.cache.get(key)
        if data is None:
            return None
        try:
            return Reply.from_json(data)
        except TypeError:
            self.cache.damaged_rows += 1
            return None

    def submit(self, position: int, question: Question) -> None:
        """Make sure the reply to this question is on its way, or found in the cache."""
        qid = (question.subject, question.index)
        if qid in self._ready or qid in self._waiting:
            return
        prompt = self.prompt(question)
        key = self.key_for(prompt)
        hit = self.cached(key)
        if hit is not None:
            self._ready[qid] = hit
            if self.judge is not None:  # re-scoring cached replies: the judge starts now
                self.judge.submit(position, question, hit)
        elif self.offline or self.stopped:
            return  # reply() says why there is none
        else:
            self._waiting[qid] = key
            if self.judge is not None:
                self._for_judge[key] = (position, question)
            self.prefetcher().submit(position, key, (key, prompt, question.letters), group=question.subject)

    def reply(self, position: int, question: Question) -> tuple[Reply, bool]:
        """The reply to one question, and whether it came from the cache."""
        qid = (question.subject, question.index)
        self.submit(position, question)
        if qid in self._ready:
            return self._ready.pop(qid), True
        if qid not in self._waiting:
            if self.offline:
                raise NotCached("no cached reply (--mmlu-offline)")
            raise self.stopped.again()
        return self._prefetcher.wait(self._waiting.pop(qid)), False

    def prefetcher(self) -> Prefetcher:
        if self._prefetcher is None:
            counts = self.per_server()
            servers, counts = lanes(self.backends(), counts, self.server_slots, self.workers)
            # threads pinned to server slots also keep to a subject: its shots stay cached in the slot
            self._prefetcher = Prefetcher(servers, counts, self._ask, affinity=len(servers) > len(self.backends()))
        return self._prefetcher

    def _ask(self, backend, task: tuple[str, prompts.Prompt, tuple[str, ...]]) -> Reply:
        """In a request thread: ask, store as it arrives. A server that went away hands its
        questions to the others; a rejected key, or the last server gone, stops the run."""
        key, prompt, letters = task
        servers = self.backends()
        # a request thread may hold a view of its server pinned to one slot (concurrency.lanes)
        index = next(i for i, b in enumerate(servers) if b is backend or b.base_url == backend.base_url)
        while True:
            with self._lock:
                if self.stopped:
                    raise self.stopped.again()
                if index in self._gone:
                    index = next(i for i in range(len(servers)) if i not in self._gone)
                    backend = servers[index]
            try:
                reply = self._ask_once(backend, prompt, letters)
                break
            except KeyRejected as exc:
                with self._lock:
                    self.stopped = self.stopped or RunStop(KEY, self.service.name, self._where(index), str(exc))
            except Unreachable as exc:
                with self._lock:
                    self._gone.add(index)
                    if len(self._gone) == len(servers) and not self.stopped:
                        where = ", ".join(self.settings.base_urls) or "in process"
                        self.stopped = RunStop(GONE, self.service.name, where, str(exc).rsplit(": ", 1)[-1])
        if self.cache is not None:
            self.cache.put(key, reply.to_json())
        if self.judge is not None and key in self._for_judge:  # unreadable: to the judge at once
            self.judge.submit(*self._for_judge.pop(key), reply)
        return reply

    # -- the judge ----------------------------------------------------------
    def _judging(self, settings: Settings, rootdir: Path) -> Judging | None:
        check_options(settings)
        if not settings.judge:
            return None
        if self.scoring != "generate":
            raise SetupError(f"--mmlu-judge reads generated replies; it has nothing to read with "
                             f"{self.scoring} scoring")
        judging = Judging(settings, rootdir, self.cache)
        judging.style = self.extraction
        return judging

    def judge_reading(self, position: int, question: Question, reply: Reply):
        """The judge's reading of a reply the rules cannot read; None without a judge or when not needed."""
        if self.judge is None or self.scoring != "generate":
            return None
        return self.judge.reading(position, question, reply)

    def _ask_once(self, backend, prompt: prompts.Prompt, letters: tuple[str, ...]) -> Reply:
        if self.route == "chat":
            return backend.score_chat(prompt, letters)
        if self.scoring == "logprobs":
            return backend.score(prompt, letters)
        return backend.generate(prompt, self.max_tokens, self.settings.temperature)

    def _where(self, index: int) -> str:
        return self.backends()[index].base_url or "in process"

    def per_server(self) -> list[int]:
        """Requests in flight per server from this process: --mmlu-concurrency, else the server's slots."""
        return per_server(len(self.backends()), self.settings.concurrency, self.server_slots,
                          self.service.concurrency, self.workers[0])

    def stop(self) -> None:
        if self.judge is not None:
            self.judge.stop()
        if self._prefetcher is not None:
            self._prefetcher.stop()
        for backend in self._backends or ():
            backend.close()
