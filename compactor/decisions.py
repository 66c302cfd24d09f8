"""Stage 5: families -> novelty, phase and retention class of every artifact.

Within a family (in lane order) each lane's ``novelty`` is 1 - its highest
similarity to the previous three lanes; ``novelty_any`` the same against every
earlier lane. Phases:

- ``establishing``: the first lane and the leading run of lanes that still add
  at least ``establish_novelty``;
- ``churn``: later lanes below ``churn_novelty`` (near-identical);
- ``repetition``: the rest — the same shape with shrinking novelty; and every
  member after the first that the restatement leg linked (``restate.py``): it says
  the same state again in other words, so its shape novelty says nothing. Such a
  member is ``compress`` when its link's cosine reaches ``fold_restated``, else
  ``mostly-keep`` (a weaker link may join two stages of one piece of work).

Retention: ``keep`` for proofs, hardening, consolidation outputs, postmortems
and anything in no family; ``mostly-keep`` for establishing lanes and any later
lane that still adds ``establish_novelty`` (not a restatement); ``compress`` for
the other family members; ``archive`` for ACK / next-step chatter.

A member's decision depends only on the signatures of the members before it, so
a family whose first members are those of a family decided before (a cache row,
keyed by the settings and the first member's signature, holding every member's
signature) reuses their decisions and computes only the rest: a lane appended to
a family of 200 costs one row, not the family's quadratic comparison.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from compactor.briefs import Brief
from compactor.config import Config
from compactor.families import RESTATEMENT, Family
from compactor.store import FamilyDecisions, dump_family, family_key, load_family
from compactor.vocab import KIND_INFO, PHASES, RETENTIONS, Phase, Retention

LOOKBACK = 3
# the counted pairs of _Odd must be this many times fewer than a dense block's slot compares
SPARSE_GAIN = 8

# The decisions cache stores phases and retentions as small codes, looked up by name
# (so the order of PHASES / RETENTIONS is no rule).
_CODE: dict[str, int] = {**{p: i for i, p in enumerate(PHASES)},
                         **{r: i for i, r in enumerate(RETENTIONS)}}
ESTABLISHING, REPETITION, CHURN = _CODE["establishing"], _CODE["repetition"], _CODE["churn"]
MOSTLY_KEEP, COMPRESS = _CODE["mostly-keep"], _CODE["compress"]


class Decision(NamedTuple):
    """What the scan decided for one brief (a named tuple: one per brief, built fast)."""

    family: str | None
    phase: Phase | None
    retention: Retention
    novelty: float | None
    novelty_any: float | None
    nearest: tuple[tuple[int, float], ...] = ()  # (brief index, similarity), best first


class _Odd:
    """A family's signature slots split against each column's most common value (its
    mode): ``acc[i, j]`` (slots rows i and j share) is ``width - odd[i] - odd[j]`` plus,
    for every column where both rows hold a value other than the mode, 1 — and 1 more
    when it is the same value. A family of near-copies has few such values (a 100k
    scan's families: 5% of the slots), so the pairs among them are few and are counted
    directly, instead of comparing every slot of every pair."""

    def __init__(self, rows: npt.NDArray[np.uint32]) -> None:
        n, width = rows.shape
        mode = np.empty(width, dtype=rows.dtype)
        for c in range(width):
            values, counts = np.unique(rows[:, c], return_counts=True)
            mode[c] = values[counts.argmax()]
        odd = rows != mode
        self.odd = odd.sum(axis=1).astype(np.int32)  # per row: slots off the mode
        self.width, self.n = width, n
        col, row = np.nonzero(odd.T)  # by column, then row
        self.row = row.astype(np.int64)
        self.value = rows[row, col]
        self.key = col.astype(np.int64) * n + row  # ascending
        self.cols = np.arange(width, dtype=np.int64)
        self.first = np.searchsorted(self.key, self.cols * n)  # each column's first entry

    def _below(self, x: int) -> npt.NDArray[np.int64]:
        """Per column, the index just past its entries of rows < x."""
        return np.searchsorted(self.key, self.cols * self.n + x)  # type: ignore[no-any-return]

    def pairs(self, lo: int, end: int) -> int:
        """How many entry pairs :meth:`shared` of rows lo..end counts."""
        top = self._below(end)
        return int(((top - self._below(lo)) * (top - self.first)).sum())

    def shared(self, lo: int, end: int) -> npt.NDArray[np.int32]:
        """acc[r, j]: the slots row lo + r shares with row j, for j < end."""
        low, top = self._below(lo), self._below(end)
        mine = top - low  # per column: entries of rows lo..end
        theirs = top - self.first  # per column: entries of rows < end
        acc: npt.NDArray[np.int32] = (self.width - self.odd[lo:end, None]) - self.odd[None, :end]
        total = int((mine * theirs).sum())
        if not total:
            return acc
        # each entry of rows lo..end against each entry of its column of rows < end
        mine_at = _ranges(low, mine)
        partners = np.repeat(theirs, mine)
        theirs_at = _ranges(np.repeat(self.first, mine), partners)
        code = np.repeat((self.row[mine_at] - lo) * end, partners)
        code += self.row[theirs_at]
        alike = np.repeat(self.value[mine_at], partners) == self.value[theirs_at]
        flat = acc.reshape(-1)
        size = flat.size
        flat += np.bincount(code, minlength=size)
        flat += np.bincount(code[alike], minlength=size)
        return acc


def _ranges(starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The concatenation of range(s, s + l) for each (s, l)."""
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total, dtype=np.int64)


