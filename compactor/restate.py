"""Stage 4b: the restatement leg — the same state announced again in other words.

The shape leg (``families.py``) links copies: docs whose masked word shingles agree,
a label swapped at most. Agents also loop by re-announcing one state under a new
title ("quick reference", "complete summary", "final status report"), each doc
reworded; such docs share few shingles. This leg links two docs when all of this
holds (each figure measured on labelled real corpora, ``benchmarks/QUALITY.md``):

- **same content**: the cosine of their stemmed content words, weighted by IDF from
  the repo's own docs, is at least :data:`COSINE`;
- **different form**: their heading skeletons agree below :data:`SKELETON`. Instances
  of one template share their headings (per-alert runbooks, task cards: 0.5-1.0 on
  the corpora) while a restatement re-formats the same state (0.0-0.2); the shape leg
  judges same-form docs;
- **the same facts**: at least :data:`FACTS_SHARED` of the smaller fact set (numbers
  with units, code and quoted spans, names; unmasked) is in the other doc;
- **no name of its own**: no word of either doc's name (file name and title) is a
  content word the other doc never uses, or uses :data:`OWN_RATIO` times less often —
  ``KubeCPUOvercommit`` against ``KubeMemoryOvercommit`` names its own resource —,
  words that say what kind of document it is (:data:`GENRE_WORDS`: summary, final,
  quick reference …) aside;
- **one state**: not a plan or selection against a completion or a report
  (:data:`BEFORE_WORDS` / :data:`AFTER_WORDS` in the names);
- **not two facets of one batch**: docs added by one commit are one author's batch, which
  holds the facets of one piece of work — its guide, its status, its test results, its
  plan. Two of them restate each other only when both announce its outcome, or neither
  names a facet (:data:`OUTCOME_WORDS`, :data:`FACET_WORDS`); written apart, any two may;
- **no entry page**: a folder's ``README.md`` or ``index.md`` is the standing doc the
  docs under that folder are written against (:func:`entry_pages`: a folder that holds
  other docs), never a restatement of them (two entry pages are judged as any two docs, so
  is a README alone in its folder, and so are an entry page and a doc outside its folder: a
  loop must not hide its laps as folders' README.md);
- **one step**: for docs without a lane id, their names do not number different steps
  (``Cycle 2`` / ``Cycle 3``, ``A5`` / ``B2``): each names its own; numbered steps
  that copy each other are the shape leg's. Two lanes (docs with lane ids) are expected
  to number different steps, but must be lanes of one run (``S087`` and ``S112``, not
  ``S087`` and ``lane-141``) or share a step in their names.

The scan computes a *gist* (:func:`gist`) of the docs it compares — their content stems
with counts and their heading skeleton, hashed — and caches it per blob; facts are read
only for the pairs that pass every other test. Cosines come from :class:`Vectors`,
bounded in memory and in candidates per doc whatever the repository holds.
"""

from __future__ import annotations

import heapq
import re
import sys
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from compactor.briefs import ENTRY_NAMES
from compactor.facts import facts as fact_list
from compactor.files import stem_of
from compactor.words import down

COSINE = 0.4  # tf-idf cosine of stemmed content words
SKELETON = 0.5  # heading-set Jaccard at or above which two docs are one template's
FACTS_SHARED = 0.4  # share of the smaller fact set found in the other doc
LINKAGE = 0.3  # the cosine every two docs of one restatement group reach at least
MAX_POSTING = 400  # beyond DENSE_CELLS: a stem in more docs than this finds no candidates
MAX_TERMS = 200  # distinct stems kept per doc (the most frequent)
MAX_HEADS = 64
NAME_CHARS = 300  # of a file name and of a title, read for name words and steps
GIST_PARALLEL = 1000  # from this many docs to gist, a worker per CPU
GIST_PART = 250
MAX_FACTS = 96
OWN_RATIO = 3  # a name word used this many times more often by its own doc is its subject
DENSE_CELLS = 16_000_000  # docs x shared stems up to which all cosines come at once (64 MB)
BLOCK_CELLS = 4_000_000  # rows x docs of one block of cosines when they come by blocks (16 MB)
MAX_PARTNERS = 16  # candidates kept per doc (its most similar)
SLACK = 0.1  # how far below COSINE a partial score may be and still get its exact cosine
MAX_GROUP = 100  # a restatement group stops growing here (complete linkage is quadratic)

