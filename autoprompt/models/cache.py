"""Response caches: answers stored under a hash of the whole request.

Contract:
- ``request_key(parts)`` is the SHA-256 of the request as canonical JSON: backend
  name, model, the full prompt, every sampling parameter and the sample index.
- A ``ResponseCache`` has ``get(key)`` (None when absent) and ``put(key, value)``;
  values are JSON-serialisable. ``MemoryCache`` lives for one process;
  ``SQLiteCache(path)`` persists, is safe across threads (WAL, busy timeout), and
  a corrupt file is reported, moved aside as ``<name>.corrupt-<time>`` and replaced,
  never silently reused. A new cache file is created 0600 (it holds every prompt and
  answer); a link, a file that is not SQLite, or a SQLite database with tables of its own
  (not autoprompt's) is refused untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from autoprompt.errors import ConfigError
from autoprompt.files import make_folder, open_private


def request_key(parts: Any) -> str:
    """Content address of a request."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()


class ResponseCache(Protocol):
    """Where answers are kept."""

    def get(self, key: str) -> Any | None: ...

    def put(self, key: str, value: Any) -> None: ...


class MemoryCache:
    """A dict, for one process."""

    def __init__(self) -> None:
        self.entries: dict[str, Any] = {}

    def get(self, key: str) -> Any | None:
        return self.entries.get(key)

    def put(self, key: str, value: Any) -> None:
        self.entries[key] = value


class SQLiteCache:
    """A persistent cache in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self._check_path()
            make_folder(self.path.parent)
            os.close(open_private(self.path))  # a new cache is created private to the user (0600)
            try:
                self._conn = self._open()
            except sqlite3.DatabaseError as exc:
                aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
                self.path.rename(aside)
                print(f"autoprompt: warning: cache {self.path} is corrupt ({exc}); moved it to {aside} "
                      "and started an empty cache", file=sys.stderr)
                self._conn = self._open()
        return self._conn

    def _check_path(self) -> None:
        """Refuse a path that is not a cache, so nothing of the user's is ever moved aside as "corrupt"."""
        if self.path.is_symlink():
            raise ConfigError(f"cache {self.path} is a symbolic link; autoprompt never writes through links: pass "
                              "the path of a new file, or of a cache autoprompt created")
        if self.path.is_dir():
            raise ConfigError(f"cache {self.path} is a folder; pass a file path such as {self.path / 'cache.sqlite'}")
        if self.path.is_file() and self.path.stat().st_size > 0:
            with open(self.path, "rb") as handle:
                if handle.read(16) != b"SQLite format 3\x00":
                    raise ConfigError(f"cache {self.path} is not a SQLite cache (another kind of file); pass a new "
                                      "file path for --cache, so this file is left alone")
            tables = _tables(self.path)
            if tables is not None and tables - {"responses"}:
                raise ConfigError(f"cache {self.path} is a SQLite database autoprompt did not create (it holds "
                                  f"the table {sorted(tables - {'responses'})[0]!r}); pass a new file path for "
                                  "--cache, so this database is left alone")

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute("SELECT count(*) FROM responses").fetchone()
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("integrity check failed")
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def get(self, key: str) -> Any | None:
        with self._lock:
            row = self._connect().execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._connect().execute("INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)",
                                    (key, json.dumps(value)))

    def __len__(self) -> int:
        with self._lock:
            return int(self._connect().execute("SELECT count(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _tables(path: Path) -> set[str] | None:
    """The table names of the SQLite file at ``path``, read without writing; None when it cannot be read
    (a damaged cache, moved aside by ``SQLiteCache``)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()