def _neighbours(
    rows: npt.NDArray[np.uint32], k: int = LOOKBACK, block: int = 128, start: int = 1
) -> Iterator[tuple[int, int, list[tuple[int, int]]]]:
    """For rows ``start``, ``start`` + 1, ... (``start`` >= 1) of a family: the most
    signature slots shared with one of the k previous rows, the most shared with any
    earlier row, and the k earlier rows sharing most as (row, slots) — most first, the
    earlier row first on ties.

    Quadratic per family, so it is done in numpy a block of rows at a time: counted
    from the slots off each column's mode (:class:`_Odd`) when those are few, else one
    slot at a time into small counters; comparing whole rows member by member (and
    sorting all earlier rows for the top k) dominated a 100k scan.
    """
    n = rows.shape[0]
    cols = np.ascontiguousarray(rows.T)
    counter = np.uint8 if rows.shape[1] < 256 else np.uint16
    odd: _Odd | None = None
    for lo in range(max(1, start), n, block):
        end = min(n, lo + block)
        dense = (end - lo) * end * rows.shape[1]
        if dense <= 1 << 22:  # small: compare whole rows at once
            acc = np.count_nonzero(rows[lo:end, None, :] == rows[None, :end, :], axis=2)
        else:
            if odd is None:
                odd = _Odd(rows)
            if odd.pairs(lo, end) * SPARSE_GAIN <= dense:
                acc = odd.shared(lo, end)
            else:
                acc = np.zeros((end - lo, end), dtype=counter)
                same = np.empty((end - lo, end), dtype=bool)
                for col in cols:  # one slot at a time, into a reused scratch (no temporaries)
                    np.equal(col[lo:end, None], col[None, :end], out=same)
                    acc += same.view(np.uint8)
        rows_ix = np.arange(end - lo)
        acc *= np.arange(end)[None, :] < (rows_ix + lo)[:, None]  # only earlier rows count
        best = acc.max(axis=1)
        # the k previous rows (a column before the first row counts 0, as acc is >= 0)
        back = (rows_ix + lo)[:, None] - np.arange(1, k + 1)[None, :]
        recent = np.where(back >= 0, acc[rows_ix[:, None], np.maximum(back, 0)], 0).max(axis=1)
        # the k best by k argmax passes (cheaper than a partition of every row): argmax takes
        # the first of equal counts, so most slots, then the earliest row; a later row (0
        # there) comes after every earlier one, and a picked one (-1) after them all
        work = acc if acc.dtype.kind == "i" else acc.astype(np.int32)
        picked, counts = [], []
        for _ in range(min(k, end)):
            pick = work.argmax(axis=1)
            picked.append(pick)
            counts.append(work[rows_ix, pick])
            work[rows_ix, pick] = -1
        top = np.stack(picked, axis=1)
        shared = np.stack(counts, axis=1).tolist()
        recents, bests, tops = recent.tolist(), best.tolist(), top.tolist()
        for r in range(end - lo):
            m = min(lo + r, k)
            yield recents[r], bests[r], list(zip(tops[r][:m], shared[r][:m], strict=True))




