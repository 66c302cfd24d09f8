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
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from compactor.briefs import Brief
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


def _prefix(token: str) -> str:
    return _DIGITS.sub("", token)


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
