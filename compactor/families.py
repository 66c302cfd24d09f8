"""Stage 4: signatures -> families of renamed-but-similar briefs.

Candidates come from LSH banding tuned to *query low*: the band layout is
chosen for ``threshold`` with false negatives weighted 9:1 over false
positives, so pairs near the threshold are not missed. Every candidate is then
*verified high*: its full-signature similarity must reach ``threshold``. Buckets
are never expanded into all their pairs (that is quadratic in a big family);
each member is verified against its bucket's first member and its predecessor,
which is enough to connect a family. A candidate whose briefs are already
connected by verified pairs is not verified at all (:func:`linked`): it could
not change a component.

A family is a connected component of verified pairs, ordered by lane number,
then creation time, then path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

COPY = "copy"  # linked by the shape leg: a copy, or a copy with its labels swapped
RESTATEMENT = "restatement"  # linked only by the restatement leg: the same state reworded


@dataclass(frozen=True)
class Link:
    """Why a member is in its family.

    ``leg`` is :data:`COPY` when the member has a verified shape-leg pair inside the
    family, else :data:`RESTATEMENT`. ``to`` is the brief it was linked to (-1 when not
    recorded), ``score`` that pair's similarity, ``facts`` and ``terms`` the evidence a
    restatement link shares with it (facts: numbers with units, code and quoted spans,
    names; terms: the rarest shared content stems).
    """

    leg: str
    to: int = -1
    score: float | None = None
    facts: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()


_COPY_LINK = Link(COPY)


@dataclass(frozen=True)
class Family:
    id: str
    members: tuple[int, ...]  # indexes into the scan's briefs, in lane order
    links: tuple[Link, ...] = ()  # one per member, in member order (empty: every one a copy)
    # the ids of the families ``runs.join_runs`` joined into this one: pieces of one run
    # whose write-up format drifted (empty: not joined)
    pieces: tuple[str, ...] = ()

    def link(self, i: int) -> Link:
        """How brief ``i`` (a member) was linked into the family."""
        if not self.links:
            return _COPY_LINK
        return self.links[self.members.index(i)]

    def member_links(self) -> Iterator[tuple[int, Link]]:
        """(member, its link), in member order."""
        if not self.links:
            return ((i, _COPY_LINK) for i in self.members)
        return zip(self.members, self.links, strict=True)


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


# Odd 64-bit multipliers folding a band's slots into one sortable key (see _band_runs).
_FOLD = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
     0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9],
    dtype=np.uint64,
)


def _band_runs(
    sub: npt.NDArray[np.uint32], bands: int, r: int
) -> Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]]:
    """For each band, (order, same): the rows sorted so rows with equal band slots are
    adjacent, in their own order within a run (a stable sort); ``same[k]`` says sorted
    rows k and k+1 are equal in the band.

    Each row's band is folded into one uint64 and sorted as an integer, which is many
    times faster than sorting the slots as byte strings. Only the runs matter (which
    rows share a bucket, in which order), not the order of the runs, so any exact key
    will do: a fold that maps two different bands to one key is detected and that band
    is then sorted by its bytes, so the answer is always exactly the bytes sort's.
    """
    n = sub.shape[0]
    slots = sub[:, : bands * r].reshape(n, bands, r)
    if r <= 2:  # the band's bytes are the key: exact
        wide = np.ascontiguousarray(slots)
        keys = (wide[:, :, 0].astype(np.uint64) if r == 1
                else wide.view(np.uint64).reshape(n, bands)).T
        orders = np.argsort(keys, axis=1, kind="stable")
    else:
        # folded in the rows' own memory order, then one transposing copy
        keys = slots[:, :, 0].astype(np.uint64) * _FOLD[0]
        for c in range(1, r):
            keys += slots[:, :, c].astype(np.uint64) * _FOLD[c % len(_FOLD)]
            keys ^= keys >> np.uint64(29)
        keys = np.ascontiguousarray(keys.T)
        # the row's position in the low bits of its key: the keys are then distinct, a
        # plain (unstable, SIMD) sort of the values orders equal folds by row — what a
        # stable argsort gives, several times faster — and the low bits give the order
        bits = max(1, (n - 1).bit_length())
        low = np.uint64((1 << bits) - 1)
        keys = (keys & ~low) | np.arange(n, dtype=np.uint64)
        keys.sort(axis=1)
        orders = (keys & low).astype(np.intp)
        tops = keys >> np.uint64(bits)  # the folds left: equal in a run (and in a clash)
        del keys
        sames = tops[:, 1:] == tops[:, :-1]
        # a clash: neighbours with one fold but other slots (several bands at once, each
        # row's band as one r*4-byte value; ~16 MB of them at a time)
        whole = np.ascontiguousarray(sub)[:, : bands * r].view(np.dtype((np.void, 4 * r)))
        clash = np.zeros(bands, dtype=bool)
        step = max(1, (16 << 20) // max(1, n * 4 * r))
        for lo in range(0, bands, step):
            hi = min(bands, lo + step)
            in_order = whole[orders[lo:hi], np.arange(lo, hi)[:, None]]
            clash[lo:hi] = (sames[lo:hi] & (in_order[:, 1:] != in_order[:, :-1])).any(axis=1)
        for band in range(bands):
            order, same = orders[band], sames[band]
            if clash[band]:  # folded alike: sort this band by its bytes
                raw = np.ascontiguousarray(whole[:, band])
                order = np.argsort(raw, kind="stable")
                sv = raw[order]
                same = sv[1:] == sv[:-1]
            yield order, same
        return
    for band in range(bands):
        order = orders[band]
        sk = keys[band][order]
        yield order, sk[1:] == sk[:-1]


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


def _band_edges(
    sub_all: npt.NDArray[np.uint32], bands: int, r: int
) -> Iterator[npt.NDArray[np.int64]]:
    """Band by band, the local pairs of ``candidate_pairs`` (tests/reference.py; repeats
    included): each
    member with its previous in its bucket, then each with its bucket's first."""
    for order, same in _band_runs(sub_all, bands, r):
        if not same.any():
            continue
        starts = np.r_[0, np.flatnonzero(~same) + 1]
        run_id = np.cumsum(np.r_[False, ~same])
        prev = order[:-1][same]
        cur = order[1:][same]
        firsts = order[starts[run_id]][1:][same]
        apart = firsts != prev  # a run's second member: its first is its previous
        yield np.stack([prev, cur], axis=1).astype(np.int64)
        yield np.stack([firsts[apart], cur[apart]], axis=1).astype(np.int64)


