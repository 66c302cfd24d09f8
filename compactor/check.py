"""The gate: judge the lanes a change adds, and say why a repetition is refused.

``run_check`` finds the paths a change adds (the staged change: index vs HEAD;
or a commit range ``A..B``), scans the index (or the tree of ``B``) and judges
every added lane in lane order, each against everything before it: committed
docs and the added lanes earlier in lane order. A lane is a ``brief`` (a doc
with a lane id), or a doc without a lane id (kind ``other``: a launch prompt,
a hand-off) that joins a family. Nothing else that a change adds (proofs,
hardening, consolidation outputs, the inventory, ACKs, docs in no family) is
judged; those never block.

Each lane's evidence is graded by what it is to the earlier members of its family
(:meth:`_Context.link`): a *copy* (same proof shape, no new fact: strong), a
*restatement* (reworded, as the scan linked it: medium), *distinct* (templated,
with facts of its own: nothing fires), or *first*/*apart*. Only a copy can meet:

- the **stop conditions** (all three together block): the envelope is proven by
  real proof (an earlier lane says ``status: proven``, or a proof/hardening
  artifact covers the family by front matter or names a lane id, see
  :func:`_covers`); the guardrail fields are unchanged from the previous lane
  once labels are masked (unknown, so not holding, when the lane has none); the
  lane is a copy;
- the **escalations** ``adjacent`` (more than ``max_adjacent`` near-copies in a
  row since the family's last consolidation output) and ``rename`` (the title or
  file name is an earlier lane's with the label swapped; only a warning without
  a lane id).

A restatement warns, and is refused past ``max_restated`` in a row. A doc with a
run id inferred by the scan (``scan.runs``) is judged like a lane with a lane id;
other docs without one get the same escalations, as strong as ``unnumbered_mode``
allows. The
``budget`` escalation (tokens of the trailing hour) applies to every lane. A
``new_truth:`` claim turns a repetition block into a warning only when the lane
holds lines its nearest earlier lanes lack that the claim points to; an empty or
copied claim is refused. The budget is not lifted by a claim.

Everything here returns frozen records; ``render_text`` / ``render_json`` turn
them into the text the CLI prints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from compactor import SCHEMA_VERSION, shapes, subjects
from compactor.briefs import Brief, find_label
from compactor.config import Config
from compactor.episodes import CAP
from compactor.errors import EXIT_BLOCKED, EXIT_OK, InputError, Warning
from compactor.families import RESTATEMENT, Family
from compactor.files import in_dir, matches, path_for_humans, stem_of
from compactor.git import Repo
from compactor.restate import stems
from compactor.scan import (
    Progress,
    Scan,
    family_name,
    name_for_humans,
    order_key,
    run_scan,
    stray_closeouts,
    with_bodies,
)
from compactor.vocab import CONSOLIDATION_KINDS, FAMILY_KINDS, PROOF_KINDS
from compactor.words import fold, shorten

HOUR = 3600
SHORT_CLAIM = 12  # masked words below which claims are compared as word sets
QUESTION = "What new truth does this lane buy that the last three did not?"
TITLES = {
    "proven": "envelope proven",
    "guardrails": "guardrails unchanged",
    "label-only": "only the label differs",
    "adjacent": "adjacent lanes",
    "restated": "reworded restatements",
    "rename": "renamed lane",
    "budget": "token budget",
    "bookkeeping": "docs about docs",
    "claim": "new_truth refused",
}


@dataclass(frozen=True)
class Condition:
    """One condition that held for a lane, with the evidence a person can check."""

    name: str  # proven | guardrails | label-only | adjacent | restated | rename | budget | bookkeeping | claim
    group: str  # stop | escalation | claim
    action: str  # block | warn
    evidence: str
    strength: str = "strong"  # strong | medium | weak: how much the evidence proves


@dataclass(frozen=True)
class Neighbour:
    path: str
    lane: str
    similarity: float


@dataclass(frozen=True)
class Verdict:
    """What the gate says about one added lane."""

    path: str
    lane: str
    outcome: str  # pass | warn | block
    family: str | None
    nearest: tuple[Neighbour, ...]  # earlier lanes of the family, most similar first
    last: tuple[str, ...]  # the (up to) three earlier lanes of the family, in lane order
    conditions: tuple[Condition, ...]  # what held (stop conditions only when all three do)
    new_truth: str | None
    overridden: bool = False  # a block turned into a warning by the new_truth claim
    # first | copy | restatement | distinct | apart: what the lane is to its nearest; none: in no family
    link: str = "first"
    owed: tuple[tuple[str, str], ...] = ()  # outputs due instead that do not exist yet
    consolidated_by: str | None = None  # an existing closeout of the family, when there is one
    earned: tuple[str, ...] = ()  # the lines the new_truth claim points to (new in this lane)
    family_short_id: str | None = None  # the family's short id, when it has one (Scan.short_ids)

    @property
    def family_shown(self) -> str | None:
        """The family as people read it: its short id, else its id."""
        return self.family_short_id or self.family

    @property
    def question(self) -> str | None:
        if self.outcome != "block" or not self.last:
            return None
        if len(self.last) >= 3:
            return f"{QUESTION[:-1]} ({', '.join(self.last)})?"
        which = "the last two" if len(self.last) == 2 else "the last one"
        return f"{QUESTION.replace('the last three', which)[:-1]} ({', '.join(self.last)})?"

    def due(self) -> tuple[tuple[str, str], ...]:
        """(output, the command that writes it) owed instead of this lane: only outputs
        that do not exist yet."""
        return self.owed if self.outcome == "block" else ()


@dataclass(frozen=True)
class CheckResult:
    source: str  # "index" or the range "A..B"
    added: tuple[str, ...]  # every path the change adds
    verdicts: tuple[Verdict, ...]  # one per added lane, in lane order
    warnings: tuple[Warning, ...]  # from the scan

    @property
    def outcome(self) -> str:
        outcomes = {v.outcome for v in self.verdicts}
        for o in ("block", "warn"):
            if o in outcomes:
                return o
        return "pass"

    @property
    def exit_code(self) -> int:
        return EXIT_BLOCKED if self.outcome == "block" else EXIT_OK


# -- entry points ---------------------------------------------------------------------------


def parse_now(value: str) -> int:
    """``--now``: epoch seconds, or an ISO-8601 time (UTC unless it says otherwise)."""
    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--now {value!r}: not a time; give epoch seconds or ISO 8601 like "
            "2026-05-09T12:00:00Z"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def parse_range(repo: Repo, spec: str) -> tuple[str, str]:
    """``A..B``, ``A...B``, ``A..``, ``..B`` -> (base, tip) commits (see ``Repo.resolve_range``)."""
    return repo.resolve_range(spec)


def run_check(
    repo: Repo,
    config: Config,
    *,
    rev_range: str | None = None,
    now: int | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> CheckResult:
    """Judge the lanes the staged change (or ``rev_range``) adds.

    A path moved with its content unchanged (an exact rename) is not added.
    """
    base: str | None
    tip: str | None
    if rev_range is not None:
        if now is not None:
            raise InputError(
                "--now cannot be combined with --range: a range is judged at its commits' "
                "times; drop --now"
            )
        base, tip = parse_range(repo, rev_range)
        added = repo.diff_added(base, cached=False, head=tip)
        source = rev_range
    else:
        base, tip = repo.head(), None
        added = repo.diff_added(base, cached=True)
        source = "index"
    if added:  # a file moved with its content unchanged opens no lane
        moved = repo.diff_moved(base, cached=rev_range is None, head=tip)
        added = [p for p in added if p not in moved]
    if not any(_is_candidate(config, p) for p in added):
        return CheckResult(source, tuple(added), (), ())
    if base is not None:  # a file restored from the compaction manifest opens no lane
        restored = restores(repo, config, base, added, tip, use_cache)
        if restored:
            added = [p for p in added if p not in restored]
            if not any(_is_candidate(config, p) for p in added):
                return CheckResult(source, tuple(added), (), ())
    scan = run_scan(repo, config, rev=tip, now=now, use_cache=use_cache, progress=progress,
                    decisions=False)  # the gate asks only which family a lane is in
    return judge(repo, scan, added, source)


def restores(repo: Repo, config: Config, base: str, added: Sequence[str],
             tip: str | None = None, use_cache: bool = True) -> set[str]:
    """The paths among ``added`` that bring back, byte for byte, a file the compaction
    manifest of ``base`` lists (``compactor restore``): an undo, not a new lane."""
    from compactor.manifest import listed_blobs

    listed = listed_blobs(repo, config, base, use_cache)
    wanted = [p for p in added if p in listed]
    if not wanted:
        return set()
    blobs = repo.blobs_of(wanted, rev=tip)
    return {p for p in wanted if blobs.get(p) == listed[p]}


def _is_candidate(config: Config, path: str) -> bool:
    return (
        matches(config.include, path)
        and not matches(config.exclude, path)
        and not in_dir(path, config.archive_dir)
        and path != config.inventory
    )


# -- the judgement --------------------------------------------------------------------------

# How far back the gate walks a family to measure a run (and reads bodies for it).
WALK = 32
FEW_SERIES = 8  # series looked up one by one; past this, every file name is read once for all
PAUSE = CAP  # a pause longer than this (a day) between two members ends the run before it
LAP_POOL = 256  # a lane is judged against at most this many members of its lap before it
NEAR_POOL = 256  # a doc's nearest earlier members are looked for among this many before it
FACT_WORDS = 2  # content words a line must add (absent from the nearest lanes) to be a new fact
_ORDER = {"off": 0, "warn": 1, "block": 2}


@dataclass(frozen=True)
class _Run:
    """A run of docs about docs: ``docs`` the series' docs up to the judged one (the order
    they were written), ``steps`` their step numbers, ``links`` the run, the latest first
    (``subjects.bookkeeping``), ``by_step`` a step's (first) doc."""

    docs: Sequence[int]
    steps: Sequence[int]
    links: Sequence[subjects.Link]
    by_step: Mapping[int, int]


