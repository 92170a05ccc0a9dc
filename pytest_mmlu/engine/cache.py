"""Replies stored as they arrive, so re-runs and resumes ask the backend only for what is missing.

One SQLite file in WAL mode: safe when several xdist workers (and their threads)
write at once. Each row carries a checksum; a row that does not match is
reported and never trusted.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path

from ..core.errors import CacheDamaged

FILENAME = "replies.sqlite3"
SCHEMA = 1


def cache_key(material: dict) -> str:
    """Everything that changes the reply, hashed: backend, model, prompt, scoring, settings."""
    blob = json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _checksum(key: str, value: str) -> str:
    return hashlib.sha256(f"{key}\0{value}".encode("utf-8")).hexdigest()[:16]


class ReplyCache:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.path = self.directory / FILENAME
        self._local = threading.local()
        self.damaged_rows = 0
        self.directory.mkdir(parents=True, exist_ok=True)
        self._check()

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 60000")
            # WAL with NORMAL sync survives a killed process; only a power cut may lose the last replies
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
        return conn

    def _check(self) -> None:
        try:
            conn = self._connect()
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
                         "checksum TEXT NOT NULL)")
            conn.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
            (result,) = conn.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as exc:
            raise CacheDamaged(f"reply cache {self.path} is damaged ({exc}); delete it or run with "
                               f"--mmlu-no-cache") from None
        if result != "ok":
            raise CacheDamaged(f"reply cache {self.path} failed its integrity check ({result}); "
                               f"delete it or run with --mmlu-no-cache")

    def get(self, key: str) -> dict | None:
        row = self._connect().execute("SELECT value, checksum FROM replies WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        value, checksum = row
        if _checksum(key, value) != checksum:
            self.damaged_rows += 1
            return None
        try:
            return json.loads(value)
        except ValueError:
            self.damaged_rows += 1
            return None

    def put(self, key: str, reply: dict) -> None:
        value = json.dumps(reply, ensure_ascii=False, sort_keys=True)
        self._connect().execute("INSERT OR REPLACE INTO replies VALUES (?, ?, ?)",
                                (key, value, _checksum(key, value)))

    def get_meta(self, name: str) -> str | None:
        row = self._connect().execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def put_meta(self, name: str, value: str) -> None:
        self._connect().execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    def __len__(self) -> int:
        return self._connect().execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
