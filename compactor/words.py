"""Words for people: a count with its noun in the right number ("1 family", "2 families"),
a long name cut in its middle, a figure cut (never rounded up past a threshold)."""

from __future__ import annotations

import math
from collections.abc import Sequence

IRREGULAR = {"family": "families", "entry": "entries", "brief": "briefs", "lane": "lanes"}


def plural(n: int, one: str, many: str | None = None) -> str:
    """``plural(1, "family")`` -> '1 family'; ``plural(3, "family")`` -> '3 families'."""
    if n == 1:
        return f"{n} {one}"
    return f"{n} {many or IRREGULAR.get(one) or one + 's'}"


def down(x: float, digits: int) -> float:
    """``x`` cut (not rounded) to ``digits`` decimals: a figure shown beside a threshold it
    is compared with never crosses it (a cosine of 0.3996 is 0.39, not 0.40, when the
    verdict is that it is below 0.4)."""
    scale = 10.0**digits
    return math.floor(x * scale + 1e-9) / scale


NAME_WIDTH = 32  # a lane or family name longer than this is cut in tables and charts


STEM_ROOM = 8  # a folder-named doc keeps its folders whole when its file name keeps this much


def shorten(name: str, width: int = NAME_WIDTH) -> str:
    """A name cut to ``width`` in its middle, keeping both ends (a table cell, a chart
    label): 'CROSS_SECTIONAL_FUNDING_RATE_DUAL_LEG_SPREAD_V1' -> 'CROSS_SECTIONAL_FU…EAD_V1'.
    A name with folders (:func:`telling_names`) is cut in its file name, the part the docs
    it is told apart from share: '2026-01-23T024800Z/inbox_sla_watch/inbox_scan_summary'
    -> '2026-01-23T024800Z/inbox_sla_watch/inbox…ary' at 44 (its folders whole while the
    file name keeps STEM_ROOM characters)."""
    if len(name) <= width:
        return name
    head, slash, stem = name.rpartition("/")
    if slash and width - len(head) - 1 >= min(STEM_ROOM, len(stem)):
        return f"{head}/{shorten(stem, width - len(head) - 1)}"
    tail = width // 3
    return name[: width - tail - 1] + "…" + name[-tail:]


def fold(line: str, width: int) -> str:
    """A line longer than ``width`` folded at its spaces (never inside a word or a path),
    the rest indented two past where its text starts (past a leading ``-`` or ``+``)."""
    if len(line) <= width:
        return line
    import textwrap

    lead = len(line) - len(line.lstrip(" -+"))
    return textwrap.fill(line, width, subsequent_indent=" " * (lead + 2),
                         break_long_words=False, break_on_hyphens=False)


def members_text(docs: int, lanes: int) -> str:
    """A family's size in the one sense every output gives "lanes" (docs with a lane id,
    or a run id inferred from their names; the report's and the inventory's count):
    '15 lanes' when every member is one, '3 docs, no lane id' when none is, else
    '5 docs, 3 lanes'."""
    if lanes == docs:
        return plural(docs, "lane")
    if not lanes:
        return f"{plural(docs, 'doc')}, no lane id"
    return f"{plural(docs, 'doc')}, {plural(lanes, 'lane')}"


def telling_names(paths: Sequence[str], stem: str) -> list[str]:
    """Names for docs sharing one file name ``stem`` (``paths`` are theirs, one each): the
    stem after the folders that tell the docs apart, each doc named by the same folder
    levels, and a level where the docs not yet told apart all agree left out:
    ``['r/0354Z/A/RUN_REPORT.md', 'r/0354Z/B/RUN_REPORT.md', 'r/0512Z/C/RUN_REPORT.md']``
    -> ``['0354Z/A/RUN_REPORT', '0354Z/B/RUN_REPORT', '0512Z/C/RUN_REPORT']``. Levels are
    counted from the root or from the file (its nearest folder first), whichever tells the
    docs apart with fewer levels, the root on a tie (docs at different depths under one
    folder per run, ``<run>/x.md`` and ``<run>/check/manifest/x.md``, are told apart by
    ``<run>``, not by ``check``). A doc no folder tells apart (``x.md`` beside ``x.markdown``) keeps its
    whole path."""
    if len(paths) < 2:
        return [stem for _ in paths]
    tops = [p.split("/")[:-1] for p in paths]
    levels, whole = _telling_levels(tops)
    ends = [f[::-1] for f in tops]
    from_end, whole_end = _telling_levels(ends)
    if len(from_end) < len(levels):  # as the path reads: the farthest level first
        ends_first = sorted(from_end, reverse=True)
        return [paths[k] if k in whole_end else
                "/".join([*(f[d] for d in ends_first if d < len(f)), stem])
                for k, f in enumerate(ends)]
    return [paths[k] if k in whole else
            "/".join([*(f[d] for d in levels if d < len(f)), stem])
            for k, f in enumerate(tops)]


def _telling_levels(folders: Sequence[Sequence[str]]) -> tuple[list[int], set[int]]:
    """The folder levels (indexes into each doc's ``folders``) that tell the docs apart,
    and the docs no level tells apart."""
    levels: list[int] = []
    groups = [list(range(len(folders)))]  # docs not told apart yet
    whole: set[int] = set()
    depth = 0
    while groups:
        split: list[list[int]] = []
        tells = False
        for group in groups:
            parts: dict[str | None, list[int]] = {}
            for k in group:
                f = folders[k]
                part = f[depth] if depth < len(f) else None
                got = parts.get(part)
                if got is None:
                    parts[part] = [k]
                else:
                    got.append(k)
            if len(parts) == 1 and None in parts:  # no folder left to tell them apart
                whole.update(group)
                continue
            tells = tells or len(parts) > 1
            split += [ks for ks in parts.values() if len(ks) > 1]
        if tells:
            levels.append(depth)
        groups = split
        depth += 1
    return levels, whole