class _Context:
    """What every lane's judgement shares: the scan, who is new, and the bodies it needs."""

    def __init__(self, repo: Repo, scan: Scan, added: Iterable[str]) -> None:
        self.repo = repo
        self.scan = scan
        self.config = scan.config
        self.briefs = scan.briefs
        self.new = set(added)
        where: dict[str, int] = {}
        self.proofs: list[int] = []
        self.outputs: list[int] = []  # consolidation outputs and the inventory
        self.claims: list[int] = []  # briefs with a new_truth claim
        inventory = self.config.inventory
        for i, b in enumerate(self.briefs):  # one pass: a warm hook has 10k briefs
            where[b.path] = i
            if b.kind in PROOF_KINDS:
                self.proofs.append(i)
            if b.kind in CONSOLIDATION_KINDS or b.path == inventory:
                self.outputs.append(i)
            if b.fields and b.new_truth is not None:
                self.claims.append(i)
        self.where = where
        # per (family, "lane" or "label"): the values two of its members carry
        self._shared: dict[tuple[str, str], set[str]] = {}
        self._series: dict[subjects.Series, list[int]] = {}
        self._steps: dict[int, subjects.Step] = {}
        self._subjects: dict[tuple[int, tuple[int, ...]], subjects.Ref | None] = {}
        self.bodies: dict[int, str] = {}
        self._lines: dict[int, dict[str, _Line]] = {}
        self._links: dict[tuple[int, int, int], str] = {}
        self._prior: dict[int, list[int]] = {}
        self._orders: dict[tuple[str, tuple[str, ...]], tuple[list[int], dict[int, int] | None]] = {}
        self._names: dict[tuple[str | None, tuple[int, ...]], _Names] = {}
        judged = [where[p] for p in self.new if p in where and self._judged(where[p])]
        self._set_lanes(judged)
        need: list[int] = []
        if self.lanes:  # what each lane's run needs
            for i in self.lanes:
                prior = self.prior(i)
                need.extend(self.walked([*prior, i]))
                if prior:  # the outputs _since_output and _owed may read
                    need.extend(o for o in self.window_outputs(i, prior)
                                if self.briefs[o].path != self.config.inventory)
            if any(self.prior(i) for i in self.lanes):
                need.extend(o for o in self.outputs if self.briefs[o].kind == "closeout")
        # added docs of a numbered series may be about another doc of it: their leads too
        series = [] if self.config.bookkeeping_mode == "off" else [
            k for p in self.new if (k := where.get(p)) is not None and self.series(k) is not None]
        self.read([*need, *series])  # one batch
        self.books: dict[int, _Run] = {}  # added docs about docs of their series: the run each ends
        for k in series:
            run = self.bookkeeping(k)
            if run is not None:
                self.books[k] = run
        if any(k not in self.rank for k in self.books):  # judged too, though in no family
            self._set_lanes([*judged, *(k for k in self.books if k not in self.rank)])

    def _set_lanes(self, lanes: Iterable[int]) -> None:
        self.lanes = sorted(lanes, key=lambda i: order_key(self.briefs[i]))
        self.rank = {i: r for r, i in enumerate(self.lanes)}

    # -- docs about docs (``subjects.py``) -------------------------------------------------

    def series(self, i: int) -> list[int] | None:
        """The docs of brief i's name series in the order they were written (None: it has
        no step, is no doc that joins families, or its series is too small to say what kind
        of document each one is)."""
        b = self.briefs[i]
        step = subjects.step_of(b.path)
        if step is None or b.kind not in FAMILY_KINDS or b.path == self.config.inventory:
            return None
        got = self._series.get(step.series)
        if got is None:
            paths, written = [b.path for b in self.briefs], [b.created for b in self.briefs]
            if len(self._series) < FEW_SERIES:  # a regex search per path of the folder
                found = subjects.members(paths, written, step.series)
                self._steps.update(found)
                got = self._series[step.series] = list(found)
            else:  # a change adding docs of many series: every name read once, not once a series
                for s, found in subjects.by_series(paths, written).items():
                    self._steps.update(found)
                    self._series[s] = list(found)
                got = self._series[step.series]
        return got if len(got) >= subjects.MIN_SERIES else None

    def subject(self, j: int, written: Sequence[int]) -> subjects.Ref | None:
        """Brief j's subject: the recent doc of its series its lead names (``written``: the
        steps of the series' docs written before it)."""
        key = (j, tuple(written[-subjects.RECENT:]))
        if key in self._subjects:
            return self._subjects[key]
        b = self.briefs[j]
        got = None
        if b.kind in FAMILY_KINDS:
            self.read([j])
            step = self._steps[j]
            refs = subjects.references(step, subjects.lead(b.title, self.bodies.get(j, "")))
            got = subjects.subject(step, refs, written) if refs else None
        self._subjects[key] = got
        return got

    def bookkeeping(self, i: int) -> _Run | None:
        """The run of docs about docs that added doc i ends, when it is about one."""
        docs = self.series(i)
        if docs is None:
            return None
        at = docs.index(i)
        docs = docs[max(0, at - WALK): at + 1]
        steps = [self._steps[j].number for j in docs]
        if self.subject(i, steps[:-1]) is None:
            return None
        self.read(docs)  # one batch for the walk
        links = subjects.bookkeeping(steps, lambda k: self.subject(docs[k], steps[:k]), WALK)
        by_step: dict[int, int] = {}
        for j, n in zip(docs, steps, strict=True):
            by_step.setdefault(n, j)
        return _Run(docs, steps, links, by_step)

    def prior(self, i: int) -> list[int]:
        """The earlier members of lane i's family that it is judged against, in order:
        the family's latest lap, from the last pause of more than a day between two
        of them (a loop that stopped for a day is over, as an episode of ``compactor
        report`` is: release notes months apart are not one run). Only pauses between
        docs already committed before the change count: the time of a lane the change
        adds is the hook's clock (or a late commit's), not the loop's, and the hook and
        ``--range`` must judge one change alike."""
        got = self._prior.get(i)
        if got is None:
            fam = self.scan.family_of(i)
            kinds = ("brief",) if self.briefs[i].kind == "brief" else ("brief", "other")
            got = []
            if fam is not None:  # at most LAP_POOL back: a change adding 20k lanes to one
                members, at = self._ordered(fam.id, fam.members, kinds)  # family is linear
                if at is not None and i in at:
                    got = members[max(0, at[i] - LAP_POOL):at[i]]
                else:
                    got = [m for m in members if self.earlier(m, i)][-LAP_POOL:]
            briefs, added, k = self.briefs, self.rank, len(got) - 1
            while k > 0 and (got[k] in added or
                             briefs[got[k]].created - briefs[got[k - 1]].created <= PAUSE):
                k -= 1
            got = self._prior[i] = got[max(k, 0):]
        return got

    def _ordered(self, fid: str, members: Sequence[int], kinds: tuple[str, ...]
                 ) -> tuple[list[int], dict[int, int] | None]:
        """A family's members of ``kinds`` in order, and where each lane the change adds
        stands among them when those lanes come last and in the order they are judged (the
        usual case: then the members before a lane are the ones before it in the list)."""
        key = (fid, kinds)
        got = self._orders.get(key)
        if got is None:
            mine = [m for m in members if self.briefs[m].kind in kinds]
            first = next((k for k, m in enumerate(mine) if m in self.rank), len(mine))
            tail = [self.rank.get(m, -1) for m in mine[first:]]
            last = all(r >= 0 for r in tail) and tail == sorted(tail)
            at = {m: k for k, m in enumerate(mine) if k >= first} if last else None
            got = self._orders[key] = (mine, at)
        return got

    def names(self, fid: str | None, prior: Sequence[int]) -> _Names:
        """The family's names (one compiled search per lane judged, not one per question)."""
        key = (fid, tuple(prior))
        got = self._names.get(key)
        if got is None:
            got = self._names[key] = _Names(self, fid, prior)
        return got

    def window_outputs(self, i: int, prior: Sequence[int]) -> list[int]:
        """The consolidation outputs before lane i within the window its run is measured
        over (its lap, from the member WALK + 1 before it at most): an older one changes
        no count. An
        output must be written before the lane, not with it: one staged in the same commit
        as each lap would turn every block into a warning (``benchmarks/evasions.py`` D1,
        and D2 for a file at a newly configured inventory path)."""
        briefs = self.briefs
        # the lap's outputs only: its first output resets (``_since_output``), and one of
        # an earlier lap must not stand in for it
        first = prior[-WALK - 1] if len(prior) > WALK else prior[0] if prior else None
        start = briefs[first].created if first is not None else None
        mine = briefs[i].created
        return [o for o in self.outputs
                if self.earlier(o, i) and (start is None or briefs[o].created >= start)
                and not (mine and briefs[o].created >= mine)]

    def read(self, need: Iterable[int]) -> None:
        """Fill ``bodies`` for the briefs ``need`` (one batch read for those missing)."""
        missing = sorted({i for i in need if i not in self.bodies})
        if missing:
            read = with_bodies(self.repo, [self.briefs[i] for i in missing])
            self.bodies.update({i: b.body or "" for i, b in zip(missing, read, strict=True)})

    def _judged(self, i: int) -> bool:
        b = self.briefs[i]
        if b.path == self.config.inventory:
            return False
        return b.kind == "brief" or (b.kind == "other" and self.scan.family_of(i) is not None)

    def earlier(self, j: int, i: int) -> bool:
        """Is brief j before lane i: committed, or added and judged before it (or not a lane)?"""
        if j == i:
            return False
        r = self.rank.get(j)
        return r is None or r < self.rank[i]

    def family(self, fid: str) -> str:
        """Family ``fid`` as prose names it: its short id, else its id (a long one cut in
        the middle; the `compactor closeout` advice gives it whole)."""
        return shorten(self.scan.shown_family(fid), FAMILY_WIDTH_GATE)

    def name(self, i: int) -> str:
        """Brief i as messages name it: its lane id, else the run id the scan inferred for it
        (``cycle-29`` for ``2025-09-05_autonomous-cycle-29_proactive-optimization-success``),
        else its file name, with the folders that tell it apart when other docs share it
        (``RUN_20260111_0354Z/A/RUN_REPORT``; a long one cut in the middle); with its file name when another
        member of its family carries the same lane id (``SPRINT1 (PHASE5_SPRINT1_PLAN)``:
        the lane id alone would not say which)."""
        b = self.briefs[i]
        if b.lane is None:  # a run id whole, a file name (and folders) cut when long
            name = self.scan.doc_name(i)
            return name if i in self.scan.runs else shorten(name, NAME_WIDTH_GATE)
        fam = self.scan.family_of(i)
        if fam is None:
            return family_name(b)
        shared = self.shared(fam, "lane")
        return f"{family_name(b)} ({name_for_humans(b.path)})" if b.lane in shared else family_name(b)

    def shared(self, fam: Family, attr: str) -> set[str]:
        """The values of ``attr`` ("lane", "label") that two members of ``fam`` carry."""
        got = self._shared.get((fam.id, attr))
        if got is None:
            seen: set[str] = set()
            got = self._shared[(fam.id, attr)] = set()
            for m in fam.members:
                value = getattr(self.briefs[m], attr)
                if value:
                    (got if value in seen else seen).add(value)
        return got

    # -- evidence: what a doc adds that its nearest earlier docs do not -----------------

    def lines(self, i: int) -> dict[str, _Line]:
        """Brief i's lines after masking (labels, numbers, links, paths, code), by shape."""
        got = self._lines.get(i)
        if got is None:
            self.read([i])
            got = self._lines[i] = fact_lines(self.bodies.get(i, ""), self.mask_words(i))
        return got

    def mask_words(self, i: int) -> tuple[str, ...]:
        """The words of brief i's lines that name it, not what it says: its label; and its
        title's words when another member of its family has the same label (a name every lap
        shares, ``lap-3.md`` or ``<action>/status.md``, names no action: the title does; else
        each renamed lap's action in its text was a fact of its own, evasions A7/A8)."""
        b = self.briefs[i]
        fam = self.scan.family_of(i)
        if fam is None or not b.label:
            return b.label_words
        if b.label not in self.shared(fam, "label"):
            return b.label_words
        titled = find_label(self.config, "", b.title, {}, b.lane).split()
        return (*b.label_words, *(w for w in titled if w not in b.label_words))

    def new_lines(self, i: int, others: Iterable[int]) -> list[_Line]:
        """Lines of i that none of ``others`` has (after masking)."""
        seen: set[str] = set()
        for o in others:
            seen.update(self.lines(o))
        return [line for key, line in self.lines(i).items() if key not in seen]

    def facts(self, i: int, others: Sequence[int]) -> list[_Line]:
        """New lines of i that carry ``FACT_WORDS`` content words none of ``others`` uses:
        a new module, deliverable or finding, not a reworded sentence or a swapped label."""
        vocab: set[str] = set()
        for o in others:
            for line in self.lines(o).values():
                vocab.update(line.words)
        out = []
        vocab_stems: set[str] | None = None
        for line in self.new_lines(i, others):
            fresh = line.words - vocab
            if len(fresh) < FACT_WORDS:
                continue
            # a word the others used in another form ("clocking" after "clock") is no new
            # content: new words are compared by their stems
            if vocab_stems is None:
                vocab_stems = set(stems(list(vocab)))
            if len(set(stems(list(fresh))) - vocab_stems) >= FACT_WORDS:
                out.append(line)
        return out

    def nearest(self, seq: Sequence[int], k: int, n: int = 3) -> list[int]:
        """The ``n`` members before ``seq[k]`` (of the last ``NEAR_POOL``) most similar to
        it, the most recent first on ties."""
        if k == 0:
            return []
        lo = max(0, k - NEAR_POOL)
        sims = shapes.similarities(self.scan.signatures, seq[lo:k], self.scan.signatures[seq[k]])
        order = np.lexsort((-np.arange(k - lo), -sims))[:n].tolist()  # by -sim, then -j
        return [seq[lo + j] for j in order]

    def link(self, seq: Sequence[int], k: int) -> str:
        """What ``seq[k]`` is to the members before it in ``seq``.

        ``first`` (nothing before it); ``copy`` (its nearest earlier member has the same
        proof shape, and it adds no new fact: only labels, ids, counters, links or the
        wording differ); ``distinct`` (the same shape, but it states facts of its own:
        a templated doc); ``restatement`` (scan says it rewords an earlier member);
        ``apart`` (in the family through others, not like any earlier member itself).
        """
        key = (seq[k], k, seq[k - 1] if k else -1)
        got = self._links.get(key)
        if got is not None:
            return got
        i = seq[k]
        near = self.nearest(seq, k)
        if not near:
            got = "first"
        elif self.scan.similarity(i, near[0]) >= self.config.threshold:
            got = "distinct" if self.facts(i, near) else "copy"
        else:
            got = "restatement" if _detected_restatement(self.scan, i) else "apart"
        self._links[key] = got
        return got

    def walked(self, seq: Sequence[int]) -> list[int]:
        """The docs a walk back from the end of ``seq`` may read."""
        need: list[int] = []
        for k in range(max(0, len(seq) - WALK - 1), len(seq)):
            need.append(seq[k])
            need.extend(self.nearest(seq, k))
        return need

    def run(self, seq: Sequence[int], links: Iterable[str]) -> list[int]:
        """The run that ``seq[-1]`` ends: the members before it whose link is in ``links``
        (a templated member whose facts the next one repeats counts too: they became
        template), back to the first that is not, which started the run (at most WALK)."""
        kinds = set(links)
        run = [len(seq) - 1]
        k = len(seq) - 2
        while k >= 0 and len(run) < WALK:
            link = self.link(seq, k)
            run.append(k)
            if link in kinds or (link == "distinct" and self._carried(seq, k, run[-2])):
                k -= 1
                continue
            break
        return [seq[j] for j in reversed(run)]

    def _carried(self, seq: Sequence[int], k: int, after: int) -> bool:
        """Does ``seq[after]`` repeat every fact ``seq[k]`` added?"""
        facts = self.facts(seq[k], self.nearest(seq, k))
        later = self.lines(seq[after]).values()
        return all(any(f.words <= line.words for line in later) for f in facts)


