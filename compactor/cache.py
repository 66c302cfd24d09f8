"""Signature cache under the repo's git dir: ``.git/compactor/cache-v1.sqlite``.

Keyed by (settings, path, blob id), so a second scan parses and fingerprints
nothing it has seen. Every key starts from :func:`code_digest`, a digest of the
source files of the running compactor: edit a rule and every value it produced
stops matching (no version constant to remember to bump). Beside those rows it keeps a few larger values (``blobs``):
a snapshot of every brief of the last scan in one row, and the decisions of
each family, so a warm scan does a handful of reads instead of one per brief;
each is stored with its CRC-32 and dropped on a mismatch. Anything unreadable —
a corrupt file, a row of the wrong size, a schema from another version — is
thrown away and rebuilt, never trusted. The cache is an accelerator only:
every failure degrades to recomputing, with at most a warning.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

_DDL = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS briefs (key BLOB PRIMARY KEY, meta TEXT NOT NULL, sig BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (key BLOB PRIMARY KEY, crc INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS created (id INTEGER PRIMARY KEY CHECK (id = 1), head TEXT NOT NULL,
                                    data TEXT NOT NULL);
"""
# the tables' layout: a file written under another layout is rebuilt
SCHEMA = hashlib.blake2b(_DDL.encode(), digest_size=8).hexdigest()
_PACKAGE = Path(__file__).resolve().parent
_code: str | None = None


def code_digest() -> str:
    """A digest of the running compactor's own source files (every ``.py`` of the
    package, by relative path), computed once per process: the part of every cache
    key that says which code produced the value."""
    global _code
    if _code is None:
        h = hashlib.blake2b(digest_size=16)
        for path in sorted(_sources(_PACKAGE)):
            h.update(f"{path.relative_to(_PACKAGE).as_posix()}\0".encode())
            h.update(path.read_bytes())
            h.update(b"\0")
        _code = h.hexdigest()
    return _code


def _sources(directory: Path) -> Iterator[Path]:
    with os.scandir(directory) as it:
        for entry in it:
            if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                yield from _sources(Path(entry.path))
            elif entry.name.endswith(".py") and entry.is_file():
                yield Path(entry.path)


def entry_key(settings: str, path: str, blob: str) -> bytes:
    return hashlib.blake2b(f"{settings}\0{path}\0{blob}".encode("utf-8", "surrogateescape"),
                           digest_size=16).digest()


class Cache:
    """A best-effort key/value store; ``warnings`` collects what went wrong."""

    def __init__(self, directory: Path | None) -> None:
        self.warnings: list[str] = []
        self._db: sqlite3.Connection | None = None
        if directory is None:
            return
        path = directory / "cache-v1.sqlite"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._db = self._open_patiently(path)
        except (sqlite3.OperationalError, OSError) as exc:
            # busy, locked or unwritable: another compactor may be using it — never delete it
            self.warnings.append(f"{path}: signature cache unavailable ({exc}); running without it")
            self._db = None
        except sqlite3.DatabaseError as exc:  # corrupt, or another schema
            self.warnings.append(f"{path}: signature cache unreadable ({exc}); rebuilding it")
            self._discard(path)
            try:
                self._db = self._open(path)
            except (sqlite3.DatabaseError, OSError) as exc2:
                self.warnings.append(f"{path}: cannot rebuild the cache ({exc2}); running without")
                self._db = None

    @property
    def enabled(self) -> bool:
        """Whether there is a cache to read and write (False with --no-cache or after an error)."""
        return self._db is not None

    @classmethod
    def _open_patiently(cls, path: Path) -> sqlite3.Connection:
        """Open, retrying while another process holds the lock (creating it, or WAL setup)."""
        for attempt in range(20):
            try:
                return cls._open(path)
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or attempt == 19:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=15, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # a cache: a lost last commit is recomputed
        db.executescript(_DDL)
        row = db.execute("SELECT v FROM meta WHERE k='schema'").fetchone()
        if row is None:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
        elif row[0] != str(SCHEMA):
            raise sqlite3.DatabaseError(f"schema {row[0]}, expected {SCHEMA}")
        db.execute("SELECT count(*) FROM briefs").fetchone()
        return db

    @staticmethod
    def _discard(path: Path) -> None:
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            try:
                p.unlink()
            except OSError:
                pass

    def _fail(self, exc: Exception) -> None:
        self.warnings.append(f"signature cache error ({exc}); continuing without the cache")
        self.close()

    def _select(self, columns: str, table: str, keys: list[bytes]) -> Iterator[tuple[Any, ...]]:
        """Rows of ``table`` whose key is in ``keys`` (SQLite caps bound parameters: chunks)."""
        assert self._db is not None
        for i in range(0, len(keys), 900):
            chunk = keys[i : i + 900]
            marks = ",".join("?" * len(chunk))
            yield from self._db.execute(
                f"SELECT key, {columns} FROM {table} WHERE key IN ({marks})", chunk
            )

    def get_many(self, keys: Iterable[bytes]) -> dict[bytes, tuple[dict[str, Any], bytes]]:
        if self._db is None:
            return {}
        found: dict[bytes, tuple[dict[str, Any], bytes]] = {}
        try:
            for key, meta, sig in self._select("meta, sig", "briefs", list(keys)):
                try:
                    found[bytes(key)] = (json.loads(meta), bytes(sig))
                except (ValueError, TypeError):
                    continue
        except sqlite3.Error as exc:
            self._fail(exc)
            return {}
        return found

    def put_many(self, rows: Mapping[bytes, tuple[Mapping[str, Any], bytes]]) -> None:
        if self._db is None or not rows:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR REPLACE INTO briefs VALUES (?, ?, ?)",
                [(k, json.dumps(m, sort_keys=True), s) for k, (m, s) in rows.items()],
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._fail(exc)

    def get_blobs(self, keys: Iterable[bytes]) -> dict[bytes, bytes]:
        """The stored values of ``keys`` that are present and intact (CRC-checked)."""
        if self._db is None:
            return {}
        found: dict[bytes, bytes] = {}
        try:
            for key, crc, data in self._select("crc, data", "blobs", list(keys)):
                if isinstance(data, bytes) and zlib.crc32(data) == crc:
                    found[bytes(key)] = data
        except sqlite3.Error as exc:
            self._fail(exc)
            return {}
        return found

    def put_blobs(self, rows: Mapping[bytes, bytes]) -> None:
        if self._db is None or not rows:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR REPLACE INTO blobs VALUES (?, ?, ?)",
                [(k, zlib.crc32(v), v) for k, v in rows.items()],
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._fail(exc)

    def get_created(self) -> tuple[str, dict[str, int]] | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT head, data FROM created WHERE id=1").fetchone()
            if row is None:
                return None
            data = json.loads(row[1])
            if not isinstance(data, dict):
                return None
            return str(row[0]), {str(k): int(v) for k, v in data.items()}
        except (sqlite3.Error, ValueError, TypeError) as exc:
            if isinstance(exc, sqlite3.Error):
                self._fail(exc)
            return None

    def put_created(self, head: str, data: Mapping[str, int]) -> None:
        if self._db is None:
            return
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO created VALUES (1, ?, ?)", (head, json.dumps(data))
            )
        except sqlite3.Error as exc:
            self._fail(exc)

    def close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None
