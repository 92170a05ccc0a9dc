"""The run's settings: options declared once, resolved once (CLI over env over ini), validated.

Every option `--mmlu-foo-bar` is also the ini key `mmlu_foo_bar` and the
environment variable `MMLU_FOO_BAR`.
"""

from __future__ import annotations

import argparse
import difflib
import os
from dataclasses import dataclass

import pytest

from ..backends import SERVICES, default_base_url, normalise_url
from ..core.permute import parse_permute
from ..core.prices import parse_budget, parse_price
from ..core.shard import parse_shard
from ..engine.settings import Settings
from ..prompts import FORMATS
from ..report import gates as gates_mod

SCORINGS = ("generate", "logprobs")


def _int_in(low: int, high: int | None, what: str):
    def parse(text: str) -> int:
        try:
            value = int(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, not {text!r}") from None
        if value < low or (high is not None and value > high):
            span = f"{low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{what} must be {span}, not {value}")
        return value
    return parse


def _positive_float(what: str, allow_zero: bool = False):
    def parse(text: str) -> float:
        try:
            value = float(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, not {text!r}") from None
        if value < 0 or (value == 0 and not allow_zero) or value != value:
            raise argparse.ArgumentTypeError(f"{what} must be {'0 or more' if allow_zero else 'above 0'}, not {text}")
        if value == float("inf"):  # no service takes it (JSON has no infinity), and no wait should be endless
            raise argparse.ArgumentTypeError(f"{what} must be a finite number, not {text}")
        return value
    return parse


def _as_argparse(parse):
    """A parser of core's that raises ValueError, as argparse wants it."""
    def typed(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return typed


def _choice(options, what: str):
    def parse(text: str) -> str:
        value = str(text).strip()
        if value not in options:
            close = difflib.get_close_matches(value, options, n=3, cutoff=0.4)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise argparse.ArgumentTypeError(
                f"unknown {what} {value!r}{hint} (choose from {', '.join(options)})")
        return value
    return parse


def _url(text: str) -> str:
    value = str(text).strip()
    if not value.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"--mmlu-base-url must start with http:// or https://, not {value!r}")
    return normalise_url(value)


@dataclass(frozen=True)
class Option:
    """One row of the table: the option `--mmlu-NAME`, the ini key and environment variable that go with it,
    and the Settings field it fills."""

    name: str  # CLI name without the leading --mmlu-
    help: str
    type: object = str
    repeat: bool = False  # repeatable, also comma-separated; a tuple in Settings
    flag: bool = False
    default: object = None
    metavar: str | None = None
    field: str | None = None  # the Settings field, where it is not the name with underscores

    @property
    def dest(self) -> str:
        return "mmlu_" + self.name.replace("-", "_")

    @property
    def setting(self) -> str:
        return self.field or self.name.replace("-", "_")


OPTIONS = (
    Option("backend", "model backend; giving it turns the plugin on: " + ", ".join(SERVICES),
           _choice(tuple(SERVICES), "backend"), metavar="NAME"),
    Option("model", "model id for the backend (a .gguf path for llama-cpp)", metavar="NAME"),
    Option("base-url", "server address for HTTP backends, with or without /v1; repeat to spread "
           "load over several servers", _url, repeat=True, metavar="URL", field="base_urls"),
    Option("subject", "subject, category (stem, humanities, social_sciences, other; KMMLU's applied_science, "
           "humss) or all; "
           "repeatable and comma-separated (default: all)", repeat=True, metavar="S", field="subjects"),
    Option("dataset", "Hugging Face dataset id, or a local folder or file (default: cais/mmlu)",
           default="cais/mmlu", metavar="ID_OR_PATH"),
    Option("split", "split to evaluate (default: test)", default="test", metavar="NAME"),
    Option("shots", "few-shot examples per prompt, 0 to 5, from the dev split (default: 0)",
           _int_in(0, 5, "--mmlu-shots"), default=0, metavar="K"),
    Option("limit", "at most N questions per subject: a seeded, reproducible sample",
           _int_in(1, None, "--mmlu-limit"), metavar="N"),
    Option("scoring", "generate: read the answer from generated text; logprobs: most likely "
           "letter in one forward pass (default: the backend's best)",
           _choice(SCORINGS, "scoring"), metavar="generate|logprobs"),
    Option("prompt", "prompt format: harness (lm-evaluation-harness's MMLU prompt), instruct "
           "(asks for 'Answer: X'), mmlu-pro (MMLU-Pro's official CoT prompt) or letter (asks for the "
           "letter alone; with logprobs scoring, reads the first token of a chat reply); default: harness "
           "for logprobs where a completions endpoint serves, else letter; instruct for generate; mmlu-pro "
           "for MMLU-Pro data",
           _choice(FORMATS, "prompt format"), metavar="|".join(FORMATS)),
    Option("min-accuracy", "a gate: [SCOPE=]VALUE, overall or for a subject or category, "
           "VALUE as 0.55 or 55%; repeatable", gates_mod.parse_gate, repeat=True, metavar="[SCOPE=]VALUE",
           field="gates"),
    Option("baseline", "a previous JSON report to compare with, question by question", metavar="PATH"),
    Option("report", "write the JSON report here", metavar="PATH"),
    Option("cache", "where replies are cached (default: under pytest's cache dir)", metavar="DIR"),
    Option("no-cache", "neither read nor write the reply cache", flag=True, default=False),
    Option("concurrency", "requests in flight per process (default: the backend's best)",
           _int_in(1, 1024, "--mmlu-concurrency"), metavar="N"),
    Option("max-tokens", "generation token limit (default: the backend's)",
           _int_in(1, None, "--mmlu-max-tokens"), metavar="N"),
    Option("temperature", "sampling temperature (default: 0)",
           _positive_float("--mmlu-temperature", allow_zero=True), default=0.0, metavar="T"),
    Option("timeout", "seconds to wait for one reply (default: 120)",
           _positive_float("--mmlu-timeout"), default=120.0, metavar="SECONDS"),
    Option("retries", "retries after a failed request, with backoff (default: 3)",
           _int_in(0, 20, "--mmlu-retries"), default=3, metavar="N"),
    Option("offline", "score from the reply cache only; never contact the backend; questions "
           "without a cached reply are not run", flag=True, default=False),
    Option("label", "the run's name in the header, summary, reports and comparisons "
           "(default: model and backend)", metavar="TEXT"),
    Option("markdown", "write the summary as Markdown here (also appended to $GITHUB_STEP_SUMMARY "
           "when that is set)", metavar="PATH"),
    Option("html", "write the results page here: one self-contained HTML file to browse every question "
           "(pytest-mmlu view builds the same page from JSON reports)", metavar="PATH"),
    Option("max-drop", "with --mmlu-baseline, a gate: [SCOPE=]POINTS fails when accuracy on the common "
           "questions dropped by more than POINTS percentage points and McNemar's exact test finds "
           "the drop significant at 5%; repeatable", gates_mod.parse_drop, repeat=True,
           metavar="[SCOPE=]POINTS", field="drop_gates"),
    Option("drop-correction", "how the p-values of several --mmlu-max-drop gates are corrected together: holm "
           "(Holm's step-down: noise fails any of them at most 5% of the time) or none (each gate at 5% alone); "
           "default: holm", _choice(gates_mod.CORRECTIONS, "correction"), default="holm", metavar="holm|none"),
    Option("equivalent", "with --mmlu-baseline, a gate: [SCOPE=]POINTS holds only when the 90% interval of the "
           "paired accuracy difference on the common questions lies within ±POINTS percentage points (two "
           "one-sided tests at 5%); repeatable", gates_mod.parse_equivalent, repeat=True,
           metavar="[SCOPE=]POINTS", field="equivalence_gates"),
    Option("judge", "a backend that reads the replies the rules cannot read, answering one letter "
           "or 'none': " + ", ".join(SERVICES), _choice(tuple(SERVICES), "judge backend"), metavar="BACKEND"),
    Option("judge-model", "model id for the judge backend", metavar="NAME"),
    Option("judge-base-url", "server address for the judge backend, with or without /v1", _url,
           metavar="URL"),
    Option("language", "the locale of a multilingual dataset (MMMLU ES_LA, JA_JP, ...; "
           "Global-MMLU and MMLU-ProX es, ja, ...)", metavar="CODE"),
    Option("prices", "a price file (TOML or JSON): backend -> model -> input, output, cached_input in dollars "
           "per million tokens; costs in the summary, report and comparisons", metavar="PATH"),
    Option("price", "prices for the run's model: IN/OUT (or IN/OUT/CACHED_IN) dollars per million tokens, "
           "as 0.27/1.10", _as_argparse(parse_price), metavar="IN/OUT"),
    Option("budget", "stop asking new questions once the run has spent this much: tokens (2M, 500k) or "
           "dollars ($5, with prices); what was answered is kept and scored", _as_argparse(parse_budget),
           metavar="TOKENS|$AMOUNT"),
    Option("redux", "MMLU-Redux annotations (hub id or local folder/file) matched to the questions "
           "of a plain MMLU run: accuracy with and without the known-bad questions", metavar="PATH_OR_ID"),
    Option("shard", "take shard K of N (1-based, e.g. 2/4): a deterministic split by question, balanced "
           "across subjects; the other questions are not collected (pytest-mmlu merge joins the shards' "
           "reports)", parse_shard, metavar="K/N"),
    Option("permute", "ask each question in every rotation of its choices (circular) or in K orders (the "
           "data's own and K-1 seeded random ones); an item passes only when every order is right, and the "
           "summary adds the accuracy in the data's own order and the consistency rate", parse_permute,
           metavar="circular|K"),
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("mmlu", "MMLU benchmark (pytest-mmlu)")
    for opt in OPTIONS:
        cli_help = opt.help.replace("%", "%%")  # argparse formats help text with %; ini help is plain
        if opt.flag:
            group.addoption(f"--mmlu-{opt.name}", action="store_true", dest=opt.dest, default=None,
                            help=cli_help)
            parser.addini(opt.dest, opt.help, type="bool", default=False)
        else:
            group.addoption(f"--mmlu-{opt.name}", action="append" if opt.repeat else "store",
                            dest=opt.dest, type=opt.type, default=None, metavar=opt.metavar,
                            help=cli_help)
            parser.addini(opt.dest, opt.help, type="args" if opt.repeat else "string")


def _split_values(values) -> list[str]:
    out = []
    for value in values:
        out += [v.strip() for v in str(value).split(",") if v.strip()]
    return out


def _raw(config: pytest.Config, opt: Option):
    """CLI over environment over ini; raw strings from env/ini still need their type."""
    cli = config.getoption(opt.dest)
    if cli is not None and cli is not False:
        return cli, True
    env = os.environ.get(opt.dest.upper())
    if env is not None and env.strip() != "":
        return (env.split() if opt.repeat else env), False
    ini = config.getini(opt.dest)
    if ini:
        return ini, False
    return None, True


def resolve(config: pytest.Config) -> Settings:
    """Every option, CLI over environment over ini, typed and checked, into one Settings."""
    values = {}
    for opt in OPTIONS:
        raw, typed = _raw(config, opt)
        if raw is None:
            values[opt.setting] = opt.default
        elif opt.flag:
            values[opt.setting] = raw is True or str(raw).lower() in ("1", "true", "yes", "on")
        else:
            try:
                values[opt.setting] = _typed(opt, raw, typed)
            except argparse.ArgumentTypeError as exc:
                raise pytest.UsageError(f"{exc} (from {opt.dest.upper()} or ini {opt.dest})") from None
        if opt.repeat:
            values[opt.setting] = tuple(values[opt.setting] or ())
        elif opt.flag:
            values[opt.setting] = bool(values[opt.setting])
    values["subjects"] = values["subjects"] or ("all",)
    values["base_urls"] = tuple(dict.fromkeys(values["base_urls"]))
    if values["backend"] and not values["base_urls"]:
        url = default_base_url(SERVICES[values["backend"]])
        values["base_urls"] = (url,) if url else ()
    return Settings(**values)


def _typed(opt: Option, raw, typed: bool):
    """A value from the command line is typed already; one from the environment or ini is text."""
    if not opt.repeat:
        return raw if typed or opt.type is str else opt.type(raw)
    items = raw if typed else _split_values(raw)
    if opt.name == "subject":
        items = _split_values(items)
    return [v if typed or opt.type is str else opt.type(v) for v in items]