def _detected_restatement(scan: Scan, i: int) -> bool:
    """Whether the scan linked brief i into its family as a reworded restatement (the
    detection's restatement leg), not by its proof shape."""
    fam = scan.family_of(i)
    return fam is not None and fam.link(i).leg == RESTATEMENT


def judge(repo: Repo, scan: Scan, added: Sequence[str], source: str = "index") -> CheckResult:
    """Verdicts for the lanes among ``added`` (paths), judged against ``scan``."""
    ctx = _Context(repo, scan, added)
    verdicts = tuple(_judge_lane(ctx, i) for i in ctx.lanes)
    warnings = _own_warnings(scan.warnings, added)
    judged = {v.family for v in verdicts if v.outcome != "pass"} - {None}
    if judged and any(b.kind == "closeout" for b in (scan.briefs[o] for o in ctx.outputs)):
        # a close-out of a judged family that names it by an id it no longer has (a changed
        # lane_pattern): the gate asks for a close-out that exists; say which file and why
        warnings += tuple(s.warning for s in stray_closeouts(scan) if s.family in judged)
    return CheckResult(source, tuple(added), verdicts, warnings)


def _own_warnings(warnings: Iterable[Warning], added: Iterable[str]) -> tuple[Warning, ...]:
    """The scan's warnings minus those about files the change does not add (a warning
    about the whole run stays).

    A hook that repeats every old file's problem on every commit is a hook people
    turn off; ``compactor scan`` lists them all.
    """
    mine = set(added)
    return tuple(w for w in warnings if w.path is None or w.path in mine)


