"""Kind inference: the one place that decides what sort of artifact a text is.

Front matter ``kind:`` always wins (see ``briefs.py``). Without it:

1. path/title rules (``Config.kind_rules``) for postmortems, consolidation
   outputs (closeout, coverage, gaps, redirect) and ACK files;
2. short text that acknowledges a step or pushes the next one is ``ack``;
3. proof and hardening rules — for a doc carrying a lane id only its folder
   counts, since lane briefs routinely call themselves "proof";
4. a lane id makes it a ``brief``; anything else is ``other``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from compactor.config import Config
from compactor.vocab import Kind

_ACK_SIGNALS = re.compile(
    r"\back(?:nowledged?|ed)?\b|\backnowledg|\bnext (?:bounded )?(?:slice|step|lane|sprint|wave)\b"
    r"|\bproceed(?:ing)?\b|\bgo ahead\b|\bcontinue with\b|\bcarry on\b|\bkeep going\b"
    r"|\bqueue(?:d|ing)?\b|\bmove (?:on )?to\b|\bnext up\b|\bup next\b",
    re.IGNORECASE,
)
# the order in which the path/title rules are tried
_EARLY: tuple[Kind, ...] = ("postmortem", "closeout", "coverage", "gaps", "redirect", "ack")
_LATE: tuple[Kind, ...] = ("hardening", "proof")


@lru_cache(maxsize=32)
def _rules(items: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, re.Pattern[str]]:
    return {kind: re.compile("|".join(f"(?:{p})" for p in pats), re.IGNORECASE)
            for kind, pats in items if pats}


def compiled_rules(config: Config) -> dict[str, re.Pattern[str]]:
    return _rules(tuple(sorted((k, tuple(v)) for k, v in config.kind_rules.items())))


_OPENS_WITH_ACK = re.compile(
    r"^(?:[\W_]*\w+[\W_]*:[\W_]*)?[\W_]*"  # an optional speaker label ("**Supervisor:**")
    r"(?:ack(?:nowledged?)?|received|confirmed|lgtm|got it|noted|roger|copy that)\b",
    re.I,
)
_HEADINGS = re.compile(r"^\s{0,3}#{1,6}\s", re.M)


def is_ack_text(config: Config, body: str, words: int) -> bool:
    """Short text that acknowledges a step and/or pushes the next one.

    Short alone is not enough: a terse lane brief with sections (two or more
    headings) is a brief that happens to end with "next slice", not chatter —
    unless it opens with an acknowledgement.
    """
    if not 0 < words <= config.ack_max_words:
        return False
    if _OPENS_WITH_ACK.search(body.lstrip()):
        return True
    return len(_HEADINGS.findall(body)) < 2 and _ACK_SIGNALS.search(body) is not None


def infer_kind(
    config: Config, path: str, title: str, body: str, words: int, lane: str | None
) -> Kind:
    rules = compiled_rules(config)
    folder, _, name = path.rpartition("/")
    name_and_title = f"{name}\n{title}"
    for kind in _EARLY:
        rule = rules.get(kind)
        if rule is not None and (rule.search(name_and_title) or rule.search(folder)):
            # a long lane brief that merely mentions "ack" in its name stays a brief
            if kind == "ack" and lane and words > config.ack_max_words:
                continue
            return kind
    if is_ack_text(config, body, words):
        return "ack"
    for kind in _LATE:
        rule = rules.get(kind)
        if rule is None:
            continue
        if rule.search(folder) or (lane is None and rule.search(name_and_title)):
            return kind
    return "brief" if lane else "other"
