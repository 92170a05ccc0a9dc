"""The HTML page of one run or of several side by side (`--mmlu-html`, `pytest-mmlu view`)."""

from .build import build_page, embed_json, page_data, write_page

__all__ = ["build_page", "embed_json", "page_data", "write_page"]
