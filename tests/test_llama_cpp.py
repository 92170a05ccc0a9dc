"""llama-cpp-python in process: real distributions, the server's numbers, prefix reuse, bad model files."""

import json
import math

import pytest
import requests

from pytest_mmlu.backends import SERVICES, BackendError, make_backend
from pytest_mmlu.core.question import LETTERS, Question
from pytest_mmlu.prompts import Prompt, harness, letter
from pytest_mmlu.report.baseline import compare

from agreement import assert_runs_agree, tallies
from datafolders import make_questions, write_hub_layout

pytest.importorskip("llama_cpp")


@pytest.fixture(scope="module")
def backend(gemma_path):
    return make_backend(SERVICES["llama-cpp"], None, gemma_path, None)


@pytest.fixture(scope="module")
def questions():
    return [Question("astronomy", i, r["question"], tuple(r["choices"]), r["answer"])
            for i, r in enumerate(make_questions("astronomy", 12, seed=9))]


def server_logprobs(url, text):
    top = requests.post(f"{url}/v1/completions", json={"prompt": text, "max_tokens": 1, "logprobs": 20,
                                                      "temperature": 0}, timeout=120).json()
    top = top["choices"][0]["logprobs"]["top_logprobs"][0]
    return {letter: top[f" {letter}"] for letter in LETTERS if f" {letter}" in top}


def golden_harness(q, shots=()):
    """lm-evaluation-harness's MMLU prompt, written out here (not built by the plugin): header, shots, question."""
    def body(x):
        return f"{x.question}\nA. {x.choices[0]}\nB. {x.choices[1]}\nC. {x.choices[2]}\nD. {x.choices[3]}"
    return (f"The following are multiple choice questions (with answers) about {q.subject.replace('_', ' ')}.\n\n"
            + "".join(f"{body(s)}\nAnswer: {'ABCD'[s.answer]}\n\n" for s in shots) + body(q) + "\nAnswer:")


def test_scores_are_real_distributions(backend, questions):
    seen = set()
    for q in questions[:6]:
        logprobs = backend.score(harness(q), LETTERS).logprobs
        assert set(logprobs) == set(LETTERS)
        assert all(lp < 0 for lp in logprobs.values())
        assert 0 < sum(2.718281828 ** lp for lp in logprobs.values()) < 1
        seen.add(tuple(round(lp, 4) for lp in logprobs.values()))
    assert len(seen) == 6  # a scorer reading zeros would give one distribution for every prompt


@pytest.fixture(scope="module")
def own_server(gemma_path, tmp_path_factory):
    """A server of this module's own: parity to 3 decimals needs a server whose cached state no other
    test has shaped (llama_cpp.server reuses the previous request's evaluated prefix)."""
    from conftest import _serve
    yield from _serve(gemma_path, tmp_path_factory, "parity-server", threads=2)


def test_same_numbers_as_the_server(backend, questions, own_server):
    llama_server = own_server
    shots = questions[:5]
    for q in questions[5:]:
        for k in (0, 5):
            text = golden_harness(q, shots[:k])
            assert harness(q, shots[:k]).text == text  # the plugin's prompt is the golden one
            mine, theirs = backend.score(Prompt.single(text), LETTERS).logprobs, server_logprobs(llama_server, text)
            assert set(theirs) == set(LETTERS)
            assert max(abs(mine[x] - theirs[x]) for x in LETTERS) < 0.01
            assert max(LETTERS, key=mine.get) == max(LETTERS, key=theirs.get)


def test_prefix_reuse_gives_the_same_numbers_as_a_fresh_pass(backend, questions):
    from pytest_mmlu.backends.llama_cpp import _load
    shots = questions[:5]
    a, b = harness(questions[6], shots), harness(questions[7], shots)
    first = backend.score(a, LETTERS).logprobs
    backend.score(b, LETTERS)
    again = backend.score(a, LETTERS).logprobs  # reuses the shots' prefix
    llm, _ = _load(backend.path)
    llm.n_tokens = 0
    fresh = backend.score(a, LETTERS).logprobs
    assert max(abs(again[x] - fresh[x]) for x in LETTERS) < 1e-3
    assert max(abs(first[x] - fresh[x]) for x in LETTERS) < 1e-3


def test_probe_rejects_missing_and_non_gguf_files(tmp_path, gemma_path):
    with pytest.raises(BackendError, match="does not exist"):
        make_backend(SERVICES["llama-cpp"], None, str(tmp_path / "nope.gguf"), None).probe()
    fake = tmp_path / "model.gguf"
    fake.write_text("not a model")
    with pytest.raises(BackendError, match="not a GGUF"):
        make_backend(SERVICES["llama-cpp"], None, str(fake), None).probe()
    assert make_backend(SERVICES["llama-cpp"], None, None, None).probe() == "gemma-3-270m-q4_k_m.gguf"


