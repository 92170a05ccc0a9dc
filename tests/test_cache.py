"""The reply cache: keys, several writers at once, damage."""

import multiprocessing
import sqlite3

import pytest

from pytest_mmlu.engine.cache import CacheDamaged, ReplyCache, cache_key


def test_key_changes_with_everything_that_changes_the_reply():
    base = {"backend": "llama", "model": "m", "prompt": "p", "scoring": "logprobs"}
    keys = {cache_key(base)}
    for field, other in [("backend", "ollama"), ("model", "m2"), ("prompt", "p "), ("scoring", "generate")]:
        keys.add(cache_key({**base, field: other}))
    keys.add(cache_key({**base, "temperature": 0.5}))
    assert len(keys) == 6
    assert cache_key(dict(reversed(list(base.items())))) == cache_key(base)  # order does not matter


def test_round_trip_and_persistence(tmp_path):
    cache = ReplyCache(tmp_path)
    cache.put("k", {"text": "Answer: B"})
    cache.close()
    again = ReplyCache(tmp_path)
    assert again.get("k") == {"text": "Answer: B"}
    assert again.get("missing") is None
    assert len(again) == 1


def _writer(directory, start, count):
    cache = ReplyCache(directory)
    for i in range(start, start + count):
        cache.put(f"key-{i}", {"text": f"reply {i}"})


def test_several_processes_write_at_once(tmp_path):
    ReplyCache(tmp_path).close()
    procs = [multiprocessing.get_context("spawn").Process(target=_writer, args=(tmp_path, n * 200, 200))
             for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    cache = ReplyCache(tmp_path)
    assert len(cache) == 800
    assert all(cache.get(f"key-{i}") == {"text": f"reply {i}"} for i in range(800))


def test_a_damaged_row_is_not_trusted(tmp_path):
    cache = ReplyCache(tmp_path)
    cache.put("k", {"text": "Answer: B"})
    with sqlite3.connect(cache.path) as conn:
        conn.execute("UPDATE replies SET value = ? WHERE key = 'k'", ('{"text": "Answer: C"}',))
    assert cache.get("k") is None
    assert cache.damaged_rows == 1


def test_a_damaged_file_is_reported(tmp_path):
    (tmp_path / "replies.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheDamaged, match="damaged.*--mmlu-no-cache"):
        ReplyCache(tmp_path)
