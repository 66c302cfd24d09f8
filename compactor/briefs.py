"""Stage 2: bytes of one file -> a frozen :class:`Brief`.

A brief knows its path and blob, its lane id and number, its title, its label
(the words of its name that name the action), its front matter and its kind.
Everything here is pure: it takes text and settings, and returns values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

from compactor import markdown
from compactor.config import Config
from compactor.files import stem_of
from compactor.kinds import infer_kind
from compactor.vocab import Kind, is_kind

# Words of a name that say what sort of document it is, not which action it covers.
GENERIC_WORDS = frozenset(
    """
    a an and the of for to in on with by at from via v md markdown txt doc docs notes note
    brief briefs lane lanes sprint sprints wave waves slice slices step steps task tasks card
    cards packet operator action actions proof proofs report reports plan plans ack acks
    update updates draft final new next bounded
    """.split()
)

# Names of a folder's entry page (``restate.standing``): they say which folder, not which action.
ENTRY_NAMES = frozenset({"readme", "index"})

_WORD = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


_NO_FIELDS: Mapping[str, Any] = MappingProxyType({})


class Brief(NamedTuple):
    """One markdown file as the pipeline sees it. Built once, never mutated (a named
    tuple: a warm scan builds one per file, and a frozen dataclass costs 3x more)."""

    path: str
    blob: str
    lane: str | None
    number: int | None
    title: str
    label: str
    kind: Kind
    words: int
    fields: Mapping[str, Any] = _NO_FIELDS
    created: int = 0
    staged: bool = False
    body: str | None = None  # None when the brief came from the cache without its text
    state: str = "present"  # folded / archived: read from the compaction manifest's blob id

    @property
    def label_words(self) -> tuple[str, ...]:
        return tuple(self.label.split())

    @property
    def mask_words(self) -> tuple[str, ...]:
        """The label words the proof shape masks: a label is masked only where it varies
        the way labels vary along a run — in a doc that declares itself a step of one
        (:attr:`in_run`). A doc without one keeps its name in its shape: templated deliverables (one card per
        module, one runbook per alert) differ exactly there. Ids, counters and other
        digit-bearing tokens are masked in every doc."""
        return self.label_words if self.in_run else ()

    @property
    def in_run(self) -> bool:
        """Whether the doc declares itself a step of a run: a lane id, or front matter
        ``action:`` naming the label that varies from step to step."""
        action = self.fields.get("action")
        return self.lane is not None or (isinstance(action, str) and bool(action.strip()))

    @property
    def tokens(self) -> dict[str, int]:
        """Front matter ``tokens``: a plain int counts as source ``total``."""
        return parse_tokens(self.fields.get("tokens"))

    @property
    def status(self) -> str | None:
        value = self.fields.get("status")
        return str(value).strip().lower() if value is not None else None

    @property
    def new_truth(self) -> str | None:
        value = self.fields.get("new_truth")
        return str(value) if value is not None else None

    def to_meta(self) -> dict[str, Any]:
        """What the cache stores for this brief (everything but the body and the time)."""
        return {
            "lane": self.lane,
            "number": self.number,
            "title": self.title,
            "label": self.label,
            "kind": self.kind,
            "words": self.words,
            "fields": dict(self.fields),
        }


# A token count as people and agents write it: 1191000000, 1,191,000,000, 1.191e9,
# 850k, 1.2M, ~1.19B, 2.5bn, "12000 tokens".
_TOKEN_COUNT = re.compile(
    r"~?\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*(k|m|b|bn|g)?(?:\s*tokens?)?", re.IGNORECASE
)
_TOKEN_SCALE = {None: 1, "k": 10**3, "m": 10**6, "b": 10**9, "bn": 10**9, "g": 10**9}


def parse_tokens(value: Any) -> dict[str, int]:
    """Front matter ``tokens``: a count (``total``) or a mapping of source -> count."""
    if isinstance(value, bool) or value is None:
        return {}
    if isinstance(value, int):
        return {"total": value} if value >= 0 else {}
    if isinstance(value, float):
        return {"total": round(value)} if value >= 0 and value < 1e18 else {}  # not NaN, not inf
    if isinstance(value, str):
        text = value.replace(",", "").replace("_", "").strip()
        m = _TOKEN_COUNT.fullmatch(text) if text.isascii() else None
        if m is None:
            return {}
        number, unit = m.group(1), (m.group(2) or "").lower() or None
        if "." in number or "e" in number.lower() or unit:
            count = float(number) * _TOKEN_SCALE[unit]
            return {"total": round(count)} if count < 1e18 else {}  # inf is not a count
        return {"total": int(number)} if len(number) <= 18 else {}  # no count has 19 digits
    if isinstance(value, Mapping):
        out: dict[str, int] = {}
        for k, v in value.items():
            if type(v) is int:  # the usual case, as parse_tokens(v) would take it
                if v >= 0:
                    out[str(k)] = v
                continue
            n = parse_tokens(v).get("total")
            if n is not None:
                out[str(k)] = n
        return out
    return {}


def split_front_matter(text: str) -> tuple[str | None, str]:
    """(front matter source or None, body). Front matter is a leading ``---`` block."""
    if not text.startswith("---"):
        return None, text
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return None, text
    for i in range(1, min(len(lines), 400)):
        if lines[i].rstrip() in ("---", "..."):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :])
    return None, text


class FrontMatterError(ValueError):
    pass


# The fast path reads the front matter agents actually write — flat ``key: value``
# lines whose values are unambiguous words, paths, quoted strings, whole numbers
# or a ``{source: int}`` map — without loading ruamel.yaml (pure Python, ~0.4 ms
# a file). Anything else, or anything YAML could read differently, goes to ruamel.
_FM_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: +(.*))?")
_FM_WORD = re.compile(r"[A-Za-z/][A-Za-z0-9_./-]*(?: [A-Za-z0-9_./-]+)*")
_FM_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_FM_MAP = re.compile(r"\{ *([A-Za-z_][A-Za-z0-9_-]*: *(?:0|[1-9][0-9]{0,17})"
                     r"(?: *, *[A-Za-z_][A-Za-z0-9_-]*: *(?:0|[1-9][0-9]{0,17}))*) *\}")
_FM_RESERVED = frozenset(
    "true false yes no on off y n null none nan inf".split()
)


def _fast_scalar(value: str) -> tuple[bool, Any]:
    if _FM_INT.fullmatch(value):
        return True, int(value)
    if len(value) >= 2 and value[0] == value[-1] == '"' and '"' not in value[1:-1] \
            and "\\" not in value:
        return True, value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == "'" and "'" not in value[1:-1]:
        return True, value[1:-1]
    m = _FM_MAP.fullmatch(value)
    if m:
        pairs = [p.split(":") for p in m.group(1).split(",")]
        out = {k.strip(): int(v) for k, v in pairs}
        return (len(out) == len(pairs)), out
    if _FM_WORD.fullmatch(value) and value.lower() not in _FM_RESERVED \
            and not value.startswith(("/*", "//")):
        return True, value
    return False, None


def fast_front_matter(source: str) -> dict[str, Any] | None:
    """Flat front matter read without YAML, or None when ruamel must decide."""
    out: dict[str, Any] = {}
    for line in source.split("\n"):
        if not line.strip():
            continue
        m = _FM_LINE.fullmatch(line.rstrip())
        if m is None or m.group(1) in out:
            return None
        value = m.group(2)
        if value is None:
            return None  # an empty value or a nested block: leave it to YAML
        ok, parsed = _fast_scalar(value)
        if not ok:
            return None
        out[m.group(1)] = parsed
    return out


def load_front_matter(source: str) -> dict[str, Any]:
    """Parse YAML front matter into plain Python values; raise FrontMatterError if unusable."""
    if len(source) > MAX_FRONT_MATTER_CHARS:
        raise FrontMatterError(f"front matter is over {MAX_FRONT_MATTER_CHARS:,} characters")
    fast = fast_front_matter(source)
    if fast is not None:
        return fast
    from ruamel.yaml.error import YAMLError

    from compactor.config import yaml_loader

    try:
        data = yaml_loader().load(source)
    except RecursionError:
        raise FrontMatterError("broken YAML front matter (nested too deeply)") from None
    except (YAMLError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FrontMatterError(f"broken YAML front matter ({first})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FrontMatterError(
            f"front matter is a {type(data).__name__}, not a mapping of field: value"
        )
    budget = [MAX_FRONT_MATTER_VALUES, MAX_FRONT_MATTER_EXPANDED]
    return {str(k): _plain(v, budget, 0) for k, v in data.items()}


# YAML aliases let a few lines stand for billions of values ("billion laughs") or for
# a list that contains itself: past these limits front matter is refused, not expanded.
MAX_FRONT_MATTER_VALUES = 10_000
MAX_FRONT_MATTER_DEPTH = 50
MAX_FRONT_MATTER_CHARS = 64_000  # the YAML source (pure-Python parsing is ~1 s per MB)
MAX_FRONT_MATTER_EXPANDED = 1_000_000  # characters of text, aliases expanded


def _plain(value: Any, budget: list[int], depth: int) -> Any:
    budget[0] -= 1
    if isinstance(value, str):
        budget[1] -= len(value)
    if budget[0] < 0 or depth > MAX_FRONT_MATTER_DEPTH:
        raise FrontMatterError(
            f"front matter is too big (over {MAX_FRONT_MATTER_VALUES:,} values or "
            f"{MAX_FRONT_MATTER_DEPTH} levels, YAML aliases expanded)"
        )
    if budget[1] < 0:
        raise FrontMatterError(
            f"front matter is too big (over {MAX_FRONT_MATTER_EXPANDED:,} characters, YAML "
            "aliases expanded)"
        )
    if isinstance(value, dict):
        return {str(k): _plain(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, budget, depth + 1) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def find_title(body: str) -> str:
    """The first real heading (fenced code is no heading; setext ones are), else the
    first line of text: see ``markdown.title``."""
    return markdown.title(body)


def find_lane(
    config: Config, path: str, title: str, fields: Mapping[str, Any]
) -> tuple[str | None, int | None]:
    """The lane id and number from front matter ``lane:``, the file name, or the title."""
    regex = config.lane_regex
    declared = fields.get("lane")
    if declared is not None and not isinstance(declared, bool):
        text = str(declared).strip()
        m = regex.search(text)
        if m:
            return m.group(0).strip(), _lane_number(m)
        if text.isdigit() and _as_int(text) is not None:
            return text, _as_int(text)
    name = path.rsplit("/", 1)[-1]
    m = regex.search(name)
    if m:
        return m.group(0).strip(), _lane_number(m)
    m = regex.search(title)
    if m and _leads(title, m.start()):
        return m.group(0).strip(), _lane_number(m)
    return None, None


def explain_lane(config: Config, path: str, title: str, fields: Mapping[str, Any]) -> str:
    """Where ``find_lane`` found the lane id, or why there is none."""
    lane, _ = find_lane(config, path, title, fields)
    if lane is None:
        m = config.lane_regex.search(title)
        if m:
            return (f"none: {m.group(0).strip()!r} is inside the title, not leading it "
                    "(an incidental token)")
        return "none: no lane_pattern match in front matter, file name or title"
    if fields.get("lane") is not None:
        return "front matter lane:"
    if config.lane_regex.search(path.rsplit("/", 1)[-1]):
        return "the file name"
    return "the title, which it leads"


def _leads(title: str, at: int) -> bool:
    """Whether a lane id found at ``at`` leads the title (at most one word before it:
    "S085 — Approve", "Lane S085: ..."), not an incidental token inside it
    ("Cloud shadow-run required S3 keys gate")."""
    return len(_WORD.findall(title[:at])) <= 1


def _lane_number(m: re.Match[str]) -> int | None:
    """Group 1 of a lane match as an int; None when a custom pattern leaves it unusable."""
    try:
        return _as_int(m.group(1))
    except IndexError:
        return None


def _as_int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:  # e.g. '²' is a digit to str.isdigit but not to int()
        return None


@lru_cache(maxsize=1 << 16)
def name_words(text: str) -> tuple[str, ...]:
    """Lowercased words of a name or title, camelCase and snake_case split (memoised:
    the coverage matrix asks again for the same headings and item labels lane after lane)."""
    return tuple(w.lower() for w in _WORD.findall(_CAMEL.sub(" ", text)))


MAX_LABEL_WORDS = 12  # a label names an action; a longer `action:` is cut (linear label code)
MAX_ACTION_CHARS = 1000


def find_label(
    config: Config, path: str, title: str, fields: Mapping[str, Any], lane: str | None
) -> str:
    """The words naming the action: front matter ``action``, else the name, else the title."""
    action = fields.get("action")
    if isinstance(action, str) and action.strip():
        return " ".join(name_words(action[:MAX_ACTION_CHARS])[:MAX_LABEL_WORDS])
    stem = stem_of(path)
    if stem.lower() in ENTRY_NAMES:  # a folder's README.md names no action: its title does
        stem = ""  # (else a loop writing each lap as lap-N/README.md kept its action unmasked)
    for source in (stem, title):
        if lane:
            source = source.replace(lane, " ")
        source = config.lane_regex.sub(" ", source)
        words = [w for w in name_words(source) if w not in GENERIC_WORDS and not _has_digit(w)]
        if words:
            return " ".join(words[:6])
    return ""


def _has_digit(word: str) -> bool:
    return any(c.isdigit() for c in word)


def decode(data: bytes) -> tuple[str, str | None]:
    """Text of a file and a warning when it was not clean UTF-8."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), "not valid UTF-8; read with replacement characters"


def looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\0" in head:
        return True
    if not head:
        return False
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls > len(head) // 10


def parse_brief(
    config: Config, path: str, blob: str, text: str
) -> tuple[Brief, list[str]]:
    """Build a Brief from text; returns it and warnings (front matter trouble)."""
    warnings: list[str] = []
    fm_source, body = split_front_matter(text)
    fields: dict[str, Any] = {}
    if fm_source is not None:
        try:
            fields = load_front_matter(fm_source)
        except FrontMatterError as exc:
            warnings.append(f"{exc}; front matter ignored, body read as text")
    elif text.startswith("---\n"):
        warnings.append("front matter is never closed with '---'; read as plain text")
    title = find_title(body)
    lane, number = find_lane(config, path, title, fields)
    label = find_label(config, path, title, fields, lane)
    words = count_words(body)
    declared = fields.get("kind")
    kind: Kind | None = None
    named = declared.strip().lower() if isinstance(declared, str) else None
    if is_kind(named):
        kind = named
    elif declared is not None:
        warnings.append(f"unknown kind {declared!r} in front matter; kind inferred from the text")
    if kind is None:
        kind = infer_kind(config, path, title, body, words, lane)
    brief = Brief(
        path=path,
        blob=blob,
        lane=lane,
        number=number,
        title=title,
        label=label,
        kind=kind,
        words=words,
        fields=MappingProxyType(fields),
        body=body,
    )
    return brief, warnings


# ASCII text with what str.split() splits it on (\t \n \v \f \r \x1c-\x1f, space) as b" "
# and every other byte as b"x": a word starts wherever b" x" occurs, or at the start
_ASCII_WORD_STARTS = bytes(32 if b in (9, 10, 11, 12, 13, 28, 29, 30, 31, 32) else 120
                           for b in range(256))


def count_words(text: str) -> int:
    """``len(text.split())``, counted with one translate and one count for ASCII text
    (0.4x the time of the split)."""
    if not text.isascii():
        return len(text.split())
    if not text:
        return 0
    marks = text.encode("ascii").translate(_ASCII_WORD_STARTS)
    return marks.count(b" x") + (marks[0] == 120)


def brief_from_meta(
    path: str, blob: str, meta: Mapping[str, Any], created: int = 0, staged: bool = False
) -> Brief:
    return Brief(
        path=path,
        blob=blob,
        lane=meta["lane"],
        number=meta["number"],
        title=meta["title"],
        label=meta["label"],
        kind=meta["kind"],
        words=meta["words"],
        fields=MappingProxyType(dict(meta["fields"])),
        created=created,
        staged=staged,
    )