def _weaker(a: str, b: str) -> str:
    return a if _ORDER[a] <= _ORDER[b] else b


def _judge_lane(ctx: _Context, i: int) -> Verdict:
    config, briefs, scan = ctx.config, ctx.briefs, ctx.scan
    lane = briefs[i]
    fam = scan.family_of(i)
    # a lane id, configured or inferred from the run (``scan.runs``: LAUNCH_P07_A3, PR_805)
    numbered = lane.kind == "brief" or i in scan.runs
    prior = ctx.prior(i)  # a doc without a lane id is judged against any step, numbered or not
    # the three nearest, the most recent first on ties (one numpy pass: a change of many
    # lanes of one family judges each against all the lanes before it)
    sigs = scan.signatures
    near = np.count_nonzero(sigs[prior] == sigs[i], axis=1) / sigs.shape[1]  # scan.similarity's
    top = np.lexsort((-np.arange(len(prior)), -near))[:3].tolist() if prior else []
    ranked = [prior[k] for k in top]
    sims = {prior[k]: float(near[k]) for k in top}
    nearest = tuple(
        Neighbour(briefs[m].path, ctx.name(m), round(sims[m], 4)) for m in ranked[:3]
    )
    last = tuple(ctx.name(m) for m in prior[-3:])
    alike = bool(ranked) and sims[ranked[0]] >= config.threshold  # the same proof shape
    # a doc without a lane id: its escalations are as strong as unnumbered_mode allows
    def mode(m: str) -> str:
        return m if numbered else _weaker(m, config.unnumbered_mode)

    seq = [*prior, i]
    link = ctx.link(seq, len(seq) - 1) if fam is not None else "none"
    fired: list[Condition] = []
    reset_by: str | None = None
    if fam is not None and link in ("copy", "restatement"):
        since, reset_by = _since_output(ctx, i, fam.id, prior)
        run_seq = [m for m in prior if since is None or briefs[m].created >= since] + [i]
    if link == "copy":
        assert fam is not None
        stop = [
            _proven(ctx, i, fam.id, prior),
            _guardrails(ctx, i, prior),
            Condition(
                "label-only", "stop", "block",
                f"{_pct(sims[ranked[0]])} the same proof shape as {ctx.name(ranked[0])} "
                "once labels are masked, and no line of its own",
            ),
        ]
        if all(c is not None for c in stop):
            fired.extend(c for c in stop if c is not None)
        if config.adjacent_mode != "off":
            run = ctx.run(run_seq, ("copy",))
            action = mode(config.adjacent_mode)
            if len(run) - 1 > config.max_adjacent and action != "off":
                fired.append(_adjacent(ctx, run, fam.id, reset_by, action, config.max_adjacent,
                                       "near-copies"))
            else:
                # a copy is no weaker than a restatement: one that continues a run of
                # restatements counts in it (a loop that rewords, then copies an old lap)
                run = ctx.run(run_seq, ("copy", "restatement"))
                if len(run) - 1 > config.max_restated and action != "off":
                    fired.append(_adjacent(ctx, run, fam.id, reset_by, action,
                                           config.max_restated, "restatements",
                                           name="restated", strength="strong"))
        if config.rename_mode != "off":
            # a renamed title proves less without a lane id: templated names are common
            action = config.rename_mode if numbered else _weaker("warn", config.unnumbered_mode)
            if action != "off":
                fired.extend(_renamed(ctx, i, prior, action, numbered))
    elif link == "restatement":
        assert fam is not None
        run = ctx.run(run_seq, ("copy", "restatement"))
        over = len(run) - 1 > config.max_restated
        action = mode(config.adjacent_mode) if over else "warn"
        if config.adjacent_mode != "off" and action != "off" and len(run) == 1:
            # the first restatement since a consolidation output: no run yet to count
            to = fam.link(i).to
            what = f"{ctx.name(to)}, an earlier doc" if to >= 0 and to != i else "an earlier doc"
            first = (f"the first since its last consolidation output {path_for_humans(reset_by)}"
                     if reset_by else "the first in a row")
            fired.append(Condition(
                "restated", "escalation", action,
                f"{ctx.name(i)} restates {what} of family {ctx.family(fam.id)} in "
                f"other words: {first}; more "
                f"than max_restated {config.max_restated} restatements in a row are refused",
                "medium"))
        elif config.adjacent_mode != "off" and action != "off":
            fired.append(_adjacent(ctx, run, fam.id, reset_by, action, config.max_restated,
                                   "restatements", name="restated",
                                   strength="strong" if over else "medium"))
    book = ctx.books.get(i)
    about: list[int] = []  # the docs of the series a claim must add to
    if book is not None and len(book.links) > config.max_bookkeeping:
        fired.append(_bookkeeping(ctx, i, book))
        about = _run_docs(book)
        if fam is None:
            last = tuple(ctx.name(m) for m in about[-3:])
    if config.token_budget_per_hour is not None and config.budget_mode != "off":
        fired.extend(_budget(ctx, i, config.token_budget_per_hour))
    claim = lane.new_truth
    refused = _claim_refused(ctx, i, last) if claim is not None else None
    earned: tuple[str, ...] = ()
    if claim is not None and refused is None and (alike or link == "restatement" or about):
        refused, earned = _claim_earned(ctx, i, [*ranked[:3], *prior[-3:], *about[-3:]], claim)
    if refused is not None:
        fired.append(refused)

    blocking = [c for c in fired if c.action == "block"]
    liftable = [c for c in blocking if c.name not in ("budget", "claim")]
    overridden = False
    if refused is not None or any(c.name == "budget" for c in blocking):
        outcome = "block"
    elif liftable and claim is not None:
        outcome, overridden = "warn", True
    elif liftable:
        outcome = "block"
    elif fired or earned:
        outcome = "warn"
    else:
        outcome = "pass"
    fid = fam.id if fam is not None else None
    owed, closeout = _owed(ctx, fid, prior) if outcome == "block" else ((), None)
    return Verdict(
        path=lane.path,
        lane=ctx.name(i),
        outcome=outcome,
        family=fid,
        nearest=nearest,
        last=last,
        conditions=tuple(fired),
        new_truth=claim,
        overridden=overridden,
        link=link,
        owed=owed,
        consolidated_by=closeout,
        earned=earned,
        family_short_id=ctx.scan.short_ids.get(fid) if fid is not None else None,
    )


