"""Words for people: a count with its noun in the right number ("1 family", "2 families"),
a long name cut in its middle."""

from __future__ import annotations

IRREGULAR = {"family": "families", "entry": "entries", "brief": "briefs", "lane": "lanes"}


def plural(n: int, one: str, many: str | None = None) -> str:
    """``plural(1, "family")`` -> '1 family'; ``plural(3, "family")`` -> '3 families'."""
    if n == 1:
        return f"{n} {one}"
    return f"{n} {many or IRREGULAR.get(one) or one + 's'}"


NAME_WIDTH = 32  # a lane or family name longer than this is cut in tables and charts


def shorten(name: str, width: int = NAME_WIDTH) -> str:
    """A name cut to ``width`` in its middle, keeping both ends (a table cell, a chart
    label): 'CROSS_SECTIONAL_FUNDING_RATE_DUAL_LEG_SPREAD_V1' -> 'CROSS_SECTIONAL_FU…EAD_V1'."""
    if len(name) <= width:
        return name
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
