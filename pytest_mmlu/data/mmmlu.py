"""openai/MMMLU: the MMLU test split translated into 14 languages; one config per locale."""

from __future__ import annotations

from .family import Adapter
from .rows import Row

LANGUAGES = ("AR_XY", "BN_BD", "DE_DE", "ES_LA", "FR_FR", "HI_IN", "ID_ID", "IT_IT", "JA_JP", "KO_KR",
             "PT_BR", "SW_KE", "YO_NG", "ZH_CN")


def rows(columns: dict, language=None):
    n = len(columns.get("Question", []))
    for i in range(n):
        choices = [columns[letter][i] for letter in "ABCD"]
        meta = {"language": language} if language else {}
        yield Row(columns["Subject"][i], columns["Question"][i], choices, columns["Answer"][i], meta)


MMMLU = Adapter(
    name="MMMLU", hub_ids=("openai/mmmlu",),
    columns=frozenset({"Question", "A", "B", "C", "D", "Answer", "Subject"}),
    rows=rows, configs="language", files="test/mmlu_{language}.csv", languages=LANGUAGES,
    shots_split=None,  # no dev split: shots come from the English cais/mmlu dev split
)
