"""Reference implementations the tests check the fast paths against (not shipped:
the package computes the same values another way)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from compactor.families import _band_runs
from compactor.shapes import _MUL, _combine, _token_hash


def shingle_hashes(shape: Sequence[str], k: int) -> npt.NDArray[np.uint32]:
    """Distinct 32-bit hashes of the k-word shingles of a shape."""
    if not shape:
        return np.zeros(0, dtype=np.uint32)
    return _combine(np.fromiter(map(_token_hash, shape), dtype=np.uint64, count=len(shape)), k)


def shingle_strings(shape: Sequence[str], k: int) -> list[str]:
    """The shingles themselves (for tests and explanations)."""
    if not shape:
        return []
    k = max(1, min(k, len(shape)))
    return [" ".join(shape[i : i + k]) for i in range(len(shape) - k + 1)]


def shingle_hash(shingle: str) -> int:
    """The 32-bit hash of one shingle string, as ``shingle_hashes`` computes it."""
    parts = shingle.split(" ")
    acc = _token_hash(parts[0])
    for p in parts[1:]:
        acc = (acc * int(_MUL) + _token_hash(p)) & 0xFFFFFFFFFFFFFFFF
    return (acc ^ (acc >> 32)) & 0xFFFFFFFF


def candidate_pairs(sigs: npt.NDArray[np.uint32], rows: Sequence[int], bands: int, r: int) -> npt.NDArray[np.int64]:
    """Pairs (i, j) of rows sharing an LSH bucket: each member with its bucket's first and previous."""
    idx = np.asarray(rows, dtype=np.int64)
    if idx.size < 2:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = []
    sub_all = sigs[idx]
    for order, same in _band_runs(sub_all, bands, r):
        if not same.any():
            continue
        # start index of each run of equal keys
        starts = np.r_[0, np.flatnonzero(~same) + 1]
        run_id = np.cumsum(np.r_[False, ~same])
        first = order[starts[run_id]]
        prev = order[:-1][same]
        cur = order[1:][same]
        firsts = first[1:][same]
        pairs.append(np.stack([prev, cur], axis=1))
        pairs.append(np.stack([firsts, cur], axis=1))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    # np.unique(pairs, axis=0), on one int64 code per pair: row-wise unique sorts
    # structured rows and was half of a warm 10k scan's grouping time
    both = np.concatenate(pairs).astype(np.int64, copy=False)
    code = both[:, 0] * idx.size + both[:, 1]
    code.sort()
    code = code[np.r_[True, code[1:] != code[:-1]]]
    local = np.stack([code // idx.size, code % idx.size], axis=1)
    local = local[local[:, 0] != local[:, 1]]
    return idx[local]  # type: ignore[no-any-return]
