"""Nothing here on purpose: pytest loads this file for every run started in the clone, a user's MMLU run
included, so the test suite's own settings live in tests/conftest.py, which applies them to its own runs only."""