Veto = Callable[[npt.NDArray[np.int64]], npt.NDArray[np.bool_]]


def linked(
    sigs: npt.NDArray[np.uint32], rows: Sequence[int], bands: int, r: int, threshold: float,
    veto: Veto | None = None, known: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.int64]:
    """``components(len(sigs), verified_pairs(sigs, candidate_pairs(...), threshold))``
    (``candidate_pairs``: the plain reference, tests/reference.py).

    The same answer with far fewer similarity checks: the candidate pairs are taken
    band by band (and the chains of each band first), and a pair whose briefs the pairs verified so far already connect
    is not verified — it cannot change a component. Verifying and de-duplicating
    such pairs was most of a warm 10k scan's grouping time.

    ``known`` (per brief: its component among the rows an earlier call linked, or -1 for
    a row that call did not have) lets a few new rows be added to that answer instead
    (:func:`_grown`): a gate's check adds one lane to the rows a scan linked before.
    """
    n = sigs.shape[0]
    idx = np.asarray(rows, dtype=np.int64)
    if idx.size < 2:
        return np.arange(n, dtype=np.int64)
    sub = sigs[idx]
    if known is not None:
        grown = _grown(sub, known[idx], bands, r, threshold, idx, veto)
        if grown is not None:
            return components(n, np.stack([idx[grown], idx], axis=1))
    local = np.arange(idx.size, dtype=np.int64)  # each row's component, as a row position
    for edges in _band_edges(sub, bands, r):
        edges = edges[local[edges[:, 0]] != local[edges[:, 1]]]
        if edges.size == 0:
            continue
        code = np.sort(edges[:, 0] * idx.size + edges[:, 1])  # np.unique imports numpy.ma
        code = code[np.r_[True, code[1:] != code[:-1]]]
        pairs = verified_pairs(sub, np.stack([code // idx.size, code % idx.size], axis=1),
                               threshold)
        if pairs.size and veto is not None:
            pairs = pairs[~veto(idx[pairs])]
        if pairs.size:
            local = components(idx.size, local[pairs])[local]
    return components(n, np.stack([idx[local], idx], axis=1))


# Past this many new rows, linking them one by one costs more than linking everything.
GROWN_MAX = 64


def _grown(
    sub: npt.NDArray[np.uint32], base: npt.NDArray[np.int64], bands: int, r: int,
    threshold: float, idx: npt.NDArray[np.int64], veto: Veto | None,
) -> npt.NDArray[np.int64] | None:
    """``linked``'s components (as row positions) when ``base`` holds, for every row, its
    component among the rows an earlier call linked (-1: a new row) — or None when the
    answer cannot be grown from it.

    The candidate pairs of the rows with the new ones are those of the old rows plus,
    for each new row, its previous member and its first in each of its buckets, *if*
    every old member of the bucket comes before it (in row order): a new row then opens
    no gap in an old chain and displaces no bucket's first, so no old pair is lost.
    Components of the old pairs plus the new pairs that verify (and are not vetoed) are
    then ``linked``'s answer exactly. A new row placed before an old member of one of its
    buckets gives None: the caller links everything.
    """
    new = np.flatnonzero(base < 0)
    if new.size > GROWN_MAX:
        return None
    m = sub.shape[0]
    old = base >= 0
    # each old row joined to the first row of its old component
    order = np.argsort(base, kind="stable")
    first_of = order[np.r_[0, np.flatnonzero(np.diff(base[order])) + 1]]
    head = np.full(int(base.max()) + 1 if old.any() else 0, -1, dtype=np.int64)
    firsts = first_of[base[first_of] >= 0]
    head[base[firsts]] = firsts
    at = np.flatnonzero(old)
    pairs = [np.stack([head[base[at]], at], axis=1)]
    slots = sub[:, : bands * r].reshape(m, bands, r)
    found: list[tuple[int, int]] = []
    for p in new.tolist():
        same = (slots == slots[p]).all(axis=2)  # rows x bands: in p's bucket of each band
        for band in range(bands):
            members = np.flatnonzero(same[:, band])
            if members.size < 2:
                continue
            if (members[old[members]] > p).any():
                return None  # an old member after p: p would split an old chain
            k = int(np.searchsorted(members, p))
            if k:
                found.append((int(members[k - 1]), p))
                if members[0] != members[k - 1]:
                    found.append((int(members[0]), p))
    if found:  # repeats are harmless (np.unique would import numpy.ma on the hook's path)
        cand = verified_pairs(sub, np.asarray(found, dtype=np.int64), threshold)
        if cand.size and veto is not None:
            cand = cand[~veto(idx[cand])]
        pairs.append(cand)
    return components(m, np.concatenate(pairs))


# Two docs that do not both declare themselves steps of a run (a lane id, front matter
# ``action:``) written more than this apart are no shape link: a loop comes in bursts (on
# the replayed corpora every doc of a labelled loop had a groupmate in its family within
# 2.6 hours), a series of distinct deliverables of one template — per-release notes that
# are copies with the version swapped — is spread over weeks. The same day as the gate's
# lap (``check.PAUSE``) and the report's episodes (``episodes.CAP``). Pairs only: docs
# written a day at a time still chain into one family, as a run resumed within a day is
# one run.
PAUSE = 24 * 3600


def pause_veto(
    created: npt.NDArray[np.int64], declared: npt.NDArray[np.bool_],
    pairs: npt.NDArray[np.int64], pause: int | None = None,
) -> npt.NDArray[np.bool_]:
    """For each verified shape-leg pair (brief indexes), True when the two docs were
    written more than ``pause`` seconds (default :data:`PAUSE`) apart (``created``) and
    not both are declared steps of a run (``declared``)."""
    if not len(pairs):
        return np.zeros(0, dtype=bool)
    a, b = pairs[:, 0], pairs[:, 1]
    apart: npt.NDArray[np.bool_] = ~(declared[a] & declared[b]) & (
        np.abs(created[a] - created[b]) > (PAUSE if pause is None else pause))
    return apart


def group(
    sigs: npt.NDArray[np.uint32],
    rows: Sequence[int],
    threshold: float,
    order_key: Sequence[tuple[object, ...]],
    names: Sequence[str],
    layout: tuple[int, int] | None = None,
    veto: Veto | None = None,
    known: npt.NDArray[np.int64] | None = None,
) -> list[Family]:
    """Families among ``rows`` (indexes of eligible briefs), in order of their first member.

    ``veto`` (given the verified pairs as brief indexes) says which of them are no link
    after all (see ``facts.copy_veto``). ``order_key[i]`` sorts brief i within its family; ``names[i]`` names a family
    whose first member is i. ``layout`` is ``band_layout(threshold, width)`` when the
    caller has it at hand (it takes a while to compute); ``known`` see :func:`linked`.
    """
    if len(rows) < 2:
        return []
    bands, r = layout or band_layout(threshold, sigs.shape[1])
    root = linked(sigs, rows, bands, r, threshold, veto, known).tolist()
    comps: dict[int, list[int]] = {}
    for i in rows:
        comps.setdefault(root[i], []).append(i)
    key = order_key.__getitem__  # a C-level key: ~10k members sorted on a warm check
    groups = [sorted(m, key=key) for m in comps.values() if len(m) > 1]
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
        families.append(Family(fid, tuple(members), (_COPY_LINK,) * len(members)))
    return families


# A member of a family is a template instance of its own when this share of its words (at
# least OWN_MIN of them) is found in no other member: each phase packet of one template
# names its own scope, each boundary its own objective, while the steps of a run say what
# other steps say (a label swap, a template that drifted, a line reworded here and there).
# Two such members are no link (see ``own_content``), unless one names the other.
OWN_SHARE = 0.05
OWN_MIN = 2


class Text(NamedTuple):
    """What ``own_content`` reads of a member: its content words as sorted distinct token
    hashes (``shapes.content_codes``) and the file names it mentions (``mentioned``)."""

    words: npt.NDArray[np.uint64]
    names: frozenset[str]


_NAME_TOKEN = re.compile(r"[\w.-]+")


def mentioned(text: str) -> frozenset[str]:
    """What a text may name a file by: each run of word characters, dots and dashes
    (``docs&#47;ops&#47;PR_1086_MERGE_LOG.md`` holds ``pr_1086_merge_log.md``), lowercased, with
    and without its extension. One pass, whatever the names looked for."""
    out: set[str] = set()
    for m in _NAME_TOKEN.finditer(text.lower()):
        token = m.group(0).strip(".-")
        if token:
            out.add(token)
            if "." in token:
                out.add(token.rsplit(".", 1)[0])
    return frozenset(out)


@dataclass(frozen=True)
class Apart:
    """The members that say something of their own (``own``; ``groups``: them, family by
    family) and, among them, the pairs of one family that are a step and the step it
    names (``named``: (smaller, larger))."""

    own: frozenset[int] = frozenset()
    named: frozenset[tuple[int, int]] = frozenset()
    groups: tuple[tuple[int, ...], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.own)

    def kept_from(self) -> Mapping[int, tuple[int, ...]]:
        """Each member that says something of its own -> the members of its family it is
        no link to (those that say something of their own and do not name it), found
        when asked: for every member at once it is the square of a family's size (20,000
        template instances: 400 million entries on every scan)."""
        return KeptFrom(self)

    def veto(self, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """For each pair (brief indexes): both say something of their own, neither names
        the other."""
        out = np.zeros(len(pairs), dtype=bool)
        if not self.own or not len(pairs):
            return out
        own = np.fromiter(self.own, dtype=np.int64, count=len(self.own))
        both = np.flatnonzero(np.isin(pairs[:, 0], own) & np.isin(pairs[:, 1], own))
        for k, i, j in zip(both.tolist(), *pairs[both].T.tolist(), strict=True):
            out[k] = (min(i, j), max(i, j)) not in self.named
        return out


class KeptFrom(Mapping[int, tuple[int, ...]]):
    """``Apart.kept_from``: a read-only mapping whose values are found one key at a time."""

    def __init__(self, apart: Apart) -> None:
        self._named = apart.named
        self._group = {i: g for g in apart.groups for i in g}

    def __getitem__(self, i: int) -> tuple[int, ...]:
        g, named = self._group[i], self._named
        return tuple(j for j in g if j != i and (min(i, j), max(i, j)) not in named)

    def __iter__(self) -> Iterator[int]:
        return iter(self._group)

    def __len__(self) -> int:
        return len(self._group)


def own_content(
    families: Sequence[Family],
    judged: npt.NDArray[np.bool_],
    read: Callable[[Sequence[int]], Sequence[Text]],
    stem: Callable[[int], str],
) -> Apart:
    """Which members of ``families`` say something of their own: at least ``OWN_SHARE`` of
    their content words (and ``OWN_MIN``) are in no other member of their family.

    Only members ``judged`` (``judged[i]``: not a declared step of a run, whose label
    varies by design) are asked, and only in a family with two of them: one such member
    is a step whose write-up grew, two or more are template instances that each order
    their own work.
    A step that names another by its file name (``stem(i)``: the name without its
    extension, lowercased, among the names its text mentions: the merge log of the
    previous merge log, a wave that continues the last) is about that step, as a run
    is: such a pair stays a link. ``read(members)`` gives each member's :class:`Text`.
    """
    asked = [f for f in families
             if np.count_nonzero(judged[list(f.members)]) >= 2]  # numpy: ~10k lanes on a check
    own: set[int] = set()
    named: set[tuple[int, int]] = set()
    groups: list[tuple[int, ...]] = []
    at = 0
    while at < len(asked):  # the families of ~READ_BATCH members read at once: bounded memory
        batch = [asked[at]]
        size = len(asked[at].members)
        at += 1
        while at < len(asked) and size + len(asked[at].members) <= READ_BATCH:
            batch.append(asked[at])
            size += len(asked[at].members)
            at += 1
        need = [i for f in batch for i in f.members]  # families share no member
        texts = dict(zip(need, read(need), strict=True))
        for f in batch:
            mine = _own_in(f, texts, judged, stem, named)
            if mine:
                own.update(mine)
                groups.append(mine)
    return Apart(frozenset(own), frozenset(named), tuple(groups))


READ_BATCH = 2000  # members whose texts ``own_content`` holds at once


def _own_in(f: Family, texts: Mapping[int, Text], judged: npt.NDArray[np.bool_],
            stem: Callable[[int], str], named: set[tuple[int, int]]) -> tuple[int, ...]:
    """``own_content`` of one family: its members that say something of their own (none
    when fewer than two do), their pairs where one names the other added to ``named``."""
    codes, counts = np.unique(np.concatenate([texts[i].words for i in f.members]),
                              return_counts=True)
    alone = codes[counts == 1]  # the words of one member only
    mine = []
    for i in f.members:
        ws = texts[i].words
        if not judged[i] or not ws.size:
            continue
        n = np.count_nonzero(np.isin(ws, alone, assume_unique=True))
        if n >= OWN_MIN and n >= OWN_SHARE * ws.size:
            mine.append(i)
    if len(mine) < 2:
        return ()
    by_stem: dict[str, list[int]] = {}
    stems = {i: stem(i) for i in mine}
    for i in mine:
        if stems[i]:
            by_stem.setdefault(stems[i], []).append(i)
    for i in mine:  # linear in the names each member mentions, not in pairs of members
        for name in texts[i].names & by_stem.keys():
            if name != stems[i]:
                named.update((min(i, j), max(i, j)) for j in by_stem[name])
    return tuple(mine)


def join(
    families: Sequence[Family],
    edges: Sequence[Any],
    order_key: Sequence[tuple[object, ...]],
    names: Sequence[str],
) -> list[Family]:
    """The shape leg's ``families`` joined by restatement ``edges`` (``restate.Edge``: a, b,
    score, shared facts, terms): one family per connected component.

    A family the edges do not touch is kept as it is. In a joined family a member of a
    shape-leg family keeps its copy link; any other member is linked by its strongest
    restatement edge (``to``: the doc at its other end).
    """
    copy_of: dict[int, Family] = {m: f for f in families for m in f.members}
    nodes = sorted({*copy_of, *(k for e in edges for k in (e.a, e.b))})
    at = {n: k for k, n in enumerate(nodes)}
    pairs = [(at[m], at[f.members[0]]) for f in families for m in f.members[1:]]
    pairs += [(at[e.a], at[e.b]) for e in edges]
    root = components(len(nodes), np.asarray(pairs, dtype=np.int64).reshape(-1, 2)).tolist()
    comps: dict[int, list[int]] = {}
    for n in nodes:
        comps.setdefault(root[at[n]], []).append(n)
    best: dict[int, Any] = {}  # node -> its strongest restatement edge
    for e in edges:
        for k in (e.a, e.b):
            if k not in best or e.score > best[k].score:
                best[k] = e
    out: list[tuple[list[int], Family | None]] = []
    for members in comps.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: order_key[i])
        fam = copy_of.get(members[0])  # the component is exactly one family: kept as it is
        out.append((members, fam if fam is not None and len(fam.members) == len(members)
                    else None))
    out.sort(key=lambda mf: order_key[mf[0][0]])
    used = {kept.id for _, kept in out if kept is not None}
    result = []
    for members, kept in out:
        if kept is not None:
            result.append(kept)
            continue
        fid = base = names[members[0]]
        n = 2
        while fid in used:
            fid = f"{base}~{n}"
            n += 1
        used.add(fid)
        links = []
        for i in members:
            if i in copy_of and len(copy_of[i].members) > 1:
                links.append(_COPY_LINK)
                continue
            e = best[i]
            links.append(Link(RESTATEMENT, e.b if e.a == i else e.a, e.score, tuple(e.facts),
                              tuple(e.terms)))
        result.append(Family(fid, tuple(members), tuple(links)))
    return result