def _family(
    config: Config, rows: npt.NDArray[np.uint32], known: FamilyDecisions | None, keep: int
) -> FamilyDecisions:
    """Decisions of a family whose member signatures are ``rows``, in lane order.

    Each member's decision depends only on the members before it, so the first
    ``keep`` positions are taken from ``known`` (a family with those same first
    members) and only the rest are computed.
    """
    width = rows.shape[1]  # similarity = shared slots / width
    n = rows.shape[0]
    phases, retentions, novelty, novelty_any, nearest = (
        (known[0][:keep], known[1][:keep], known[2][:keep], known[3][:keep], known[4][:keep])
        if known is not None and keep > 0 else ([], [], [], [], [])
    )
    if not phases and n:
        phases.append(ESTABLISHING)
        retentions.append(MOSTLY_KEEP)
        novelty.append(1.0)
        novelty_any.append(1.0)
        nearest.append(())
    establishing = phases[-1] == ESTABLISHING if phases else True
    if len(phases) >= n:
        return phases, retentions, novelty, novelty_any, nearest
    # round(1 - s / width, 4) and round(s / width, 4) of every count of shared slots
    unlike = [round(1.0 - s / width, 4) for s in range(width + 1)]
    alike = [round(s / width, 4) for s in range(width + 1)]
    for recent, best, top in _neighbours(rows, start=len(phases)):
        nov = unlike[recent]
        if establishing and nov >= config.establish_novelty:
            phase, retention = ESTABLISHING, MOSTLY_KEEP
        else:
            establishing = False
            phase = CHURN if nov < config.churn_novelty else REPETITION
            retention = MOSTLY_KEEP if nov >= config.establish_novelty else COMPRESS
        phases.append(phase)
        retentions.append(retention)
        novelty.append(nov)
        novelty_any.append(unlike[best])
        nearest.append(tuple([(t, alike[same]) for t, same in top]))
    return phases, retentions, novelty, novelty_any, nearest


def _common_prefix(a: npt.NDArray[np.uint32], b: npt.NDArray[np.uint32]) -> int:
    m = min(a.shape[0], b.shape[0])
    differs = np.flatnonzero((a[:m] != b[:m]).any(axis=1))
    return int(differs[0]) if differs.size else m


# Above this much pairwise work (sum of members squared) families are decided side by side
# on threads (numpy lets go of the GIL in some steps).
THREADED_WORK = 250_000
# Above this much, in forked processes: forking a big scan's process costs ~0.1-0.3 s of CPU,
# what deciding ~20M of such work takes (a 100k scan's families: ~160M, ~2 s).
FORKED_WORK = 20_000_000


def _prior(prior: tuple[npt.NDArray[np.uint32], FamilyDecisions] | None) -> FamilyDecisions | None:
    return prior[1] if prior is not None else None


_Job = tuple[npt.NDArray[np.uint32], bytes,
             tuple[npt.NDArray[np.uint32], FamilyDecisions] | None, int]
_forked: tuple[Config, list[_Job]] | None = None  # what forked workers decide (inherited)


def _decide_forked(i: int) -> FamilyDecisions:
    assert _forked is not None
    config, jobs = _forked
    rows, _, prior, keep = jobs[i]
    return _family(config, rows, _prior(prior), keep)


