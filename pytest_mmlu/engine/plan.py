"""How a run asks and reads, decided once: scoring, the log-probability route, the prompt format, the rules that
read the replies, and the generation settings. Everything downstream reads the plan; nothing decides again."""

from __future__ import annotations

from dataclasses import dataclass

from ..backends import Backend, Service, logprob_route
from ..core.errors import SetupError
from ..core.prompt import Prompt
from ..core.reply import Reply
from ..scoring.verdict import Verdict, read_verdict


@dataclass(frozen=True)
class Plan:
    """The resolved plan of one run; the same in every process."""

    scoring: str  # "generate" or "logprobs"
    route: str | None  # logprobs: "completions" reads ' A' after the prompt, "chat" the first token of a reply
    prompt: str  # the prompt format (prompts.FORMATS)
    reading: str  # the rules that read a generated reply (scoring.extract.READERS)
    max_tokens: int
    temperature: float

    def ask(self, backend: Backend, prompt: Prompt, letters: tuple[str, ...]) -> Reply:
        """The one request this plan makes of a backend for one question."""
        if self.route == "chat":
            return backend.score_chat(prompt, letters)
        if self.scoring == "logprobs":
            return backend.score(prompt, letters)
        return backend.generate(prompt, self.max_tokens, self.temperature)

    def key_material(self, prompt: Prompt) -> dict:
        """What of the prompt and the settings changes the reply: the plan's part of the cache key."""
        material = {"scoring": self.scoring}
        if self.scoring == "logprobs":
            material["prompt"] = prompt.text
            if self.route == "chat":
                material.update(route="chat", messages=list(prompt.messages))
        else:
            material.update(messages=list(prompt.messages), max_tokens=self.max_tokens,
                            temperature=self.temperature)
        return material

    def verdict(self, reply: Reply, letters: tuple[str, ...]) -> Verdict:
        """The rules' reading of a reply."""
        return read_verdict(reply, self.scoring, letters, self.reading)


def choose_scoring(asked: str | None, service: Service) -> str:
    """--mmlu-scoring, else the backend's best; one the backend cannot do stops the run at start."""
    scoring = asked or service.scorings[0]
    if scoring not in service.scorings:
        if scoring == "logprobs" and service.no_logprobs:
            raise SetupError(service.no_logprobs)
        raise SetupError(f"the {service.name} backend cannot do {scoring} scoring "
                         f"(it can: {', '.join(service.scorings)})")
    return scoring


def make_plan(settings, service: Service, source, scoring: str) -> Plan:
    """The plan, from the settings, the backend's service and the dataset (which may bring its own prompt
    and reading rules); `scoring` is `choose_scoring`'s, checked before the data was opened."""
    first_url = settings.base_urls[0] if settings.base_urls else None
    route = logprob_route(service, first_url, settings.prompt) if scoring == "logprobs" else None
    # harness for logprobs (letter on a chat route), instruct for generate; a dataset may bring its own
    prompt = settings.prompt or ("letter" if route == "chat" else source.default_prompt(scoring))
    if route and route not in service.logprob_routes:
        raise SetupError(f"the {service.name} backend gives log-probabilities on its "
                         f"{' and '.join(service.logprob_routes)} route only; --mmlu-prompt="
                         f"{prompt} needs the {route} route "
                         f"(letter: chat; harness, instruct: completions)")
    return Plan(scoring=scoring, route=route, prompt=prompt, reading=source.extraction(prompt),
                max_tokens=settings.max_tokens or service.max_tokens, temperature=settings.temperature)
