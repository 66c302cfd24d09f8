"""Docs about docs: a doc whose subject is another doc of its own series.

An agent that keeps one log per step can loop on the log itself: PR 981's only content
is the merge log of PR 980, PR 982's the merge log of PR 981, and so on. Each doc is
reworded inside the template every ordinary log uses, so neither the shape leg nor the
restatement leg links them; what makes them a loop is their *subject*: another doc of
the same series — self-referential bookkeeping.

A **series** is the docs of one folder whose file names are the same words around one number
(``PR_980_MERGE_LOG.md``, ``PR_981_MERGE_LOG.md``: ``PR_#_MERGE_LOG``; ``cycle-3-report.md``;
``wave-031.md``), at least :data:`MIN_SERIES` of them. The number is a doc's **step**; the
word right before a bare number is the series' *id word* (``PR``, ``cycle``), and its
other words are the series' *noun*: what kind of document each one is (``merge log``,
``report``; ``wave-031`` has none).

A doc **names** an earlier step of its series as a document (:func:`references`) when a
line of its *lead* — its title and the opening :data:`LEAD_LINES` lines of its text,
where a doc says what it is about — holds

- that step's file name, its words in any spelling (``PR_980_MERGE_LOG.md``,
  ``PR #980 merge log``, ``pr-980-merge-log``; a series without a noun only with the
  extension, ``wave-030.md``), or
- the step as people cite it (``PR #980``, ``#980``) with the series' noun at most
  :data:`NOUN_GAP` words from it, nearer to it than to any other cited step
  (``Merge-Log für PR #1011``, ``adds the merge log for PR #911``; in ``Merge Log –
  PR #681: evidence for PR #679`` the noun describes the doc itself).

A step alone names the work, not its doc: a log that mentions the previous PR is an
ordinary log. Its **subject** (:func:`subject`) is the latest step it names that is
*recent*: at most :data:`RECENT` steps before its own, or one of the :data:`RECENT` docs
of the series written just before it. A doc that fixes a link in an old log is
maintenance, not a loop.

:func:`bookkeeping` walks back from a doc through its series in the order the docs were
written and returns the **run** it ends: docs about recent docs in a row, the docs they
are about passed over (``911``, ``912`` about ``911``, ``891``, ``914`` about ``891`` is a
run of two). Whether a run is a loop is the gate's to judge (``check.py``, condition
``bookkeeping``); this module only reads names and text.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from compactor.errors import path_for_humans

LEAD_LINES = 12  # lines of text, title included (blank lines and code fences not), that say what a doc is about
LINE_CHARS = 400  # of a lead line, read (what a doc is about is said early in it)
MIN_SERIES = 3  # docs a series needs before its name says what kind of document each is
NOUN_GAP = 4  # words at most between a series' noun and the step it names
RECENT = 3  # a subject is this many steps back at most, or among this many docs written last
_SPLIT = re.compile(r"[-_. ]+")
_SEP = r"[-_.\s]*"  # between the words of a name as people write it
_WORDS = re.compile(r"[^\W_]+")
_NOT_A_STEP = r"(?![\d;]|[:.,]\d)"  # 12:18 is a time, 1.5 a number, &#47; an HTML entity
_EXTENSION = r"\.(?:md|markdown|mdx|rst|txt|adoc)(?![^\W_])"
_STEP_TOKEN = re.compile(r"([^\W\d_]*)(\d{1,9})")


class Series(NamedTuple):
    """A name series: the docs of one ``folder`` whose file names are ``key``, lower-case
    name parts with the step masked (``pr # merge log``)."""

    folder: str  # '' (the root) or ending in '/'
    key: tuple[str, ...]
    at: int  # the position of the step in ``key``
    idword: str  # the word right before a bare number ('' when none, or the step has letters)
    noun: tuple[str, ...]  # the name's other words

    def __str__(self) -> str:
        """The series as messages name it (``PR_#_MERGE_LOG``; control characters of a
        file name escaped, as paths are)."""
        return path_for_humans("_".join(w.upper() if k != self.at else w.replace("#", "").upper() + "#"
                                        for k, w in enumerate(self.key)))


class Step(NamedTuple):
    series: Series
    number: int


class Ref(NamedTuple):
    """An earlier step a doc names as a document: its number, the line that names it, how."""

    number: int
    line: str
    by: str  # "file name" | "step and noun"


def _parts(path: str) -> list[str]:
    name = path.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return [p.lower() for p in _SPLIT.split(stem) if p]


def step_of(path: str) -> Step | None:
    """The series and step of a file name: exactly one part holds digits — a whole number
    (``980``) or letters and one (``s101``) — and some other part is a word."""
    parts = _parts(path)
    numbered = [k for k, p in enumerate(parts) if any(c.isdigit() for c in p)]
    if len(numbered) != 1:
        return None
    at = numbered[0]
    m = _STEP_TOKEN.fullmatch(parts[at])
    if m is None:
        return None
    prefix, digits = m.groups()
    idword = parts[at - 1] if not prefix and at > 0 and parts[at - 1].isalpha() else ""
    noun = tuple(p for k, p in enumerate(parts) if k != at and p != idword and p.isalpha())
    if not idword and not noun and not prefix:
        return None
    key = (*parts[:at], prefix + "#", *parts[at + 1:])
    folder = path[: path.rfind("/") + 1]
    return Step(Series(folder, key, at, idword, noun), int(digits))


_FILES: dict[Series, re.Pattern[str]] = {}


def _file_pattern(series: Series) -> re.Pattern[str]:
    """A path whose file name is of ``series`` (group 1: its step), as :func:`step_of`
    reads names: parts split at ``-_. ``, the last ``.suffix`` dropped, case ignored."""
    got = _FILES.get(series)
    if got is None:
        parts = [rf"{re.escape(w[:-1])}(\d{{1,9}})" if k == series.at else re.escape(w)
                 for k, w in enumerate(series.key)]
        dotted = "[-_. ]+".join(parts)  # a name with a suffix: the last one dropped
        plain = "[-_ ]+".join(parts)  # a name without one
        # matched against a file name as a whole: every separator run is bounded by a word
        # or the suffix, so matching takes time linear in the name
        got = _FILES[series] = re.compile(
            rf"[-_. ]*{dotted}[-_. ]*\.[^./]*|(?=\.*[^./]*$)[-_. ]*{plain}[-_ ]*", re.IGNORECASE)
    return got


def members(paths: Sequence[str], written: Sequence[int], series: Series) -> dict[int, Step]:
    """The docs of ``series`` among ``paths`` (index -> step), in the order they were
    written (``written``: each path's time; then by step); one regex search per path of
    the series' folder."""
    pattern = _file_pattern(series)
    folder, depth = series.folder, series.folder.count("/")
    found = {}
    for j, p in enumerate(paths):
        if not p.startswith(folder) or p.count("/") != depth:
            continue
        m = pattern.fullmatch(p, len(folder))
        if m is not None:
            found[j] = Step(series, int(m.group(1) or m.group(2)))
    order = sorted(found, key=lambda j: (written[j], found[j].number, paths[j]))
    return {j: found[j] for j in order}


def by_series(paths: Sequence[str], written: Sequence[int]) -> dict[Series, dict[int, Step]]:
    """:func:`members` of every series among ``paths`` at once: one :func:`step_of` per
    path (asking many series one by one is a search of every path per series)."""
    found: dict[Series, dict[int, Step]] = {}
    for j, p in enumerate(paths):
        step = step_of(p)
        if step is not None:
            found.setdefault(step.series, {})[j] = step
    return {s: {j: steps[j] for j in sorted(steps, key=lambda j: (written[j], steps[j].number, paths[j]))}
            for s, steps in found.items()}


def lead(title: str, body: str) -> list[str]:
    """The lines that say what a doc is about: its title and the first lines of text of
    its body (:data:`LEAD_LINES` in all; blank lines and code fences skipped)."""
    out = [title[:LINE_CHARS]] if title else []
    for raw in body[: LEAD_LINES * (LINE_CHARS + 200)].splitlines():
        if len(out) >= LEAD_LINES:
            break
        line = raw.strip()
        if line and not line.startswith(("```", "~~~")):
            out.append(line[:LINE_CHARS])
    return out


class _Patterns(NamedTuple):
    name: re.Pattern[str]  # the file name of any step of the series
    step: re.Pattern[str] | None  # a step as people cite it: "PR #980", "#980"
    noun: re.Pattern[str] | None  # the series' noun: "merge log", "Merge-Log"


_PATTERNS: dict[Series, _Patterns] = {}


def _patterns(series: Series) -> _Patterns:
    got = _PATTERNS.get(series)
    if got is not None:
        return got
    words = []
    for k, w in enumerate(series.key):
        if k == series.at:
            prefix = rf"{re.escape(w[:-1])}{_SEP}" if w[:-1] else ""  # the join puts one before it
            words.append(rf"{prefix}(?:#\s*)?0*(\d{{1,9}}){_NOT_A_STEP}")
        else:
            words.append(re.escape(w))
    tail = r"(?![^\W_])" if series.noun else _EXTENSION
    name = re.compile(rf"(?<![^\W_]){_SEP.join(words)}{tail}", re.IGNORECASE)
    step = noun = None
    if series.noun:
        cited = re.escape(series.idword or series.key[series.at][:-1])
        head = rf"(?<![^\W_]){cited}{_SEP}(?:#\s*)?|(?<!&)#" if cited else r"(?<!&)#"
        step = re.compile(rf"(?:{head})0*(\d{{1,9}}){_NOT_A_STEP}", re.IGNORECASE)
        phrase = _SEP.join(re.escape(w) for w in series.noun)
        noun = re.compile(rf"(?<![^\W_]){phrase}", re.IGNORECASE)
    got = _PATTERNS[series] = _Patterns(name, step, noun)
    return got


def _cited(line: str, noun: re.Pattern[str], step: re.Pattern[str]) -> list[int]:
    """The step each mention of the noun in ``line`` belongs to: the cited step nearest to
    it, with at most :data:`NOUN_GAP` words between them. Only the nearest step on each
    side (and any overlapping it) can be nearest, and a farther one has no fewer words
    between: a few steps per noun, not every pair (a line of ``log #1 log #2 …`` is
    hundreds of pairs)."""
    nouns = [m.span() for m in noun.finditer(line)]
    if not nouns:
        return []
    spans, numbers = [], []
    for m in step.finditer(line):  # in order, disjoint: starts and ends both rise
        spans.append(m.span())
        numbers.append(int(m.group(1)))
    starts = [c for c, _ in spans]
    ends = [d for _, d in spans]
    out = []
    for a, b in nouns:
        lo = bisect_right(ends, a) - 1  # the last step ending before the noun
        hi = bisect_left(starts, b)  # the first step starting after it
        best: tuple[int, int] | None = None
        for k in range(max(lo, 0), min(hi + 1, len(spans))):  # those, and any in between
            c, d = spans[k]
            gap = line[b:c] if c >= b else line[d:a] if d <= a else ""
            if len(_WORDS.findall(gap)) > NOUN_GAP:
                continue
            distance = max(c - b, a - d, 0)
            if best is None or distance < best[0]:
                best = (distance, numbers[k])
        if best is not None:
            out.append(best[1])
    return out


def references(step: Step, lines: Iterable[str]) -> list[Ref]:
    """The earlier steps of its series that a doc's ``lines`` name as documents, each with
    the first line naming it, in the order they are named."""
    pats = _patterns(step.series)
    out: dict[int, Ref] = {}
    for line in lines:
        for m in pats.name.finditer(line):
            n = int(m.group(1))
            if n < step.number and n not in out:
                out[n] = Ref(n, line, "file name")
        if pats.step is not None and pats.noun is not None:
            for n in _cited(line, pats.noun, pats.step):
                if n < step.number and n not in out:
                    out[n] = Ref(n, line, "step and noun")
    return list(out.values())


def subject(step: Step, refs: Sequence[Ref], written: Sequence[int]) -> Ref | None:
    """The doc's subject: the latest step it names (``refs``) that is recent — at most
    :data:`RECENT` steps before its own, or among the :data:`RECENT` docs of the series
    written just before it (``written``: their steps, the latest last)."""
    last = set(written[-RECENT:])
    recent = [r for r in refs if step.number - r.number <= RECENT or r.number in last]
    return max(recent, key=lambda r: r.number) if recent else None


class Link(NamedTuple):
    """One doc of a run: its position in the series and the subject it names."""

    at: int
    subject: Ref


def bookkeeping(steps: Sequence[int], subject_of: Callable[[int], Ref | None],
                limit: int) -> list[Link]:
    """The run of docs about recent docs that the last of ``steps`` ends (the steps of a
    series in the order its docs were written), the latest first; empty when the last
    doc is about no recent doc. Walking back, a doc about a recent doc extends the run,
    a doc that one of them is about is passed over, anything else ends it; at most
    ``limit`` docs are read. ``subject_of(k)`` is doc k's subject."""
    run: list[Link] = []
    about: set[int] = set()
    read = 0
    for k in range(len(steps) - 1, -1, -1):
        if read >= limit:
            break
        read += 1
        ref = subject_of(k)
        if ref is not None:
            run.append(Link(k, ref))
            about.add(ref.number)
        elif not run or steps[k] not in about:
            break
    return run


def chained(steps: Sequence[int], run: Sequence[Link]) -> Link | None:
    """A doc of the run about a doc that is itself in the run (a doc about a doc about a
    doc), the latest such; None when each is about an ordinary doc."""
    mine = {steps[link.at] for link in run}
    return next((link for link in run if link.subject.number in mine), None)
