"""Words for people: a count with its noun in the right number ("1 family", "2 families")."""

from __future__ import annotations

IRREGULAR = {"family": "families", "entry": "entries", "brief": "briefs", "lane": "lanes"}


def plural(n: int, one: str, many: str | None = None) -> str:
    """``plural(1, "family")`` -> '1 family'; ``plural(3, "family")`` -> '3 families'."""
    if n == 1:
        return f"{n} {one}"
    return f"{n} {many or IRREGULAR.get(one) or one + 's'}"
