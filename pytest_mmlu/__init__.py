"""pytest-mmlu: the MMLU benchmark as a pytest test suite."""

__version__ = "0.2.0.dev0"