# -- stop conditions ------------------------------------------------------------------------

# A proof artifact that is a template or a folder's README proves nothing about any lane.
_NOT_PROOF = re.compile(r"templates?\b|template[-_.]|(?:^|/)readme\.", re.IGNORECASE)


def _proven(ctx: _Context, i: int, fid: str, prior: Sequence[int]) -> Condition | None:
    """Real proof that the family's envelope is proven, or None.

    An earlier lane says ``status: proven`` (strong); a proof/hardening artifact's front
    matter ``covers``/``family``/``lanes`` names the family or one of its lanes (strong);
    or its text names one of the family's lane ids (medium). A template or a README is
    no proof, and neither are shared words or a shared skeleton.
    """
    for m in reversed(prior):
        if ctx.briefs[m].status == "proven":
            return Condition("proven", "stop", "block", f"{ctx.name(m)} has status: proven")
    proofs = [p for p in ctx.proofs
              if ctx.earlier(p, i) and not _NOT_PROOF.search(ctx.briefs[p].path)]
    if not proofs:
        return None
    names = ctx.names(fid, prior)
    for p in proofs:
        hit = names.in_fields(ctx.briefs[p].fields)
        if hit:
            return _proof(ctx, p, f"front matter {hit}", "strong")
    ids = [m for m in prior if ctx.briefs[m].lane]
    if ids and proofs:
        lanes = _Names(ctx, None, ids)
        ctx.read(proofs)
        for p in proofs:
            hit = lanes.in_text(ctx.bodies.get(p, ""))
            if hit:
                return _proof(ctx, p, f"names {hit}", "medium")
    return None


def _proof(ctx: _Context, p: int, why: str, strength: str) -> Condition:
    shown = path_for_humans(ctx.briefs[p].path)
    return Condition("proven", "stop", "block", f"{shown} covers the family ({why})", strength)


def _guard_values(config: Config, b: Brief) -> tuple[str | None, ...]:
    out: list[str | None] = []
    for f in config.guardrail_fields:
        if f not in b.fields:
            out.append(None)
            continue
        text = " ".join(_flat(b.fields[f]))
        out.append(" ".join(shapes.mask(text, b.label_words, keep=config.guardrail_fields)))
    return tuple(out)


def _guardrails(ctx: _Context, i: int, prior: Sequence[int]) -> Condition | None:
    """The guardrail fields equal the previous lane's once labels are masked.

    Unknown (None: the condition does not hold) when the lane has none of the
    fields: two docs without guardrails say nothing about whether they changed.
    """
    config = ctx.config
    mine = _guard_values(config, ctx.briefs[i])
    present = [f for f, v in zip(config.guardrail_fields, mine, strict=True) if v is not None]
    if not present:
        return None
    since = None
    for m in reversed(prior):
        if _guard_values(config, ctx.briefs[m]) != mine:
            break
        since = m
    if since is None:
        return None
    text = f"{'/'.join(present)} unchanged since {ctx.name(since)} (labels masked)"
    return Condition("guardrails", "stop", "block", text)


# -- escalations ----------------------------------------------------------------------------


def _since_output(
    ctx: _Context, i: int, fid: str, prior: Sequence[int]
) -> tuple[int | None, str | None]:
    """(time, path) of the first consolidation output of the family's latest lap (within
    the window a run is measured over, before lane i) that speaks for the family; runs are
    counted from it. A later one in the same lap resets nothing: after a repeated family
    the next output is a close-out, and a loop that goes on writing lanes with a short
    close-out every few laps is still one run (``benchmarks/evasions.py`` D1). A pause of
    more than a day starts a new lap, where the first output counts again."""
    briefs = ctx.briefs
    cands = ctx.window_outputs(i, prior)
    if not cands:
        return None, None
    names = ctx.names(fid, prior)
    ctx.read(o for o in cands if briefs[o].path != ctx.config.inventory)
    for o in sorted(cands, key=lambda o: (briefs[o].created, briefs[o].path)):  # first
        if _speaks_for(ctx, o, names):
            return briefs[o].created, briefs[o].path
    return None, None


def _adjacent(
    ctx: _Context, run: Sequence[int], fid: str, reset_by: str | None, mode: str, limit: int,
    what: str, name: str = "adjacent", strength: str = "strong",
) -> Condition:
    """``run`` is a doc and the near-copies (or restatements) of it in a row that follow;
    their number is compared with ``limit``."""
    since = (f"since its last consolidation output {path_for_humans(reset_by)}" if reset_by
             else "with no consolidation output naming it")
    lanes = [ctx.name(m) for m in run[1:]]
    shown = lanes if len(lanes) <= 6 else [*lanes[:2], "…", *lanes[-3:]]
    count = f"{len(lanes)}+" if len(run) >= WALK else str(len(lanes))
    setting = "max_adjacent" if name == "adjacent" else "max_restated"
    relation = ">" if len(lanes) > limit else "<="
    if len(lanes) == 1:
        what = {"near-copies": "near-copy", "restatements": "restatement"}.get(what, what)
    text = (
        f"{count} {what} of {ctx.name(run[0])} in a row in family {ctx.family(fid)} "
        f"{since} "
        f"({', '.join(shown)}) {relation} {setting} {limit}"
    )
    return Condition(name, "escalation", mode, text, strength)


def _run_docs(book: _Run) -> list[int]:
    """The docs a run of docs about docs holds before the judged one, and the docs they
    are about that exist, in the order they were written."""
    keep = {book.docs[link.at] for link in book.links[1:]}
    keep.update(j for link in book.links for j in [book.by_step.get(link.subject.number)]
                if j is not None)
    return [j for j in book.docs[:-1] if j in keep]


def _bookkeeping(ctx: _Context, i: int, book: _Run) -> Condition:
    """More than ``max_bookkeeping`` docs of one series in a row are each about another
    recent doc of it: strong when one of them is about a doc of the run itself (a doc
    about a doc about a doc), medium when each is about an ordinary doc."""
    config = ctx.config
    mine = book.links[0].subject
    target = book.by_step.get(mine.number)
    named = ctx.name(target) if target is not None else f"step {mine.number}"
    chain = subjects.chained(book.steps, book.links)
    itself = " (itself a doc about a doc)" if any(
        book.steps[link.at] == mine.number for link in book.links) else ""
    lanes = [ctx.name(book.docs[link.at]) for link in reversed(book.links)]
    shown = lanes if len(lanes) <= 6 else [*lanes[:2], "…", *lanes[-3:]]
    count = f"{len(lanes)}+" if len(book.links) >= WALK else str(len(lanes))
    series = subjects.step_of(ctx.briefs[i].path)
    assert series is not None
    text = (
        f"{ctx.name(i)} is about {named}{itself}: {_quote(mine.line, 80)}; {count} docs of "
        f"series {series.series} in a row are about other docs of it ({', '.join(shown)}) "
        f"> max_bookkeeping {config.max_bookkeeping}"
    )
    return Condition("bookkeeping", "escalation", config.bookkeeping_mode, text,
                     "strong" if chain is not None else "medium")


