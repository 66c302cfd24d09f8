"""Everything compactor stores, in one place: the cache database under the git dir
(``.git/compactor/cache-v1.sqlite``) and every value format kept in it, each with
its integrity check.

- **brief rows**, keyed by (settings, path, blob id): a brief's fields, warnings and
  signature, so a second scan parses and fingerprints nothing it has seen;
- the **snapshot**: every brief of the last scan in one value, column by column, so
  a warm scan does a handful of reads instead of one per brief; and the shape leg's
  components among its rows, keyed by its digest (a check grows them by its new lanes);
- **family decisions**, keyed by the first member's signature;
- the **band layout** of the LSH index, and the **last rendered inventory block**;
- **creation times** of every path at each of the last few heads (``CREATED_SLOTS``).

Every key starts from :func:`code_digest`, a digest of the source files of the
running compactor, and the whole config: edit a rule and every value it produced
stops matching (no version constant to remember to bump). Every value is checked
when read (CRC-32 for the larger ones, then its shape); anything unreadable — a
corrupt file, a row of the wrong size, a schema from another version — is thrown
away and rebuilt, never trusted. The cache is an accelerator only: every failure
degrades to recomputing, with at most a warning.

It prunes itself (see ``KEEP``): each row carries the tick of the cache's clock (one tick a
run that writes) at which it was last written or read, and rows that no run touched in the
last ``KEEP`` ticks are deleted as runs go by. ``compactor cache`` shows it and empties it.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import marshal
import os
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compactor.errors import InputError, RefusedError, Warning
from compactor.vocab import KINDS, PHASES, RETENTIONS

if TYPE_CHECKING:  # numpy is imported where a value is decoded (manifest readers need none)
    import numpy as np
    import numpy.typing as npt

    from compactor.config import Config
    from compactor.git import IndexEntry, Repo

_DDL = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS briefs (key BLOB PRIMARY KEY, meta TEXT NOT NULL, sig BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (key BLOB PRIMARY KEY, crc INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS created (head TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS used (key BLOB PRIMARY KEY, tick INTEGER NOT NULL) WITHOUT ROWID;
"""
# the tables' layout: a file written under another layout is rebuilt
SCHEMA = hashlib.blake2b(_DDL.encode(), digest_size=8).hexdigest()
_PACKAGE = Path(__file__).resolve().parent
_code: str | None = None


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside, and what exists at the end is frozen
    (``gc.freeze``: never walked by the collector again; still freed by reference
    counting). For bulk loads of tens of thousands of long-lived objects in no reference
    cycle — a warm scan's snapshot and briefs, the modules the hook imports — which the
    collector would otherwise walk again and again: a tenth of a warm check of 10k
    briefs. Never around work that forks or makes reference cycles."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was:
            gc.enable()


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
    """The digest of ``settings NUL path NUL blob``: the settings (~1 kB) hashed once."""
    key = _settings_hash(settings).copy()
    key.update(f"{path}\0{blob}".encode("utf-8", "surrogateescape"))
    digest: bytes = key.digest()
    return digest


@lru_cache(maxsize=8)
def _settings_hash(settings: str) -> Any:
    return hashlib.blake2b(f"{settings}\0".encode("utf-8", "surrogateescape"), digest_size=16)


def value_key(*parts: object) -> bytes:
    """A 16-byte key for a cache value: its kind and what it depends on."""
    text = "|".join(str(p) for p in parts)
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).digest()


# The stored creation times are committer times (``Repo.creation_times``); the head they
# were read up to is stored behind this tag, so times of another kind are read again.
CREATED_TAG = "committer:"
# Creation times are kept for the last few heads (a head's times replace those of the
# ancestor they were computed from): switching between branches finds each branch's head,
# or an ancestor of it to go on from, instead of reading the whole history again.
CREATED_SLOTS = 4


# Pruning. Every run that writes to the cache is one tick of its clock (meta 'clock'), and
# every row of ``briefs`` and ``blobs`` has a stamp in ``used``: the tick it was last written
# or read at. A read stamps a row again only once its stamp is TOUCH ticks old (a warm run
# that finds everything writes nothing), and every PRUNE_EVERY ticks the rows that no run
# wrote or read in the last KEEP ticks are deleted: values of another compactor version or
# config, rows of blobs no longer in any checkout, restatements of doc sets gone by. A row
# some run reads — on this branch or another, by this version or the one in the hook's
# environment — stays while it is read at least every KEEP ticks.
KEEP = 64
TOUCH = 8
PRUNE_EVERY = 16
# pruned pages go back to the file system once they are a quarter of the file (and 1 MB)
_GIVE_BACK_PAGES = 256
CACHE_FILE = "cache-v1.sqlite"


class OtherVersion(sqlite3.DatabaseError):
    """The cache file holds another compactor version's layout (meta 'schema')."""


