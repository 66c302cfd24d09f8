"""Facts: what distinguishes one piece of work from another that shares its template.

A fact is a code span (`` `core.manager` ``), a quoted span, a number with its unit
(``97.1%``, ``12 h``, ``34 items``) or a name (``NodeFilesystemAlmostOutOfSpace``,
``TELEGRAM``). Two task cards of one template that order different deliverables differ in
their facts even when their words agree; two lanes of a loop restate the same facts.

The shape leg compares *masked* facts (:func:`masked_fact_sketch`): a fact's ids,
counters and digits become ``#`` and, in a doc of a numbered run, its own label words
``@`` — the same masking as its proof shape, so a label swap is no difference, while the
backticked name of another deliverable is. Numbers with units keep their unit. A sketch
is the bottom-``FACTS_KEPT`` 32-bit hashes of the distinct facts: the Jaccard similarity
of two such sketches estimates that of the full fact sets (a bottom-k MinHash).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from hashlib import blake2b

import numpy as np
import numpy.typing as npt

FACTS_KEPT = 32  # hashes kept per doc (a bottom-k sketch)
MIN_FACTS = 1  # facts judge a pair only when both sides state at least this many
# Two docs whose proof shapes match are still distinct work when their masked facts agree
# below this: the same template ordering different deliverables.
FACTS_AGREE = 0.7

_CODE = re.compile(r"`([^`\n]{1,80})`")
_QUOTE = re.compile(r"[\"\u201c]([^\"\u201d\n]{3,60})[\"\u201d]")
# A number starts at a digit not preceded by a word character or '.'. The pattern opens
# with the digit (the lookbehind checks the character before it), so the regex engine
# skips ahead to digits instead of trying every position (~2x faster); the number's
# parts are possessive: a unit never starts with a digit, '.' or ',', so giving digits
# back never finds a match. The number is text[m.start():m.end(1)].
_UNIT = re.compile(
    r"\d(?<![\w.]\d)(\d*+(?:[.,]\d++)?+)\s?(%|ms|s|secs?|seconds?|min|mins|minutes?|h|hrs?|hours?|"
    r"days?|weeks?|[kmgt]b|k|x|tokens?|items?|files?|tests?|docs?|lines?|errors?|failures?|"
    r"passed|failed|commits?|lanes?|cycles?|agents?|points?|usd)(?!\w)",
    re.IGNORECASE,
)
# a token holding a digit (an id, a counter, a date) is masked as one '#'
_DIGITS = re.compile(r"[^\W_]*\d[^\W_]*")  # facts are at most ~80 chars: no long backtracking
# names: CamelCase or ALL-CAPS words, not inside a code span; candidates are found with a
# cheap scan and confirmed with the exact pattern (a lookbehind at every position was slow)
_NAME_CANDIDATE = re.compile(r"[A-Z][A-Za-z0-9_]+")  # a whole word per match: linear
_NAME_LONGEST = 80
_NAME = re.compile(r"[A-Z][a-z]+(?:[A-Z][a-z0-9]+)+|[A-Z]{2,}[A-Z0-9_]*[A-Z0-9]")


def facts(body: str) -> list[str]:
    """The distinct facts of a text, each prefixed by what it is (c code, q quote,
    n number with unit, p name), in order of first appearance."""
    out: dict[str, None] = {}
    for m in _CODE.finditer(body):
        out[f"c {m.group(1).strip()}"] = None
    for m in _QUOTE.finditer(body):
        out[f"q {m.group(1).strip()}"] = None
    for m in _UNIT.finditer(body):
        out[f"n {body[m.start():m.end(1)].replace(',', '.')} {m.group(2).lower()}"] = None
    for m in _NAME_CANDIDATE.finditer(body):
        start, end = m.span()
        if start and (body[start - 1].isalnum() or body[start - 1] in "_`"):
            continue
        if (end < len(body) and body[end] == "`") or end - start > _NAME_LONGEST:
            continue
        if _NAME.fullmatch(m.group(0)):
            out[f"p {m.group(0)}"] = None
    return list(out)


def _hash32(texts: Iterable[str]) -> list[int]:
    return sorted({int.from_bytes(blake2b(t.encode("utf-8", "surrogatepass"),
                                          digest_size=4).digest(), "little") for t in texts})


def masked_fact_sketch(body: str, in_run: bool) -> list[int]:
    """The bottom-k sketch of a text's facts as the shape leg sees them (ids, counters
    and digits masked). Empty for a doc that declares itself a step of a run (a lane id
    or front matter ``action:``): there the label varies the way labels vary along a
    run, and a renamed step differs in facts only by its label's spellings, so facts do
    not judge it."""
    if in_run:
        return []
    found = facts(body)
    if not found:
        return []
    # lowered and masked in one pass over all of them: no fact holds a newline
    return _hash32(_DIGITS.sub("#", "\n".join(found).lower()).split("\n"))[:FACTS_KEPT]


def sketch_jaccard(a: Sequence[int], b: Sequence[int]) -> float:
    """Jaccard similarity estimated from two bottom-k sketches (sorted hash lists)."""
    if not a and not b:
        return 1.0
    k = min(FACTS_KEPT, len(set(a) | set(b)))
    union = sorted(set(a) | set(b))[:k]
    sa, sb = set(a), set(b)
    return sum(1 for h in union if h in sa and h in sb) / len(union)


def copy_veto(
    sketches: Sequence[Sequence[int]], pairs: npt.NDArray[np.int64], agree: float
) -> npt.NDArray[np.bool_]:
    """For each verified shape-leg pair, True when its facts say the two docs are distinct
    deliverables of one template: both have at least ``MIN_FACTS`` facts and their masked
    fact sketches agree below ``agree``."""
    out = np.zeros(len(pairs), dtype=bool)
    for k, (i, j) in enumerate(pairs.tolist()):
        a, b = sketches[i], sketches[j]
        if len(a) >= MIN_FACTS and len(b) >= MIN_FACTS and sketch_jaccard(a, b) < agree:
            out[k] = True
    return out


# A title's identifiers: what a templated deliverable is about (the alert of a runbook,
# the module of a cleanup card, the file of an audit). A code or quoted span, or a token
# that is an identifier by its form: a camelCase / CamelCase word, or words joined by
# '_', '.' or '/' (snake_case, a dotted module, a path). Plain words and ALL-CAPS words
# (emphasis: "CRISIS RESPONSE") are not identifiers.
_TITLE_SPAN = re.compile(r"`([^`\n]{1,80})`|[\"\u201c]([^\"\u201d\n]{1,80})[\"\u201d]")
_TITLE_TOKEN = re.compile(r"[^\W_][\w./-]*[^\W_]|[^\W_]")
_JOINED = re.compile(r"[^\W_][_./]+[^\W_]")
_CAMEL = re.compile(r"[a-z0-9][A-Z]")


def title_names(title: str) -> frozenset[str]:
    """The identifiers a title names (lowercased, digits masked as ``#``), see above."""
    out: set[str] = set()
    for m in _TITLE_SPAN.finditer(title):
        out.add(m.group(1) or m.group(2))
    rest = _TITLE_SPAN.sub(" ", title)
    for m in _TITLE_TOKEN.finditer(rest):
        token = m.group(0)
        if _JOINED.search(token) or _CAMEL.search(token):
            out.add(token)
    return frozenset(_DIGITS.sub("#", t.strip().lower()) for t in out if t.strip())


def names_veto(
    title_of: Callable[[int], str | None], pairs: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """For each verified shape-leg pair, True when the two titles each name an identifier
    the other does not (:func:`title_names`): two deliverables of one template, each about
    its own thing (``NodeFilesystemAlmostOutOfFiles`` / ``…OutOfSpace``; module
    `` `core.manager` `` / `` `core.adapters` ``). ``title_of(i)`` is brief i's title, None
    when its title is not judged (a step of a declared run: there the title carries the
    label, which varies by design)."""
    out = np.zeros(len(pairs), dtype=bool)
    memo: dict[int, frozenset[str] | None] = {}

    def names(i: int) -> frozenset[str] | None:
        if i not in memo:
            title = title_of(i)
            memo[i] = title_names(title) if title is not None else None
        return memo[i]

    for k, (i, j) in enumerate(pairs.tolist()):
        a, b = names(i), names(j)
        if a and b and (a - b) and (b - a):
            out[k] = True
    return out
