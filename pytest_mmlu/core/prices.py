"""Money: prices per million tokens (`--mmlu-prices`, `--mmlu-price`), what a reply cost at them, and the run's
budget (`--mmlu-budget`). No price is built in: prices change, and a stale one would be a silent lie.

A price file, TOML or JSON, maps backend -> model -> prices in dollars per million tokens:

    [deepseek."deepseek-chat"]
    input = 0.27          # prompt tokens
    cached_input = 0.07   # prompt tokens served from the service's cache (default: the input price)
    output = 1.10         # generated tokens, reasoning included

A model named "*" prices every model of its backend that has no entry of its own.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import tomllib

from .errors import SetupError

MILLION = 1_000_000


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens."""

    input: float
    output: float
    cached_input: float | None = None  # None: as input
    source: str = ""  # where it came from: "--mmlu-price", or the file and its entry

    def cost(self, figures: Mapping) -> float | None:
        """Dollars for one reply's tokens (a record's or a Usage's fields); None when the service did not report
        both the tokens in and out: a cost is never guessed."""
        tokens_in, tokens_out = figures.get("tokens_in"), figures.get("tokens_out")
        if not isinstance(tokens_in, int) or not isinstance(tokens_out, int):
            return None
        cached = figures.get("tokens_cached")
        cached = min(cached, tokens_in) if isinstance(cached, int) else 0
        cached_price = self.input if self.cached_input is None else self.cached_input
        return ((tokens_in - cached) * self.input + cached * cached_price + tokens_out * self.output) / MILLION

    def describe(self) -> str:
        cached = "" if self.cached_input is None else f", cached input ${self.cached_input:g}"
        return f"${self.input:g} in / ${self.output:g} out per million tokens{cached} ({self.source})"


def _amount(value, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number of dollars, not {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{what} must be 0 or more, not {value!r}")
    return number


def parse_price(text: str) -> Price:
    """`--mmlu-price IN/OUT` or `IN/OUT/CACHED`: dollars per million tokens for the run's model."""
    parts = [p.strip().lstrip("$") for p in str(text).split("/")]
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"--mmlu-price must be IN/OUT (or IN/OUT/CACHED_IN), dollars per million tokens, "
                         f"as 0.27/1.10; not {text!r}")
    numbers = [_amount(p, "--mmlu-price") for p in parts]
    return Price(numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else None, "--mmlu-price")


def read_prices(path: str | Path) -> dict[tuple[str, str], Price]:
    """A price file: (backend, model) -> Price. Raises SetupError with one line naming what is wrong."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SetupError(f"--mmlu-prices {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise SetupError(f"--mmlu-prices {path}: not valid {kind} ({str(exc).splitlines()[0]})") from None
    prices = {}
    for backend, models in (data.items() if isinstance(data, dict) else ()):
        if not isinstance(models, dict):
            raise SetupError(f"--mmlu-prices {path}: {backend!r} must hold models, each with input and output "
                             f"prices per million tokens")
        for model, entry in models.items():
            where = f"{path.name} [{backend}.{model}]"
            if not isinstance(entry, dict) or not {"input", "output"} <= set(entry):
                raise SetupError(f"--mmlu-prices {path}: {backend}.{model} needs `input` and `output` "
                                 f"(dollars per million tokens)")
            unknown = set(entry) - {"input", "output", "cached_input"}
            if unknown:
                raise SetupError(f"--mmlu-prices {path}: {backend}.{model} has {', '.join(sorted(unknown))}; "
                                 f"the prices are input, output and cached_input")
            try:
                prices[(backend, model)] = Price(
                    _amount(entry["input"], f"{backend}.{model}.input"),
                    _amount(entry["output"], f"{backend}.{model}.output"),
                    None if entry.get("cached_input") is None
                    else _amount(entry["cached_input"], f"{backend}.{model}.cached_input"), where)
            except ValueError as exc:
                raise SetupError(f"--mmlu-prices {path}: {exc}") from None
    if not prices:
        raise SetupError(f"--mmlu-prices {path}: no prices in it (expected [backend.\"model\"] tables with input "
                         f"and output)")
    return prices


def price_for(prices: Mapping[tuple[str, str], Price], backend: str, *models: str | None) -> Price | None:
    """The entry for this backend and the first of `models` (as served, as asked) it has, else its "*"."""
    for model in models:
        if model and (backend, model) in prices:
            return prices[(backend, model)]
    return prices.get((backend, "*"))


# -- the budget ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """`--mmlu-budget`: tokens (in and out, as the services count them) or dollars this run may spend."""

    amount: float
    money: bool  # True: dollars; False: tokens

    def describe(self, value: float | None = None) -> str:
        value = self.amount if value is None else value
        return money(value) if self.money else f"{tokens(value)} tokens"


_SCALE = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "b": 1e9}


def parse_budget(text: str) -> Budget:
    """`2M`, `500k`, `150000` (tokens) or `$5`, `$0.50` (dollars)."""
    value = str(text).strip().replace("_", "").replace(",", "")
    if value.startswith("$"):
        try:
            amount = float(value[1:])
        except ValueError:
            amount = -1.0
        if not math.isfinite(amount) or amount <= 0:
            raise ValueError(f"--mmlu-budget in dollars must be above 0, as $5 or $0.50; not {text!r}")
        return Budget(amount, True)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kKmMgGbB]?)", value)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"--mmlu-budget must be tokens (as 2M, 500k or 150000) or dollars (as $5); not {text!r}")
    return Budget(float(match.group(1)) * _SCALE[match.group(2).lower()], False)


def money(dollars: float) -> str:
    """$12.35, $0.50, $0.0123, $0.00004123: cents, or four significant digits for a small run's cost."""
    if dollars == 0:
        return "$0"
    if dollars >= 0.1:
        return f"${dollars:,.2f}"
    return "$" + f"{dollars:.{3 - math.floor(math.log10(dollars))}f}".rstrip("0")  # four significant digits


def tokens(count: float) -> str:
    """1.25M, 340k, 912."""
    if count >= 1e6:
        return f"{count / 1e6:.3g}M"
    if count >= 1e4:
        return f"{count / 1e3:.3g}k"
    return f"{count:,.0f}"
