"""Loop episodes: bursts of lanes of one family (or one run) dense in time.

A long-lived docs repo holds many loops over months; one window from its first
to its last lane would describe none of them. An episode is found in three steps:

1. **Group.** Every lane artifact (a doc carrying a lane id, or a member of a
   family; consolidation outputs, postmortems and ACK chatter aside) belongs to
   its family, else to its *run*: the lane id's letters (``S085`` -> ``s``,
   ``Wave 35`` -> ``wave``) and, when the id is read from the file name, the words
   of the name before it (one agent's ``…_Captain_Agent-4_…_Cycle_4`` and another's
   ``autonomous-cycle-14`` are two runs, though both ids spell "cycle").
2. **Split.** A group's artifacts, in time order, are cut at every gap longer
   than ``CAP`` (a day: a loop that stopped for a day is over); each piece is cut
   again at every gap longer than ``FACTOR`` times the piece's median gap (its
   typical spacing), but never at a gap shorter than ``FLOOR`` (an hour: a
   paused supervisor that resumes within the hour is the same loop).
3. **Keep.** A piece of at least ``MIN_LANES`` distinct lanes (lane numbers;
   several docs of one lane count once) written at more than one time (a batch
   committed at once is an import, not a loop) is an episode. ACK
   chatter carrying a lane id joins the episode of its run or family whose
   window holds it (it never stretches a window).

Episodes are numbered from 1 in the order they started. Pure: indexes in,
indexes out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from compactor.briefs import Brief
from compactor.decisions import Decision
from compactor.files import stem_of
from compactor.vocab import AFTER_THE_FACT_KINDS, KIND_INFO

CAP = 24 * 3600  # seconds: a longer pause always ends an episode
FLOOR = 3600  # seconds: a shorter pause never ends one
FACTOR = 10  # a pause this many times the typical spacing ends one
MIN_LANES = 3  # fewer artifacts than this are not a loop

_RUN = re.compile(r"[^a-z]+")


@dataclass(frozen=True)
class Burst:
    """One episode's artifacts: indexes into the scan's briefs, in time order."""

    family: str | None  # the family, or None for a run of lanes in no family
    run: str | None  # a run in no family: its lane ids' letters (and the name words before)
    members: tuple[int, ...]  # the lanes (and lane artifacts) that make the episode
    chatter: tuple[int, ...] = ()  # ACK chatter inside its window

    @property
    def group(self) -> str:
        return self.family if self.family is not None else f"run {self.run}"


def _distinct_lanes(briefs: Sequence[Brief], members: Sequence[int]) -> int:
    """Lanes in ``members``: distinct lane numbers (several docs of one lane are one), each
    doc without a number its own."""
    return len({briefs[i].number if briefs[i].number is not None else briefs[i].path
                for i in members})


def run_key(lane: str) -> str:
    """The letters of a lane id: its run ('S085' -> 's', 'Wave 35' -> 'wave')."""
    return _RUN.sub("", lane.lower()) or "#"


def run_of(brief: Brief) -> str:
    """The run of a lane in no family, as episodes name it: its lane id's letters, then,
    when the id is read from the file name after other words, those words ('cycle
    (autonomous)' for ``2025-09-05_autonomous-cycle-14_….md``; 's' for ``S085-x.md``)."""
    lane = brief.lane or ""
    letters = run_key(lane)
    stem = stem_of(brief.path).lower()
    at = stem.find(lane.lower()) if lane else -1
    words = re.findall(r"[a-z]+", stem[:at]) if at > 0 else []
    return f"{letters} ({' '.join(words)})" if words else letters


def split(times: Sequence[int]) -> list[tuple[int, int]]:
    """[start, stop) slices of ``times`` (sorted) cut by the rule in the module doc."""
    pieces: list[tuple[int, int]] = []
    start = 0
    for k in range(1, len(times) + 1):
        if k == len(times) or times[k] - times[k - 1] > CAP:
            pieces.extend((start + a, start + b) for a, b in _split_dense(times[start:k]))
            start = k
    return pieces


def _split_dense(times: Sequence[int]) -> list[tuple[int, int]]:
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    if not gaps:
        return [(0, len(times))]
    mid = len(gaps) // 2
    typical = gaps[mid] if len(gaps) % 2 else (gaps[mid - 1] + gaps[mid]) / 2
    limit = max(FLOOR, FACTOR * typical)
    pieces = []
    start = 0
    for k in range(1, len(times)):
        if times[k] - times[k - 1] > limit:
            pieces.append((start, k))
            start = k
    pieces.append((start, len(times)))
    return pieces


Groups = dict[tuple[str | None, str | None], list[int]]


def _groups(briefs: Sequence[Brief], decisions: Sequence[Decision],
            skip: frozenset[str]) -> tuple[Groups, dict[str, list[int]]]:
    """Every lane artifact by (family, None) or (None, run); ACK chatter by its run key."""
    groups: Groups = {}
    acks: dict[str, list[int]] = {}
    for i, (b, d) in enumerate(zip(briefs, decisions, strict=True)):
        if b.path in skip or b.kind in AFTER_THE_FACT_KINDS:
            continue
        if KIND_INFO[b.kind].chatter:
            if b.lane is not None:
                acks.setdefault(run_key(b.lane), []).append(i)
            continue
        if d.family is not None:
            groups.setdefault((d.family, None), []).append(i)
        elif b.lane is not None:
            groups.setdefault((None, run_of(b)), []).append(i)
    return groups, acks


def find_bursts(
    briefs: Sequence[Brief], decisions: Sequence[Decision], skip: frozenset[str] = frozenset()
) -> list[Burst]:
    """The episodes of a scan, in the order they started (ties: by group)."""
    groups, acks = _groups(briefs, decisions, skip)
    bursts: list[Burst] = []
    for (family, run), members in groups.items():
        members.sort(key=lambda i: (briefs[i].created, briefs[i].path))
        times = [briefs[i].created for i in members]
        for a, z in split(times):
            piece = members[a:z]
            if times[a] < times[z - 1] and _distinct_lanes(briefs, piece) >= MIN_LANES:
                bursts.append(Burst(family, run, tuple(piece)))
    bursts.sort(key=lambda e: (briefs[e.members[0]].created, e.group))
    taken: set[int] = set()
    return [_with_chatter(e, briefs, acks, taken) for e in bursts]


def no_episode(briefs: Sequence[Brief], decisions: Sequence[Decision], family: str,
               skip: frozenset[str] = frozenset()) -> str:
    """Why family ``family`` makes no episode, as a clause ("12 of its 15 lanes were
    committed at one time …")."""
    members = sorted(_groups(briefs, decisions, skip)[0].get((family, None), []),
                     key=lambda i: (briefs[i].created, briefs[i].path))
    lanes = _distinct_lanes(briefs, members)
    if lanes < MIN_LANES:
        return f"it has {lanes} lane{'' if lanes == 1 else 's'}, an episode needs {MIN_LANES}"
    times = [briefs[i].created for i in members]
    batch = max((n for a, z in split(times) if times[a] == times[z - 1]
                 for n in [_distinct_lanes(briefs, members[a:z])] if n >= MIN_LANES),
                default=0)
    close = ("written close together (a pause over a day, or over an hour and "
             f"{FACTOR}x their typical spacing, ends a burst)")
    if batch:
        return (f"{batch} of its {lanes} lanes were committed at one time (a batch is an "
                f"import: its times say nothing about a loop), and no {MIN_LANES} of the "
                f"others were {close}")
    return f"no {MIN_LANES} of its {lanes} lanes were {close}"


def _with_chatter(
    burst: Burst, briefs: Sequence[Brief], acks: dict[str, list[int]], taken: set[int]
) -> Burst:
    """The burst with the ACK chatter of its runs inside its window (each ACK joins the
    first episode that holds it)."""
    runs = sorted({run_key(b.lane) for b in (briefs[i] for i in burst.members) if b.lane})
    start, end = briefs[burst.members[0]].created, briefs[burst.members[-1]].created
    chatter = sorted(
        (i for r in runs for i in acks.get(r, ())
         if i not in taken and start <= briefs[i].created <= end),
        key=lambda i: (briefs[i].created, briefs[i].path),
    )
    if not chatter:
        return burst
    taken.update(chatter)
    return Burst(burst.family, burst.run, burst.members, tuple(chatter))
