"""CohereLabs/Global-MMLU: MMLU in 42 languages, with cultural-sensitivity labels; and Global-MMLU-Lite, 200
culturally sensitive and 200 agnostic questions in each of its languages, in the same columns."""

from __future__ import annotations

from .family import Adapter
from .rows import Row

LANGUAGES = ("am", "ar", "bn", "cs", "de", "el", "en", "es", "fa", "fil", "fr", "ha", "he", "hi", "id", "ig",
             "it", "ja", "ko", "ky", "lt", "mg", "ms", "ne", "nl", "ny", "pl", "pt", "ro", "ru", "si", "sn",
             "so", "sr", "sv", "sw", "te", "tr", "uk", "vi", "yo", "zh")
# the 15 of its first release, the 3 of 2.0 (cy, my, sq) and the 5 of 3.0 (cs, hu, or, sk, tg)
LITE_LANGUAGES = ("ar", "bn", "cs", "cy", "de", "en", "es", "fr", "hi", "hu", "id", "it", "ja", "ko", "my", "or",
                  "pt", "sk", "sq", "sw", "tg", "yo", "zh")
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


_COLUMNS = frozenset({"question", "option_a", "option_b", "option_c", "option_d", "answer", "subject"})
GLOBAL_MMLU = Adapter(
    name="Global-MMLU", hub_ids=("coherelabs/global-mmlu", "cohereforai/global-mmlu"),
    columns=_COLUMNS, rows=rows, configs="language", files="{config}/{split}-*.parquet", languages=LANGUAGES,
    shots_split="dev",
)
GLOBAL_MMLU_LITE = Adapter(
    name="Global-MMLU-Lite", hub_ids=("coherelabs/global-mmlu-lite", "cohereforai/global-mmlu-lite"),
    columns=_COLUMNS, rows=rows, configs="language", files="{config}/{split}-*.parquet", languages=LITE_LANGUAGES,
    shots_split="dev",
)
