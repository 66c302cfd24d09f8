"""The scan pipeline: files -> briefs -> shapes -> families -> decisions.

``run_scan`` takes a repository and a Config and returns a frozen :class:`Scan`;
it prints nothing and never writes outside the cache in the git dir.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from compactor import decisions, shapes
from compactor.briefs import Brief, brief_from_meta, decode, looks_binary, parse_brief
from compactor.cache import Cache, code_digest, entry_key
from compactor.config import Config
from compactor.decisions import Decision, decide
from compactor.errors import Warning
from compactor.families import Family, band_layout, group
from compactor.files import select
from compactor.git import Background, IndexEntry, Repo, parse_creation_log
from compactor.vocab import FAMILY_KINDS, KINDS

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, eq=False)
class Scan:
    """Everything one scan found. Indexes into ``briefs`` are used throughout."""

    root: Path
    config: Config
    head: str | None
    briefs: tuple[Brief, ...]
    signatures: npt.NDArray[np.uint32]  # one row per brief
    shingles: tuple[int, ...]  # distinct shingles per brief
    families: tuple[Family, ...]
    decisions: tuple[Decision, ...]
    warnings: tuple[Warning, ...]

    def index(self, path: str) -> int:
        for i, b in enumerate(self.briefs):
            if b.path == path:
                return i
        raise KeyError(path)

    def family(self, fid: str) -> Family | None:
        for f in self.families:
            if f.id == fid:
                return f
        return None

    def similarity(self, i: int, j: int) -> float:
        return shapes.similarity(self.signatures[i], self.signatures[j])


def _fingerprint_settings(config: Config) -> str:
    """What a brief's cache row depends on besides its path and blob: the code that
    parsed and fingerprinted it, and the whole config."""
    return f"{code_digest()}|{config!r}"


def read_briefs(
    repo: Repo,
    config: Config,
    entries: Sequence[IndexEntry],
    cache: Cache,
    progress: Progress | None = None,
    created: Callable[[], Mapping[str, int]] | None = None,
    stamp: int = 0,
) -> tuple[list[Brief], npt.NDArray[np.uint32], list[int], list[Warning]]:
    """Briefs, their signatures (one row each), shingle counts and warnings for the entries.

    A brief's ``created`` is its path's time in ``created()`` (asked once the files
    are fingerprinted: it may still be coming from git), else ``stamp`` (and it is
    ``staged``). Entries of the last snapshot with the same blob come from it in one
    read; the others from their cache rows, or are parsed and fingerprinted.
    """
    settings = _fingerprint_settings(config)
    width = config.num_perm
    skey = _snapshot_key(settings)
    stored = cache.get_blobs([skey]).get(skey) if cache.enabled else None
    snap = _Snapshot.load(stored, width) if stored is not None else None
    at = snap.find(entries) if snap is not None else [-1] * len(entries)
    rest = [e for e, k in zip(entries, at, strict=True) if k < 0]
    stale = (len(snap.paths) - (len(entries) - len(rest))) if snap is not None else 0
    rewrite = cache.enabled and (
        snap is None or len(rest) + stale > SNAPSHOT_SLACK + len(entries) // SNAPSHOT_SHARE
    )
    # what the new snapshot holds needs no rows of its own (one representation, not two)
    rows_too = not rewrite or len(entries) > SNAPSHOT_MAX
    rows = iter(_read_rows(repo, config, rest, cache, settings, progress, write=rows_too))
    times = created() if created is not None else {}
    briefs: list[Brief] = []
    counts: list[int] = []
    warnings: list[Warning] = []
    from_snap: list[int] = []  # (brief, snapshot row) for the briefs taken from the snapshot
    snap_rows: list[int] = []
    from_rows: list[int] = []  # the briefs whose signature comes from a row (raws: its bytes)
    raws: list[bytes] = []
    fresh: list[tuple[IndexEntry, dict[str, Any]]] = []
    for e, k in zip(entries, at, strict=True):
        path = e.path
        when = times.get(path, -1)
        staged = when < 0 and path not in times
        if staged:
            when = stamp
        if k >= 0:
            assert snap is not None
            if k in snap.warnings:
                warnings.extend(Warning(path, w) for w in snap.warnings[k])
            if snap.skip[k]:
                continue
            from_snap.append(len(briefs))
            snap_rows.append(k)
            briefs.append(Brief(
                path, e.blob, snap.lane[k], snap.number[k], snap.title[k], snap.label[k],
                snap.kind[k], snap.words[k], MappingProxyType(snap.fields[k]), when, staged,
            ))
            counts.append(snap.shingles[k])
            continue
        meta, raw = next(rows)
        fresh.append((e, meta))
        for w in meta.get("warnings", ()):
            warnings.append(Warning(path, w))
        if meta.get("skip"):
            continue
        from_rows.append(len(briefs))
        raws.append(raw)
        briefs.append(brief_from_meta(path, e.blob, meta, when, staged))
        counts.append(int(meta.get("shingles", 0)))
    matrix = np.empty((len(briefs), width), dtype=np.uint32)
    if snap is not None and from_snap:
        matrix[from_snap] = snap.matrix[snap_rows]
    if from_rows:  # one conversion for them all (the rows are little-endian uint32)
        matrix[from_rows] = np.frombuffer(b"".join(raws), dtype="<u4").reshape(len(raws), width)
    if rewrite:
        cache.put_blobs({skey: _Snapshot.dump(entries, at, snap, fresh, matrix, width)})
    return briefs, matrix, counts, warnings


def _read_rows(
    repo: Repo,
    config: Config,
    entries: Sequence[IndexEntry],
    cache: Cache,
    settings: str,
    progress: Progress | None = None,
    write: bool = True,
) -> list[tuple[dict[str, Any], bytes]]:
    """(meta, signature bytes) of each entry from its cache row, or parsed and
    fingerprinted (and then written as a row, unless ``write`` is False)."""
    if not entries:
        return []
    keys = [entry_key(settings, e.path, e.blob) for e in entries]
    hits = {k: v for k, v in cache.get_many(keys).items() if _trusted_row(*v, config.num_perm)}
    misses = [i for i, k in enumerate(keys) if k not in hits]
    fresh: dict[bytes, tuple[dict[str, Any], bytes]] = {}
    done = 0
    for part, rows in _fingerprint_parts(repo, config, [entries[i] for i in misses]):
        written = dict(zip((keys[i] for i in misses[done : done + part]), rows, strict=True))
        if write:
            cache.put_many(written)  # part by part: written while the workers go on
        fresh.update(written)
        done += part
        if progress:
            progress("fingerprint", done, len(misses))
    # hits passed _trusted_row (a foreign or damaged row is a miss, recomputed above)
    return [fresh.get(key) or hits[key] for key in keys]


# The snapshot: every entry of the last scan (with these settings) in one cache value,
# column by column, so a warm scan of 10k briefs is one read, not 10k rows to decode.
# It is rewritten when more than SNAPSHOT_SLACK + 1/SNAPSHOT_SHARE of a scan's entries
# are not in it (or no longer in the scan): a few commits on, it still serves the rest.
# Files fingerprinted for a snapshot that is being rewritten get no cache row of their
# own, unless the scan holds more than SNAPSHOT_MAX files (a value SQLite might refuse).
SNAPSHOT_SLACK = 64
SNAPSHOT_SHARE = 64
SNAPSHOT_MAX = 250_000
_SNAPSHOT_COLUMNS = ("lane", "number", "title", "label", "kind", "words", "fields", "shingles")


def _snapshot_key(settings: str) -> bytes:
    text = f"snapshot|{settings}"
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).digest()


def _all_type(values: list[Any], *types: type) -> bool:
    return all(type(v) in types for v in values)


class _Snapshot:
    """A snapshot as read back: the entries it holds and their cached metadata."""

    def __init__(self, columns: tuple[Any, ...]) -> None:
        (self.paths, self.blobs, self.skip, self.warnings, self.lane, self.number, self.title,
         self.label, self.kind, self.words, self.fields, self.shingles, self.matrix) = columns

    @classmethod
    def load(cls, data: bytes, width: int) -> _Snapshot | None:
        """The snapshot stored as ``data``, or None when it is not one this version wrote."""
        head = int.from_bytes(data[:8], "little")
        try:
            value = marshal.loads(memoryview(data)[8 : 8 + head])
        except (ValueError, TypeError, EOFError):
            return None
        if not (type(value) is tuple and len(value) == 13 and value[0] == width):
            return None
        paths, blobs, skip, warns, lane, number, title, label, kind, words, fields, shingles = \
            value[1:]
        lists = (paths, blobs, lane, number, title, label, kind, words, fields, shingles)
        n = len(paths) if type(paths) is list else -1
        if not (all(type(c) is list and len(c) == n for c in lists)
                and type(skip) is bytes and len(skip) == n
                and len(data) == 8 + head + n * width * 4
                and type(warns) is dict
                and all(type(k) is int and 0 <= k < n and type(v) is list and _all_type(v, str)
                        for k, v in warns.items())
                and _all_type(paths, str) and _all_type(blobs, str)
                and _all_type(lane, str, type(None)) and _all_type(number, int, type(None))
                and _all_type(title, str) and _all_type(label, str)
                and set(kind) <= set(KINDS) and _all_type(words, int)
                and _all_type(fields, dict) and _all_type(shingles, int)):
            return None
        sigs = np.frombuffer(data, dtype=np.uint32, offset=8 + head).reshape(n, width)
        return cls((*value[1:], sigs))

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
        snap: _Snapshot | None,
        fresh: Sequence[tuple[IndexEntry, dict[str, Any]]],
        matrix: npt.NDArray[np.uint32],
        width: int,
    ) -> bytes:
        """A snapshot of ``entries``: rows ``at`` of ``snap``, the others from ``fresh``."""
        metas = iter(fresh)
        cols: dict[str, list[Any]] = {c: [] for c in _SNAPSHOT_COLUMNS}
        skip = bytearray()
        warns: dict[int, list[str]] = {}
        sigs = np.zeros((len(entries), width), dtype=np.uint32)
        row = 0  # the entry's row in matrix (skipped entries have none)
        for i, k in enumerate(at):
            if k >= 0:
                assert snap is not None
                for c in _SNAPSHOT_COLUMNS:
                    cols[c].append(getattr(snap, c)[k])
                skipped = bool(snap.skip[k])
                if k in snap.warnings:
                    warns[i] = snap.warnings[k]
            else:
                e, meta = next(metas)
                skipped = bool(meta.get("skip"))
                for c in _SNAPSHOT_COLUMNS:
                    cols[c].append(meta.get(c, _SKIPPED[c]) if not skipped else _SKIPPED[c])
                if meta.get("warnings"):
                    warns[i] = list(meta["warnings"])
            skip.append(skipped)
            if not skipped:
                sigs[i] = matrix[row]
                row += 1
        # equal strings as one object: marshal then writes each once, and reading the
        # snapshot back makes half as many objects
        memo: dict[Any, Any] = {}
        head = marshal.dumps((
            width, [e.path for e in entries], [e.blob for e in entries],
            bytes(skip), warns, *(_shared(cols[c], memo) for c in _SNAPSHOT_COLUMNS),
        ))
        return len(head).to_bytes(8, "little") + head + sigs.tobytes()


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


_SKIPPED: dict[str, Any] = {
    "lane": None, "number": None, "title": "", "label": "", "kind": "brief", "words": 0,
    "fields": {}, "shingles": 0,
}


_META_TYPES: dict[str, tuple[type, ...]] = {
    "lane": (str, type(None)), "number": (int, type(None)), "title": (str,), "label": (str,),
    "kind": (str,), "words": (int,), "fields": (dict,), "shingles": (int,),
}


def _trusted_row(meta: Any, sig: bytes, num_perm: int) -> bool:
    """Whether a cache row has the shape this version writes (a foreign row is recomputed)."""
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


# Cold scans of many files fingerprint on every CPU: parsing and masking are pure Python
# (see benchmarks/RESULTS.md). Below PARALLEL_MIN missing files a pool costs more than it saves.
PARALLEL_MIN = 2000
_PART = 500  # files per task of the pool; each task reads its blobs with one cat-file
_worker: tuple[Repo, Config] | None = None


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _fingerprint_part(
    repo: Repo, config: Config, entries: Sequence[IndexEntry]
) -> list[tuple[dict[str, Any], bytes]]:
    blobs = repo.read_blobs((e.blob for e in entries), limit=config.max_file_bytes)
    rows = []
    for e in entries:
        meta, sig = _fingerprint_file(config, e, blobs[e.blob])
        rows.append((meta, shapes.to_bytes(sig)))
    return rows


def _init_worker(repo: Repo, config: Config) -> None:
    global _worker
    _worker = (repo, config)


def _work(entries: Sequence[IndexEntry]) -> list[tuple[dict[str, Any], bytes]]:
    assert _worker is not None
    return _fingerprint_part(*_worker, entries)


def _fingerprint_parts(
    repo: Repo, config: Config, entries: Sequence[IndexEntry]
) -> Iterator[tuple[int, list[tuple[dict[str, Any], bytes]]]]:
    """(count, cache rows) for consecutive parts of ``entries``, in order.

    Many files are fingerprinted by a pool of forked workers, one per CPU (the
    results are the same: each file is fingerprinted on its own).
    """
    workers = min(_cpus(), len(entries) // _PART)
    if workers < 2 or len(entries) < PARALLEL_MIN or sys.platform != "linux":
        for start in range(0, len(entries), 2000):
            part = entries[start : start + 2000]
            yield len(part), _fingerprint_part(repo, config, part)
        return
    import multiprocessing

    parts = [entries[s : s + _PART] for s in range(0, len(entries), _PART)]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(repo, config)) as pool:
        for part, rows in zip(parts, pool.imap(_work, parts), strict=True):
            yield len(part), rows


_TEXT_BYTES = bytes([9, 10, 11, 12, 13, *range(32, 256)])


def _has_control_bytes(data: bytes) -> bool:
    """False when ``looks_binary`` must say False (no NUL nor control byte where it looks).

    One C-level pass instead of its per-byte loop, which cost ~0.5 ms per brief.
    """
    return bool(data[:8192].translate(None, _TEXT_BYTES))


def _fingerprint_file(
    config: Config, entry: IndexEntry, data: bytes | int
) -> tuple[dict[str, Any], npt.NDArray[np.uint32]]:
    empty = np.zeros(0, dtype=np.uint32)
    if isinstance(data, int):
        limit = config.max_file_bytes
        return {"skip": True, "warnings": [
            f"is {data:,} bytes, over max_file_bytes ({limit:,}); skipped"
        ]}, empty
    if _has_control_bytes(data) and looks_binary(data):
        return {"skip": True, "warnings": ["looks binary, not markdown; skipped"]}, empty
    if not data.strip():
        return {"skip": True, "warnings": ["is empty; skipped"]}, empty
    text, problem = decode(data)
    brief, warnings = parse_brief(config, entry.path, entry.blob, text)
    if problem:
        warnings.insert(0, problem)
    sig, count = shapes.fingerprint(
        text, brief.label_words, config.shingle, config.num_perm, config.seed,
        keep=config.guardrail_fields,
    )
    meta = brief.to_meta()
    meta["shingles"] = count
    if warnings:
        meta["warnings"] = warnings
    return meta, sig


class CreationTimes:
    """Path -> creation time for every path in HEAD, from one ``git log`` pass
    (incremental from the cached answer of an ancestor), the pass running in the
    background from the start: ``result`` waits for it (call it on the thread that
    owns ``cache``)."""

    def __init__(self, repo: Repo, cache: Cache, head: str | None) -> None:
        self.warnings: list[Warning] = []
        self._cache = cache
        self._head = head
        self._answer: dict[str, int] | None = {} if head is None else None
        self._job: Background | None = None
        self._known: dict[str, int] | None = None
        if head is None:
            return
        if repo.is_shallow():
            self.warnings.append(Warning(
                None,
                "shallow clone: files added before the oldest fetched commit get that commit's "
                "time; run 'git fetch --unshallow' for exact creation times",
            ))
        cached = cache.get_created()
        if cached is not None and cached[0] == head:
            self._answer = cached[1]
        elif cached is not None and repo.is_ancestor(cached[0], head):
            self._known = cached[1]
            self._job = repo.start_creation_log(since=cached[0], upto=head)
        else:
            self._job = repo.start_creation_log(upto=head)

    def result(self) -> dict[str, int]:
        if self._answer is None:
            assert self._head is not None
            job = self._job  # None only when the repo has no commits at all
            self._answer = parse_creation_log(job.wait(), self._known) if job is not None else {}
            self._cache.put_created(self._head, self._answer)
        return self._answer

    def stop(self) -> None:
        """Stop the background pass if nobody waited for it (the scan failed)."""
        if self._job is not None:
            self._job.stop()


def _band_layout(cache: Cache, config: Config) -> tuple[int, int]:
    """``band_layout`` for the config, kept in the cache (it takes ~20 ms to compute)."""
    text = f"band_layout|{code_digest()}|{config.threshold!r}|{config.num_perm}"
    key = hashlib.blake2b(text.encode(), digest_size=16).digest()
    stored = cache.get_blobs([key]).get(key) if cache.enabled else None
    if stored is not None:
        try:
            value = marshal.loads(stored)
        except (ValueError, TypeError, EOFError):
            value = None
        if (type(value) is tuple and len(value) == 2 and all(type(v) is int for v in value)
                and value[0] >= 1 and value[1] >= 1 and value[0] * value[1] <= config.num_perm):
            return value
    layout = band_layout(config.threshold, config.num_perm)
    cache.put_blobs({key: marshal.dumps(layout)})
    return layout


def order_key(b: Brief) -> tuple[float, int, str]:
    return (float(b.number) if b.number is not None else float("inf"), b.created, b.path)


def family_name(b: Brief) -> str:
    if b.lane:
        return b.lane
    stem = b.path.rsplit("/", 1)[-1]
    return stem.rsplit(".", 1)[0] if "." in stem else stem


def open_cache(repo: Repo, enabled: bool = True) -> Cache:
    if not enabled:
        return Cache(None)
    try:
        directory = repo.common_dir() / "compactor"
    except Exception:  # noqa: BLE001 - a cache is optional
        return Cache(None)
    return Cache(directory)


def run_scan(
    repo: Repo,
    config: Config,
    *,
    rev: str | None = None,
    now: int | None = None,
    progress: Progress | None = None,
    use_cache: bool = True,
    entries: Sequence[IndexEntry] | None = None,
) -> Scan:
    """Scan the index (default) or the tree of ``rev``."""
    cache = open_cache(repo, use_cache)
    try:
        if entries is None:
            entries = repo.tree_entries(repo.resolve(rev)) if rev else repo.index_entries()
        selection = select(config, entries)
        head = repo.resolve(rev) if rev else repo.head()
        stamp = now if now is not None else repo.commit_time()
        created = CreationTimes(repo, cache, head)  # git log runs while files are fingerprinted
        try:
            briefs, matrix, counts, warnings = read_briefs(
                repo, config, selection.entries, cache, progress, created.result, stamp
            )
        finally:
            created.stop()
        cwarn = created.warnings
        eligible = [
            i for i, b in enumerate(briefs)
            if b.kind in FAMILY_KINDS and counts[i] >= shapes.MIN_SHINGLES
        ]
        fams = group(
            matrix,
            eligible,
            config.threshold,
            [order_key(b) for b in briefs],
            [family_name(b) for b in briefs],
            layout=_band_layout(cache, config),
        )
        known = cache.get_blobs(
            decisions.family_key(config, matrix[f.members[0]]) for f in fams
        ) if cache.enabled else None
        learned: dict[bytes, bytes] = {}
        decided = decide(
            config, briefs, matrix, fams, known, learned if cache.enabled else None, threads=_cpus()
        )
        cache.put_blobs(learned)
        warnings = [*selection.warnings, *cwarn, *warnings,
                    *(Warning(None, w) for w in cache.warnings)]
    finally:
        cache.close()
    return Scan(
        root=repo.root,
        config=config,
        head=head,
        briefs=tuple(briefs),
        signatures=matrix,
        shingles=tuple(counts),
        families=tuple(fams),
        decisions=tuple(decided),
        warnings=tuple(warnings),
    )


def with_bodies(repo: Repo, briefs: Sequence[Brief]) -> list[Brief]:
    """The briefs with ``body`` filled in (read from their blobs in one batch)."""
    from compactor.briefs import split_front_matter

    need = [b.blob for b in briefs if b.body is None]
    data = repo.read_blobs(need) if need else {}
    out = []
    for b in briefs:
        if b.body is None:
            raw = data.get(b.blob, b"")
            text = decode(raw if isinstance(raw, bytes) else b"")[0]
            b = b._replace(body=split_front_matter(text)[1])
        out.append(b)
    return out

