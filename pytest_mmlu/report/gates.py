"""Gates: `--mmlu-min-accuracy [SCOPE=]VALUE`, `--mmlu-max-drop [SCOPE=]POINTS` and `--mmlu-equivalent
[SCOPE=]POINTS`, parsed, their scopes checked, each one's verdict, and whether together they hold (the exit status
of a gated run)."""

from __future__ import annotations

import argparse
import difflib
from dataclasses import dataclass
from typing import Iterable

from ..core.errors import OptionError
from .stats import holm_adjusted

FORMS = "VALUE or SCOPE=VALUE, VALUE as 0.55 or 55%"
EPSILON = 1e-9


@dataclass(frozen=True)
class Gate:
    minimum: float
    scope: str = "overall"

    def describe(self) -> str:
        return f"{self.scope} >= {self.minimum * 100:.1f}%"


@dataclass(frozen=True)
class GateVerdict:
    gate: Gate
    actual: float | None
    holds: bool
    reason: str


def parse_gate(text: str) -> Gate:
    raw = str(text).strip()
    scope, _, value = raw.rpartition("=")
    scope = scope.strip() or "overall"
    value = value.strip()
    try:
        minimum = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--mmlu-min-accuracy {raw!r}: {value!r} is not a number ({FORMS})") from None
    if not 0 <= minimum <= 1 or minimum != minimum:
        raise argparse.ArgumentTypeError(f"--mmlu-min-accuracy {raw!r}: must be within 0 and 1 (0% and 100%), "
                                         f"not {value}")
    return Gate(minimum, scope)


@dataclass(frozen=True)
class DropGate:
    """`--mmlu-max-drop [SCOPE=]POINTS`: a significant drop against the baseline of more than POINTS."""

    points: float  # percentage points
    scope: str = "overall"

    def describe(self) -> str:
        return f"{self.scope} drop <= {self.points:g} points (or not significant)"


DROP_FORMS = "POINTS or SCOPE=POINTS, POINTS in percentage points such as 2 or 0.5"


def _parse_points(text: str, option: str, low_open: bool = False) -> tuple[str, float]:
    raw = str(text).strip()
    scope, _, value = raw.rpartition("=")
    scope = scope.strip() or "overall"
    value = value.strip().removesuffix("%")
    try:
        points = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{option} {raw!r}: {value!r} is not a number ({DROP_FORMS})") from None
    if not 0 <= points <= 100 or points != points or (low_open and points == 0):
        span = "above 0 and at most 100" if low_open else "within 0 and 100"
        raise argparse.ArgumentTypeError(f"{option} {raw!r}: must be {span} points, not {value}")
    return scope, points


def parse_drop(text: str) -> DropGate:
    scope, points = _parse_points(text, "--mmlu-max-drop")
    return DropGate(points, scope)


@dataclass(frozen=True)
class EquivalenceGate:
    """`--mmlu-equivalent [SCOPE=]POINTS`: the 90% interval of the paired difference lies within ±POINTS."""

    points: float  # the margin, in percentage points
    scope: str = "overall"

    def describe(self) -> str:
        return f"{self.scope} equivalent within ±{self.points:g} points"


def parse_equivalent(text: str) -> EquivalenceGate:
    scope, points = _parse_points(text, "--mmlu-equivalent", low_open=True)  # no interval fits inside ±0
    return EquivalenceGate(points, scope)


def check_scopes(gates: Iterable[Gate], subjects: Iterable[str], categories: Iterable[str],
                 option: str = "--mmlu-min-accuracy") -> None:
    known = {"overall", *subjects, *categories}
    for gate in gates:
        if gate.scope not in known:
            close = difflib.get_close_matches(gate.scope, sorted(known), n=3, cutoff=0.6)
            hint = f"; did you mean: {', '.join(close)}?" if close else ""
            raise OptionError(f"{option}: unknown scope {gate.scope!r}{hint}")


def evaluate(gates: Iterable[Gate], summary, shard: str | None = None) -> list[GateVerdict]:
    """Each gate's verdict on the summary. In a shard (`shard`: "2/4"), a scope none of whose questions fell in it
    is not judged here: it holds, and says so (the merged report's gates judge it)."""
    verdicts = []
    for gate in gates:
        tally = summary.scope(gate.scope)
        if shard and (tally is None or tally.selected == 0):
            verdicts.append(GateVerdict(gate, None, True, f"none of its questions in shard {shard}: gate it on the "
                                                          f"merged report (pytest-mmlu merge)"))
            continue
        if tally is None or tally.scored == 0:
            verdicts.append(GateVerdict(gate, None, False, "no questions scored"))
            continue
        holds = tally.accuracy + EPSILON >= gate.minimum
        verdicts.append(GateVerdict(gate, tally.accuracy, holds,
                                    f"{tally.accuracy * 100:.1f}% on {tally.scored} questions"))
    return verdicts