def _in_processes(config: Config, jobs: list[_Job], workers: int) -> list[FamilyDecisions] | None:
    """Each family's decisions in a pool of forked processes, the biggest families first
    (the same as one by one: each family is decided on its own). Threads gain little here:
    the many small numpy steps of a family hold the GIL. None where there is no fork
    (not Linux) or no process to be had."""
    import sys

    if sys.platform != "linux":
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    global _forked
    order = sorted(range(len(jobs)), key=lambda i: -(len(jobs[i][0]) ** 2 - jobs[i][3] ** 2))
    _forked = (config, jobs)
    try:
        # an executor, not multiprocessing.Pool: a worker that dies (the OOM killer, a
        # signal) breaks the executor, where Pool.map waits for its lost task for ever
        with ProcessPoolExecutor(min(workers, len(jobs)),
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            got = list(pool.map(_decide_forked, order))
    except (OSError, BrokenProcessPool):  # no processes to be had (a tight container), or
        return None  # one died: decided otherwise
    finally:
        _forked = None
    out: list[FamilyDecisions] = [([], [], [], [], [])] * len(jobs)
    for i, values in zip(order, got, strict=True):
        out[i] = values
    return out


def decide(
    config: Config,
    briefs: Sequence[Brief],
    sigs: npt.NDArray[np.uint32],
    families: Sequence[Family],
    known: Mapping[bytes, bytes] | None = None,
    learned: dict[bytes, bytes] | None = None,
    threads: int = 1,
) -> list[Decision]:
    """One decision per brief.

    ``known`` maps :func:`family_key` to families decided before (cache rows); a
    family that starts with the same members reuses their decisions. Families
    whose decisions were (partly) computed are added to ``learned`` for the cache.
    """
    out: list[Decision | None] = [None] * len(briefs)
    cached = known is not None or learned is not None
    jobs = []
    for fam in families:
        rows = sigs[np.asarray(fam.members, dtype=np.int64)]
        key = family_key(config, rows[0]) if cached else b""
        prior = load_family(known[key], rows.shape[1], LOOKBACK) if known and key in known else None
        keep = _common_prefix(prior[0], rows) if prior is not None else 0
        jobs.append((rows, key, prior, keep))
    work = sum(len(rows) ** 2 - keep**2 for rows, _, _, keep in jobs)
    results: list[FamilyDecisions] | None = None
    if threads > 1 and work >= FORKED_WORK and len(jobs) > 1:
        results = _in_processes(config, jobs, threads)
    if results is None and threads > 1 and work >= THREADED_WORK and len(jobs) > 1:
        # numpy lets go of the GIL in some comparisons: big families decide side by side
        from concurrent.futures import ThreadPoolExecutor

        try:
            with ThreadPoolExecutor(threads) as pool:
                results = list(pool.map(lambda job: _family(config, job[0], _prior(job[2]), job[3]),
                                        jobs))
        except RuntimeError:  # no threads to be had here (a tight container): one at a time
            results = None
    if results is None:
        results = [_family(config, rows, _prior(prior), keep) for rows, _, prior, keep in jobs]
    for fam, (rows, key, prior, keep), values in zip(families, jobs, results, strict=True):
        if learned is not None and (prior is None or keep < max(len(rows), len(prior[0]))):
            learned[key] = dump_family(rows, values)
        members = fam.members
        phases, retentions, novelty, novelty_any, nearest = values
        for pos, (i, link) in enumerate(fam.member_links()):
            phase, retention = phases[pos], retentions[pos]
            if pos and link.leg == RESTATEMENT:  # the same state again in other words
                # folded only on a strong link: a weaker one may join two stages of one
                # work (a fix and its later diagnosis), which must stay readable in place
                strong = link.score is not None and link.score >= config.fold_restated
                phase, retention = REPETITION, COMPRESS if strong else MOSTLY_KEEP
            out[i] = Decision(
                fam.id, PHASES[phase], RETENTIONS[retention], novelty[pos],
                novelty_any[pos], tuple([(members[t], sim) for t, sim in nearest[pos]]),
            )
    alone = {kind: Decision(None, None, info.retention, None, None)
             for kind, info in KIND_INFO.items()}  # outside a family: by kind
    return [d if d is not None else alone[b.kind] for d, b in zip(out, briefs, strict=True)]


def kept_in_place(decisions: Sequence[Decision], earned: Collection[int],
                  pinned: Collection[int]) -> list[Decision]:
    """The decisions with what a person said about retention: a member whose ``new_truth``
    claim the gate earns (``check.earned_claims``) is ``mostly-keep`` — it says something
    its family did not, so compaction leaves it where it is; a doc pinned in the compaction
    manifest (``kept``: one a reviewer brought back with ``compactor restore``, or listed
    there by hand) is ``keep``. Phases and novelty stay as measured."""
    out = list(decisions)
    for i in earned:
        if out[i].retention == "compress":
            out[i] = out[i]._replace(retention="mostly-keep")
    for i in pinned:
        out[i] = out[i]._replace(retention="keep")
    return out