STOP = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    yourself yourselves also may might must shall via per""".split()
)

# Words that say what kind of document a name is, or how its author feels about it,
# not what it is about: two names that differ only in these can announce one state.
GENRE_WORDS = """
final finally quick reference card index master complete completed completion summary
report reporting brief briefing executive visual technical deep dive detail detailed
checklist setup guide analysis session status update updated progress mission success
successful acknowledged acknowledgement acknowledgment ack confirmed confirmation recognition
clarification breakthrough exceptional outstanding continuing continued continuation rapid
crisis victory major implementation implemented solution delivery delivered deliverable
ready readiness resolved resolution overview note notes results result retrospective review
recap wrap wrapup done finished achievement achieved accomplished celebration verified
verification validation validated current latest new next comprehensive full ultimate
definitive official draft revised revision handoff handover followup follow response reply
plan planning log record memo readme tracker tracking quickstart cheatsheet faq explanation
walkthrough diagnosis diagnostic diagnostics fix fixed investigation findings insights
lessons learned debrief initiated started critical urgent important
"""
# A plan, a draft or a selection, and a completion: two states of one piece of work, not one.
BEFORE_WORDS = "plan plans planning kickoff proposal proposed spec specification roadmap " \
    "selected selection claimed todo design draft drafts"
AFTER_WORDS = "complete completed completion done final retrospective closeout achieved " \
    "delivered acknowledged finished remediation"
# these say "after" only in a name with no BEFORE word ("Kickoff Report" is a kickoff)
AFTER_WEAK_WORDS = "report summary results"
# work under way: another state than its completion (a progress note and the "complete"
# report of one sprint), though not than a summary or a report of it
DURING_WORDS = "progress ongoing interim partial midway"
# One commit's batch (docs added together, by one author) holds the facets of one piece of
# work. A name announcing its outcome (done, a summary, a report, results) …
# (not "fixed" nor "deployed": stemmed, they are the nouns "fix" and "deployment")
OUTCOME_WORDS = AFTER_WORDS + " " + AFTER_WEAK_WORDS + " confirmed confirmation success " \
    "successful passed passing verified resolved"
# … and a name of a facet that is not its outcome: an instrument for doing it (a guide, an
# index, a checklist), a state on the way (a status, an update, a log, "ready"), a plan
FACET_WORDS = "guide guides index checklist quickstart tutorial howto manual instructions " \
    "ready update log monitoring strategy status plan spec draft"

_WORD = re.compile(r"[^\W\d_]{3,}")
# a numbered step in a name: a short prefix and a number (A5, P07, FC-02) or a word and a
# number (Cycle 2, stage12, wave-041); leading zeros are int()'s to drop (a ``0*`` before
# the ``\d+`` backtracked quadratically on a title of many zeros)
_STEP = re.compile(
    r"(?<![A-Za-z\d])([A-Za-z]{1,2})[-_]?(\d+)(?![A-Za-z\d])"
    r"|(?<![A-Za-z\d])([A-Za-z]{3,})[-_ ]?(\d+)(?![A-Za-z\d])"
)
_STEP_DIGITS = 18  # a number in a name is read from its last digits (int() refuses > 4300)


_NUMBER = re.compile(r"(?<![^\W_])\d+(?![^\W_])")  # a whole number between separators


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer  # PyStemmer: the Snowball stemmers in C

    stemmer = Stemmer.Stemmer("english")
    stemmer.maxCacheSize = 0  # its cache churned on a doc of unique words: 4x slower (_STEMS)
    return stemmer


_STEMS: dict[str, str] = {}  # word -> stem, for the first STEMS_KEPT distinct words met
STEMS_KEPT = 200_000


def stems(words: Sequence[str]) -> list[str]:
    memo = _STEMS
    new = [w for w in dict.fromkeys(words) if w not in memo]
    fresh = dict(zip(new, _stemmer().stemWords(new), strict=True)) if new else {}
    if fresh and len(memo) + len(fresh) <= STEMS_KEPT:
        memo.update(fresh)
    return [memo[w] if w in memo else fresh[w] for w in words]


@lru_cache(maxsize=1)
def _vocab() -> tuple[frozenset[str], ...]:
    return (frozenset(stems(GENRE_WORDS.split())), frozenset(stems(BEFORE_WORDS.split())),
            frozenset(stems(AFTER_WORDS.split())), frozenset(stems(AFTER_WEAK_WORDS.split())),
            frozenset(stems(DURING_WORDS.split())), frozenset(stems(OUTCOME_WORDS.split())),
            frozenset(stems(FACET_WORDS.split())))


def _h32(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def content_stems(text: str) -> Counter[str]:
    """Stemmed content words with their counts (each distinct word stemmed once)."""
    words = Counter(_WORD.findall(text.lower()))
    for w in STOP & words.keys():
        del words[w]
    out: Counter[str] = Counter()
    for stem, n in zip(stems(list(words)), words.values(), strict=True):
        out[stem] += n
    return out


def gist(body: str) -> str:
    """What the restatement leg keeps of a doc: its content stems with their counts
    (the ``MAX_TERMS`` most frequent) and its heading skeleton, as 32-bit hashes packed
    in one hex string (cheap to store and to read back)."""
    counts = content_stems(body)
    terms = heapq.nsmallest(MAX_TERMS, counts.items(), key=lambda kv: (-kv[1], kv[0]))
    heads = set()
    for h in _headings(body):
        words = [w for w in _WORD.findall(h.lower()) if w not in STOP]
        if words:
            heads.add(" ".join(stems(words)))
    head_hashes = sorted({_h32(h) for h in heads})[:MAX_HEADS]
    packed = np.array([len(terms), len(head_hashes), *(_h32(t) for t, _ in terms),
                       *head_hashes], dtype="<u4").tobytes()
    return (packed + bytes(min(c, 255) for _, c in terms)).hex()


def gists(texts: Sequence[str]) -> list[str]:
    """``gist`` of each text; many texts on every CPU (forked workers, as fingerprinting
    does: each text on its own, so the answers are the same)."""
    from compactor.fingerprints import cpus

    workers = min(cpus(), len(texts) // GIST_PART)
    if workers < 2 or len(texts) < GIST_PARALLEL or sys.platform != "linux":
        return [gist(t) for t in texts]
    import multiprocessing

    parts = [texts[k : k + GIST_PART] for k in range(0, len(texts), GIST_PART)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return [g for part in pool.map(_gist_part, parts) for g in part]


def _gist_part(texts: Sequence[str]) -> list[str]:
    return [gist(t) for t in texts]


def _headings(body: str) -> list[str]:
    """The text of every ATX heading line (string methods only: linear in the line, where
    a regex with a trailing ``#*`` backtracked quadratically on a line of many ``#``)."""
    out = []
    for line in body.split("\n"):
        text = line.lstrip(" ")
        if len(line) - len(text) > 3 or not text.startswith("#"):
            continue
        level = len(text) - len(text.lstrip("#"))
        if level > 6 or (len(text) > level and text[level] not in " \t"):
            continue
        out.append(text[level:].strip().rstrip("#").strip())
    return out


class Gist:
    """A doc's content stems (hash -> count, at most 255) and heading skeleton (hashes).

    Read back from the cache as arrays (``hashes``, ``counts``): the vectors of thousands
    of docs are built from them at once, and the ``terms`` mapping is made only for the
    docs whose names are judged."""

    __slots__ = ("_terms", "counts", "hashes", "heads")

    def __init__(self, terms: Mapping[int, int] | None = None,
                 heads: frozenset[int] = frozenset(),
                 hashes: npt.NDArray[np.int64] | None = None,
                 counts: npt.NDArray[np.float64] | None = None) -> None:
        self._terms: Mapping[int, int] | None = None
        if hashes is None or counts is None:
            self._terms = dict(terms or {})
            hashes = np.fromiter(self._terms.keys(), dtype=np.int64, count=len(self._terms))
            counts = np.fromiter(self._terms.values(), dtype=np.float64,
                                 count=len(self._terms))
        self.hashes, self.counts, self.heads = hashes, counts, heads

    @property
    def terms(self) -> Mapping[int, int]:
        if self._terms is None:
            self._terms = dict(zip(self.hashes.tolist(), self.counts.astype(np.int64).tolist(),
                                   strict=True))
        return self._terms


EMPTY = Gist({}, frozenset())


def read_gist(text: str) -> Gist:
    """A stored gist (an empty one when ``text`` is not one: an old or damaged value)."""
    try:
        data = bytes.fromhex(text)
    except (ValueError, TypeError):
        return EMPTY
    if len(data) < 8:
        return EMPTY
    n, nh = (int.from_bytes(data[k : k + 4], "little") for k in (0, 4))
    size = 4 * (2 + n + nh)
    if size + n != len(data):
        return EMPTY
    a = np.frombuffer(data, dtype="<u4", count=2 + n + nh)
    return Gist(heads=frozenset(a[2 + n :].tolist()), hashes=a[2 : 2 + n].astype(np.int64),
                counts=np.frombuffer(data, dtype=np.uint8, offset=size).astype(np.float64))


def _name(path: str, title: str) -> tuple[str, str]:
    """A doc's file name without its extension, and its title, each cut at
    :data:`NAME_CHARS` (a heading may be megabytes long: a set of its words per doc, asked
    about for every candidate pair, took minutes and gigabytes)."""
    return stem_of(path)[:NAME_CHARS], title[:NAME_CHARS]


def name_words(path: str, title: str) -> frozenset[str]:
    """The stemmed words of a doc's file name and title (split as ``briefs.name_words``
    splits a name; no word holding a digit, no stop words, none shorter than 3 letters)."""
    return frozenset(name_terms(path, title))


def name_terms(path: str, title: str) -> dict[str, str]:
    """``name_words`` with the word each stem was first read as (``refer`` -> ``reference``),
    to show people the words and not the stems."""
    from compactor.briefs import name_words as split_name

    stem, title = _name(path, title)
    toks = [t for t in split_name(f"{stem} {title}")
            if len(t) >= 3 and t.isalpha() and t not in STOP]
    out: dict[str, str] = {}
    for word, root in zip(toks, stems(toks), strict=True):
        out.setdefault(root, word)
    return out


def steps(path: str, title: str) -> frozenset[tuple[str, int]]:
    """The numbered steps a name carries: (prefix, number), e.g. ('cycle', 2), ('a', 5),
    and ('', n) for each bare number of the file name (a date, a time of day, a counter)."""
    stem, title = _name(path, title)
    out = {("", _step_number(t)) for t in _NUMBER.findall(stem)}  # dates, times, counters
    for m in _STEP.finditer(f"{stem} {title}"):
        if m.group(1):
            out.add((m.group(1).lower(), _step_number(m.group(2))))
        else:
            out.add((m.group(3).lower(), _step_number(m.group(4))))
    return frozenset(out)


def _step_number(digits: str) -> int:
    return int(digits[-_STEP_DIGITS:])


def _steps_differ(a: frozenset[tuple[str, int]], b: frozenset[tuple[str, int]]) -> bool:
    """Whether two names number different steps: numbered words but none in common
    (``Sprint 7`` / ``Story 1``), a word both number differently, or short ids or bare
    numbers on each side that the other lacks (``A5`` / ``B2``, ``2025-11-02_1227`` /
    ``2025-11-02_1253``)."""
    words_a = {s for s in a if len(s[0]) > 2}
    words_b = {s for s in b if len(s[0]) > 2}
    if words_a and words_b and words_a.isdisjoint(words_b):
        return True
    for key in {k for k, _ in a} & {k for k, _ in b}:
        if {n for k, n in a if k == key}.isdisjoint({n for k, n in b if k == key}):
            return True
    short_a = {s for s in a if len(s[0]) <= 2}
    short_b = {s for s in b if len(s[0]) <= 2}
    return bool(short_a - short_b) and bool(short_b - short_a)


@dataclass(frozen=True)
class Doc:
    """What the leg needs of one brief."""

    gist: Gist
    names: frozenset[str]  # stemmed name words
    steps: frozenset[tuple[str, int]]
    series: str | None  # its lane id without the digits ("S" for S087), None without one
    shown: Mapping[str, str] = field(default_factory=dict)  # stem -> the word as written
    batch: int = 0  # when the commit that added it was written (0: not known)
    standing: bool = False  # a folder's README.md / index.md: its entry page, no restatement
    folder: str = ""  # the folder it is in ("docs/status/"; "" at the top)


@dataclass(frozen=True)
class Edge:
    a: int
    b: int
    score: float  # the cosine
    facts: tuple[str, ...]  # facts both state (up to four, in the order ``a`` states them)
    terms: tuple[str, ...]  # the most weighty words of their names that both share


def _hashed(words: frozenset[str], shown: Mapping[str, str]) -> dict[int, str]:
    """Stem hash -> the word to show for it."""
    return {_h32(w): shown.get(w, w) for w in words}


def _own_name_word(a: Doc, b: Doc, genre: frozenset[str]) -> bool:
    """Whether ``a``'s name has a content word (not a genre word, not in ``b``'s name)
    that ``b``'s text never uses, or uses ``OWN_RATIO`` times less often: ``a``'s
    subject, at most mentioned in passing by ``b``."""
    return next(_own_stems(a, b, genre), None) is not None


def _own_stems(a: Doc, b: Doc, genre: frozenset[str]) -> Iterator[str]:
    """The stems of ``a``'s name that are its subject against ``b`` (``_own_name_word``)."""
    for w in a.names - b.names - genre:
        h = _h32(w)
        mine, theirs = a.gist.terms.get(h, 0), b.gist.terms.get(h, 0)
        if mine >= 1 and mine >= OWN_RATIO * theirs:
            yield w


def _stage(names: frozenset[str], vocab: tuple[frozenset[str], ...]) -> int:
    """-1 a name of a plan or a selection, 1 of a completion or a report, 0 neither or both."""
    _, before, after, weak = vocab[:4]
    b, a = bool(names & before), bool(names & after)
    if b != a:
        return -1 if b else 1
    return 1 if not b and names & weak else 0


def _stage_conflict(a: frozenset[str], b: frozenset[str],
                    vocab: tuple[frozenset[str], ...]) -> bool:
    """A plan against a completion or a report; or work under way against its completion."""
    if _stage(a, vocab) * _stage(b, vocab) < 0:
        return True
    after, during = vocab[2], vocab[4]
    return any(bool(x & during) and not x & after and bool(y & after) and not y & during
               for x, y in ((a, b), (b, a)))


Read = Callable[[Sequence[int]], Mapping[int, str]]


class Vectors:
    """Unit tf-idf vectors of the docs' stems (IDF from these docs), and their cosines.

    When the docs and the stems two or more of them share make at most ``DENSE_CELLS``
    cells, the cosines of every pair come from float32 matrix products (a stem in one
    doc adds to its norm only): all at once while the docs x docs result stays within
    ``DENSE_CELLS`` too, else a block of rows at a time (the whole result of 20,000 docs
    alike was 1.6 GB). Otherwise each doc's scores against all others are summed
    from an inverted index (one ``bincount`` per doc), leaving out stems in more than
    ``MAX_POSTING`` docs (their IDF is low; such a pair is then judged on its exact
    cosine if the rest already comes within ``SLACK`` of the threshold). Each doc keeps at
    most ``MAX_PARTNERS`` candidates, its most similar ones: memory and time stay bounded
    whatever a repository holds.
    """

    def __init__(self, docs: Mapping[int, Doc]) -> None:
        self.ids = sorted(docs)
        n = len(self.ids)
        self.row = {i: k for k, i in enumerate(self.ids)}
        gists = [docs[i].gist for i in self.ids]
        lens = np.fromiter((g.hashes.size for g in gists), dtype=np.int64, count=n)
        terms = np.concatenate([np.zeros(0, np.int64), *(g.hashes for g in gists)])
        counts = np.concatenate([np.zeros(0, np.float64), *(g.counts for g in gists)])
        owner = np.repeat(np.arange(n), lens)
        self.start = np.concatenate([[0], np.cumsum(lens)])
        uniq, inv, df = np.unique(terms, return_inverse=True, return_counts=True)
        w = (1.0 + np.log(np.maximum(counts, 1.0))) * np.log((n + 1) / (df[inv] + 0.5))
        w[counts <= 0] = 0.0
        norms = np.sqrt(np.bincount(owner, w * w, minlength=n))
        w /= np.where(norms > 0, norms, 1.0)[owner]
        self.terms, self.weights = terms, w
        self._vec: dict[int, dict[int, float]] = {}
        self.sims: npt.NDArray[np.float32] | None = None
        self.x: npt.NDArray[np.float32] | None = None  # the rows, when sims is not kept
        many = df[inv] > 1  # a stem in one doc adds to that doc's norm only
        shared_cols = np.cumsum(df > 1) - 1  # unique stem -> its column among the shared
        width = max(1, int((df > 1).sum()))
        self.dense = n * width <= DENSE_CELLS
        if self.dense:
            x = np.zeros((n, width), dtype=np.float32)
            x[owner[many], shared_cols[inv[many]]] = w[many]
            if n * n <= DENSE_CELLS:
                self.sims = x @ x.T
            else:
                self.x = x
            return
        few = many & (df[inv] <= MAX_POSTING)
        order = np.argsort(inv[few], kind="stable")  # grouped by stem
        rows, stems_at, vals = owner[few][order], inv[few][order], w[few][order]
        cuts = np.flatnonzero(np.diff(stems_at)) + 1
        self.postings: dict[int, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = {}
        if rows.size:
            firsts = uniq[stems_at[np.r_[0, cuts]]].tolist()
            for t, r, v in zip(firsts, np.split(rows, cuts), np.split(vals, cuts), strict=True):
                self.postings[t] = (r, v)

    def vec(self, i: int) -> dict[int, float]:
        """Doc ``i``'s unit vector: stem hash -> weight."""
        v = self._vec.get(i)
        if v is None:
            k = self.row[i]
            a, b = int(self.start[k]), int(self.start[k + 1])
            v = self._vec[i] = dict(zip(self.terms[a:b].tolist(), self.weights[a:b].tolist(),
                                        strict=True))
        return v

    def cosine(self, i: int, j: int) -> float:
        if self.sims is not None:
            return float(self.sims[self.row[i], self.row[j]])
        if self.x is not None:
            return float(self.x[self.row[i]] @ self.x[self.row[j]])
        return _cosine(self.vec(i), self.vec(j))

    def _rows(self) -> Iterator[npt.NDArray[np.float64]]:
        """Each row's similarity to every row, in row order: exact when dense (a block of
        rows of at most ``BLOCK_CELLS`` cells at a time), else the part of it carried by
        the stems in at most ``MAX_POSTING`` docs."""
        if self.sims is not None:
            for k in range(len(self.ids)):
                yield np.asarray(self.sims[k], dtype=np.float64)
        elif self.x is not None:
            n = len(self.ids)
            step = max(1, BLOCK_CELLS // n)
            for a in range(0, n, step):
                block = self.x[a : a + step] @ self.x.T
                for row in block:
                    yield np.asarray(row, dtype=np.float64)
        else:
            for k in range(len(self.ids)):
                yield self._scores(k)

    def _scores(self, k: int) -> npt.NDArray[np.float64]:
        """Row ``k``'s similarity to every row, from the inverted index."""
        n = len(self.ids)
        a, b = int(self.start[k]), int(self.start[k + 1])  # its vector, not kept (``vec``)
        parts = [(self.postings[t], w) for t, w in zip(self.terms[a:b].tolist(),
                                                        self.weights[a:b].tolist(), strict=True)
                 if t in self.postings]
        if not parts:
            return np.zeros(n)
        rows = np.concatenate([p[0] for p, _ in parts])
        vals = np.concatenate([p[1] * w for p, w in parts])
        return np.asarray(np.bincount(rows, vals, minlength=n), dtype=np.float64)

    def pairs(self, least: float) -> Iterator[tuple[int, int, float]]:
        """The pairs (i < j) whose cosine reaches ``least``, each doc with at most
        ``MAX_PARTNERS`` of its most similar."""
        keep: set[tuple[int, int]] = set()
        floor = least if self.dense else least - SLACK
        for k, scores in enumerate(self._rows()):
            scores[k] = -1.0
            near = np.flatnonzero(scores >= floor)
            if near.size > MAX_PARTNERS:
                near = _most(near, scores[near], MAX_PARTNERS)
            keep.update((min(k, c), max(k, c)) for c in near.tolist())
        for r, c in sorted(keep):
            i, j = self.ids[r], self.ids[c]
            cos = self.cosine(i, j)
            if cos >= least:
                yield i, j, cos


def _most(at: npt.NDArray[np.int64], score: npt.NDArray[np.float64],
          k: int) -> npt.NDArray[np.int64]:
    """The ``k`` of ``at`` (ascending) with the highest ``score``, ties to the first:
    what a stable sort of the scores would keep, found in linear time (a sort of every
    row's candidates was a quarter of the leg on 5,000 docs alike)."""
    kth = np.partition(score, score.size - k)[score.size - k]  # the k-th highest
    above = at[score > kth]
    return np.concatenate([above, at[score == kth][: k - above.size]])


def links(docs: Mapping[int, Doc], read: Read) -> list[Edge]:
    """The restatement links among ``docs`` (brief index -> Doc), each pair once (a < b).
    ``read`` gives the text of the docs asked for: facts are read only for the pairs that
    pass every other test."""
    if len(docs) < 2:
        return []
    vectors = Vectors(docs)
    vocab = _vocab()
    passed = [(i, j, cos) for i, j, cos in vectors.pairs(COSINE)
              if _judge(docs[i], docs[j], vocab)]
    if not passed:
        return []
    texts = read(sorted({k for i, j, _ in passed for k in (i, j)}))
    facts = {k: fact_list(t)[:MAX_FACTS] for k, t in texts.items()}
    found = []
    for i, j, cos in passed:
        fa, fb = facts.get(i, []), facts.get(j, [])
        if not fa or not fb:
            continue
        other = set(fb)
        shared = [f for f in fa if f in other]
        if len(shared) / min(len(fa), len(set(fb))) < FACTS_SHARED:
            continue
        words = {**_hashed(docs[i].names, docs[i].shown),
                 **_hashed(docs[j].names, docs[j].shown)}
        va, vb = vectors.vec(i), vectors.vec(j)
        common = sorted(((va[t] * vb[t], t) for t in words if t in va and t in vb),
                        reverse=True)
        found.append(Edge(i, j, round(cos, 3), tuple(f.split(" ", 1)[1] for f in shared[:4]),
                          tuple(words[t] for _, t in common[:5])))
    return _complete(found, vectors)


def _cosine(va: Mapping[int, float], vb: Mapping[int, float]) -> float:
    if len(va) > len(vb):
        va, vb = vb, va
    return sum(x * vb.get(t, 0.0) for t, x in va.items())


def _complete(edges: Sequence[Edge], vectors: Vectors) -> list[Edge]:
    """The edges that join groups in which every two docs agree at least ``LINKAGE``
    (strongest edge first; a group stops growing at ``MAX_GROUP`` docs): one agent's
    reports on *different* subjects each resemble some restatement of the other, and a
    chain of such pairs must not make one family."""
    group: dict[int, list[int]] = {}
    kept = []
    for e in sorted(edges, key=lambda e: (-e.score, e.a, e.b)):
        ga, gb = group.get(e.a, [e.a]), group.get(e.b, [e.b])
        if ga is gb or len(ga) + len(gb) > MAX_GROUP:
            continue
        if all(vectors.cosine(x, y) >= LINKAGE for x in ga for y in gb):
            merged = ga + gb
            for k in merged:
                group[k] = merged
            kept.append(e)
    return kept


def _facets_differ(a: frozenset[str], b: frozenset[str],
                   vocab: tuple[frozenset[str], ...]) -> bool:
    """Whether two names of one batch name different facets of one piece of work: one its
    outcome, the other a facet that is not (an "Access Guide" and a "Status Report", a
    "Testing Status" and "Test Results"), or two different facets (a "Plan" and a "Spec",
    a "Kickoff Guide" and a "Sprint Checklist"). Two outcomes, or names of no facet, may
    restate each other."""
    outcome, facet = vocab[5], vocab[6]
    fa = frozenset() if a & outcome else a & facet
    fb = frozenset() if b & outcome else b & facet
    if fa and fb:
        return fa != fb
    return bool(fa and b & outcome) or bool(fb and a & outcome)


def _judge(a: Doc, b: Doc, vocab: tuple[frozenset[str], ...]) -> bool:
    """Whether a pair similar enough passes every test but the facts (read later)."""
    return verdict(a, b, vocab) is None


def verdict(a: Doc, b: Doc, vocab: tuple[frozenset[str], ...]) -> str | None:
    """What keeps a pair similar enough apart, in a few words; None when it passes every
    test but the facts (read later)."""
    if a.standing != b.standing:  # an entry page and a doc written against it
        entry, other = (a, b) if a.standing else (b, a)
        if other.folder.startswith(entry.folder):  # under the page's folder
            return "one is a folder's entry page, the other a doc written against it"
    ha, hb = a.gist.heads, b.gist.heads
    if (ha or hb) and len(ha & hb) / len(ha | hb) >= SKELETON:
        return (f"their headings agree ({len(ha & hb) / len(ha | hb):.2f} >= {SKELETON}): "
                "instances of one template, the shape leg's to judge")
    genre = vocab[0]
    for x, y in ((a, b), (b, a)):
        if _own_name_word(x, y, genre):
            word = next(iter(_own_words(x, y, genre)), "")
            return (f"'{word}' in one name is that doc's own subject, hardly used by the other"
                    if word else "a word of one name is that doc's own subject")
    if _stage_conflict(a.names, b.names, vocab):
        return "two states of one work: a plan or work under way against its completion"
    if a.batch and a.batch == b.batch and _facets_differ(a.names, b.names, vocab):
        # one batch: its guide, its status, its results are one work's facets
        return "two facets of one commit's batch (a guide, a status, a plan, its results)"
    if a.series is not None and b.series is not None:
        # lanes of two runs (S087, lane-141) restate nothing of each other, unless their
        # names share a step (SPRINT_9_STORY_0 and STORY_0: the story of that sprint)
        if a.series != b.series and a.steps.isdisjoint(b.steps):
            return "lanes of two runs"
    elif _steps_differ(a.steps, b.steps):
        return "their names number different steps"
    return None


def _own_words(a: Doc, b: Doc, genre: frozenset[str]) -> list[str]:
    """The words ``_own_name_word`` finds, as ``a``'s name writes them."""
    return [a.shown.get(w, w) for w in sorted(_own_stems(a, b, genre))]


@dataclass(frozen=True)
class Nearest:
    """One of a doc's nearest docs in words (``scan --explain``)."""

    doc: int
    cosine: float
    apart: str | None  # what keeps the two apart; None: linked, or left out by linkage


def nearest(docs: Mapping[int, Doc], i: int, read: Read, k: int = 3) -> list[Nearest]:
    """Doc ``i``'s ``k`` nearest docs among ``docs`` by the cosine of their content words
    (none below half of :data:`COSINE`), each with the first test that keeps the pair
    apart (the tests of :func:`links`)."""
    vectors = Vectors(docs)
    vocab = _vocab()
    sims = sorted(((cos, j) for j in docs if j != i
                   if (cos := vectors.cosine(i, j)) >= COSINE / 2),
                  key=lambda t: (-t[0], t[1]))[:k]
    texts = read([i, *(j for _, j in sims)])
    mine = fact_list(texts[i])[:MAX_FACTS]
    out = []
    for cos, j in sims:
        apart = f"fewer content words in common than a restatement has (cosine {COSINE})" \
            if cos < COSINE else verdict(docs[i], docs[j], vocab)
        if apart is None:
            theirs = fact_list(texts[j])[:MAX_FACTS]
            share = len(set(mine) & set(theirs)) / min(len(mine), len(set(theirs))) \
                if mine and theirs else 0.0
            if share < FACTS_SHARED:
                apart = (f"they share {down(share, 2):.2f} of their facts, "
                         f"below {FACTS_SHARED}")
        out.append(Nearest(j, cos, apart))  # exact: shown cut, never rounded up past COSINE
    return out


def standing(path: str) -> bool:
    """Whether a doc is named as a folder's entry page (``README.md``, ``index.md``)."""
    return stem_of(path).lower() in ENTRY_NAMES


def entry_pages(paths: Sequence[str]) -> frozenset[int]:
    """The docs among ``paths`` that are entry pages: named so (:func:`standing`) and in a
    folder that holds another of ``paths`` (in it or below). Such a page is the standing
    doc the others are written against, kept up to date in place, not a state announced.
    A README alone in its folder is the entry to nothing: a loop writing each lap as a new
    folder's README.md is judged like any doc. (One pass of C-level prefix tests over the
    paths, for the few folders that have such a page: this runs on every scan.)"""
    named = [k for k, p in enumerate(paths)
             if ("readme" in (low := p.lower()) or "index" in low)  # of ENTRY_NAMES
             and standing(p)]
    if not named:
        return frozenset()
    folder = {k: folder_of(paths[k]) for k in named}
    holds = {"": len(paths) >= 2}
    asked = set(folder.values()) - {""}
    if len(asked) > 8:  # many such folders: bisect a sorted copy, not a pass per folder
        import bisect

        ordered = sorted(paths)
        for f in asked:
            at = bisect.bisect_left(ordered, f)
            holds[f] = at + 1 < len(ordered) and ordered[at + 1].startswith(f)
        return frozenset(k for k in named if holds[folder[k]])
    for f in asked:
        found = 0  # two docs under f (the page and another) are enough: stop there
        for p in paths:
            if p.startswith(f):
                found += 1
                if found == 2:
                    break
        holds[f] = found == 2
    return frozenset(k for k in named if holds[folder[k]])


def folder_of(path: str) -> str:
    """The folder a path is in, with its slash (``docs/status/``; ``""`` at the top)."""
    return path.rsplit("/", 1)[0] + "/" if "/" in path else ""


def series(lane: str | None) -> str | None:
    """A lane id without its digits: the run it numbers (``S`` for ``S087``)."""
    return None if lane is None else re.sub(r"\d+", "#", lane).lower()
