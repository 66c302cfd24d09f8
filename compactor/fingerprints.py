"""Stages 2-3 for many files at once: read each blob, parse it into a brief and
fingerprint its proof shape — the cache row (meta, signature bytes) of each file.

Many files are fingerprinted by a pool of forked workers, one per CPU; the results
are the same as one process's: each file is fingerprinted on its own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from compactor import shapes
from compactor.briefs import decode, looks_binary, parse_brief
from compactor.config import Config
from compactor.facts import masked_fact_sketch
from compactor.git import IndexEntry, Repo

Row = tuple[dict[str, Any], bytes]  # a brief's fields (and warnings) and its signature bytes


# Cold scans of many files fingerprint on every CPU: parsing and masking are pure Python
# (see benchmarks/RESULTS.md). Below PARALLEL_MIN missing files a pool costs more than it saves.
PARALLEL_MIN = 2000
_PART = 500  # files per task of the pool; each task reads its blobs with one cat-file
_worker: tuple[Repo, Config] | None = None


def cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def fingerprint_part(
    repo: Repo, config: Config, entries: Sequence[IndexEntry]
) -> list[Row]:
    blobs = repo.read_blobs((e.blob for e in entries), limit=config.max_file_bytes)
    metas = [shingle_file(config, e, blobs[e.blob]) for e in entries]
    # the signatures of the whole part at once (shapes.signatures: the same rows)
    sigs = shapes.signatures([h for _, h in metas], config.num_perm, config.seed)
    return [(meta, b"" if meta.get("skip") else shapes.to_bytes(sig))
            for (meta, _), sig in zip(metas, sigs, strict=True)]


def _init_worker(repo: Repo, config: Config) -> None:
    global _worker
    _worker = (repo, config)


def _work(entries: Sequence[IndexEntry]) -> list[Row]:
    assert _worker is not None
    return fingerprint_part(*_worker, entries)


def fingerprint_parts(
    repo: Repo, config: Config, entries: Sequence[IndexEntry]
) -> Iterator[tuple[int, list[Row]]]:
    """(count, cache rows) for consecutive parts of ``entries``, in order."""
    workers = min(cpus(), len(entries) // _PART)
    if workers < 2 or len(entries) < PARALLEL_MIN or sys.platform != "linux":
        for start in range(0, len(entries), 2000):
            part = entries[start : start + 2000]
            yield len(part), fingerprint_part(repo, config, part)
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


def fingerprint_file(
    config: Config, entry: IndexEntry, data: bytes | int
) -> tuple[dict[str, Any], npt.NDArray[np.uint32]]:
    """A file's cache fields (and warnings) and its signature (empty when skipped)."""
    meta, hashes = shingle_file(config, entry, data)
    if meta.get("skip"):
        return meta, hashes
    return meta, shapes.signature(hashes, config.num_perm, config.seed)


def shingle_file(
    config: Config, entry: IndexEntry, data: bytes | int
) -> tuple[dict[str, Any], npt.NDArray[np.uint32]]:
    """A file's cache fields (and warnings) and its distinct shingle hashes (empty when
    skipped): ``fingerprint_file`` but the signature."""
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
    hashes = shapes.shingle_hashes(text, brief.mask_words, config.shingle,
                                   keep=config.guardrail_fields)
    meta = brief.to_meta()
    meta["shingles"] = int(hashes.size)
    meta["facts"] = masked_fact_sketch(brief.body or "", brief.in_run)
    if warnings:
        meta["warnings"] = warnings
    return meta, hashes
