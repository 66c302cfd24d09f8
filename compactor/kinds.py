"""Kind inference: the one place that decides what sort of artifact a text is.

Front matter ``kind:`` always wins (see ``briefs.py``). Without it, kinds come from
evidence, never from an incidental word (see :func:`explain_kind`, which also says why):
consolidation outputs, proofs and hardening notes only from a file name that *is* one
or a folder named for the kind; ``ack`` only for short chatter; a lane id makes it a
``brief``; anything else is ``other``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from compactor.config import Config
from compactor.vocab import Kind

# "acknowledged", not the noun: "the inbox acknowledgement CLI" is a subject, not chatter
_ACK_SIGNALS = re.compile(
    r"\back(?:nowledged?|ed)?\b|\bnext (?:bounded )?(?:slice|step|lane|sprint|wave)\b"
    r"|\bproceed(?:ing)?\b|\bgo ahead\b|\bcontinue with\b|\bcarry on\b|\bkeep going\b"
    r"|\bqueue(?:d|ing)?\b|\bmove (?:on )?to\b|\bnext up\b|\bup next\b",
    re.IGNORECASE,
)
_LATE: tuple[Kind, ...] = ("hardening", "proof")


@lru_cache(maxsize=32)
def _rules(items: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, re.Pattern[str]]:
    """Each kind's rules as one pattern: on ``re`` when they are compactor's defaults, else
    time-bounded (a repository's own regexes, see patterns.py)."""
    from compactor.config import DEFAULT_KIND_RULES
    from compactor.patterns import compile_user

    return {kind: compile_user("|".join(f"(?:{p})" for p in pats), re.IGNORECASE,
                               f"kind_rules.{kind}",
                               trusted=tuple(DEFAULT_KIND_RULES.get(kind, ())) == pats)
            for kind, pats in items if pats}


RulesKey = tuple[tuple[str, tuple[str, ...]], ...]


_KEYS: dict[int, tuple[object, RulesKey]] = {}  # id(kind_rules) -> (kind_rules, key)


def _rules_key(config: Config) -> RulesKey:
    """The config's kind rules as a sorted tuple, built once per (read-only) KindRules."""
    rules = config.kind_rules
    hit = _KEYS.get(id(rules))
    if hit is not None and hit[0] is rules:
        return hit[1]
    key = tuple(sorted((k, tuple(v)) for k, v in rules.items()))
    if len(_KEYS) >= 64:
        _KEYS.clear()
    _KEYS[id(rules)] = (rules, key)
    return key


def compiled_rules(config: Config) -> dict[str, re.Pattern[str]]:
    return _rules(_rules_key(config))


@lru_cache(maxsize=1 << 14)  # folders repeat, and names along a run: ~20 us a brief saved
def _named(key: RulesKey, tail: str, last_folder: str, laned: bool) -> tuple[Kind, bool] | None:
    """The kind a name (its last words ``tail``) or its folder (``last_folder``) *is*, and
    whether the name said so (else the folder); None: neither is a kind's."""
    rules = _rules(key)
    for kind in _NAMED:
        rule = rules.get(kind)
        if rule is None:
            continue
        by_folder = bool(last_folder) and any(
            rule.fullmatch(f) for f in (last_folder, last_folder.removesuffix("s")))
        by_name = _is(rule, tail) and not (laned and kind in _LATE)
        if by_name:
            return kind, True
        if by_folder:
            return kind, False
    return None


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
    unless it opens with an acknowledgement. Nor is a short report of work done that
    ends with "Next: await the ack": chatter says the ACK or the push first, or says
    little else (most of its sentences, or all of it is a line or two:
    :data:`ACK_TERSE`). Only its prose is read (:func:`_prose`).
    """
    if not 0 < words <= config.ack_max_words:
        return False
    prose = _prose(body)
    if _OPENS_WITH_ACK.search(prose.lstrip()):
        return True
    if len(_HEADINGS.findall(body)) >= 2:
        return False
    said = [_ACK_SIGNALS.search(s) is not None for s in _sentences(prose)]
    return any(said) and (said[0] or 2 * sum(said) > len(said) or words <= ACK_TERSE)


ACK_TERSE = 20  # words: a text this short with an ACK or a push anywhere in it is chatter


# where a sentence ends inside a line: '.', '!' or '?' and a space
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _sentences(prose: str) -> list[str]:
    """The sentences of ``prose``: its lines, cut where a sentence ends, blank ones left
    out. Line by line, not by a pattern with ``\\s*\\n\\s*``: that one took quadratic time
    on a long run of spaces (a short doc padded with 100 KB of them held a scan 15 s)."""
    out: list[str] = []
    for line in prose.split("\n"):
        out += [s for s in _SENTENCE_END.split(line.strip()) if s]
    return out


def _prose(body: str) -> str:
    """A short text's prose: without table rows and fenced code. Chatter is said in
    sentences; a table column headed "Ack" or a ``next step`` in a code block is data
    (a generated status table is no acknowledgement)."""
    out, fence = [], ""
    for line in body.split("\n"):
        text = line.strip()
        if fence:
            if text.startswith(fence):
                fence = ""
            continue
        if text.startswith(("```", "~~~")):
            fence = text[:3]
            continue
        if not text.startswith("|"):
            out.append(line)
    return "\n".join(out)


# The kinds a name must *be* (its last words), never merely mention: postmortems,
# consolidation outputs, and proofs/hardening notes. A title word never makes them (a
# loop doc's title that says "coverage" or "hardening" is still a loop doc).
_NAMED: tuple[Kind, ...] = ("postmortem", "closeout", "coverage", "gaps", "redirect", "hardening", "proof")
_STEM_WORD = re.compile(r"[^\W_]+")


def _name_tail(name: str) -> str:
    """The file name's words without its extension and digit-bearing tokens, joined by '-'
    ("DTM-30_stage3-closeout-coverage-smoke.md" -> "closeout-coverage-smoke")."""
    stem = name.split(".", 1)[0] if not name.startswith(".") else name
    return "-".join(w.lower() for w in _STEM_WORD.findall(stem) if not any(c.isdigit() for c in w))


def _is(rule: re.Pattern[str], text: str) -> bool:
    """Whether ``text`` ends with something ``rule`` matches (the name *is* that kind)."""
    return any(m.end() == len(text) for m in rule.finditer(text)) if text else False


def explain_kind(
    config: Config, path: str, title: str, body: str, words: int, lane: str | None
) -> tuple[Kind, str]:
    """(kind, why) of a text without front matter ``kind:``.

    Evidence, in order: the configured inventory file is ``coverage``; a postmortem,
    consolidation output, proof or hardening note only when its
    file name *is* one (``S120-closeout.md``, ``coverage-matrix.md``, ``tenant-hardening.md``
    — the name's last words, digits dropped) or its folder is named for the kind
    (``proofs/``, not ``stage-07-technical-hardening/``); for a doc with a lane id
    proofs and hardening count only by folder;
    ``ack`` only for short text (an ACK name, or text that acknowledges / pushes the next
    step); a lane id makes a ``brief``, anything else is ``other``.
    """
    key = _rules_key(config)
    rules = _rules(key)
    folder, _, name = path.rpartition("/")
    if path == config.inventory:
        return "coverage", f"it is the configured inventory ({config.inventory})"
    short = 0 < words <= config.ack_max_words
    named = _named(key, _name_tail(name), _name_tail(folder.rpartition("/")[2]) if folder else "",
                   bool(lane))
    if named is not None:
        kind, by_name = named
        if by_name:
            return kind, f"its file name is one ({name!r} ends with {kind!r} words)"
        return kind, f"its folder is named for it ({folder.rpartition('/')[2]!r})"
    rule = rules.get("ack")
    if rule is not None and short and (rule.search(name) or rule.search(title)):
        return "ack", f"short ({words} words) and its name or title says it is an ACK"
    if is_ack_text(config, body, words):
        return "ack", (f"short ({words} words <= ack_max_words {config.ack_max_words}) and it "
                       "acknowledges or pushes the next step")
    if lane:
        return "brief", f"it has a lane id ({lane})"
    return "other", "no front matter kind, no lane id, and no name that is a kind"


def infer_kind(
    config: Config, path: str, title: str, body: str, words: int, lane: str | None
) -> Kind:
    return explain_kind(config, path, title, body, words, lane)[0]
