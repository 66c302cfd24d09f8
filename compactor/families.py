"""Stage 4: signatures -> families of renamed-but-similar briefs.

Candidates come from LSH banding tuned to *query low*: the band layout is
chosen for ``threshold`` with false negatives weighted 9:1 over false
positives, so pairs near the threshold are not missed. Every candidate is then
*verified high*: its full-signature similarity must reach ``threshold``. Buckets
are never expanded into all their pairs (that is quadratic in a big family);
each member is verified against its bucket's first member and its predecessor,
which is enough to connect a family.

A family is a connected component of verified pairs, ordered by lane number,
then creation time, then path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Family:
    id: str
    members: tuple[int, ...]  # indexes into the scan's briefs, in lane order


_trapezoid = getattr(np, "trapezoid", None) or getattr(np, "trapz")  # noqa: B009 - numpy < 2


@lru_cache(maxsize=32)
def band_layout(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising 0.1*false positives + 0.9*false negatives around threshold."""
    xs = np.linspace(0.0, 1.0, 1001)
    best: tuple[float, int, int] = (float("inf"), 1, num_perm)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            p = 1.0 - (1.0 - xs**r) ** b
            fp = float(_trapezoid(p[xs < threshold], xs[xs < threshold]))
            fn = float(_trapezoid(1.0 - p[xs >= threshold], xs[xs >= threshold]))
            err = 0.1 * fp + 0.9 * fn
            if err < best[0] - 1e-12:
                best = (err, b, r)
    return best[1], best[2]


def components(n: int, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """For each of ``n`` nodes, the smallest node of its connected component.

    A union-find's answer (with the smaller root kept on union), in numpy:
    hook every edge's larger root onto the smaller, then jump pointers, until
    nothing changes. The Python loop over a 100k scan's pairs took seconds.
    """
    labels = np.arange(n, dtype=np.int64)
    if pairs.size == 0:
        return labels
    a, b = pairs[:, 0], pairs[:, 1]
    while True:
        la, lb = labels[a], labels[b]
        low = np.minimum(la, lb)
        hooked = labels.copy()
        np.minimum.at(hooked, la, low)
        np.minimum.at(hooked, lb, low)
        while True:
            jumped = hooked[hooked]
            if np.array_equal(jumped, hooked):
                break
            hooked = jumped
        if np.array_equal(hooked, labels):
            return labels
        labels = hooked


def candidate_pairs(sigs: npt.NDArray[np.uint32], rows: Sequence[int], bands: int, r: int) -> npt.NDArray[np.int64]:
    """Pairs (i, j) of rows sharing an LSH bucket: each member with its bucket's first and previous."""
    idx = np.asarray(rows, dtype=np.int64)
    if idx.size < 2:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = []
    sub_all = sigs[idx]
    for band in range(bands):
        sub = np.ascontiguousarray(sub_all[:, band * r : (band + 1) * r])
        keys = sub.view(np.dtype((np.void, sub.dtype.itemsize * r))).ravel()
        order = np.argsort(keys, kind="stable")
        sk = keys[order]
        same = sk[1:] == sk[:-1]
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
    both = np.concatenate(pairs)
    code = both[:, 0] * idx.size + both[:, 1]
    code.sort()
    code = code[np.r_[True, code[1:] != code[:-1]]]
    local = np.stack([code // idx.size, code % idx.size], axis=1)
    local = local[local[:, 0] != local[:, 1]]
    return idx[local]  # type: ignore[no-any-return]


def verified_pairs(
    sigs: npt.NDArray[np.uint32], pairs: npt.NDArray[np.int64], threshold: float
) -> npt.NDArray[np.int64]:
    if pairs.size == 0:
        return pairs
    keep = np.zeros(len(pairs), dtype=bool)
    for i in range(0, len(pairs), 20000):
        chunk = pairs[i : i + 20000]
        sim = np.count_nonzero(sigs[chunk[:, 0]] == sigs[chunk[:, 1]], axis=1) / sigs.shape[1]
        keep[i : i + 20000] = sim >= threshold
    return pairs[keep]


def group(
    sigs: npt.NDArray[np.uint32],
    rows: Sequence[int],
    threshold: float,
    order_key: Sequence[tuple[object, ...]],
    names: Sequence[str],
) -> list[Family]:
    """Families among ``rows`` (indexes of eligible briefs), in order of their first member.

    ``order_key[i]`` sorts brief i within its family; ``names[i]`` names a family
    whose first member is i.
    """
    if len(rows) < 2:
        return []
    bands, r = band_layout(threshold, sigs.shape[1])
    pairs = verified_pairs(sigs, candidate_pairs(sigs, rows, bands, r), threshold)
    root = components(sigs.shape[0], pairs).tolist()
    comps: dict[int, list[int]] = {}
    for i in rows:
        comps.setdefault(root[i], []).append(i)
    groups = [sorted(m, key=lambda i: order_key[i]) for m in comps.values() if len(m) > 1]
    groups.sort(key=lambda m: order_key[m[0]])
    families = []
    used: set[str] = set()
    for members in groups:
        fid = names[members[0]]
        n = 2
        base = fid
        while fid in used:
            fid = f"{base}~{n}"
            n += 1
        used.add(fid)
        families.append(Family(fid, tuple(members)))
    return families