def _speaks_for(ctx: _Context, o: int, names: _Names) -> bool:
    """Does consolidation output ``o`` speak for the family (the inventory speaks for all)?
    A close-out whose redirect was left as ``compactor closeout`` wrote it speaks for none:
    committing the generated file unread must not reset a run."""
    b = ctx.briefs[o]
    if b.path == ctx.config.inventory:
        return True
    body = ctx.bodies.get(o, "")
    if b.kind == "closeout" and unfilled(body):
        return False
    return bool(names.in_fields(b.fields) or names.in_text(body))


# the lines of the close-out template's redirect that the author fills in (closeout.md.j2)
_FILL = re.compile(r"^[ \t]*[-*][ \t]*(Next frontier|Owner):[ \t]*$", re.MULTILINE)


def unfilled(body: str) -> list[str]:
    """The redirect lines of a generated close-out still empty (``Next frontier``,
    ``Owner``); a close-out written by hand without them has none."""
    return list(dict.fromkeys(m.group(1) for m in _FILL.finditer(body)))


def _renamed(
    ctx: _Context, i: int, prior: Sequence[int], mode: str, numbered: bool
) -> list[Condition]:
    """The title (else the file name) is an earlier lane's with only the label swapped.
    Without a lane id (``numbered`` false) the evidence is weak, and a title that differs only in its numbers
    is no rename: it numbers a series (release notes of version 2.18 and 2.19), whose
    copies the run of near-copies judges."""
    strength = "strong" if numbered else "weak"
    lane = ctx.briefs[i]
    for what, text_of in (("title", _title), ("name", _stem)):
        mine = text_of(lane)
        if not mine:
            continue
        for m in reversed(prior):
            other = ctx.briefs[m]
            swap = _substitution(mine, lane, text_of(other), other)
            if swap is not None and (numbered or swap != _ONLY_ID):
                text = f"{what} = {ctx.name(m)}'s{swap}"
                return [Condition("rename", "escalation", mode, text, strength)]
    return []


_ONLY_ID = " with only the lane id changed"


def _title(b: Brief) -> str:
    return b.title


def _stem(b: Brief) -> str:
    return stem_of(b.path)


def _substitution(a: str, lane_a: Brief, b: str, lane_b: Brief) -> str | None:
    """" with 'old' → 'new'" when text ``a`` is ``b`` with the label (and lane id) swapped."""
    if not b:
        return None
    shape_a = shapes.mask(a, lane_a.label_words)
    if shape_a != shapes.mask(b, lane_b.label_words):
        return None
    if shapes.MASK_LABEL in shape_a and lane_a.label != lane_b.label:
        return f" with '{lane_b.label}' → '{lane_a.label}'"
    if shapes.tokens(a) != shapes.tokens(b):
        return _ONLY_ID
    return ", word for word"


def _budget(ctx: _Context, i: int, budget: int) -> list[Condition]:
    """Tokens of artifacts created in the hour up to the lane's time (the lane included)."""
    t = ctx.briefs[i].created
    total = 0
    for k, b in enumerate(ctx.briefs):
        if t - HOUR < b.created <= t and (k == i or ctx.earlier(k, i)):
            total += sum(b.tokens.values())
    if total <= budget:
        return []
    text = f"{human(total)} tokens in the last hour > budget {human(budget)}"
    return [Condition("budget", "escalation", ctx.config.budget_mode, text)]


# -- the override ---------------------------------------------------------------------------


def _claim_refused(ctx: _Context, i: int, last: Sequence[str]) -> Condition | None:
    lane = ctx.briefs[i]
    claim = (lane.new_truth or "").strip()
    if not claim:
        before = f" that {', '.join(last)} did not" if last else ""
        return Condition(
            "claim", "claim", "block",
            f"new_truth is empty; state what this lane proves{before}",
        )
    for m in reversed(ctx.claims):
        if not ctx.earlier(m, i):
            continue
        other = ctx.briefs[m]
        sim = claim_similarity(ctx.config, claim, lane.label_words,
                               (other.new_truth or "").strip(), other.label_words)
        if sim >= ctx.config.threshold:
            return Condition(
                "claim", "claim", "block",
                f"new_truth is nearly the same as {ctx.name(m)}'s claim ({_pct(sim)} alike): "
                f"{_quote(other.new_truth or '')}; a copied claim buys no new truth",
            )
    return None


def claim_similarity(
    config: Config, a: str, label_a: Sequence[str], b: str, label_b: Sequence[str]
) -> float:
    """How alike two claims are once labels and numbers are masked (0-1).

    Both lanes' labels are masked in both claims, so a copied claim and one with
    the label swapped both count as the same. Short claims (under
    ``SHORT_CLAIM`` masked words) compare as word sets;
    longer ones by MinHash over shingles, as briefs are compared.
    """
    if not a or not b:
        return 0.0
    labels = (*label_a, *label_b)  # both labels masked on both sides: copies and renames alike
    ma, mb = shapes.mask(a, labels), shapes.mask(b, labels)
    if ma == mb:
        return 1.0
    if min(len(ma), len(mb)) < SHORT_CLAIM:
        sa, sb = set(ma), set(mb)
        return len(sa & sb) / len(sa | sb) if sa | sb else 0.0
    sig_a, _ = shapes.fingerprint(a, labels, config.shingle, config.num_perm, config.seed)
    sig_b, _ = shapes.fingerprint(b, labels, config.shingle, config.num_perm, config.seed)
    return shapes.similarity(sig_a, sig_b)


def _claim_earned(
    ctx: _Context, i: int, before: Sequence[int], claim: str
) -> tuple[Condition | None, tuple[str, ...]]:
    """(refusal or None, the lines the claim points to).

    A claim is earned by the lane itself: lines (after masking) that none of the
    nearest and last three earlier lanes has, and that the claim's content words
    point to (two of them, or every one of a shorter claim).
    """
    others = list(dict.fromkeys(before))
    new = ctx.new_lines(i, others)
    words = _stems(_content_words(shapes.mask(claim, ctx.briefs[i].label_words)))
    need = min(2, len(words))
    pointed = tuple(line.text for line in new
                    if need and len(_stems(line.words) & words) >= need)
    if pointed:
        return None, pointed
    text = "this lane adds no line the last three did not; a claim cannot stand in for one"
    if new:
        shown = "; ".join(_quote(line.text, 80) for line in new[:5])
        more = f" (and {len(new) - 5} more)" if len(new) > 5 else ""
        text += f". The lines it does add, none of which the claim names: {shown}{more}"
    return Condition("claim", "claim", "block", text), ()


