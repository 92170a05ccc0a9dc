"""Questions of the MMLU family, from the hub, a local folder or one file.

One small adapter per dataset (mmlu_pro, mmlu_prox, mmmlu, global_mmlu, redux, kmmlu, cmmlu) behind one
interface (family.py); plain MMLU's locations in mmlu.py over the base in source.py; `open_source`
(registry.py) recognises the dataset by its hub id or, for local data, by its columns. Everything is read through
`datasets.load_dataset`, which honours its own cache and offline mode. Rows that are malformed stop the
run with file and row named.
"""

from ..core.errors import DatasetError
from .family import Adapter, FamilySource
from .registry import ADAPTERS, open_source
from .sample import sample
from .source import DataSource

__all__ = ["ADAPTERS", "Adapter", "DataSource", "DatasetError", "FamilySource", "open_source", "sample"]
