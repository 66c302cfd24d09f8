"""The scan pipeline: files -> briefs -> shapes -> families -> decisions.

``run_scan`` takes a repository and a Config and returns a frozen :class:`Scan`;
it prints nothing and never writes outside the cache in the git dir.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from compactor import __version__, shapes
from compactor.briefs import Brief, brief_from_meta, decode, looks_binary, parse_brief
from compactor.cache import Cache, entry_key
from compactor.config import KINDS, Config
from compactor.decisions import Decision, decide
from compactor.families import Family, group
from compactor.files import path_for_humans, select
from compactor.git import IndexEntry, Repo

# Bump when parsing, kind inference or masking changes: cached rows then stop matching.
FINGERPRINT_VERSION = 3
FAMILY_KINDS = frozenset({"brief", "other"})
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
    warnings: tuple[str, ...]

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
    rules = sorted((k, tuple(v)) for k, v in config.kind_rules.items())
    return (
        f"{__version__}|{FINGERPRINT_VERSION}|{config.settings_key()}|{config.ack_max_words}|"
        f"{config.max_file_bytes}|{config.guardrail_fields}|{rules!r}"
    )


def read_briefs(
    repo: Repo,
    config: Config,
    entries: Sequence[IndexEntry],
    cache: Cache,
    progress: Progress | None = None,
) -> tuple[list[Brief], list[npt.NDArray[np.uint32]], list[int], list[str]]:
    """Briefs, signatures and shingle counts for the entries (cached where possible)."""
    settings = _fingerprint_settings(config)
    keys = [entry_key(settings, e.path, e.blob) for e in entries]
    hits = {k: v for k, v in cache.get_many(keys).items() if _trusted_row(*v, config.num_perm)}
    misses = [i for i, k in enumerate(keys) if k not in hits]
    fresh: dict[bytes, tuple[dict[str, Any], bytes]] = {}
    warnings: list[str] = []
    done = 0
    for part, rows in _fingerprint_parts(repo, config, [entries[i] for i in misses]):
        for i, row in zip(misses[done : done + part], rows, strict=True):
            fresh[keys[i]] = row
        done += part
        if progress:
            progress("fingerprint", done, len(misses))
    cache.put_many(fresh)
    briefs: list[Brief] = []
    sigs: list[npt.NDArray[np.uint32]] = []
    counts: list[int] = []
    for i, e in enumerate(entries):
        meta, raw = fresh.get(keys[i]) or hits[keys[i]]
        shown = path_for_humans(e.path)
        for w in meta.get("warnings", ()):
            warnings.append(f"{shown}: {w}")
        if meta.get("skip"):
            continue
        sig = shapes.from_bytes(raw, config.num_perm)
        try:
            brief = brief_from_meta(e.path, e.blob, meta)
        except (KeyError, TypeError):
            sig = None
        if sig is None:  # a bad cache row: recompute this one, never trust it
            data = repo.read_blobs([e.blob], limit=config.max_file_bytes)[e.blob]
            meta, sig = _fingerprint_file(config, e, data)
            cache.put_many({keys[i]: (meta, shapes.to_bytes(sig))})
            if meta.get("skip"):
                continue
            brief = brief_from_meta(e.path, e.blob, meta)
        briefs.append(brief)
        sigs.append(sig)
        counts.append(int(meta.get("shingles", 0)))
    return briefs, sigs, counts, warnings


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


def creation_times(repo: Repo, cache: Cache, head: str | None) -> tuple[dict[str, int], list[str]]:
    """Path -> creation time for every path in HEAD, from one log pass (incremental if cached)."""
    warnings: list[str] = []
    if head is None:
        return {}, warnings
    if repo.is_shallow():
        warnings.append(
            "shallow clone: files added before the oldest fetched commit get that commit's time; "
            "run 'git fetch --unshallow' for exact creation times"
        )
    cached = cache.get_created()
    if cached is not None and cached[0] == head:
        return cached[1], warnings
    if cached is not None and repo.is_ancestor(cached[0], head):
        created = repo.creation_times(since=cached[0], upto=head, known=cached[1])
    else:
        created = repo.creation_times(upto=head)
    cache.put_created(head, created)
    return created, warnings


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
        briefs, sigs, counts, warnings = read_briefs(
            repo, config, selection.entries, cache, progress
        )
        head = repo.resolve(rev) if rev else repo.head()
        created, cwarn = creation_times(repo, cache, head)
        warnings = list(selection.warnings) + cwarn + warnings + cache.warnings
    finally:
        cache.close()
    stamp = now if now is not None else repo.commit_time()
    briefs = [
        replace(b, created=created.get(b.path, stamp), staged=b.path not in created)
        for b in briefs
    ]
    matrix = (
        np.vstack(sigs) if sigs else np.zeros((0, config.num_perm), dtype=np.uint32)
    )
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
    )
    decisions = decide(config, briefs, matrix, fams)
    return Scan(
        root=repo.root,
        config=config,
        head=head,
        briefs=tuple(briefs),
        signatures=matrix,
        shingles=tuple(counts),
        families=tuple(fams),
        decisions=tuple(decisions),
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
            b = replace(b, body=split_front_matter(text)[1])
        out.append(b)
    return out

