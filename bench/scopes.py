"""Many scopes, one error rate: how often `--mmlu-max-drop` fails a run on noise alone, per subject, with and
without Holm's correction across the run's drop gates; and what the correction costs on a real drop.

    python bench/scopes.py [PAIRS] [SEED]

Each pair of runs is simulated on MMLU's 57 subjects at their real test sizes (14,042 questions): every subject
has one true accuracy, the same in both runs, and every question is answered right or wrong at random. The
pair goes through the plugin's own gate code (`report.gates.evaluate_drops` on `report.baseline.Paired`
counts), so what is measured is what the gates do. Two kinds of noise:

- `independent`: the two runs answer each question independently (Bernoulli at the subject's accuracy): about
  half of the questions differ between runs (2p(1-p));
- `agreeing`: the runs agree on 90% of each subject's questions and differ at random on the other 10%, as two
  builds of one model do (a re-quantisation, a prompt tweak); the same accuracy in both.

A false alarm is a run that at least one gate fails. The power rows put a real drop into one subject and
count how often its gate catches it.
"""

from __future__ import annotations

import math
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pytest_mmlu.report.baseline import Paired  # noqa: E402
from pytest_mmlu.report.gates import DropGate, evaluate_drops  # noqa: E402
from pytest_mmlu.report.stats import wilson_interval  # noqa: E402

# MMLU's test split, questions per subject (cais/mmlu; 14,042 in all)
SIZES = {
    "abstract_algebra": 100, "anatomy": 135, "astronomy": 152, "business_ethics": 100, "clinical_knowledge": 265,
    "college_biology": 144, "college_chemistry": 100, "college_computer_science": 100, "college_mathematics": 100,
    "college_medicine": 173, "college_physics": 102, "computer_security": 100, "conceptual_physics": 235,
    "econometrics": 114, "electrical_engineering": 145, "elementary_mathematics": 378, "formal_logic": 126,
    "global_facts": 100, "high_school_biology": 310, "high_school_chemistry": 203,
    "high_school_computer_science": 100, "high_school_european_history": 165, "high_school_geography": 198,
    "high_school_government_and_politics": 193, "high_school_macroeconomics": 390, "high_school_mathematics": 270,
    "high_school_microeconomics": 238, "high_school_physics": 151, "high_school_psychology": 545,
    "high_school_statistics": 216, "high_school_us_history": 204, "high_school_world_history": 237,
    "human_aging": 223, "human_sexuality": 131, "international_law": 121, "jurisprudence": 108,
    "logical_fallacies": 163, "machine_learning": 112, "management": 103, "marketing": 234, "medical_genetics": 100,
    "miscellaneous": 783, "moral_disputes": 346, "moral_scenarios": 895, "nutrition": 306, "philosophy": 311,
    "prehistory": 324, "professional_accounting": 282, "professional_law": 1534, "professional_medicine": 272,
    "professional_psychology": 612, "public_relations": 110, "security_studies": 245, "sociology": 201,
    "us_foreign_policy": 100, "virology": 166, "world_religions": 171,
}
assert len(SIZES) == 57 and sum(SIZES.values()) == 14042


def accuracies(rng: random.Random) -> dict[str, float]:
    """One true accuracy per subject, spread as a 7B model's are (35% to 85%)."""
    return {s: rng.uniform(0.35, 0.85) for s in SIZES}


def cells(rng: random.Random, n: int, p: float, noise: str, drop: float = 0.0) -> Paired:
    """Paired counts of one subject: baseline at accuracy p, current at p - drop."""
    both = first = second = 0
    if noise == "independent":
        q = p - drop
        for _ in range(n):
            a, b = rng.random() < p, rng.random() < q
            both += a and b
            first += a and not b
            second += b and not a
    else:  # agreeing: 10% of the questions differ at random; a drop moves the differing ones towards wrong
        differ = 0.10
        lose, gain = (differ + drop) / 2, (differ - drop) / 2
        keep = p - lose
        for _ in range(n):
            u = rng.random()
            if u < keep:
                both += 1
            elif u < keep + lose:
                first += 1
            elif u < keep + lose + gain:
                second += 1
    return Paired(common=n, baseline_correct=both + first, current_correct=both + second, newly_wrong=first,
                  newly_right=second)


def run_pair(rng, truth, noise, points, drop_in=None, drop=0.0):
    scopes = {s: cells(rng, n, truth[s], noise, drop if s == drop_in else 0.0) for s, n in SIZES.items()}
    gates = [DropGate(points, s) for s in SIZES]
    return {c: evaluate_drops(gates, scopes, correction=c) for c in ("none", "holm")}


def rate(hits: int, n: int) -> str:
    low, high = wilson_interval(hits, n)
    return f"{hits / n * 100:.1f}% [{low * 100:.1f}, {high * 100:.1f}]"


def main(pairs: int = 1000, seed: int = 20) -> None:
    rng = random.Random(seed)
    truth = accuracies(random.Random(seed))
    print(f"# bench/scopes.py: {pairs} pairs per row, seed {seed}; {platform.machine()}, {platform.python_version()}")
    print("false alarms: runs failed by at least one of 57 subject drop gates on noise alone (95% interval)")
    print(f"{'noise':<12} {'POINTS':>6}  {'no correction':>22}  {'Holm':>22}  {'gates failed per run (none)':>28}  s")
    for noise in ("independent", "agreeing"):
        for points in (0.0, 2.0, 5.0):
            started = time.monotonic()
            failed = {"none": 0, "holm": 0}
            gates_failed = 0
            for _ in range(pairs):
                verdicts = run_pair(rng, truth, noise, points)
                for c, vs in verdicts.items():
                    failed[c] += not all(v.holds for v in vs)
                gates_failed += sum(not v.holds for v in verdicts["none"])
            print(f"{noise:<12} {points:>6g}  {rate(failed['none'], pairs):>22}  {rate(failed['holm'], pairs):>22}  "
                  f"{gates_failed / pairs:>28.2f}  {time.monotonic() - started:.0f}")
    print()
    print("power: one subject truly drops (by DROP points); how often its own gate (POINTS 2) fails the run")
    print(f"{'noise':<12} {'subject (questions)':<28} {'drop':>5}  {'its gate, none':>22}  {'its gate, Holm':>22}")
    for noise in ("independent", "agreeing"):
        for subject, drop in (("college_computer_science", 0.10), ("college_computer_science", 0.20),
                              ("high_school_psychology", 0.05), ("professional_law", 0.03),
                              ("professional_law", 0.05)):
            if noise == "agreeing" and drop > 0.10:
                continue  # a drop larger than the share of questions that differ cannot happen there
            caught = {"none": 0, "holm": 0}
            for _ in range(pairs):
                verdicts = run_pair(rng, truth, noise, 2.0, subject, drop)
                for c, vs in verdicts.items():
                    caught[c] += not next(v for v in vs if v.gate.scope == subject).holds
            print(f"{noise:<12} {f'{subject} ({SIZES[subject]})':<28} {drop * 100:>4g}  "
                  f"{rate(caught['none'], pairs):>22}  {rate(caught['holm'], pairs):>22}")
    expected = 1 - math.prod(1 - 0.025 for _ in SIZES)
    print()
    print(f"for reference: 57 independent one-sided tests at 2.5% fail a run {expected * 100:.0f}% of the time")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
