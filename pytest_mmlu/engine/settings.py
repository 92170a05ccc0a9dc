"""The run's settings, resolved once from the options (plugin/options.py): what the engine and the outcome read."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.permute import Permute
from ..core.shard import Shard


@dataclass(frozen=True)
class Settings:
    """Every option's value, typed: one field per row of the option table (plugin/options.py); gates are
    report.gates objects, parsed there."""

    backend: str | None
    model: str | None
    base_urls: tuple[str, ...]
    subjects: tuple[str, ...]
    dataset: str
    split: str
    shots: int
    limit: int | None
    scoring: str | None
    prompt: str | None
    gates: tuple = ()
    baseline: str | None = None
    report: str | None = None
    cache: str | None = None
    no_cache: bool = False
    concurrency: int | None = None
    max_tokens: int | None = None
    temperature: float = 0.0
    timeout: float = 120.0
    retries: int = 3
    offline: bool = False
    label: str | None = None
    markdown: str | None = None
    html: str | None = None
    drop_gates: tuple = ()
    drop_correction: str = "holm"
    equivalence_gates: tuple = ()
    judge: str | None = None
    judge_model: str | None = None
    judge_base_url: str | None = None
    language: str | None = None
    redux: str | None = None
    prices: str | None = None
    price: object = None  # core.prices.Price from --mmlu-price
    budget: object = None  # core.prices.Budget
    shard: Shard | None = None  # --mmlu-shard K/N
    permute: Permute | None = None  # --mmlu-permute circular|K

    @property
    def active(self) -> bool:
        return self.backend is not None

    @property
    def gated(self) -> bool:
        """Whether a gate decides the exit status."""
        return bool(self.gates or self.drop_gates or self.equivalence_gates)
