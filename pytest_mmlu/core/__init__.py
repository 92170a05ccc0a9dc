"""The vocabulary every other part speaks: a question, a prompt, a reply, the subjects, the error tree.

It imports nothing else of the package."""

from .errors import (
                     BackendError,
                     BadReply,
                     CannotReach,
                     DatasetError,
                     KeyRejected,
                     MMLUError,
                     NotCached,
                     RunStop,
                     SetupError,
                     Unreachable,
)
from .prompt import Prompt
from .question import ALL_LETTERS, LETTERS, Question
from .reply import Reply, Usage

__all__ = ["ALL_LETTERS", "LETTERS", "BackendError", "BadReply", "CannotReach", "DatasetError", "KeyRejected",
           "MMLUError", "NotCached", "Prompt", "Question", "Reply", "RunStop", "SetupError", "Unreachable",
           "Usage"]
