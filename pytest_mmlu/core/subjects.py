"""The 57 MMLU subjects and their categories (and those of the datasets with their own subjects: MMLU-Pro,
KMMLU, CMMLU, MixEval), and the selection of subjects from user words."""

from __future__ import annotations

import difflib
from typing import Iterable, Mapping, Sequence

from .errors import UnknownSubject

# MMLU's four, then KMMLU's own two (its STEM and Other are MMLU's words), then MixEval's one
CATEGORIES = ("stem", "humanities", "social_sciences", "other", "applied_science", "humss", "mixeval")

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


# KMMLU's 45 subjects, named as its hub configs, in the four supercategories of its paper (Son et al. 2024:
# STEM, Applied Science, HUMSS, Other); the capitalised names never meet MMLU's
KMMLU_SUBJECTS: dict[str, str] = {
    **dict.fromkeys(("Biology", "Chemical-Engineering", "Chemistry", "Civil-Engineering", "Computer-Science",
                     "Ecology", "Electrical-Engineering", "Information-Technology", "Materials-Engineering",
                     "Math", "Mechanical-Engineering"), "stem"),
    **dict.fromkeys(("Aviation-Engineering-and-Maintenance", "Electronics-Engineering", "Energy-Management",
                     "Environmental-Science", "Gas-Technology-and-Engineering", "Geomatics", "Industrial-Engineer",
                     "Machine-Design-and-Manufacturing", "Maritime-Engineering", "Nondestructive-Testing",
                     "Railway-and-Automotive-Engineering", "Telecommunications-and-Wireless-Technology"),
                    "applied_science"),
    **dict.fromkeys(("Accounting", "Criminal-Law", "Economics", "Education", "Korean-History", "Law", "Management",
                     "Political-Science-and-Sociology", "Psychology", "Social-Welfare", "Taxation"), "humss"),
    **dict.fromkeys(("Agricultural-Sciences", "Construction", "Fashion", "Food-Processing", "Health",
                     "Interior-Architecture-and-Design", "Marketing", "Patent", "Public-Safety", "Real-Estate",
                     "Refrigerating-Machinery"), "other"),
}

# CMMLU's 67 subjects, each in the category of its first subcategory (the CMMLU repository's categories.py:
# STEM, Humanities, Social Science, Other); its fifth group, "China specific", overlaps the four and is not
# kept. Nine names are also MMLU subjects (anatomy, business_ethics, computer_security, global_facts,
# human_sexuality, management, marketing, professional_accounting, virology): a CMMLU run puts them in CMMLU's
# categories (its Adapter brings this table, and its report keeps the mapping, config.categories).
CMMLU_SUBJECTS: dict[str, str] = {
    **dict.fromkeys(("anatomy", "astronomy", "college_actuarial_science", "college_engineering_hydrology",
                     "college_mathematics", "college_medical_statistics", "computer_science", "conceptual_physics",
                     "electrical_engineering", "elementary_mathematics", "genetics", "high_school_biology",
                     "high_school_chemistry", "high_school_mathematics", "high_school_physics", "machine_learning",
                     "virology"), "stem"),
    **dict.fromkeys(("arts", "chinese_history", "chinese_literature", "college_law", "global_facts",
                     "international_law", "jurisprudence", "logical", "marxist_theory", "philosophy",
                     "professional_law", "world_history", "world_religions"), "humanities"),
    **dict.fromkeys(("ancient_chinese", "business_ethics", "chinese_civil_service_exam", "chinese_food_culture",
                     "chinese_foreign_policy", "chinese_teacher_qualification", "college_education", "economics",
                     "education", "elementary_chinese", "ethnology", "high_school_geography",
                     "high_school_politics", "journalism", "management", "marketing", "modern_chinese",
                     "professional_accounting", "professional_psychology", "public_relations", "security_study",
                     "sociology"), "social_sciences"),
    **dict.fromkeys(("agronomy", "chinese_driving_rule", "clinical_knowledge", "college_medicine",
                     "computer_security", "construction_project_management", "elementary_commonsense",
                     "elementary_information_and_technology", "food_science", "human_sexuality",
                     "legal_and_moral_basis", "nutrition", "professional_medicine", "sports_science",
                     "traditional_chinese_medicine"), "other"),
}


# MixEval's subjects are the benchmarks its questions come from (benchmark_name, lower case, "_" for other
# characters: data/mixeval.py). They span MMLU's categories, so they are not put in them; they form one category
# of their own (whose accuracy is the run's), and "mmlu" here is the benchmark, never an MMLU subject.
MIXEVAL_SUBJECTS: dict[str, str] = dict.fromkeys(
    ("agieval", "arc", "boolq", "commonsenseqa", "gpqa", "hellaswag", "mmlu", "mmlu_pro", "obqa", "piqa", "siqa",
     "winogrande"), "mixeval")


def category_of(subject: str, own: Mapping[str, str] | None = None) -> str:
    """A subject's category: in its dataset's own table (`own`: data's Adapter.categories, or a report's
    config.categories) where it has one, else in MMLU's, then in the family's (reports that keep no mapping)."""
    if own and subject in own:
        return own[subject]
    for table in (SUBJECTS, MMLU_PRO_SUBJECTS, KMMLU_SUBJECTS, CMMLU_SUBJECTS, MIXEVAL_SUBJECTS):
        if subject in table:
            return table[subject]
    return "other"


def pretty(subject: str) -> str:
    return subject.replace("_", " ").replace("-", " ")  # KMMLU's names have hyphens: Korean-History


def resolve_selection(selectors: Iterable[str], available: Sequence[str],
                      own: Mapping[str, str] | None = None) -> list[str]:
    """The subjects chosen by user words (subjects, categories in the dataset's own table `own`, all)."""
    available = sorted(set(available))
    chosen: set[str] = set()
    for selector in selectors:
        for name in (part.strip() for part in str(selector).split(",")):
            if not name:
                continue
            if name == "all":
                chosen.update(available)
            elif name in CATEGORIES:
                chosen.update(s for s in available if category_of(s, own) == name)
            elif name in available:
                chosen.add(name)
            else:
                close = difflib.get_close_matches(name, [*available, *CATEGORIES, "all"], n=3, cutoff=0.6)
                hint = f"; did you mean: {', '.join(close)}?" if close else ""
                raise UnknownSubject(f"unknown MMLU subject {name!r}{hint}")
    if not chosen:
        raise UnknownSubject("no MMLU subject selected: the dataset has none of " + ", ".join(selectors))
    return sorted(chosen)
