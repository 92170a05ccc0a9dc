"""Prompt formats: how a question (and its shots) is put to the model. Which format a run uses is decided
once, in engine/plan.py."""

from ..core.prompt import Prompt
from .formats import BUILDERS, FORMATS, build, harness, instruct, letter, mixeval, mmlu_pro

__all__ = ["BUILDERS", "FORMATS", "Prompt", "build", "harness", "instruct", "letter", "mixeval", "mmlu_pro"]
