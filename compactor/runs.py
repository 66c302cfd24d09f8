"""Run identity inferred from a family: lane ids for runs numbered some other way.

``lane_pattern`` finds ids like ``S085`` or ``wave-12``. Runs are numbered in many other
ways — ``LAUNCH_P07_A3``, ``LAUNCH_P07_A4``; ``PR_8804_MERGE_LOG``; ``cycle-3-report``;
an epoch-ms prefix ``1712345678901-status``. Once a family is known, the token of its
members' file names that *varies monotonically along the run* (in creation order) is
its lane id: a token at one position of the name, present in every member without a
lane id, holding digits, not the same in all of them, and whose number rises with
creation time (within each letter prefix: ``A3 A4 B2 B3`` are two parallel lanes).

:func:`infer_runs` returns, for each such member, a :class:`RunId` (``lane`` like
``"A3"`` or ``"PR-8804"``, ``number`` the integer in it). ``Scan.runs`` holds the answer
for the whole scan (brief index -> RunId), so the gate can judge such docs as lanes
without a configured ``lane_pattern``.

:func:`join_runs` runs first (right after grouping): a run whose write-up format drifts
splits into families of consecutive pieces; pieces of one numbered series whose numbers
continue without a gap, and whose neighbouring steps agree in facts (or, without facts,
in shape at a looser threshold), are one family again.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from compactor.briefs import Brief
from compactor.facts import FACTS_AGREE, MIN_FACTS, sketch_jaccard
from compactor.families import Family

_PART = re.compile(r"[-_. ]+")
_DIGITS = re.compile(r"\d+")
MONOTONE = 0.75  # share of consecutive steps (creation order) whose number rises
MIN_MEMBERS = 3  # a run needs at least this many members without a lane id


class RunId(NamedTuple):
    lane: str
    number: int


def _parts(path: str) -> list[str]:
    """The name's parts; consecutive all-digit parts are one (a date and time in a name,
    ``2025-09-05_00-09-26``, is one token ``2025-09-05-00-09-26``)."""
    name = path.rsplit("/", 1)[-1]
    stem = name.split(".", 1)[0] if not name.startswith(".") else name
    out: list[str] = []
    digits = False
    for p in _PART.split(stem):
        if not p:
            continue
        if p.isdigit() and digits:
            out[-1] += "-" + p
        else:
            out.append(p)
        digits = p.isdigit()
    return out


def _number(token: str) -> int | None:
    if token.replace("-", "").isdigit():  # a date and time: its digits in order
        token = token.replace("-", "")
    found = _DIGITS.findall(token)
    if not found or len(found[-1]) > 18:
        return None
    return int(found[-1])


_NO_DIGITS = str.maketrans("", "", "0123456789")


def _prefix(token: str) -> str:
    return token.translate(_NO_DIGITS) if token.isascii() else _DIGITS.sub("", token)


def _letters(lane: str) -> str:
    """``_prefix(lane)``, cheaply for the usual ``S085`` / ``wave-12``."""
    head = lane.rstrip("0123456789")
    return head if head.rstrip("-_. ").isalpha() else _prefix(lane)


def family_runs(briefs: Sequence[Brief], family: Family) -> dict[int, RunId]:
    """The run ids of a family's members that carry no lane id (empty when no name token
    varies monotonically along the family)."""
    members = sorted((i for i in family.members if briefs[i].lane is None),
                     key=lambda i: (briefs[i].created, briefs[i].path))
    if len(members) < MIN_MEMBERS:
        return {}
    parts = {i: _parts(briefs[i].path) for i in members}
    width = min(len(p) for p in parts.values())
    for pos in range(width):
        tokens = [parts[i][pos] for i in members]
        numbers = [_number(t) for t in tokens]
        if any(n is None for n in numbers) or len(set(tokens)) < 2:
            continue
        last: dict[str, int] = {}
        steps = rises = 0
        for t, n in zip(tokens, numbers, strict=True):
            assert n is not None
            key = _prefix(t)
            if key in last and n != last[key]:
                steps += 1
                rises += n > last[key]
            last[key] = n
        if steps and rises / steps >= MONOTONE:
            before = pos - 1
            out = {}
            for i, t, n in zip(members, tokens, numbers, strict=True):
                assert n is not None
                # a bare number takes the word before it: PR_8804 -> PR-8804, wave 12
                lead = parts[i][before] if before >= 0 and t.replace("-", "").isdigit() else ""
                lane = f"{lead}-{t}" if lead and lead.isalpha() else t
                out[i] = RunId(lane, n)
            return out
    return {}


def infer_runs(briefs: Sequence[Brief], families: Sequence[Family]) -> Mapping[int, RunId]:
    """Brief index -> its inferred run id, over every family."""
    out: dict[int, RunId] = {}
    for f in families:
        out.update(family_runs(briefs, f))
    return out


# --- one run, one family: pieces of a run whose write-up format drifted -----------------

_MASK = re.compile(r"\d+")


class _Series(NamedTuple):
    """Where a family's run token sits: ``key`` is the name before it (digits masked) and
    the token's letter prefix; ``pos`` its part position; ``numbers`` its members' numbers.
    A run of declared lane ids (``S085``, ``wave-12``) is ``pos`` -1 and ``key``
    (:data:`_LANE`, the lane ids' letters), its numbers the lane numbers."""

    key: tuple[str, ...]
    pos: int
    numbers: tuple[int, ...]


_LANE = "\0lane"
Parts = Callable[[str], list[str]]


def _series(briefs: Sequence[Brief], family: Family, parts: Parts,
            letters: Sequence[str]) -> _Series | None:
    """The family's run token: its lane ids when every member declares one of the same
    letters (``letters[i]``: brief i's lane id without digits, "" without a lane number);
    else the first name part that holds a number in every member, is not the same in all
    of them, and follows the same words in all of them (with digits masked, and at least
    one letter among them: a bare date is no series)."""
    first = letters[family.members[0]]
    if any(c.isalpha() for c in first) and all(letters[i] == first for i in family.members):
        numbers = tuple(n for i in family.members for n in [briefs[i].number] if n is not None)
        return _Series((_LANE, first), -1, numbers) if len(set(numbers)) > 1 else None
    names = [parts(briefs[i].path) for i in family.members]
    width = min(len(p) for p in names)
    for pos in range(width):
        tokens = [p[pos] for p in names]
        found = [_number(t) for t in tokens]
        if any(n is None for n in found) or len(set(tokens)) < 2:
            continue
        keys = {(*(_MASK.sub("#", w) for w in p[:pos]), _prefix(p[pos])) for p in names}
        if len(keys) != 1:
            continue
        key = keys.pop()
        if not any(c.isalpha() for w in key for c in w):
            continue
        return _Series(key, pos, tuple(n for n in found if n is not None))
    return None


def _steps(numbers: Sequence[int]) -> int:
    """The largest step between consecutive distinct numbers (0 for one number)."""
    ordered = sorted(set(numbers))
    return max((b - a for a, b in zip(ordered, ordered[1:], strict=False)), default=0)


# Pieces of one run whose facts cannot judge them (a declared lane carries none) must
# still look alike: their shapes at this share of the family threshold.
LOOSE = 2 / 3


class _Piece(NamedTuple):
    numbers: list[int]  # its members' run numbers, sorted (with repeats)
    members: list[int]  # its members, in that order
    step: int  # its own largest step


def _piece(family: Family, series: _Series) -> _Piece:
    ranked = sorted(zip(series.numbers, family.members, strict=True))
    return _Piece([n for n, _ in ranked], [i for _, i in ranked], _steps(series.numbers))


def _gapless(a: _Piece, b: _Piece, held: Sequence[int]) -> bool:
    """Whether ``a`` and ``b`` are two pieces of one run by their numbers: no other doc of
    the series (``held``: the sorted numbers of every doc of the series, the pieces' own
    included) stands between them — between the end of one and the start of the other,
    or, where they interleave, inside their overlap — which would be a gap, another
    deliverable of the same numbering scheme; and the run token continues from one into
    the other with no step longer than the pieces' own (at least 1). A doc inside one
    piece's own range, outside the overlap, interrupted that piece, not the seam."""
    first, second = (a, b) if a.numbers[0] <= b.numbers[0] else (b, a)
    if first.numbers[-1] < second.numbers[0]:  # one after the other
        low, high = first.numbers[-1], second.numbers[0]
        if bisect.bisect_left(held, high) - bisect.bisect_right(held, low):
            return False
        # interleaving only shortens steps: the seam is the one step the union adds
        return high - low <= max(1, a.step, b.step)
    low, high = second.numbers[0], min(first.numbers[-1], second.numbers[-1])  # the overlap
    inside = bisect.bisect_right(held, high) - bisect.bisect_left(held, low)
    own = sum(bisect.bisect_right(p.numbers, high) - bisect.bisect_left(p.numbers, low)
              for p in (a, b))
    return inside == own


def _neighbours_agree(
    a: _Piece, b: _Piece, sketches: Sequence[Sequence[int]],
    signatures: npt.NDArray[np.uint32], loose: float,
) -> bool:
    """Whether the work continues across the pieces: some member of the smaller piece and
    a nearest-numbered member of the other agree in their facts as a copy's do (the copy
    veto would not separate them), or, where facts cannot judge (a side states none),
    their shapes reach ``loose``."""
    width = signatures.shape[1]
    small, big = (a, b) if len(a.members) <= len(b.members) else (b, a)
    for i, n in zip(small.members, small.numbers, strict=True):
        at = bisect.bisect_left(big.numbers, n)
        for k in (at - 1, at):
            if not 0 <= k < len(big.members):
                continue
            j = big.members[k]
            fi, fj = sketches[i], sketches[j]
            if len(fi) >= MIN_FACTS and len(fj) >= MIN_FACTS:
                if sketch_jaccard(fi, fj) >= FACTS_AGREE:
                    return True
            elif np.count_nonzero(signatures[i] == signatures[j]) >= loose * width:
                return True
    return False


def _held(briefs: Sequence[Brief], keys: Sequence[tuple[str, ...]], positions: set[int],
          parts: Parts) -> dict[tuple[str, ...], list[tuple[int, int]]]:
    """For each name series ``key`` (its run token at one of ``positions``), the (number,
    brief) of every doc of the series: one pass over the briefs."""
    wanted = set(keys)
    # cheap: a doc of a series holds that series' longest plain word (when there are few)
    words = {max((w for w in key if w and "#" not in w), key=len, default="") for key in keys}
    screen = len(words) <= 8 and "" not in words
    out: dict[tuple[str, ...], list[tuple[int, int]]] = {}
    for i, b in enumerate(briefs):
        if screen and not any(w in b.path for w in words):
            continue
        name = parts(b.path)
        masked: list[str] | None = None
        for pos in positions:
            if pos >= len(name) or not any(c.isdigit() for c in name[pos]):
                continue
            if masked is None:
                masked = [_MASK.sub("#", w) for w in name]
            key = (*masked[:pos], _prefix(name[pos]))
            if key in wanted:
                n = _number(name[pos])
                if n is not None:
                    out.setdefault(key, []).append((n, i))
    return out


def join_runs(
    briefs: Sequence[Brief], families: Sequence[Family], sketches: Sequence[Sequence[int]],
    signatures: npt.NDArray[np.uint32], threshold: float,
) -> list[Family]:
    """The families, with consecutive pieces of one run joined into one family.

    An agent's write-up format drifts along a long run (a new template, a rotating
    title), and the shape leg then splits the run into pieces: ``wave-000..043`` and
    ``wave-044..071``; cycles ``15 16 19 20`` and ``17 18 21..27`` under two titles.
    Two families are joined when the same token of their file names, after the same
    words, is a number in all their members (:func:`_series`) and the numbers continue
    without a gap (:func:`_gapless`). The numbering alone is no evidence: per-stage
    closeouts or per-PR logs share a scheme, but the other deliverables of that scheme
    stand between two of their families, which is a gap. And the work must continue
    too (:func:`_neighbours_agree`): neighbouring steps across the pieces agree in their
    facts (``sketches``, the masked fact sketches the copy veto reads) or, without facts,
    their shapes (``signatures``) reach ``LOOSE`` of ``threshold``; per-packet prompts
    that each name their own deliverables do not.

    The docs of every series are found in one pass over the briefs; only pieces holding
    two neighbouring numbers of their series are compared (a gapless pair always does),
    the seam in constant time and the facts from the smaller piece: the cost stays about
    linear in the briefs, whatever the repo holds. A joined family keeps
    the id of its piece that comes first, its members in run order (the run token's
    number, then their order in their piece) and every member's link.
    """
    if len(families) < 2:
        return list(families)
    memo: dict[str, list[str]] = {}

    def parts(path: str) -> list[str]:
        got = memo.get(path)
        if got is None:
            got = memo[path] = _parts(path)
        return got

    letters = [_letters(b.lane) if b.lane and b.number is not None else "" for b in briefs]
    series = [_series(briefs, f, parts, letters) for f in families]
    by_key: dict[tuple[str, ...], list[int]] = {}
    for k, sk in enumerate(series):
        if sk is not None:
            by_key.setdefault(sk.key, []).append(k)
    if all(len(ks) < 2 for ks in by_key.values()):
        return list(families)
    root = list(range(len(families)))

    def find(k: int) -> int:
        while root[k] != k:
            root[k] = root[root[k]]
            k = root[k]
        return k

    groups = {key: ks for key, ks in by_key.items() if len(ks) > 1}
    held_of: dict[tuple[str, ...], list[tuple[int, int]]] = {}
    if any(key[0] == _LANE for key in groups):  # lane ids: every doc's lane number
        for i, b in enumerate(briefs):
            if letters[i] and b.number is not None and (_LANE, letters[i]) in groups:
                held_of.setdefault((_LANE, letters[i]), []).append((b.number, i))
    named = [key for key in groups if key[0] != _LANE]
    if named:
        positions = {len(key) - 1 for key in named}
        held_of.update(_held(briefs, named, positions, parts))
    for key, ks in groups.items():
        owner = {i: k for k in ks for i in families[k].members}
        held = sorted((n, owner.get(i, -1)) for n, i in held_of.get(key, []))
        numbers = [n for n, _ in held]
        piece = {}
        for k in ks:
            sk = series[k]
            assert sk is not None
            piece[k] = _piece(families[k], sk)
        pairs = sorted({(min(x, y), max(x, y)) for (_, x), (_, y) in itertools.pairwise(held)
                        if x != y and x >= 0 and y >= 0})
        for x, y in pairs:
            if find(x) != find(y) and _gapless(piece[x], piece[y], numbers) and _neighbours_agree(
                    piece[x], piece[y], sketches, signatures, LOOSE * threshold):
                rx, ry = find(x), find(y)
                root[max(rx, ry)] = min(rx, ry)
    joined: dict[int, list[int]] = {}
    for k in range(len(families)):
        joined.setdefault(find(k), []).append(k)
    out: list[Family] = []
    for k, f in enumerate(families):
        pieces = joined.get(k)
        if pieces is None:
            continue
        if len(pieces) == 1:
            out.append(f)
            continue
        rank: dict[int, tuple[int, int, int]] = {}
        links = {}
        for p in pieces:
            sp = series[p]
            assert sp is not None
            for at, ((i, link), n) in enumerate(zip(families[p].member_links(), sp.numbers,
                                                    strict=True)):
                rank[i] = (n, p, at)
                links[i] = link
        order = sorted(rank, key=rank.__getitem__)
        ids = tuple(i for p in pieces for i in (families[p].pieces or (families[p].id,)))
        out.append(Family(f.id, tuple(order), tuple(links[i] for i in order), ids))
    return out
