"""The 57 MMLU subjects and their categories, and the selection of subjects from user words."""

from __future__ import annotations

import difflib
from typing import Iterable, Sequence

from .errors import UnknownSubject

CATEGORIES = ("stem", "humanities", "social_sciences", "other")

# the benchmark's own grouping (Hendrycks et al., categories.py); anatomy is "health" there,
# hence "other" (lm-evaluation-harness lists it under stem)
SUBJECTS: dict[str, str] = {
    "abstract_algebra": "stem", "anatomy": "other", "astronomy": "stem", "business_ethics": "other",
    "clinical_knowledge": "other", "college_biology": "stem", "college_chemistry": "stem",
    "college_computer_science": "stem", "college_mathematics": "stem", "college_medicine": "other",
    "college_physics": "stem", "computer_security": "stem", "conceptual_physics": "stem",
    "econometrics": "social_sciences", "electrical_engineering": "stem", "elementary_mathematics": "stem",
    "formal_logic": "humanities", "global_facts": "other", "high_school_biology": "stem",
    "high_school_chemistry": "stem", "high_school_computer_science": "stem",
    "high_school_european_history": "humanities", "high_school_geography": "social_sciences",
    "high_school_government_and_politics": "social_sciences", "high_school_macroeconomics": "social_sciences",
    "high_school_mathematics": "stem", "high_school_microeconomics": "social_sciences",
    "high_school_physics": "stem", "high_school_psychology": "social_sciences", "high_school_statistics": "stem",
    "high_school_us_history": "humanities", "high_school_world_history": "humanities", "human_aging": "other",
    "human_sexuality": "social_sciences", "international_law": "humanities", "jurisprudence": "humanities",
    "logical_fallacies": "humanities", "machine_learning": "stem", "management": "other", "marketing": "other",
    "medical_genetics": "other", "miscellaneous": "other", "moral_disputes": "humanities",
    "moral_scenarios": "humanities", "nutrition": "other", "philosophy": "humanities", "prehistory": "humanities",
    "professional_accounting": "other", "professional_law": "humanities", "professional_medicine": "other",
    "professional_psychology": "social_sciences", "public_relations": "social_sciences",
    "security_studies": "social_sciences", "sociology": "social_sciences", "us_foreign_policy": "social_sciences",
    "virology": "other", "world_religions": "humanities",
}


# MMLU-Pro's categories are its subjects (see data/mmlu_pro.py); grouped as MMLU groups its own
MMLU_PRO_SUBJECTS: dict[str, str] = {
    "biology": "stem", "business": "other", "chemistry": "stem", "computer_science": "stem",
    "economics": "social_sciences", "engineering": "stem", "health": "other", "history": "humanities",
    "law": "humanities", "math": "stem", "miscellaneous": "other", "philosophy": "humanities",
    "physics": "stem", "psychology": "social_sciences",
}


def category_of(subject: str) -> str:
    return SUBJECTS.get(subject) or MMLU_PRO_SUBJECTS.get(subject, "other")


def pretty(subject: str) -> str:
    return subject.replace("_", " ")


def resolve_selection(selectors: Iterable[str], available: Sequence[str]) -> list[str]:
    available = sorted(set(available))
    chosen: set[str] = set()
    for selector in selectors:
        for name in (part.strip() for part in str(selector).split(",")):
            if not name:
                continue
            if name == "all":
                chosen.update(available)
            elif name in CATEGORIES:
                chosen.update(s for s in available if category_of(s) == name)
            elif name in available:
                chosen.add(name)
            else:
                close = difflib.get_close_matches(name, [*available, *CATEGORIES, "all"], n=3, cutoff=0.6)
                hint = f"; did you mean: {', '.join(close)}?" if close else ""
                raise UnknownSubject(f"unknown MMLU subject {name!r}{hint}")
    if not chosen:
        raise UnknownSubject("no MMLU subject selected: the dataset has none of " + ", ".join(selectors))
    return sorted(chosen)