def earned_claims(repo: Repo, scan: Scan, indices: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """The committed docs among ``indices`` whose ``new_truth`` claim the gate earns, each
    with the lines the claim points to: judged as the gate judged the doc when it was
    added — against the members of its family written before it (its lap: from the last
    pause of more than a day), its three nearest and its last three, a copied or empty
    claim refused. What ``compact`` leaves in place as new truth (``decisions.keep``)."""
    ctx = _Context(repo, scan, ())
    ctx._set_lanes(ctx.claims)  # claims compared in the order they were written
    config, briefs, sigs = ctx.config, ctx.briefs, scan.signatures
    out: dict[int, tuple[str, ...]] = {}
    # per family and kinds: its members in order and where each stands, built once (a loop
    # that writes a claim in every lane asks for each of them)
    orders: dict[tuple[str, tuple[str, ...]], tuple[list[int], dict[int, int]]] = {}
    for i in indices:
        fam, claim = scan.family_of(i), briefs[i].new_truth
        if fam is None or claim is None or i not in ctx.rank:
            continue
        kinds = ("brief",) if briefs[i].kind == "brief" else ("brief", "other")
        key = (fam.id, kinds)
        if key not in orders:
            mine = [m for m in fam.members if briefs[m].kind in kinds]
            orders[key] = (mine, {m: k for k, m in enumerate(mine)})
        mine, at = orders[key]
        prior = mine[max(0, at[i] - LAP_POOL):at[i]] if i in at else []
        k = len(prior) - 1
        while k > 0 and briefs[prior[k]].created - briefs[prior[k - 1]].created <= PAUSE:
            k -= 1
        prior = prior[max(k, 0):]
        if not prior or _claim_refused(ctx, i, [ctx.name(m) for m in prior[-3:]]) is not None:
            continue
        near = np.count_nonzero(sigs[prior] == sigs[i], axis=1) / sigs.shape[1]
        top = np.lexsort((-np.arange(len(prior)), -near))[:3].tolist()
        alike = float(near[top[0]]) >= config.threshold
        if not alike and not _detected_restatement(scan, i):
            continue  # the gate asks a claim to earn nothing here
        _, earned = _claim_earned(ctx, i, [*(prior[t] for t in top), *prior[-3:]], claim)
        if earned:
            out[i] = earned
    return out


def _owed(
    ctx: _Context, fid: str | None, prior: Sequence[int]
) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """The outputs due instead of another lane that do not exist yet, each with the
    command that writes it; and the existing closeout of the family, if any."""
    import shlex

    config = ctx.config
    owed: list[tuple[str, str]] = []
    closeout = None
    if fid is not None:
        path = closeout_path(fid)
        ctx.read(o for o in ctx.outputs if ctx.briefs[o].kind == "closeout")
        for o in ctx.outputs:
            b = ctx.briefs[o]
            if b.kind == "closeout" and (b.path == path or _speaks_for(ctx, o, ctx.names(fid, prior))):
                empty = unfilled(ctx.bodies.get(o, ""))
                if empty:
                    owed.append((f"the redirect of {b.path}, still empty ({', '.join(empty)}): "
                                 "where the work goes instead of another lane",
                                 f"fill it in and commit {shlex.quote(b.path)}"))
                else:
                    closeout = b.path
                break
        else:
            if path in ctx.where or (Path(ctx.repo.root) / path).exists():
                closeout = path
        if closeout is None and not owed:
            shown = ctx.scan.shown_family(fid)  # `closeout` takes the short id too
            owed.append((f"closeout of family {ctx.family(fid)} (its coverage matrix, "
                         "missing-gap list and a redirect to fill in)",
                         f"compactor closeout {shlex.quote(shown)}"))
    inventory = config.inventory
    if inventory not in ctx.where and not (Path(ctx.repo.root) / inventory).exists():
        owed.append(("coverage matrix and missing-gap list of every family",
                     "compactor inventory"))
    return tuple(owed), closeout


def closeout_path(family: str) -> str:
    """Where ``compactor closeout FAMILY`` writes by default (``closeout.default_path``,
    which a test holds equal: importing that module would cost the hook ~0.1 s)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", family).strip("-.") or "family"
    return f"docs/closeouts/{safe}-closeout.md"


# -- lines and facts ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    text: str  # as written (stripped)
    key: str  # its shape: masked tokens
    words: frozenset[str]  # its content words


_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_CODE = re.compile(r"`[^`\n]*`")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_PATH = re.compile(r"(?<![\w])[~.]?[/\\]?(?:[\w.@-]+[/\\])+[\w.@-]*")
_BOX = re.compile(r"^\s*(?:[-*+]|\d+[.)])?\s*\[[ xX~-]?\]\s*")
_STOP = frozenset("""
the and for with that this from into onto are was were has have had not but all any its our
you your they them then than when where which while will would shall should can could may might
must been being also only just per via each every other some such same more most less very over
under again one two three about after before there here what who how why yes use used using
""".split())


def _content_words(tokens: Iterable[str]) -> frozenset[str]:
    return frozenset(t for t in tokens if len(t) >= 3 and t.isalpha() and t not in _STOP)


def _stems(words: Iterable[str]) -> set[str]:
    out = set()
    for w in words:
        for suffix in ("ing", "ions", "ion", "ed", "es", "s"):
            if len(w) > len(suffix) + 3 and w.endswith(suffix):
                w = w[: -len(suffix)]
                break
        out.add(w)
    return out


_BREAK = "qxqlinebreakqxq"  # stands for a line break while a whole doc is masked at once
_FORGED_BREAK = re.compile(_BREAK, re.IGNORECASE)  # the same word in a doc's text


# Counters spelled as words ("the fifth hour", "eleven checks") vary along a run as digits
# do: a line that differs from the last lap's only by one is no new fact.
_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
          "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORDINALS = ("zeroth first second third fourth fifth sixth seventh eighth ninth tenth "
             "eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth "
             "eighteenth nineteenth").split()
NUMBER_WORDS = frozenset([
    *_UNITS, *_TENS, *_ORDINALS, *(t[:-1] + "ieth" for t in _TENS),
    "hundred", "thousand", "million", "billion", "hundredth", "thousandth", "millionth",
    "hundreds", "thousands", "millions", "billions",
])


def _counters_masked(toks: Sequence[str]) -> list[str]:
    """``toks`` with each run of number words (and masked numbers) one ``#``."""
    out: list[str] = []
    for tok in toks:
        if tok in NUMBER_WORDS:
            tok = shapes.MASK_NUMBER
        if tok == shapes.MASK_NUMBER and out and out[-1] == tok:
            continue
        out.append(tok)
    return out


def fact_lines(text: str, label_words: Sequence[str]) -> dict[str, _Line]:
    """A doc's lines by their shape: labels and numbers masked as for fingerprints, and
    links, paths, URLs, code spans and checkbox states masked as ids (they point at
    things; the sentence around them is what the doc says)."""
    raws = text.splitlines()
    lines = []
    forged = _BREAK in text.lower()  # a doc that spells the line-break word: not one
    for raw in raws:
        line = _BOX.sub("", raw)
        if forged:
            line = _FORGED_BREAK.sub(" ", line)
        if "](" in line:
            line = _MD_LINK.sub(lambda m: f" {m.group(1)} ~ ", line)
        if "://" in line:
            line = _URL.sub(" ~ ", line)
        if "`" in line:
            line = _CODE.sub(" ~ ", line)
        if "/" in line or "\\" in line:
            line = _PATH.sub(" ~ ", line)
        lines.append(line)
    # one mask() for the whole doc (it costs per call), the lines kept apart by a word
    toks = _counters_masked(shapes.mask(f" {_BREAK} ".join(lines), label_words))
    out: dict[str, _Line] = {}
    k = 0
    current: list[str] = []
    for tok in [*toks, _BREAK]:
        if tok != _BREAK:
            current.append(tok)
            continue
        if current and not (len(current) == 1 and current[0] in (shapes.MASK_LABEL,
                                                                  shapes.MASK_NUMBER)):
            key = " ".join(current)
            out.setdefault(key, _Line(raws[k].strip(), key, _content_words(current)))
        current = []
        k += 1
    return out


# -- helpers --------------------------------------------------------------------------------


def _flat(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [s for k in sorted(value, key=str) for s in (str(k), *_flat(value[k]))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _flat(v)]
    return [str(value)]


_WORDISH = re.compile(r"[\w-]")


def _alternation(words: Iterable[str]) -> str:
    """A regex matching any of ``words`` (lower case), the longest first where several
    match at one place: as a prefix tree when they are ASCII (a family's lane names share
    long prefixes; ``re`` tries a plain alternation word by word at every position),
    else the words longest first."""
    words = sorted(set(words), key=len, reverse=True)
    if not all(w.isascii() for w in words):
        return "|".join(re.escape(w) for w in words)
    tree: dict[str, Any] = {}
    for w in words:
        node = tree
        for c in w:
            node = node.setdefault(c, {})
        node[""] = {}  # a word ends here

    def render(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(c) + render(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and not ends else f"(?:{'|'.join(branches)})"
        return body + ("?" if ends else "")  # greedy: the longer word first, then this one

    return render(tree)


def names_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """Any of ``words`` not followed by a word character; that none follows a word
    character or '-' is checked by ``_Names.in_text`` (a pattern that starts with the
    words lets ``re`` skip ahead to their first letters)."""
    return re.compile(rf"(?:{_alternation(words)})(?![\w])", re.IGNORECASE)


class _Names:
    """A family's id and lane names, and a whole-word search for them in text."""

    def __init__(self, ctx: _Context, fid: str | None, prior: Sequence[int]) -> None:
        own = [family_name(ctx.briefs[m]) for m in prior]  # lane ids as docs write them
        self.shown = {name.lower(): name for name in own}
        self._scan, self._fid = ctx.scan, fid
        if fid is not None:
            self.shown.setdefault(fid.lower(), fid)

    @cached_property
    def _with_short(self) -> dict[str, str]:
        """``shown`` and the family's short id (what scan and the gate call it: a close-out
        written by hand may name it so), looked up only when an output is asked about."""
        short = self._scan.short_ids.get(self._fid) if self._fid is not None else None
        return {**self.shown, short.lower(): short} if short else self.shown

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """Compiled when a text is searched: most lanes ask only front matter (a change of
        500 lanes of one family compiled 500 patterns of up to 500 names)."""
        return names_pattern(self._with_short)

    def get(self, value: str) -> str | None:
        return self._with_short.get(value.strip().lower())

    def in_fields(self, fields: Mapping[str, Any]) -> str | None:
        """``key: NAME`` when front matter covers/family/lanes names the family."""
        for key in ("covers", "family", "lanes"):
            for value in _flat(fields.get(key)):
                hit = self.get(value)
                if hit:
                    return f"{key}: {hit}"
        return None

    def in_text(self, text: str) -> str | None:
        pos = 0
        while text:
            m = self.pattern.search(text, pos)
            if m is None:
                return None
            if m.start() == 0 or not _WORDISH.match(text, m.start() - 1):
                return self._with_short[m.group(0).lower()]
            pos = m.start() + 1
        return None


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def _quote(text: str, limit: int = 100) -> str:
    """A doc's text quoted on one line: what JSON escapes, and any other character that is
    not printable (a bidi override, C1 controls) escaped too."""
    one = " ".join(text.split())
    out = json.dumps(one if len(one) <= limit else one[: limit - 1] + "…", ensure_ascii=False)
    return out if out.isprintable() else "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in out)


def human(n: int) -> str:
    """212000000 -> '212M', 1500 -> '1.5k'."""
    for unit, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if n >= unit:
            text = f"{n / unit:.1f}".rstrip("0").rstrip(".")
            return text + suffix
    return str(n)


# -- rendering ------------------------------------------------------------------------------


def render_text(result: CheckResult) -> str:
    """What a person reads when the gate blocks or warns ('' on a clean pass)."""
    chunks = [verdict_text(v) for v in result.verdicts if v.outcome != "pass"]
    if not chunks:
        return ""
    blocked = sum(v.outcome == "block" for v in result.verdicts)
    total = len(result.verdicts)
    lanes = "lane" if total == 1 else "lanes"
    if result.source != "index":
        outcome = (f"{blocked} blocked" if blocked else
                   ("it passes" if total == 1 else "they pass") + ", with warnings")
        return "\n\n".join([*chunks, f"compactor check: the range {result.source} adds "
                                     f"{total} {lanes}; {outcome}"])
    if blocked:
        tail = (f"compactor check: {blocked} of {total} added {lanes} blocked; "
                "the commit is refused")
    else:
        verb = "passes" if total == 1 else "pass"
        tail = f"compactor check: {total} added {lanes} {verb}, with warnings"
    return "\n\n".join([*chunks, tail])


# where the gate names a doc by its file name (no lane id, no run id) or a family by one,
# a longer name is cut in its middle (its path is on the verdict's first line)
NAME_WIDTH_GATE = 40
FAMILY_WIDTH_GATE = 48
WRAP_AT = 280  # a longer line of a verdict is folded at its spaces (a list of long names)
ADD_TO_IT = "add to it instead of opening another lane"


def _advised(v: Verdict) -> bool:
    """Whether the verdict comes with what to write instead (a block on repetition, not
    only on the token budget or an unearned claim)."""
    return v.outcome == "block" and any(c.name not in ("budget", "claim") for c in v.conditions)


def verdict_text(v: Verdict) -> str:
    head = "BLOCKED" if v.outcome == "block" else "WARNING"
    lines = [f"{head} {path_for_humans(v.path)} ({v.lane})"]
    if v.family:
        near = ", ".join(f"{n.lane} {_pct(n.similarity)}" for n in v.nearest)
        family = shorten(v.family_shown or "", FAMILY_WIDTH_GATE)
        lines.append(_fold(f"  family {family}; nearest earlier lanes: {near or 'none'}"))
    if v.new_truth is not None and (v.overridden or v.earned):
        # "passes on" only where the claim lifted a block; an earned claim on a lane that
        # would pass anyway is shown with its lines, not credited with the pass
        said = "passes on its new_truth claim" if v.overridden else "its new_truth claim is earned"
        lines.append(f"  {said}: {_quote(v.new_truth or '', 200)}")
        if v.earned:
            lines.append("  the lines it adds that the claim names:")
            lines.extend(f"    + {_quote(t, 120)}" for t in v.earned[:5])
        if v.overridden:
            lines.append("  it would otherwise be blocked by:")
    stop = [c for c in v.conditions if c.group == "stop"]
    if stop:
        lines.append("  stop conditions (all three hold):")
        lines.extend(_fold(f"    - {TITLES[c.name]}: {c.evidence}{_graded(c)}") for c in stop)
    others = [c for c in v.conditions if c.group != "stop"]
    if others:
        lines.append("  escalations:" if not stop or any(
            c.group == "escalation" for c in others) else "  also:")
        for c in others:
            mode = " (warning only)" if c.action == "warn" else ""
            lines.append(_fold(f"    - {TITLES[c.name]}: {c.evidence}{_graded(c)}{mode}"))
    if v.question:
        lines.append(_fold(f"  {v.question}"))
    if _advised(v):
        due = v.due()
        if due:
            lines.append("  Due instead of another lane:")
            lines.extend(f"    - {what}: {how}" for what, how in due)
        if v.consolidated_by:
            lines.append(f"  {path_for_humans(v.consolidated_by)} already consolidates family "
                         f"{shorten(v.family_shown or '', FAMILY_WIDTH_GATE)}: {ADD_TO_IT}")
        if not any(c.name == "claim" for c in v.conditions):
            lines.append(
                "  If the lane does buy new truth, write it into the lane and name it in its "
                "front matter:")
            lines.append('    new_truth: "<what it proves that the earlier lanes did not>"'
                         " (a claim must point to lines the lane adds)")
    return "\n".join(lines)


def _fold(line: str) -> str:
    """A line longer than WRAP_AT folded at its spaces, the rest indented under its text."""
    return fold(line, WRAP_AT)


def _graded(c: Condition) -> str:
    """How much the evidence proves, said when it is less than strong."""
    return "" if c.strength == "strong" else f" [{c.strength} evidence]"


def result_data(result: CheckResult) -> dict[str, Any]:
    return {
        "outcome": result.outcome,
        "source": result.source,
        "added": list(result.added),
        "verdicts": [
            {
                "path": v.path,
                "lane": v.lane,
                "outcome": v.outcome,
                "family": v.family,
                "family_short_id": v.family_short_id,
                "nearest": [
                    {"path": n.path, "lane": n.lane, "similarity": n.similarity}
                    for n in v.nearest
                ],
                "conditions": [
                    {"name": c.name, "group": c.group, "action": c.action,
                     "evidence": c.evidence, "strength": c.strength}
                    for c in v.conditions
                ],
                "new_truth": v.new_truth,
                "overridden": v.overridden,
                "link": v.link,
                "earned": list(v.earned),
                "question": v.question,
                "due": [{"output": what, "how": how} for what, how in v.due()],
                # the family's existing close-out, to add to instead (text: "… already
                # consolidates family …"); null when there is none or nothing is advised
                "consolidated_by": ({"path": v.consolidated_by, "how": ADD_TO_IT}
                                    if v.consolidated_by and _advised(v) else None),
            }
            for v in result.verdicts
        ],
        "warnings": [str(w) for w in result.warnings],
    }


def render_json(result: CheckResult) -> str:
    data = {"schema_version": SCHEMA_VERSION, **result_data(result)}
    return json.dumps(data, indent=2, ensure_ascii=False)