class Cache:
    """A best-effort key/value store; ``warnings`` collects what went wrong."""

    def __init__(self, directory: Path | None) -> None:
        self.warnings: list[Warning] = []
        self._db: sqlite3.Connection | None = None
        self._clock = 0  # the tick this run stamps what it writes with
        self._stale: set[bytes] = set()  # keys read whose stamp is TOUCH ticks old
        self._wrote = False
        if directory is None:
            return
        path = directory / CACHE_FILE
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._db = self._open_patiently(path)
        except (sqlite3.OperationalError, OSError) as exc:
            # busy, locked or unwritable: another compactor may be using it — never delete it
            self._warn(f"{path}: signature cache unavailable ({exc}); running without it")
            self._db = None
        except sqlite3.DatabaseError as exc:  # corrupt, or another schema
            if isinstance(exc, OtherVersion):  # an upgrade (or downgrade): nothing is wrong
                self._warn(f"{path}: the cache was written by another compactor version; "
                           "rebuilding it once for this one")
            else:
                self._warn(f"{path}: signature cache unreadable ({exc}); rebuilding it")
            self._discard(path)
            try:
                self._db = self._open(path)
            except (sqlite3.DatabaseError, OSError) as exc2:
                self._warn(f"{path}: cannot rebuild the cache ({exc2}); running without")
                self._db = None
        if self._db is not None:
            try:
                self._clock = _clock(self._db)
            except sqlite3.Error as exc:
                self._fail(exc)

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
        db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # takes effect in a new file only
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # a cache: a lost last commit is recomputed
        db.execute(f"PRAGMA journal_size_limit={8 << 20}")  # the WAL after a big write
        db.executescript(_DDL)
        row = db.execute("SELECT v FROM meta WHERE k='schema'").fetchone()
        if row is None:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
        elif row[0] != str(SCHEMA):
            raise OtherVersion(f"cache layout {row[0]}, expected {SCHEMA}")
        db.execute("SELECT count(*) FROM briefs").fetchone()
        return db

    @staticmethod
    def _discard(path: Path) -> None:
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            try:
                p.unlink()
            except OSError:
                pass

    def _warn(self, text: str) -> None:
        self.warnings.append(Warning(None, text))

    def _fail(self, exc: Exception) -> None:
        self._warn(f"signature cache error ({exc}); continuing without the cache")
        self._drop()

    def _select(self, columns: str, table: str, keys: list[bytes]) -> Iterator[tuple[Any, ...]]:
        """(key, stamp, *columns) of the rows of ``table`` whose key is in ``keys`` (SQLite
        caps bound parameters: chunks); a row whose stamp is TOUCH ticks old is noted, to be
        stamped again when the cache is closed."""
        assert self._db is not None
        old = self._clock - TOUCH
        stale = self._stale
        for i in range(0, len(keys), 900):
            chunk = keys[i : i + 900]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT t.key, u.tick, {columns} FROM {table} AS t "
                f"LEFT JOIN used AS u ON u.key = t.key WHERE t.key IN ({marks})", chunk
            ):
                if row[1] is None or row[1] <= old:
                    stale.add(bytes(row[0]))
                yield row

    def _stamp(self, keys: Iterable[bytes]) -> None:
        """Stamp ``keys`` (written in the open transaction) with this run's tick."""
        assert self._db is not None
        clock = self._clock
        self._db.executemany("INSERT OR REPLACE INTO used VALUES (?, ?)",
                             [(k, clock) for k in keys])
        self._wrote = True

    def keep(self, parent: bytes, keys: Iterable[bytes]) -> None:
        """Stamp ``keys`` as if read when ``parent`` (read by this run) is due to be stamped
        again: values a run reads only when ``parent`` is missing (the gists behind the
        restatement links) live as long as it does, checked every TOUCH ticks."""
        if self._db is None or parent not in self._stale:
            return
        old = self._clock - TOUCH
        wanted = list(keys)
        try:
            for i in range(0, len(wanted), 900):
                chunk = wanted[i : i + 900]
                marks = ",".join("?" * len(chunk))
                self._stale.update(bytes(k) for k, tick in self._db.execute(
                    f"SELECT key, tick FROM used WHERE key IN ({marks})", chunk) if tick <= old)
        except sqlite3.Error as exc:
            self._fail(exc)

    def get_many(self, keys: Iterable[bytes]) -> dict[bytes, tuple[dict[str, Any], bytes]]:
        if self._db is None:
            return {}
        found: dict[bytes, tuple[dict[str, Any], bytes]] = {}
        try:
            for key, _tick, meta, sig in self._select("meta, sig", "briefs", list(keys)):
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
            self._stamp(rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._fail(exc)

    def get_blobs(self, keys: Iterable[bytes]) -> dict[bytes, bytes]:
        """The stored values of ``keys`` that are present and intact (CRC-checked)."""
        if self._db is None:
            return {}
        found: dict[bytes, bytes] = {}
        try:
            for key, _tick, crc, data in self._select("crc, data", "blobs", list(keys)):
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
            self._stamp(rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._fail(exc)

    def get_created(self, head: str) -> dict[str, int] | None:
        """The creation times stored for ``head``, or None."""
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT data FROM created WHERE head=?",
                                   (CREATED_TAG + head,)).fetchone()
            if row is None:
                return None
            data = json.loads(row[0])
            if not isinstance(data, dict):
                return None
            if set(map(type, data.values())) <= {int}:  # as written (JSON keys are str)
                return data
            return {str(k): int(v) for k, v in data.items()}
        except (sqlite3.Error, ValueError, TypeError) as exc:
            if isinstance(exc, sqlite3.Error):
                self._fail(exc)
            return None

    def created_heads(self) -> list[str]:
        """The heads that have creation times stored, the last stored first (times of
        another kind, stored behind another tag by earlier builds, are not listed)."""
        if self._db is None:
            return []
        try:
            rows = self._db.execute("SELECT head FROM created ORDER BY rowid DESC").fetchall()
        except sqlite3.Error as exc:
            self._fail(exc)
            return []
        return [str(h)[len(CREATED_TAG):] for (h,) in rows if str(h).startswith(CREATED_TAG)]

    def put_created(self, head: str, data: Mapping[str, int], since: str | None = None) -> None:
        """Store the times of ``head`` (computed from those of its ancestor ``since``: that
        slot is dropped), keeping the CREATED_SLOTS stored last."""
        if self._db is None:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            if since is not None:
                self._db.execute("DELETE FROM created WHERE head=?", (CREATED_TAG + since,))
            self._db.execute("INSERT OR REPLACE INTO created VALUES (?, ?)",
                             (CREATED_TAG + head, json.dumps(data)))
            self._db.execute("DELETE FROM created WHERE rowid NOT IN "
                             "(SELECT rowid FROM created ORDER BY rowid DESC LIMIT ?)",
                             (CREATED_SLOTS,))
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._fail(exc)

    def close(self) -> None:
        """Stamp what this run read (when due), tick the clock if it wrote, prune (every
        PRUNE_EVERY ticks) — best effort: a busy cache is settled by a later run — and close."""
        if self._db is not None:
            try:
                self._settle()
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            self._drop()

    def _settle(self) -> None:
        if not (self._wrote or self._stale):
            return
        db = self._db
        assert db is not None
        db.execute("PRAGMA busy_timeout=200")  # never wait long for bookkeeping
        db.execute("BEGIN IMMEDIATE")
        clock = max(self._clock, _clock(db)) + 1
        stale = list(self._stale)
        for i in range(0, len(stale), 900):
            db.executemany("INSERT OR REPLACE INTO used VALUES (?, ?)",
                           [(k, clock) for k in stale[i : i + 900]])
        db.execute("INSERT OR REPLACE INTO meta VALUES ('clock', ?)", (str(clock),))
        pruned = clock % PRUNE_EVERY == 0
        if pruned:
            prune(db, clock - KEEP)
        db.execute("COMMIT")
        if pruned:
            give_back(db)

    def _drop(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None


def _clock(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT v FROM meta WHERE k='clock'").fetchone()
    try:
        return max(0, int(row[0])) if row is not None else 0
    except (TypeError, ValueError):
        return 0  # not a value this version wrote: start again


def prune(db: sqlite3.Connection, before: int) -> None:
    """Delete the rows last written or read before tick ``before`` (in the open transaction)."""
    for table in ("briefs", "blobs"):
        db.execute(f"DELETE FROM {table} WHERE key IN (SELECT key FROM used WHERE tick < ?)",
                   (before,))
    db.execute("DELETE FROM used WHERE tick < ?", (before,))


def give_back(db: sqlite3.Connection) -> None:
    """Return the free pages to the file system once they are a quarter of the file (a file
    made by this version: ``auto_vacuum=INCREMENTAL``; outside a transaction)."""
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    free = db.execute("PRAGMA freelist_count").fetchone()[0]
    if free >= _GIVE_BACK_PAGES and free * 4 >= pages:
        # executescript steps the pragma to its end (execute frees one page a step)
        db.executescript("PRAGMA incremental_vacuum;")


def open_cache(repo: Repo, enabled: bool = True) -> Cache:
    """The repo's cache (a disabled one with ``enabled`` False or without a git dir)."""
    if not enabled:
        return Cache(None)
    try:
        directory = repo.common_dir() / "compactor"
    except Exception:  # noqa: BLE001 - a cache is optional
        return Cache(None)
    return Cache(directory)


# -- `compactor cache`: what the cache holds, and emptying it -----------------------------------


@dataclass(frozen=True)
class CacheState:
    """The cache file of a repo as ``compactor cache`` reports it."""

    path: Path
    present: bool
    size: int = 0  # bytes on disk: the database and its WAL
    free: int = 0  # bytes of free pages in it (reused by later writes)
    briefs: int = 0  # brief rows
    values: int = 0  # other values (snapshots, decisions, restatements, ...)
    runs: int = 0  # the clock: runs that wrote to it
    problem: str | None = None  # why it cannot be read (the next run rebuilds it)
    busy: bool = False  # another compactor holds it


OTHER_VERSION = "written by another version"  # CacheState.problem of another layout


def cache_file(repo: Repo) -> Path:
    return repo.common_dir() / "compactor" / CACHE_FILE


def cache_state(repo: Repo) -> CacheState:
    """What the repo's cache holds (read only: nothing is created, rebuilt or pruned)."""
    path = cache_file(repo)
    if not path.is_file():
        return CacheState(path, False)
    size = 0
    for part in (path, Path(f"{path}-wal")):
        with contextlib.suppress(OSError):  # gone meanwhile: another run closed it
            size += part.stat().st_size
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error as exc:
        return CacheState(path, True, size, problem=str(exc))
    try:
        schema = db.execute("SELECT v FROM meta WHERE k='schema'").fetchone()
        if schema is None or schema[0] != str(SCHEMA):
            return CacheState(path, True, size, problem=OTHER_VERSION)
        page = db.execute("PRAGMA page_size").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0] * page
        briefs = db.execute("SELECT count(*) FROM briefs").fetchone()[0]
        values = db.execute("SELECT count(*) FROM blobs").fetchone()[0]
        return CacheState(path, True, size, free, briefs, values, _clock(db))
    except sqlite3.OperationalError as exc:
        busy = "locked" in str(exc) or "busy" in str(exc)
        return CacheState(path, True, size, problem=str(exc), busy=busy)
    except sqlite3.DatabaseError as exc:
        return CacheState(path, True, size, problem=str(exc))
    finally:
        db.close()


def clean_cache(repo: Repo) -> tuple[CacheState, CacheState]:
    """Empty the repo's cache: every row deleted and the file shrunk (under SQLite's lock:
    a run using it meanwhile goes on safely), or an unreadable file deleted. The state
    before and after."""
    before = cache_state(repo)
    path = before.path
    if not before.present:
        return before, before
    if before.busy:
        raise _in_use(path)
    if before.problem is not None:
        Cache._discard(path)  # what the next run would do
        return before, cache_state(repo)
    try:
        db = sqlite3.connect(path, timeout=1, isolation_level=None)
    except sqlite3.Error as exc:
        raise InputError(f"{path}: cannot open the cache ({exc}); delete the file") from None
    try:
        db.execute("BEGIN IMMEDIATE")
        for table in ("briefs", "blobs", "used", "created"):
            db.execute(f"DELETE FROM {table}")
        db.execute("DELETE FROM meta WHERE k = 'clock'")
        db.execute("COMMIT")
        with contextlib.suppress(sqlite3.OperationalError):  # a reader: the pages stay free
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise _in_use(path) from None
        raise InputError(f"{path}: cannot empty the cache ({exc}); delete the file") from None
    except sqlite3.DatabaseError as exc:
        db.close()
        Cache._discard(path)
        return replace(before, problem=str(exc)), cache_state(repo)
    finally:
        db.close()
    return before, cache_state(repo)


def _in_use(path: Path) -> RefusedError:
    return RefusedError(f"{path}: another compactor run is using the cache; run "
                        "`compactor cache --clean` again when it has finished")


# -- brief rows ---------------------------------------------------------------------------------


def brief_settings(config: Config) -> str:
    """What a brief's row depends on besides its path and blob: the code that parsed and
    fingerprinted it, and the whole config."""
    return f"{code_digest()}|{config!r}"


_META_TYPES: dict[str, tuple[type, ...]] = {
    "facts": (list,),
    "lane": (str, type(None)), "number": (int, type(None)), "title": (str,), "label": (str,),
    "kind": (str,), "words": (int,), "fields": (dict,), "shingles": (int,),
}


def trusted_row(meta: Any, sig: bytes, num_perm: int) -> bool:
    """Whether a brief row has the shape this version writes (a foreign row is recomputed)."""
    if not isinstance(meta, dict):
        return False
    warnings = meta.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        return False
    if meta.get("skip") is True:
        return True
    return len(sig) == num_perm * 4 and meta.get("kind") in KINDS and all(
        isinstance(meta.get(k), t) and not isinstance(meta.get(k), bool)
        for k, t in _META_TYPES.items()
    )


def read_rows(cache: Cache, settings: str, entries: Sequence[IndexEntry], num_perm: int
              ) -> list[tuple[dict[str, Any], bytes] | None]:
    """Each entry's trusted row (meta, signature bytes), or None (a foreign or damaged
    row is a miss: recomputed, never trusted)."""
    if not cache.enabled or not entries:
        return [None] * len(entries)
    keys = [entry_key(settings, e.path, e.blob) for e in entries]
    hits = cache.get_many(keys)
    out: list[tuple[dict[str, Any], bytes] | None] = []
    for key in keys:
        hit = hits.get(key)
        out.append(hit if hit is not None and trusted_row(*hit, num_perm) else None)
    return out


def write_rows(cache: Cache, settings: str, entries: Sequence[IndexEntry],
               rows: Sequence[tuple[dict[str, Any], bytes]]) -> None:
    if not cache.enabled:
        return
    cache.put_many({entry_key(settings, e.path, e.blob): row
                    for e, row in zip(entries, rows, strict=True)})


# -- the snapshot -------------------------------------------------------------------------------


# Every entry of the last scan (with these settings) in one cache value,
# column by column, so a warm scan of 10k briefs is one read, not 10k rows to decode.
# It is rewritten when more than SNAPSHOT_SLACK + 1/SNAPSHOT_SHARE of a scan's entries
# are not in it (or no longer in the scan): a few commits on, it still serves the rest.
# Files fingerprinted for a snapshot that is being rewritten get no cache row of their
# own, unless the scan holds more than SNAPSHOT_MAX files (a value SQLite might refuse).
SNAPSHOT_SLACK = 64
SNAPSHOT_SHARE = 64
SNAPSHOT_MAX = 250_000
_SNAPSHOT_COLUMNS = ("lane", "number", "title", "label", "kind", "words", "fields", "shingles",
                     "facts")


def snapshot_key(settings: str) -> bytes:
    return value_key("snapshot", settings)


def _all_type(values: list[Any], *types: type) -> bool:
    return set(map(type, values)) <= set(types)  # no Python-level loop: 10k values each


class Snapshot:
    """A snapshot as read back: the entries it holds and their cached metadata."""

    def __init__(self, columns: tuple[Any, ...], tag: bytes = b"") -> None:
        (self.paths, self.blobs, self.skip, self.warnings, self.lane, self.number, self.title,
         self.label, self.kind, self.words, self.fields, self.shingles, self.facts,
         self.matrix) = columns
        self.tag = tag  # a digest of what the snapshot holds (see ``tag_of``)

    @staticmethod
    def tag_of(data: bytes) -> bytes:
        """The digest of the entries a stored snapshot holds (written by ``dump``): what a
        value computed from exactly those entries is keyed by (``linked_key``)."""
        return data[8:_TAGGED]

    @classmethod
    def load(cls, data: bytes, width: int) -> Snapshot | None:
        """The snapshot stored as ``data``, or None when it is not one this version wrote."""
        head = int.from_bytes(data[:8], "little")
        try:
            value = marshal.loads(memoryview(data)[_TAGGED : _TAGGED + head])
        except (ValueError, TypeError, EOFError):
            return None
        if not (type(value) is tuple and len(value) == 14 and value[0] == width):
            return None
        (paths, blobs, skip, warns, lane, number, title, label, kind, words, fields, shingles,
         facts) = value[1:]
        lists = (paths, blobs, lane, number, title, label, kind, words, fields, shingles, facts)
        n = len(paths) if type(paths) is list else -1
        if not (all(type(c) is list and len(c) == n for c in lists)
                and type(skip) is bytes and len(skip) == n
                and len(data) == _TAGGED + head + n * width * 4
                and type(warns) is dict
                and all(type(k) is int and 0 <= k < n and type(v) is list and _all_type(v, str)
                        for k, v in warns.items())
                and _all_type(paths, str) and _all_type(blobs, str)
                and _all_type(lane, str, type(None)) and _all_type(number, int, type(None))
                and _all_type(title, str) and _all_type(label, str)
                and set(kind) <= set(KINDS) and _all_type(words, int)
                and _all_type(fields, dict) and _all_type(shingles, int)
                and _all_type(facts, list)):
            return None
        import numpy as np

        sigs = np.frombuffer(data, dtype=np.uint32, offset=_TAGGED + head).reshape(n, width)
        return cls((*value[1:], sigs), cls.tag_of(data))

    def find(self, entries: Sequence[IndexEntry]) -> list[int]:
        """For each entry, its row here (same path and blob), or -1."""
        where = dict(zip(self.paths, range(len(self.paths)), strict=True))
        blobs = self.blobs
        at = []
        for e in entries:
            k = where.get(e.path, -1)
            at.append(k if k >= 0 and blobs[k] == e.blob else -1)
        return at

    @staticmethod
    def dump(
        entries: Sequence[IndexEntry],
        at: Sequence[int],
        snap: Snapshot | None,
        fresh: Sequence[tuple[IndexEntry, dict[str, Any]]],
        matrix: npt.NDArray[np.uint32],
        width: int,
    ) -> bytes:
        """A snapshot of ``entries``: rows ``at`` of ``snap``, the others from ``fresh``."""
        metas = iter(fresh)
        picks: list[Mapping[str, Any] | None] = []  # per entry: its meta, None: from snap
        skip = bytearray()
        warns: dict[int, list[str]] = {}
        for i, k in enumerate(at):
            if k >= 0:
                assert snap is not None
                picks.append(None)
                skip.append(snap.skip[k])
                if k in snap.warnings:
                    warns[i] = snap.warnings[k]
            else:
                meta = next(metas)[1]
                skipped = bool(meta.get("skip"))
                picks.append(_SKIPPED if skipped else meta)
                skip.append(skipped)
                if meta.get("warnings"):
                    warns[i] = list(meta["warnings"])
        # equal strings as one object: marshal then writes each once, and reading the
        # snapshot back makes half as many objects (columns of numbers need no pass)
        memo: dict[Any, Any] = {}
        cols = []
        for c in _SNAPSHOT_COLUMNS:
            held: list[Any] = getattr(snap, c) if snap is not None else []
            default = _SKIPPED[c]
            col = [held[k] if m is None else m.get(c, default)
                   for m, k in zip(picks, at, strict=True)]
            if c in _STRING_COLUMNS:
                col = [memo.setdefault(v, v) for v in col]
            elif c == "fields":
                col = [_shared(v, memo) if v else {} for v in col]
            cols.append(col)
        head = marshal.dumps((
            width, [e.path for e in entries], [e.blob for e in entries], bytes(skip), warns,
            *cols,
        ))
        # the tag: the head's digest (paths, blobs and what was parsed from them; the
        # signatures follow from those and the settings in the snapshot's key)
        tag = hashlib.blake2b(head, digest_size=_TAGGED - 8).digest()
        import numpy as np

        sigs = np.zeros((len(entries), width), dtype=np.uint32)
        sigs[np.frombuffer(bytes(skip), dtype=np.uint8) == 0] = matrix  # briefs' rows in order
        return len(head).to_bytes(8, "little") + tag + head + sigs.tobytes()


def _shared(value: Any, memo: dict[Any, Any]) -> Any:
    """``value`` with equal strings (keys included) replaced by one of them."""
    kind = type(value)
    if kind is str:
        return memo.setdefault(value, value)
    if kind is list:
        return [_shared(v, memo) for v in value]
    if kind is dict:
        return {memo.setdefault(k, k): _shared(v, memo) for k, v in value.items()}
    return value


_STRING_COLUMNS = frozenset({"lane", "title", "label", "kind"})  # str (lane: or None)


_TAGGED = 24  # a snapshot's head length (8 bytes) and tag (16) come first


_SKIPPED: dict[str, Any] = {
    "lane": None, "number": None, "title": "", "label": "", "kind": "brief", "words": 0,
    "fields": {}, "shingles": 0, "facts": [],
}



def write_dropped_rows(cache: Cache, settings: str, snap: Snapshot, kept: Iterable[int]) -> None:
    """Brief rows for the entries of ``snap`` that the snapshot replacing it no longer holds
    (``kept``: the rows it keeps) — the files of a branch switched away from, the former
    blobs of edited files: switching back reads them instead of fingerprinting the files
    again, and pruning removes those no run reads."""
    if not cache.enabled:
        return
    held = set(kept)
    rows: dict[bytes, tuple[dict[str, Any], bytes]] = {}
    for k, (path, blob) in enumerate(zip(snap.paths, snap.blobs, strict=True)):
        if k in held:
            continue
        meta: dict[str, Any] = {"warnings": list(snap.warnings[k])} if k in snap.warnings else {}
        if snap.skip[k]:
            meta["skip"] = True
            sig = b""
        else:
            for column in _SNAPSHOT_COLUMNS:
                meta[column] = getattr(snap, column)[k]
            sig = snap.matrix[k].astype("<u4").tobytes()
        rows[entry_key(settings, path, blob)] = (meta, sig)
    cache.put_many(rows)


def read_snapshot(cache: Cache, key: bytes, width: int) -> Snapshot | None:
    """The stored snapshot, or None when there is none intact."""
    stored = cache.get_blobs([key]).get(key) if cache.enabled else None
    return Snapshot.load(stored, width) if stored is not None else None


# -- the shape leg's components of a snapshot's rows ---------------------------------------------


def linked_key(config: Config, tag: bytes, layout: tuple[int, int]) -> bytes:
    """The key of the components ``families.linked`` found among the rows of the snapshot
    tagged ``tag`` (its eligible briefs): the code, the config, the band layout, the
    snapshot's content."""
    return value_key("linked", code_digest(), repr(config), layout, tag.hex())


def read_linked(cache: Cache, key: bytes, size: int) -> npt.NDArray[np.int64] | None:
    """Per snapshot row, its component (-1: not linked), or None when there is none
    stored for ``size`` rows."""
    stored = cache.get_blobs([key]).get(key) if cache.enabled else None
    if stored is None or len(stored) != size * 4:
        return None
    import numpy as np

    labels = np.frombuffer(stored, dtype="<i4").astype(np.int64)
    if labels.size and (labels.min() < -1 or labels.max() >= size):
        return None
    held = labels[labels >= 0]
    if not np.array_equal(labels[held], held):  # a component is named by a row of its own
        return None
    return labels


def write_linked(cache: Cache, key: bytes, labels: npt.NDArray[np.int64]) -> None:
    if cache.enabled:
        cache.put_blobs({key: labels.astype("<i4").tobytes()})


# -- family decisions ---------------------------------------------------------------------------

# A family's decisions, by position in the family: phase codes, retention codes (indexes
# into PHASES / RETENTIONS), novelty, novelty_any, nearest as (position, similarity).
FamilyDecisions = tuple[
    list[int], list[int], list[float], list[float], list[tuple[tuple[int, float], ...]]
]


def family_key(config: Config, first: npt.NDArray[np.uint32]) -> bytes:
    """The cache key of a family's decisions: the code that decided them, the config and
    its first shape."""
    head = f"decisions|{code_digest()}|{config!r}|{first.shape[0]}|".encode()
    return hashlib.blake2b(head + first.tobytes(), digest_size=16).digest()


def dump_family(rows: npt.NDArray[np.uint32], values: FamilyDecisions) -> bytes:
    return marshal.dumps((rows.shape[0], rows.shape[1], rows.tobytes(),
                          bytes(values[0]), bytes(values[1]), *values[2:]))


def load_family(
    data: bytes, width: int, lookback: int
) -> tuple[npt.NDArray[np.uint32], FamilyDecisions] | None:
    """A stored family (its signatures and decisions), or None when it is not one."""
    try:
        n, w, sigs, phases, retentions, novelty, novelty_any, nearest = marshal.loads(data)
    except (ValueError, TypeError, EOFError):
        return None
    if not (w == width and type(n) is int and n > 0
            and isinstance(sigs, bytes) and len(sigs) == n * width * 4
            and isinstance(phases, bytes) and isinstance(retentions, bytes)
            and all(isinstance(c, list) for c in (novelty, novelty_any, nearest))
            and len(phases) == len(retentions) == len(novelty) == len(novelty_any)
            == len(nearest) == n
            and max(phases) < len(PHASES) and max(retentions) < len(RETENTIONS)
            and all(type(x) is float for x in novelty)
            and all(type(x) is float for x in novelty_any)
            and all(type(x) is tuple and len(x) <= lookback for x in nearest)):
        return None
    for pos, near in enumerate(nearest):
        for item in near:
            if not (type(item) is tuple and len(item) == 2 and type(item[0]) is int
                    and 0 <= item[0] < pos and type(item[1]) is float):
                return None
    import numpy as np

    rows = np.frombuffer(sigs, dtype=np.uint32).reshape(n, width)
    return rows, (list(phases), list(retentions), novelty, novelty_any, nearest)


# -- the LSH band layout ------------------------------------------------------------------------


def cached_band_layout(
    cache: Cache, config: Config, compute: Callable[[float, int], tuple[int, int]]
) -> tuple[int, int]:
    """``compute(threshold, num_perm)``, kept in the cache (it takes ~20 ms)."""
    key = value_key("band_layout", code_digest(), repr(config.threshold), config.num_perm)
    stored = cache.get_blobs([key]).get(key) if cache.enabled else None
    if stored is not None:
        try:
            value = marshal.loads(stored)
        except (ValueError, TypeError, EOFError):
            value = None
        if (type(value) is tuple and len(value) == 2 and all(type(v) is int for v in value)
                and value[0] >= 1 and value[1] >= 1 and value[0] * value[1] <= config.num_perm):
            return value
    layout = compute(config.threshold, config.num_perm)
    cache.put_blobs({key: marshal.dumps(layout)})
    return layout


# -- the last rendered inventory block ----------------------------------------------------------

# one slot, the last block rendered: the cache does not grow commit after commit
_SLOT = hashlib.blake2b(b"inventory|last-rendered", digest_size=16).digest()


def rendered_block(cache: Cache, key: bytes) -> str | None:
    """The block stored for ``key`` (the first 16 bytes of the slot), or None."""
    stored = cache.get_blobs([_SLOT]).get(_SLOT) if cache.enabled else None
    if stored is None or stored[:16] != key:
        return None
    try:
        return stored[16:].decode("utf-8")
    except UnicodeDecodeError:
        return None  # not a value this version wrote: render it again


def keep_rendered_block(cache: Cache, key: bytes, content: str) -> None:
    cache.put_blobs({_SLOT: key + content.encode("utf-8")})


# -- the restatement leg ------------------------------------------------------------------------


def _gist_key(blob: str) -> bytes:
    return value_key("gist", code_digest(), blob)


def read_gists(cache: Cache, blobs: Sequence[str]) -> dict[str, str]:
    """The stored restatement gist (``restate.gist``) of each blob that has one."""
    if not cache.enabled or not blobs:
        return {}
    keys = {_gist_key(b): b for b in set(blobs)}
    out = {}
    for key, data in cache.get_blobs(keys).items():
        try:
            out[keys[key]] = data.decode("ascii")
        except UnicodeDecodeError:
            continue
    return out


def keep_gists(cache: Cache, restated: bytes, blobs: Sequence[str]) -> None:
    """The gists of ``blobs`` stay while the restatement links computed from them
    (``restated``, read by this run) do."""
    if cache.enabled:
        cache.keep(restated, (_gist_key(b) for b in set(blobs)))


def write_gists(cache: Cache, gists: Mapping[str, str]) -> None:
    if cache.enabled and gists:
        cache.put_blobs({_gist_key(b): g.encode("ascii") for b, g in gists.items()})


def restate_key(config: Config, docs: Sequence[tuple[str, ...]]) -> bytes:
    """The key of the restatement links found among ``docs`` ((path, blob, title, lane,
    creation time) of each doc the shape leg left alone): the code, the config and every
    such doc."""
    h = hashlib.blake2b(f"restated|{code_digest()}|{config!r}".encode(), digest_size=16)
    for doc in docs:
        h.update("\0".join(doc).encode("utf-8", "surrogatepass") + b"\1")
    return h.digest()


Restated = list[tuple[str, str, float, tuple[str, ...], tuple[str, ...]]]


def read_restated(cache: Cache, key: bytes) -> Restated | None:
    stored = cache.get_blobs([key]).get(key) if cache.enabled else None
    if stored is None:
        return None
    try:
        value = marshal.loads(stored)
    except (ValueError, TypeError, EOFError):
        return None
    if type(value) is not list or not all(
        type(v) is tuple and len(v) == 5 and type(v[0]) is str and type(v[1]) is str
        and type(v[2]) is float and type(v[3]) is tuple and type(v[4]) is tuple
        and _all_type(list(v[3]), str) and _all_type(list(v[4]), str)
        for v in value
    ):
        return None
    return value


def write_restated(cache: Cache, key: bytes, value: Restated) -> None:
    if cache.enabled:
        cache.put_blobs({key: marshal.dumps([tuple(v) for v in value])})


# -- template instances (families.own_content) -------------------------------------------------

# What own_content found in one family: the positions (in its member order) of the members
# that say something of their own, and the position pairs among them where one names the other.
OwnContent = tuple[list[int], list[tuple[int, int]]]


def own_key(config: Config, members: Sequence[tuple[str, str, bool]]) -> bytes:
    """The key of what ``families.own_content`` found in a family: the code, the config and
    each member's (path, blob, judged), in member order."""
    h = hashlib.blake2b(f"own|{code_digest()}|{config!r}".encode(), digest_size=16)
    for path, blob, judged in members:
        h.update(f"{path}\0{blob}\0{int(judged)}\1".encode("utf-8", "surrogatepass"))
    return h.digest()


def read_own(cache: Cache, keys: Mapping[bytes, int]) -> dict[bytes, OwnContent]:
    """The stored findings of each key (``keys``: key -> its family's size) that has a
    sound one (positions inside the family)."""
    if not cache.enabled or not keys:
        return {}
    out: dict[bytes, OwnContent] = {}
    for key, data in cache.get_blobs(keys).items():
        try:
            own, named = marshal.loads(data)
        except (ValueError, TypeError, EOFError):
            continue
        size = keys[key]
        if (type(own) is list and type(named) is list
                and all(type(k) is int and 0 <= k < size for k in own)
                and all(type(p) is tuple and len(p) == 2
                        and all(type(k) is int and 0 <= k < size for k in p) for p in named)):
            out[key] = (own, named)
    return out


def write_own(cache: Cache, values: Mapping[bytes, OwnContent]) -> None:
    if cache.enabled and values:
        cache.put_blobs({k: marshal.dumps(v) for k, v in values.items()})
