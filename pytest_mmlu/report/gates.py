"""Gates: `--mmlu-min-accuracy [SCOPE=]VALUE` and `--mmlu-max-drop [SCOPE=]POINTS`, parsed, their scopes checked,
each one's verdict, and whether together they hold (the exit status of a gated run)."""

from __future__ import annotations

import argparse
import difflib
from dataclasses import dataclass
from typing import Iterable

from ..core.errors import OptionError

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


def parse_drop(text: str) -> DropGate:
    raw = str(text).strip()
    scope, _, value = raw.rpartition("=")
    scope = scope.strip() or "overall"
    value = value.strip().removesuffix("%")
    try:
        points = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--mmlu-max-drop {raw!r}: {value!r} is not a number ({DROP_FORMS})") from None
    if not 0 <= points <= 100 or points != points:
        raise argparse.ArgumentTypeError(f"--mmlu-max-drop {raw!r}: must be within 0 and 100 points, not {value}")
    return DropGate(points, scope)


def check_scopes(gates: Iterable[Gate], subjects: Iterable[str], categories: Iterable[str],
                 option: str = "--mmlu-min-accuracy") -> None:
    known = {"overall", *subjects, *categories}
    for gate in gates:
        if gate.scope not in known:
            close = difflib.get_close_matches(gate.scope, sorted(known), n=3, cutoff=0.6)
            hint = f"; did you mean: {', '.join(close)}?" if close else ""
            raise OptionError(f"{option}: unknown scope {gate.scope!r}{hint}")


def evaluate(gates: Iterable[Gate], summary) -> list[GateVerdict]:
    verdicts = []
    for gate in gates:
        tally = summary.scope(gate.scope)
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


@dataclass(frozen=True)
class DropVerdict:
    gate: DropGate
    drop: float | None  # percentage points lost on the common questions (negative: a gain)
    p_value: float | None
    common: int
    holds: bool
    reason: str


def evaluate_drops(gates: Iterable[DropGate], scopes: dict) -> list[DropVerdict]:
    """Each gate against the paired counts of its scope (`baseline.Paired`, by scope name).

    Fails only when the drop is larger than allowed AND McNemar's exact test says it is no noise."""
    verdicts = []
    for gate in gates:
        paired = scopes.get(gate.scope)
        if paired is None or paired.common == 0:
            verdicts.append(DropVerdict(gate, None, None, 0, False, "no question answered in both runs"))
            continue
        drop = -paired.delta * 100
        p = paired.p_value
        too_large = drop > gate.points + EPSILON * 100
        holds = not (too_large and p < SIGNIFICANCE)
        why = "" if not too_large else (", significant" if p < SIGNIFICANCE else ", not significant: noise")
        verdicts.append(DropVerdict(gate, drop, p, paired.common, holds,
                                    f"{paired.baseline_correct / paired.common * 100:.1f}% -> "
                                    f"{paired.current_correct / paired.common * 100:.1f}%, "
                                    f"{-drop:+.1f} points on {paired.common} common questions, "
                                    f"{paired.newly_wrong} newly wrong, {paired.newly_right} newly right, "
                                    f"McNemar p = {p:.3g}{why}"))
    return verdicts
