"""What each lane of a family proved: the coverage matrix and the missing-gap list.

Only a family's own lanes are read (their bodies, with a simple line parser —
never the whole corpus). A lane *proves a dimension* when

- a guardrail field (``Config.guardrail_fields``) is in its front matter, or
- a top-level bullet item or sub-heading inside a proof or guardrail section (a
  short heading naming one: Proof, Evidence, Receipts, Verification, Tests,
  Guardrails, Constraints) names it: ``- Negative path: …``, ``### Replay``.

The steps of a how-to name none: a numbered item (``3. **Click**: Send``), an
indented sub-item, a backticked label (``- `npm run test`: …``), a numbered
heading (``### Step 3: …``) and what sits under it.

Names are normalised (``Audit log`` -> ``audit``, ``positive-path tests`` ->
``positive path``) and the lane's own action words are dropped from them.

A dimension only one lane records is a column only in a family with a proof
vocabulary (:func:`shared_counts`); a family without columns gets a one-line
``note`` saying why instead of a matrix.

The gap list names dimensions some lanes never proved (and, in a family whose
lanes prove at least two of the standard dimensions — positive path, negative
path, replay, audit — the standard ones no lane proved), guardrails whose
front matter value never varied (the action name masked), and open questions
(a line ending in ``?``, ``open question``, ``TODO``, ``TBD``, ``unclear`` …; not
a table row, an all-bold line or a ``?`` inside code) that no later lane answered
(no later line repeats most of its words).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from compactor.briefs import Brief, name_words
from compactor.config import Config
from compactor.files import stem_of
from compactor.markdown import newlines, outline

STANDARD = ("positive path", "negative path", "replay", "audit")
STANDARD_QUORUM = 2  # standard dimensions a family must prove before the others count as gaps

_CHECKBOX = re.compile(r"\[[ xX]\]\s+")  # a task list item's box
_PROOF_HEADING = re.compile(
    r"proof|evidence|receipt|verif|\btests?\b|checks?\b|guard|constraint|\broute\b|\bsession\b"
    r"|\btenant\b|acceptance|coverage",
    re.IGNORECASE,
)
_MARKERS = re.compile(
    r"^(?:(?:as before|again|note|nb|for the record|same as last lane|update|also)\s*[,:]\s*)+",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"\?(?=\s|$|[)*_\"'”»])|\bopen questions?\b|\btodo\b|\btbd\b|\bunknowns?\s*:|\bstill unknown\b"
    r"|\bunclear\b|\bunresolved\b|\bnot yet known\b",
    re.IGNORECASE,
)
_NOT_QUESTION = re.compile(
    r"\bno (?:open )?questions?\b|\bno unknowns\b|\bnothing (?:is )?unclear\b|\bno todos?\b",
    re.IGNORECASE,
)
_QUESTION_LEAD = re.compile(
    r"^(?:open questions?|questions?|todo|tbd|unknowns?|unclear)\s*[:\-—]\s*", re.IGNORECASE
)
_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset(
    """
    the a an and or of to in on for with by at from is are was were be been it this that these
    those we i you they he she not no do does did can could should would will may might must has
    have had what which who whom why how when where whether if then than but so as into about
    still yet any all some more most our your their its there here up out over
    open question questions todo tbd unknown unclear unresolved
    """.split()
)
ANSWER_SHARE = 0.6  # a later line holding this share of a question's words answers it


def canonical(name: str) -> str:
    """One spelling per proof dimension: 'Negative-path tests' -> 'negative path'."""
    words = name_words(name)
    text = " ".join(words)
    if "positive" in words or text.startswith("happy path"):
        return "positive path"
    if "negative" in words:
        return "negative path"
    if words and words[0] in ("replay", "replays", "replayed"):
        return "replay"
    if words and words[0] in ("audit", "audited", "auditing"):
        return "audit"
    return text


def _label_of(item: str) -> str | None:
    """The 'Label' of a 'Label: text' list item, or None (also when the label is code: a
    backticked command or file name, as in ``- `npm run test`: …``, names no dimension)."""
    item = _MARKERS.sub("", item.replace("*", "").strip())
    head, colon, _rest = item.partition(":")
    if not colon or "`" in head:
        return None
    head = head.rsplit(",", 1)[-1].strip()
    words = name_words(head)
    if not 1 <= len(words) <= 4 or any(w.isdigit() for w in words):
        return None
    return head


@dataclass(frozen=True)
class LaneProof:
    """What one lane proved, its guardrail values, and the questions it raised."""

    index: int  # into the scan's briefs
    dimensions: frozenset[str]
    guardrails: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    questions: tuple[str, ...] = ()
    statements: tuple[str, ...] = ()  # its other lines (read only when a question needs them)


def _drop_label(name: str, label: Sequence[str], guardrails: Sequence[str]) -> str:
    words = [w for w in name_words(name) if w not in label or w in guardrails]
    return " ".join(words)


_ASKING = ("?", "question", "todo", "tbd", "unknown", "unclear", "unresolved")


def _may_ask(line: str) -> bool:
    """A cheap filter before the question regex (most lines hold none of these)."""
    low = line.lower()
    return any(k in low for k in _ASKING)


_STEP_HEADING = re.compile(r"^\W*(?:\d+(?:\.\d+)*\b|[^\W\d_]+\s+\d+(?:\.\d+)*\s*(?:[:.)(\-—–]|$))")
_ORDERED_ITEM = re.compile(r"\d{1,9}[.)](?:\s|$)")
PROOF_HEADING_WORDS = 3  # a proof section's heading names the section and little else


def _numbered(heading: str) -> bool:
    """A heading that numbers a step, test or scenario ("Step 3.1: Run tests", "Test 2",
    "1. Shipping address") — not one that merely holds a number ("S104 evidence")."""
    return bool(_STEP_HEADING.match(heading.replace("*", "").replace("_", " ")))


def _proof_heading(text: str, label: Sequence[str]) -> bool:
    """A heading that opens a proof or guardrail section: short and naming one ("Evidence",
    "Verification", "Route / session / tenant") — not any heading that mentions a test
    ("Fix failing tests in mutation testing", "Task 1: Fix useWorkflow.test.ts Tests")."""
    name = _drop_label(text, label, ())
    return bool(_PROOF_HEADING.search(name)) and len(name_words(name)) <= PROOF_HEADING_WORDS


def _in_proof(stack: Sequence[tuple[int, bool, bool]]) -> bool:
    return any(p for _lvl, p, _n in stack) and not any(n for _lvl, _p, n in stack)


def _records(raw: str, group: bool) -> bool:
    """Whether a list item's line records a proof dimension: a top-level bullet, or a
    bullet inside a top-level bullet that only names a group ("- Post-merge evidence:"
    then "  - state: merged"). A numbered item is a step of a how-to ("3. **Click**:
    Send"), any other indented one a detail of the item above it ("   - **Line**: ~3055")
    — neither names a dimension."""
    if raw[:1].isspace():
        return group and not _ORDERED_ITEM.match(raw.lstrip())
    return not _ORDERED_ITEM.match(raw)


_BOLD_LINE = re.compile(r"^(?:\*\*|__)(?:(?!\*\*|__).)+(?:\*\*|__)\s*:?$")
_ITEM_MARK = re.compile(r"^(?:[-*+]|\d{1,9}[.)])\s+")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+\1")


_CHECKED = re.compile(r"^\[[xX]\]")
_LINK_TARGET = re.compile(r"\]\([^)]*\)|<?https?://\S+")
_LEAD_BOLD = re.compile(r"^(\*\*|__)((?:(?!\1).)+)\1")
_OFFER = re.compile(
    r"\b(?:would you like me to|do you want me to|shall i|want me to|should i proceed)\b",
    re.IGNORECASE,
)
_TODO = re.compile(r"\b(?:todo|tbd)\b", re.IGNORECASE)
# TODO / TBD as a marker: opening the line, as a field's value, or closing the line — not a
# word in prose about them ("Detect TODO comments", "TODO/FIXME handling", "a TBD status")
_TODO_MARK = re.compile(r"(?:^\W*|:\W*)(?:todo|tbd)(?![\w/-])|\b(?:todo|tbd)\W*$",
                        re.IGNORECASE)
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”")  # a question quoted is mentioned, not asked


def _asks(line: str) -> bool:
    """Whether a (stripped) line raises an open question. Asking nothing: a table row (its
    cells are labels: ``| Purpose | TDS? |``), a line that is all bold (a heading in
    disguise: ``**Need help?**``) or whose ``?`` is only in its leading bold label
    (``**Want the status?** → [link]``), a ticked task (``[x] …``: done), a ``?`` inside
    code, a link's target or quotes (``Added "Is CI green?" to the standup``), an agent's
    offer (``Would you like me to …?``) and TODO / TBD as a word in prose."""
    if not _may_ask(line) or line.startswith("|"):
        return False
    text = _ITEM_MARK.sub("", line)
    if _CHECKED.match(text):
        return False
    text = _CODE_SPAN.sub(" ", _CHECKBOX.sub("", text, count=1))
    text = _QUOTED.sub(" ", _LINK_TARGET.sub("]", text))
    if _BOLD_LINE.match(text):
        return False
    lead = _LEAD_BOLD.match(text)
    if lead and "?" in lead.group(2):
        text = text[lead.end():]
    if _OFFER.search(text) or _NOT_QUESTION.search(text):
        return False
    if any(not _TODO.fullmatch(m.group(0)) for m in _QUESTION.finditer(text)):
        return True
    return bool(_TODO.search(text) and _TODO_MARK.search(text))


def content_words(text: str, label: Sequence[str] = ()) -> frozenset[str]:
    return frozenset(
        w for w in (t.lower() for t in _WORD.findall(text))
        if len(w) >= 3 and w not in _STOP and w not in label and not any(c.isdigit() for c in w)
    )


def read_proof(index: int, brief: Brief, config: Config) -> LaneProof:
    """Parse one lane's body (must be loaded) into a :class:`LaneProof`."""
    body = newlines(brief.body or "")
    label = brief.label_words
    fields = {k.lower(): v for k, v in brief.fields.items()}
    guards = tuple(g.lower() for g in config.guardrail_fields)
    dims: set[str] = set()
    values: dict[str, str] = {}
    for g in guards:
        value = fields.get(g)
        if value is not None and not isinstance(value, bool) and str(value).strip():
            dims.add(g)
            values[g] = str(value).strip()
    questions: list[str] = []
    statements: list[str] = []
    # (heading level, is a proof heading, is a numbered step): a proof context is any proof
    # heading above, unless a numbered step heading ("### Test 1: …") sits between
    stack: list[tuple[int, bool, bool]] = []
    title_seen = False
    in_proof = False
    group = False  # the last top-level item is a bullet naming a group ("- Evidence:")
    for raw, line in zip(body.split("\n"), outline(body), strict=True):
        role = line.role
        if role in ("blank", "code", "markup"):
            continue
        if role == "heading":
            group = False
            level, text = line.level, " ".join(line.text.split())
            while stack and stack[-1][0] >= level:
                stack.pop()
            in_proof = _in_proof(stack)
            # a numbered heading ("Step 3: …", "Test 1: …", "Scenario 2") is a step of a
            # procedure, not a dimension every lane should prove
            is_title = not title_seen and level == 1
            title_seen = True
            numbered = not is_title and _numbered(text)
            words = name_words(text)
            if in_proof and not numbered and len(words) <= 5 and not any(
                    w.isdigit() for w in words):
                name = _drop_label(text, label, guards)
                if name:
                    dims.add(canonical(name))
            # a leading level-1 title names the lane, not a section: never a proof context
            stack.append((level, not is_title and not numbered and _proof_heading(text, label),
                          numbered))
            in_proof = _in_proof(stack)
            continue
        stripped = raw.strip()
        if role == "item" and not raw[:1].isspace():
            group = not _ORDERED_ITEM.match(raw) and line.text.replace("*", "").rstrip().endswith(":")
        if role == "item" and ":" in stripped:
            head = _label_of(_CHECKBOX.sub("", line.text, count=1))
            if head is not None:
                name = _drop_label(head, label, guards)
                if name:
                    lowered = " ".join(name_words(head))
                    if lowered in guards:
                        dims.add(lowered)
                    elif in_proof and _records(raw, group):
                        dims.add(canonical(name))
        if _asks(stripped):
            questions.append(stripped)
        else:
            statements.append(stripped)
    return LaneProof(
        index=index,
        dimensions=frozenset(dims),
        guardrails=MappingProxyType(values),
        questions=tuple(questions),
        statements=tuple(statements),
    )


# -- the matrix and the gaps -------------------------------------------------------------------


@dataclass(frozen=True)
class MatrixRow:
    label: str  # the action
    lanes: tuple[int, ...]  # brief indexes, in lane order
    cells: tuple[str, ...]  # per column: "✓", "n/m" or "·"


@dataclass(frozen=True)
class Gap:
    what: str  # "dimension", "never proved", "guardrail", "question"
    text: str  # one line, markdown


@dataclass(frozen=True)
class Coverage:
    family: str
    members: tuple[int, ...]
    columns: tuple[str, ...]
    rows: tuple[MatrixRow, ...]
    gaps: tuple[Gap, ...]
    note: str = ""  # without columns: why there is no matrix, one line


def lane_name(b: Brief) -> str:
    if b.lane:
        return b.lane
    return stem_of(b.path)


def lane_ranges(briefs: Sequence[Brief], members: Sequence[int], limit: int = 0,
                names: Mapping[int, str] | None = None) -> str:
    """'S085–S090, S094, lane-7' for members in lane order (consecutive numbers collapse).
    ``names`` names the docs it holds instead of ``lane_name`` (``Scan.doc_names``: docs
    of one file name told apart by their folders)."""
    runs: list[tuple[str, str]] = []
    prev: tuple[str, int] | None = None
    for i in members:
        b = briefs[i]
        name = (names.get(i) if names else None) or lane_name(b)
        prefix = re.sub(r"\d+", "#", name)
        if b.number is not None and prev is not None and prev == (prefix, b.number - 1) and runs:
            runs[-1] = (runs[-1][0], name)
        else:
            runs.append((name, name))
        prev = (prefix, b.number) if b.number is not None else None
    parts = [a if a == z else f"{a}–{z}" for a, z in runs]
    if limit and len(parts) > limit:
        return ", ".join(parts[:limit]) + f", … (+{len(parts) - limit} more)"
    return ", ".join(parts)


def _counts(proofs: Sequence[LaneProof]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in proofs:
        for d in p.dimensions:
            counts[d] = counts.get(d, 0) + 1
    return counts


def shared_counts(config: Config, proofs: Sequence[LaneProof]) -> dict[str, int]:
    """The dimensions the family's lanes share, with how many lanes record each.

    A dimension one lane records and no other is that lane's own section structure (the
    subjects it happened to verify: "shipping address", "check backend status"), not a
    dimension the others failed to prove — unless the family speaks a proof vocabulary:
    some dimension recorded by at least ``VOCABULARY_LANES`` lanes and ``VOCABULARY_SHARE``
    of them (a lane loop's positive path, audit, route …), against which one lane's extra
    "rollback" is worth a column. A guardrail front matter field is declared, so always a
    column.
    """
    counts = _counts(proofs)
    guards = {g.lower() for g in config.guardrail_fields}
    need = max(VOCABULARY_LANES, math.ceil(len(proofs) * VOCABULARY_SHARE))
    if any(n >= need for d, n in counts.items() if d not in guards):
        return counts
    return {d: n for d, n in counts.items() if n >= 2 or d in guards}


VOCABULARY_LANES = 3  # lanes that must record one dimension before single-lane ones count
VOCABULARY_SHARE = 0.75  # ... and this share of the family's lanes (a loop repeats its proof shape)


def _columns(config: Config, counts: Mapping[str, int]) -> tuple[str, ...]:
    guards = [g.lower() for g in config.guardrail_fields if g.lower() in counts]
    standard = [s for s in STANDARD if s in counts and s not in guards]
    rest = sorted(
        (d for d in counts if d not in guards and d not in standard),
        key=lambda d: (-counts[d], d),
    )
    return tuple(guards + standard + rest)


def unproved_standard(columns: Sequence[str]) -> tuple[str, ...]:
    """The standard dimensions a family never proved, when its lanes speak that vocabulary.

    The standard four are the dimensions of an API envelope. A family whose lanes
    prove at least ``STANDARD_QUORUM`` of them is proving envelopes, and the ones
    missing are real gaps; any other family (merge logs, runbooks, reports) is judged
    only by what some of its own lanes prove and others do not.
    """
    used = sum(1 for s in STANDARD if s in columns)
    if used < STANDARD_QUORUM:
        return ()
    return tuple(s for s in STANDARD if s not in columns)


def _mask_value(value: str, label: Sequence[str]) -> str:
    words = [w for w in name_words(value) if w not in label and not w.isdigit()]
    return " ".join(words)


def _answers(key: frozenset[str], need: int, line: str, label: Sequence[str]) -> bool:
    low = line.lower()
    if sum(1 for w in key if w in low) < need:  # cheap: substrings before words
        return False
    return len(key & content_words(line, label)) >= need


def _questions(briefs: Sequence[Brief], proofs: Sequence[LaneProof],
               names: Mapping[int, str] | None = None) -> list[Gap]:
    """Open questions never answered by a later lane, in the order first raised."""
    raised: dict[frozenset[str], tuple[int, str, list[int]]] = {}
    for pos, p in enumerate(proofs):
        label = briefs[p.index].label_words
        for q in p.questions:
            words = content_words(_QUESTION_LEAD.sub("", q.lstrip("-*+ ").strip()), label)
            key = words if words else frozenset({q.lower()})
            if key in raised:
                raised[key][2].append(p.index)
            else:
                raised[key] = (pos, q, [p.index])
    gaps = []
    for key, (pos, text, where) in raised.items():
        need = max(1, math.ceil(len(key) * ANSWER_SHARE))
        answered = any(
            _answers(key, need, s, briefs[later.index].label_words)
            for later in proofs[pos + 1 :]
            for s in later.statements
        )
        if answered:
            continue
        shown = re.sub(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+", "", text).strip()
        if len(shown) > 160:
            shown = shown[:157].rstrip() + "…"
        lanes = lane_ranges(briefs, where, limit=8, names=names)
        gaps.append(Gap("question", f"open question never answered in a later lane "
                                    f"(raised in {lanes}): “{shown}”"))
    return gaps


def family_coverage(
    config: Config, briefs: Sequence[Brief], family: str, members: Sequence[int],
    names: Mapping[int, str] | None = None,
) -> Coverage:
    """The coverage matrix and gap list of one family; member bodies must be loaded.
    ``names`` names docs in the gap list (see :func:`lane_ranges`)."""
    proofs = [read_proof(i, briefs[i], config) for i in members]
    counts = shared_counts(config, proofs)
    columns = _columns(config, counts)
    by_label: dict[str, list[LaneProof]] = {}
    for p in proofs:
        b = briefs[p.index]
        by_label.setdefault(b.label or lane_name(b), []).append(p)
    rows = []
    for label, group in by_label.items():
        cells = []
        for c in columns:
            n = sum(1 for p in group if c in p.dimensions)
            cells.append("✓" if n == len(group) else "·" if n == 0 else f"{n}/{len(group)}")
        rows.append(MatrixRow(label, tuple(p.index for p in group), tuple(cells)))
    gaps: list[Gap] = []
    note = ""
    if not columns:
        note = _no_matrix(proofs)
    else:
        for s in unproved_standard(columns):
            gaps.append(Gap("never proved", f"`{s}` is never proved in any lane"))
        for c in columns:
            missing = [p.index for p in proofs if c not in p.dimensions]
            if missing:
                gaps.append(Gap(
                    "dimension",
                    f"`{c}` not proved by {len(missing)} of {len(proofs)} lanes: "
                    f"{lane_ranges(briefs, missing, limit=12, names=names)}",
                ))
    for g in config.guardrail_fields:
        g = g.lower()
        stated = [p for p in proofs if g in p.guardrails]
        if len(stated) < 2:
            continue
        masked = {_mask_value(p.guardrails[g], briefs[p.index].label_words) for p in stated}
        if len(masked) == 1:
            value = stated[0].guardrails[g]
            renamed = any(
                _mask_value(p.guardrails[g], ()) != _mask_value(value, ()) for p in stated
            )
            note = ", the action name aside" if renamed else ""
            gaps.append(Gap(
                "guardrail",
                f"guardrail `{g}` never varied across {len(stated)} lanes "
                f"(always `{value}`{note})",
            ))
    gaps.extend(_questions(briefs, proofs, names))
    return Coverage(family, tuple(members), columns, tuple(rows), tuple(gaps), note)


def _no_matrix(proofs: Sequence[LaneProof]) -> str:
    """One line saying why a family has no coverage matrix."""
    recording = [p for p in proofs if p.dimensions]
    if not recording:
        return (f"no coverage matrix: none of the {len(proofs)} lanes records a proof dimension "
                "(no proof or verification section with `Label: …` items, no guardrail front "
                "matter)")
    names = len(_counts(proofs))
    named = f"{names} name{'s' if names != 1 else ''}"
    if len(recording) == 1:
        return (f"no coverage matrix: only 1 of the {len(proofs)} lanes records proof "
                f"dimensions ({named}), so there is nothing to compare across lanes")
    return (f"no coverage matrix: the {len(recording)} of {len(proofs)} lanes that record proof "
            f"share no dimension ({named}, each in one lane: what each lane verified, not a "
            "dimension the others missed)")
