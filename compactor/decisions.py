"""Stage 5: families -> novelty, phase and retention class of every artifact.

Within a family (in lane order) each lane's ``novelty`` is 1 - its highest
similarity to the previous three lanes; ``novelty_any`` the same against every
earlier lane. Phases:

- ``establishing``: the first lane and the leading run of lanes that still add
  at least ``establish_novelty``;
- ``churn``: later lanes below ``churn_novelty`` (near-identical);
- ``repetition``: the rest — the same shape with shrinking novelty.

Retention: ``keep`` for proofs, hardening, consolidation outputs, postmortems
and anything in no family; ``mostly-keep`` for establishing lanes and any later
lane that still adds ``establish_novelty``; ``compress`` for the other family
members; ``archive`` for ACK / next-step chatter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from compactor.briefs import Brief
from compactor.config import Config
from compactor.families import Family

PHASES = ("establishing", "repetition", "churn")
RETENTIONS = ("keep", "mostly-keep", "compress", "archive")
LOOKBACK = 3


@dataclass(frozen=True)
class Decision:
    family: str | None
    phase: str | None
    retention: str
    novelty: float | None
    novelty_any: float | None
    nearest: tuple[tuple[int, float], ...] = ()  # (brief index, similarity), best first


def _neighbours(
    rows: npt.NDArray[np.uint32], k: int = LOOKBACK, block: int = 128
) -> Iterator[tuple[int, int, list[tuple[int, int]]]]:
    """For rows 1, 2, ... of a family: the most signature slots shared with one of
    the k previous rows, the most shared with any earlier row, and the k earlier
    rows sharing most as (row, slots) — most first, the earlier row first on ties.

    Quadratic per family, so it is done in numpy a block of rows at a time and one
    slot at a time into small counters; comparing whole rows member by member (and
    sorting all earlier rows for the top k) dominated a 100k scan.
    """
    n = rows.shape[0]
    cols = np.ascontiguousarray(rows.T)
    counter = np.uint8 if rows.shape[1] < 256 else np.uint16
    for start in range(0, n, block):
        end = min(n, start + block)
        if (end - start) * end * rows.shape[1] <= 1 << 22:  # small: compare whole rows at once
            acc = np.count_nonzero(rows[start:end, None, :] == rows[None, :end, :], axis=2)
        else:
            acc = np.zeros((end - start, end), dtype=counter)
            for col in cols:
                acc += col[start:end, None] == col[None, :end]
        pos = np.arange(start, end)[:, None]
        col_ix = np.arange(end)[None, :]
        earlier = col_ix < pos
        best = np.where(earlier, acc, 0).max(axis=1)
        recent = np.where(earlier & (col_ix >= pos - k), acc, 0).max(axis=1)
        key = acc.astype(np.int64) * (end + 1) - col_ix  # unique: most slots, then earliest
        key[~earlier] = -(end + 1)
        part = (np.argpartition(-key, k - 1, axis=1)[:, :k] if end > k
                else np.broadcast_to(np.arange(end), (end - start, end)))
        top = np.take_along_axis(part, np.argsort(-np.take_along_axis(key, part, 1), axis=1), 1)
        shared = np.take_along_axis(acc, top, 1).tolist()
        recents, bests, tops = recent.tolist(), best.tolist(), top.tolist()
        for r in range(max(0, 1 - start), end - start):
            m = min(start + r, k)
            yield recents[r], bests[r], list(zip(tops[r][:m], shared[r][:m], strict=True))


def decide(
    config: Config,
    briefs: Sequence[Brief],
    sigs: npt.NDArray[np.uint32],
    families: Sequence[Family],
) -> list[Decision]:
    out: list[Decision | None] = [None] * len(briefs)
    for fam in families:
        establishing = True
        neighbours = _neighbours(sigs[np.asarray(fam.members, dtype=np.int64)])
        width = sigs.shape[1]  # similarity = shared slots / width
        for pos, i in enumerate(fam.members):
            if pos == 0:
                out[i] = Decision(fam.id, "establishing", "mostly-keep", 1.0, 1.0, ())
                continue
            recent, best, top = next(neighbours)
            novelty = round(1.0 - recent / width, 4)
            novelty_any = round(1.0 - best / width, 4)
            nearest = tuple((fam.members[t], round(same / width, 4)) for t, same in top)
            if establishing and novelty >= config.establish_novelty:
                phase, retention = "establishing", "mostly-keep"
            else:
                establishing = False
                phase = "churn" if novelty < config.churn_novelty else "repetition"
                retention = "mostly-keep" if novelty >= config.establish_novelty else "compress"
            out[i] = Decision(fam.id, phase, retention, novelty, novelty_any, nearest)
    result = []
    for i, b in enumerate(briefs):
        d = out[i]
        if d is None:
            d = Decision(None, None, "archive" if b.kind == "ack" else "keep", None, None)
        result.append(d)
    return result