def gates_hold(verdicts: Iterable, errors: int, other_failures: int = 0, cut_short: bool = False) -> bool:
    """With at least one gate, the gates decide the exit status: they hold when every gate holds, no question
    errored, nothing else failed (own tests, files that could not be collected, MMLU items whose xdist worker
    crashed) and the run was not cut short (-x, --maxfail: the gates saw only part of it); wrong answers alone do
    not fail a gated run."""
    return all(v.holds for v in verdicts) and errors == 0 and other_failures == 0 and not cut_short


SIGNIFICANCE = 0.05
CORRECTIONS = ("holm", "none")  # for the drop gates of one run, tested together


@dataclass(frozen=True)
class DropVerdict:
    gate: DropGate
    drop: float | None  # percentage points lost on the common questions (negative: a gain)
    p_value: float | None  # McNemar's exact p of this scope alone
    common: int
    holds: bool
    reason: str
    adjusted_p: float | None = None  # the p-value the verdict used: Holm-adjusted across the run's drop gates
    correction: str = "none"  # "holm" or "none"
    family: int = 1  # scopes whose drop gates were tested together (Holm's k)


def evaluate_drops(gates: Iterable[DropGate], scopes: dict, correction: str = "holm") -> list[DropVerdict]:
    """Each gate against the paired counts of its scope (`baseline.Paired`, by scope name).

    Fails only when the drop is larger than allowed AND McNemar's exact test says it is no noise: with
    `holm`, the p-values of all the run's drop gates are adjusted together (Holm's step-down), so the chance that
    noise fails any of them stays at 5% however many scopes are gated (bench/scopes.py)."""
    gates = list(gates)
    tested = {g.scope: scopes[g.scope] for g in gates if scopes.get(g.scope) is not None and scopes[g.scope].common}
    raw = {scope: paired.p_value for scope, paired in tested.items()}  # one test per scope, however many gates
    adjusted = dict(zip(raw, holm_adjusted(list(raw.values())))) if correction == "holm" else raw
    family = len(tested)
    verdicts = []
    for gate in gates:
        if gate.scope not in tested:
            verdicts.append(DropVerdict(gate, None, None, 0, False, "no question answered in both runs",
                                        correction=correction, family=family))
            continue
        paired, p, q = tested[gate.scope], raw[gate.scope], adjusted[gate.scope]
        drop = -paired.delta * 100
        too_large = drop > gate.points + EPSILON * 100
        holds = not (too_large and q < SIGNIFICANCE)
        why = "" if not too_large else (", significant" if q < SIGNIFICANCE else ", not significant: noise")
        verdicts.append(DropVerdict(gate, drop, p, paired.common, holds,
                                    f"{paired.baseline_correct / paired.common * 100:.1f}% -> "
                                    f"{paired.current_correct / paired.common * 100:.1f}%, "
                                    f"{-drop:+.1f} points on {paired.common} common questions, "
                                    f"{paired.newly_wrong} newly wrong, {paired.newly_right} newly right, "
                                    f"McNemar p = {p:.3g}{_corrected(correction, q, family)}{why}"
                                    f"{_letters(paired)}",
                                    q, correction, family))
    return verdicts


def _letters(paired) -> str:
    """'; 12 questions changed letter, 9 of them near-ties (...)', where the scope's records were compared."""
    return "" if paired.letter_changes is None else f"; {paired.letter_changes.describe()}"


def _corrected(correction: str, adjusted: float, family: int) -> str:
    if family < 2:
        return ""  # one gate: nothing to correct
    if correction == "holm":
        return f", Holm-adjusted over {family} gated scopes p = {adjusted:.3g}"
    return f", not corrected for {family} gated scopes"


@dataclass(frozen=True)
class EquivalenceVerdict:
    gate: EquivalenceGate
    difference: float | None  # current minus baseline on the common questions, percentage points
    interval: tuple[float, float] | None  # its 90% interval, percentage points
    common: int
    holds: bool
    reason: str


def evaluate_equivalence(gates: Iterable[EquivalenceGate], scopes: dict) -> list[EquivalenceVerdict]:
    """Each gate against the paired counts of its scope: it holds when the 90% interval of the difference
    (Newcombe's, `Paired.interval`) lies inside ±POINTS, which is two one-sided tests at 5%. Several such gates
    need no correction: the run holds only when every one does (an intersection-union test)."""
    verdicts = []
    for gate in gates:
        paired = scopes.get(gate.scope)
        if paired is None or paired.common == 0:
            verdicts.append(EquivalenceVerdict(gate, None, None, 0, False, "no question answered in both runs"))
            continue
        low, high = (x * 100 for x in paired.interval())
        difference = paired.delta * 100
        holds = -gate.points < low and high < gate.points
        verdicts.append(EquivalenceVerdict(
            gate, difference, (low, high), paired.common, holds,
            f"{paired.baseline_correct / paired.common * 100:.1f}% -> "
            f"{paired.current_correct / paired.common * 100:.1f}%, {difference:+.1f} points on {paired.common} "
            f"common questions, 90% interval [{low:+.1f}, {high:+.1f}] "
            f"{'inside' if holds else 'not inside'} ±{gate.points:g}, {paired.newly_wrong} newly wrong, "
            f"{paired.newly_right} newly right{_letters(paired)}"))
    return verdicts