def test_in_process_and_server_agree_on_every_question(pytester, tmp_path, gemma_path, own_server):
    llama_server = own_server
    rows = {"test": make_questions("astronomy", 8, seed=11) + make_questions("virology", 8, seed=12),
            "dev": make_questions("astronomy", 5, seed=13) + make_questions("virology", 5, seed=14)}
    data = write_hub_layout(tmp_path / "data", rows)
    reports = {}
    for name, args in (("llama-cpp", [f"--mmlu-model={gemma_path}"]), ("llama", [f"--mmlu-base-url={llama_server}"])):
        report = tmp_path / f"{name}.json"
        pytester.runpytest_subprocess(f"--mmlu-backend={name}", *args, f"--mmlu-dataset={data}", "--mmlu-shots=2",
                                      "--mmlu-no-cache", f"--mmlu-report={report}")
        reports[name] = json.loads(report.read_text())
    local, server = reports["llama-cpp"], reports["llama"]
    assert local["overall"]["total"] == server["overall"]["total"] == 16
    assert len(local["questions"]) == len(server["questions"]) == 16
    flipped = assert_runs_agree(local["questions"], server["questions"])
    # a near-tie may flip between in process and the server: every other question counts alike
    assert tallies(local["questions"], flipped) == tallies(server["questions"], flipped)
    # the plugin's own comparison of the two runs counts those flips, every one a near-tie
    changes = compare(*({q["nodeid"]: q for q in r["questions"]} for r in (local, server))).letter_changes
    assert changes.changed == changes.with_logprobs == changes.near_ties == len(flipped)
    if not flipped:
        assert local["overall"]["accuracy"] == server["overall"]["accuracy"]


# -- the chat route in process (--mmlu-prompt=letter) ----------------------------------------


@pytest.fixture(scope="module")
def chat_backend(smollm2_path):
    return make_backend(SERVICES["llama-cpp"], None, smollm2_path, None)


def test_chat_route_matches_llama_cpp_pythons_own_chat_logprobs(chat_backend, smollm2_path, questions):
    """llama-cpp-python's create_chat_completion (a model loaded with logits_all, its own template
    rendering and logprobs) is the reference: the same first token, and the letters it lists carry
    the same probabilities (we sum every spelling in the vocabulary; it lists the top 20)."""
    from llama_cpp import Llama

    reference = Llama(model_path=smollm2_path, n_ctx=1024, logits_all=True, verbose=False)
    try:
        for q in questions[:5]:
            prompt = letter(q)
            mine = chat_backend.score_chat(prompt, LETTERS)
            out = reference.create_chat_completion(messages=list(prompt.messages), max_tokens=1, temperature=0,
                                                   logprobs=True, top_logprobs=20)
            first = out["choices"][0]["logprobs"]["content"][0]
            assert mine.first_token == first["token"]
            theirs = {}
            for entry in first["top_logprobs"]:
                if entry["token"].strip() in LETTERS:
                    theirs[entry["token"].strip()] = theirs.get(entry["token"].strip(), 0.0) + math.exp(entry["logprob"])
            assert set(mine.logprobs) == set(LETTERS)  # every letter has a score in process
            for x, p in theirs.items():
                assert math.exp(mine.logprobs[x]) == pytest.approx(p, rel=0.02, abs=1e-4)
            if theirs:
                assert max(LETTERS, key=mine.logprobs.get) == max(theirs, key=theirs.get)
    finally:
        reference.close()


def test_chat_route_runs_in_process_and_a_base_model_is_told_no(pytester, tmp_path, smollm2_path, gemma_path):
    data = write_hub_layout(tmp_path / "data", {"test": make_questions("astronomy", 4, seed=21),
                                                "dev": make_questions("astronomy", 5, seed=22)})
    report = tmp_path / "chat.json"
    result = pytester.runpytest_subprocess("--mmlu-backend=llama-cpp", f"--mmlu-model={smollm2_path}",
                                           f"--mmlu-dataset={data}", "--mmlu-prompt=letter", "--mmlu-no-cache",
                                           f"--mmlu-report={report}", "-p", "no:randomly")
    result.stdout.fnmatch_lines(["*scoring logprobs (chat: *; prompt letter;*", "*first token not a letter: *"])
    records = json.loads(report.read_text())["questions"]
    assert len(records) == 4 and all(r["first_token"] is not None and r["predicted"] in LETTERS for r in records)
    base = pytester.runpytest_subprocess("--mmlu-backend=llama-cpp", f"--mmlu-model={gemma_path}",
                                         f"--mmlu-dataset={data}", "--mmlu-prompt=letter", "--mmlu-no-cache")
    assert base.ret == pytest.ExitCode.USAGE_ERROR
    base.stderr.fnmatch_lines(["*gemma-3-270m-q4_k_m.gguf has no chat template*--mmlu-prompt=harness*"])
    assert len(base.stderr.str().strip().splitlines()) == 1


def test_usage_is_counted_in_process(backend, questions):
    """Prompt tokens from the model's own tokenizer; the prefix the last prompt shared was reused (cached)."""
    from pytest_mmlu.backends.llama_cpp import _load
    llm, _ = _load(backend.path)
    shots = questions[:5]
    first, second = harness(questions[8], shots), harness(questions[9], shots)
    tokens = len(llm.tokenize(second.text.encode(), add_bos=True, special=False))
    backend.score(first, LETTERS)
    usage = backend.score(second, LETTERS).usage
    assert (usage.source, usage.tokens_in, usage.tokens_out) == ("counted in process", tokens, 0)
    assert tokens // 2 < usage.tokens_cached < tokens  # the header and five shots came from the last pass
    assert usage.tokens_reasoning is None and usage.server_seconds is None  # nothing to say: not reported
