"""li-lab/MMLU-ProX (and -Lite): MMLU-Pro translated into 29 languages, one config per language; up to ten
options in columns option_0 ... option_9 (null where a question has fewer), read the way MMLU-Pro is."""

from __future__ import annotations

from . import mmlu_pro
from .family import Adapter

LANGUAGES = ("af", "ar", "bn", "cs", "de", "en", "es", "fr", "hi", "hu", "id", "it", "ja", "ko", "mr", "ne", "pt",
             "ru", "sr", "sw", "te", "th", "uk", "ur", "vi", "wo", "yo", "zh", "zu")
OPTIONS = tuple(f"option_{i}" for i in range(10))


def rows(columns: dict, language=None):
    n = len(columns.get("question", []))
    # a missing option becomes MMLU-Pro's "N/A", which mmlu_pro.rows drops while keeping the answer's place
    options = [[mmlu_pro.NOT_AN_OPTION if o is None else o for o in opts]
               for opts in zip(*(columns.get(name) or [None] * n for name in OPTIONS))]
    for row in mmlu_pro.rows({**columns, "options": options}):
        if language:
            row.meta["language"] = language
        yield row


_SHARED = dict(
    columns=frozenset({"question", "option_0", "option_1", "answer", "answer_index", "category"}),
    rows=rows, configs="language", files="{config}/{split}-*.parquet", languages=LANGUAGES,
    shots_split="validation", prompts={"generate": "mmlu-pro", "logprobs": "harness"},
    subjects=mmlu_pro.MMLU_PRO.subjects, categories=mmlu_pro.MMLU_PRO.categories,
)
MMLU_PROX = Adapter(name="MMLU-ProX", hub_ids=("li-lab/mmlu-prox",), **_SHARED)
MMLU_PROX_LITE = Adapter(name="MMLU-ProX-Lite", hub_ids=("li-lab/mmlu-prox-lite",), **_SHARED)
