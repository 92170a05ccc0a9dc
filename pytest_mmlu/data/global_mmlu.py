"""CohereLabs/Global-MMLU (and -Lite): MMLU in 42 languages, with cultural-sensitivity labels."""

from __future__ import annotations

from .family import Adapter
from .rows import Row

LANGUAGES = ("am", "ar", "bn", "cs", "de", "el", "en", "es", "fa", "fil", "fr", "ha", "he", "hi", "id", "ig",
             "it", "ja", "ko", "ky", "lt", "mg", "ms", "ne", "nl", "ny", "pl", "pt", "ro", "ru", "si", "sn",
             "so", "sr", "sv", "sw", "te", "tr", "uk", "vi", "yo", "zh")
OPTIONS = ("option_a", "option_b", "option_c", "option_d")
LABELS = {"CS": "CS", "CA": "CA"}  # culturally sensitive / agnostic; "-" where not annotated


def rows(columns: dict, language=None):
    n = len(columns.get("question", []))
    labels = columns.get("cultural_sensitivity_label") or [None] * n
    for i in range(n):
        choices = [columns[name][i] for name in OPTIONS]
        meta = {"language": language} if language else {}
        label = LABELS.get(str(labels[i] or "").strip().upper())
        if label:
            meta["cultural_sensitivity"] = label
        empty = [name[-1].upper() for name, c in zip(OPTIONS, choices) if c is None or not str(c).strip()]
        skip = f"empty option {', '.join(empty)}" if empty else None
        yield Row(columns["subject"][i], columns["question"][i], choices, columns["answer"][i], meta, skip=skip)


GLOBAL_MMLU = Adapter(
    name="Global-MMLU", hub_ids=("coherelabs/global-mmlu", "cohereforai/global-mmlu",
                                 "coherelabs/global-mmlu-lite", "cohereforai/global-mmlu-lite"),
    columns=frozenset({"question", "option_a", "option_b", "option_c", "option_d", "answer", "subject"}),
    rows=rows, configs="language", files="{config}/{split}-*.parquet", languages=LANGUAGES,
    shots_split="dev",
)
