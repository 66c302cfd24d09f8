"""The scan pipeline: files -> briefs -> shapes -> families -> decisions.

``run_scan`` takes a repository and a Config and returns a frozen :class:`Scan`;
it prints nothing and never writes outside the cache in the git dir.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from compactor import shapes, store
from compactor.briefs import _NO_FIELDS, Brief, brief_from_meta, decode
from compactor.config import Config
from compactor.decisions import Decision, decide
from compactor.errors import Warning, path_for_humans
from compactor.facts import FACTS_AGREE, copy_veto, names_veto
from compactor.families import (
    Apart,
    Family,
    Text,
    band_layout,
    group,
    join,
    mentioned,
    own_content,
    pause_veto,
)
from compactor.files import select, stem_of
from compactor.fingerprints import Row, cpus, fingerprint_parts
from compactor.git import Background, IndexEntry, Repo, parse_creation_log
from compactor.runs import RunId, infer_runs, join_runs
from compactor.store import Cache, open_cache
from compactor.vocab import FAMILY_KINDS
from compactor.words import members_text, telling_names

if TYPE_CHECKING:
    from compactor import restate

Progress = Callable[[str, int, int], None]

_TILDE_N = re.compile(r"~\d+$")  # the second family of one name: 'RUN_REPORT~2'
_LANE_SEP = re.compile(r",|–|\.\.")  # between the lanes a close-out's ``lanes:`` names


@dataclass(frozen=True, eq=False)
class Scan:
    """Everything one scan found. Indexes into ``briefs`` are used throughout."""

    root: Path
    config: Config
    head: str | None
    briefs: tuple[Brief, ...]
    signatures: npt.NDArray[np.uint32]  # one row per brief
    shingles: tuple[int, ...]  # distinct shingles per brief
    families: tuple[Family, ...]
    decisions: tuple[Decision, ...]  # one per brief; empty when run_scan(decisions=False)
    warnings: tuple[Warning, ...]
    # brief index -> run id inferred from its family, for family members without a lane id
    # whose file names carry a token that rises along the run (``runs.py``). The gate can
    # judge such a doc as a lane: ``scan.runs.get(i)`` gives ``RunId(lane, number)``.
    runs: Mapping[int, RunId] = field(default_factory=dict)
    # brief index -> the briefs it is no shape link to although their shapes meet: template
    # instances of one family that each say something of their own (families.own_content)
    apart: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    # brief index -> why compaction leaves it in place whatever its family says
    # (``decisions.kept_in_place``): the lines its earned new_truth claim points to, or
    # () for a doc pinned in the compaction manifest's ``kept`` list
    kept: Mapping[int, tuple[str, ...]] = field(default_factory=dict)

    def index(self, path: str) -> int:
        for i, b in enumerate(self.briefs):
            if b.path == path:
                return i
        raise KeyError(path)

    def family(self, fid: str) -> Family | None:
        for f in self.families:
            if f.id == fid:
                return f
        return None

    @cached_property
    def _member_of(self) -> dict[int, Family]:
        return {m: f for f in self.families for m in f.members}

    def family_of(self, i: int) -> Family | None:
        """The family brief ``i`` is a member of (None: it is in none)."""
        return self._member_of.get(i)

    def similarity(self, i: int, j: int) -> float:
        return shapes.similarity(self.signatures[i], self.signatures[j])

    @cached_property
    def doc_names(self) -> Mapping[int, str]:
        """brief index -> how people read a doc with neither a lane id nor a run id whose
        file name other such docs of the scan share (``RUN_REPORT.md`` in every run's
        folder): its file name after the folders that tell it apart
        (``RUN_20260111_0354Z/A/RUN_REPORT``, ``words.telling_names``). Docs missing here
        are named by their lane id, run id, or file name (:meth:`doc_name`)."""
        by_stem: dict[str, list[int]] = {}
        runs = self.runs
        for i, b in enumerate(self.briefs):
            if b.lane is None and i not in runs:
                by_stem.setdefault(stem_of(b.path), []).append(i)
        out: dict[int, str] = {}
        for stem, ids in by_stem.items():
            if len(ids) > 1:
                names = telling_names([self.briefs[i].path for i in ids], stem)
                out.update((i, path_for_humans(n)) for i, n in zip(ids, names, strict=True))
        return MappingProxyType(out)

    def doc_name(self, i: int) -> str:
        """Brief i as people read it (uncut): its lane id, else its run id, else its file
        name with the folders that tell it apart from docs of the same file name."""
        b = self.briefs[i]
        if b.lane is not None:
            return path_for_humans(b.lane)
        run = self.runs.get(i)
        if run is not None:
            return path_for_humans(run.lane)
        return self.doc_names.get(i) or name_for_humans(b.path)

    @cached_property
    def short_ids(self) -> Mapping[str, str]:
        """Short names of families whose id is a member's whole file name (``~N`` added
        for the second family of one name), the member having no lane id but a run id
        (``runs.py``): ``cycle-15`` for the family
        ``2025-09-05_autonomous-cycle-15_crisis-response-rapid-success``; or, when other
        docs share its file name, that name with the folders that tell it apart
        (:attr:`doc_names`): ``RUN_20260111_0354Z/A/RUN_REPORT`` for ``RUN_REPORT~3``.
        Only where no other family's id or short name is the same (case-insensitive); the
        id stays the family's key (close-outs, the cache, the manifest),
        :meth:`find_family` accepts both."""
        out: dict[str, str] = {}
        for f in self.families:
            base = _TILDE_N.sub("", f.id)
            for m in f.members:
                b = self.briefs[m]
                if b.lane is not None or family_name(b) != base:
                    continue
                run = self.runs.get(m)
                if run is not None:
                    out[f.id] = path_for_humans(run.lane)
                    break
                if m in self.doc_names:
                    out[f.id] = self.doc_names[m]
                    break
        taken: dict[str, int] = {}
        for name in (*(f.id for f in self.families), *out.values()):
            taken[name.lower()] = taken.get(name.lower(), 0) + 1
        return MappingProxyType({fid: short for fid, short in out.items()
                                 if taken[short.lower()] == 1})

    def size_text(self, members: Sequence[int]) -> str:
        """A family's size as every output gives it (``words.members_text``): its docs,
        and how many are lanes (a lane id, or a run id inferred from the name)."""
        laned = sum(1 for i in members if self.briefs[i].lane or i in self.runs)
        return members_text(len(members), laned)

    def find_family(self, name: str) -> str | None:
        """The id of the family ``name`` names: its id, else its id or short id in any case
        (None: no family, or more than one in other cases)."""
        if name in self._ids_by_name[0]:
            return name
        found = self._ids_by_name[1].get(name.lower(), ())
        return found[0] if len(found) == 1 else None

    @cached_property
    def _ids_by_name(self) -> tuple[frozenset[str], Mapping[str, tuple[str, ...]]]:
        """The family ids, and per id or short id in lower case the families it names:
        built once (``stray_closeouts`` asks for every close-out of the scan)."""
        folded: dict[str, list[str]] = {}
        for f in self.families:
            folded.setdefault(f.id.lower(), []).append(f.id)
        for fid, short in self.short_ids.items():
            got = folded.setdefault(short.lower(), [])
            if fid not in got:
                got.append(fid)
        return (frozenset(f.id for f in self.families),
                {k: tuple(v) for k, v in folded.items()})

    def shown_family(self, fid: str) -> str:
        """A family as people read it: its short id when it has one, else its id."""
        return self.short_ids.get(fid, fid)

    @cached_property
    def lane_families(self) -> frozenset[str]:
        """Families holding at least one lane (a doc with a lane id): the ones compaction
        folds. A family of docs without lane ids (runbooks per service, templated notes)
        can look like renamed lanes and still be the docs a team wants; the gate may warn
        about them, but compaction leaves them in place (and the inventory says so)."""
        return frozenset(f.id for f in self.families
                         if any(self.briefs[i].kind == "brief" for i in f.members))


@dataclass(frozen=True, eq=False)
class Origin:
    """Where read_briefs' briefs sit in the snapshot it read or wrote: ``rows[i]`` is brief
    i's snapshot row (-1: not in it), ``size`` the snapshot's rows, ``tag`` its digest;
    ``whole`` when every brief the snapshot holds is among the briefs."""

    tag: bytes
    rows: npt.NDArray[np.int64]
    size: int
    whole: bool


def read_briefs(
    repo: Repo,
    config: Config,
    entries: Sequence[IndexEntry],
    cache: Cache,
    progress: Progress | None = None,
    created: Callable[[], Mapping[str, int]] | None = None,
    stamp: int = 0,
    meanwhile: Callable[[], None] | None = None,
) -> tuple[list[Brief], npt.NDArray[np.uint32], list[int], list[Warning], list[list[int]],
           Origin | None]:
    """Briefs, their signatures (one row each), shingle counts, warnings, masked fact
    sketches (see ``facts.py``) for the entries, and their :class:`Origin` (None: no
    snapshot was read or written).

    A brief's ``created`` is its path's time in ``created()`` (asked once the files
    are fingerprinted: it may still be coming from git), else ``stamp`` (and it is
    ``staged``). Entries of the last snapshot with the same blob come from it in one
    read; the others from their cache rows, or are parsed and fingerprinted
    (``meanwhile()`` is called after each part of them the workers return).
    """
    settings = store.brief_settings(config)
    width = config.num_perm
    skey = store.snapshot_key(settings)
    with store.paused_gc():
        snap = store.read_snapshot(cache, skey, width)
        at = snap.find(entries) if snap is not None else [-1] * len(entries)
    rest = [e for e, k in zip(entries, at, strict=True) if k < 0]
    stale = (len(snap.paths) - (len(entries) - len(rest))) if snap is not None else 0
    rewrite = cache.enabled and (
        snap is None
        or len(rest) + stale > store.SNAPSHOT_SLACK + len(entries) // store.SNAPSHOT_SHARE
    )
    # what the new snapshot holds needs no rows of its own (one representation, not two)
    rows_too = not rewrite or len(entries) > store.SNAPSHOT_MAX
    rows = iter(_read_rows(repo, config, rest, cache, settings, progress, write=rows_too,
                           meanwhile=meanwhile))
    times = created() if created is not None else {}
    with store.paused_gc():  # fingerprinting (workers are forked) is done by now
        built = _build(entries, at, snap, rows, times, stamp, width, cache, rewrite, skey)
    if rewrite and snap is not None:  # what the old snapshot held and the new one drops
        store.write_dropped_rows(cache, settings, snap, at)
    return built


def _build(
    entries: Sequence[IndexEntry],
    at: Sequence[int],
    snap: store.Snapshot | None,
    rows: Iterator[Row],
    times: Mapping[str, int],
    stamp: int,
    width: int,
    cache: Cache,
    rewrite: bool,
    skey: bytes,
) -> tuple[list[Brief], npt.NDArray[np.uint32], list[int], list[Warning], list[list[int]],
           Origin | None]:
    """read_briefs' records: each entry's brief from its snapshot row or its ``rows``
    item (and the snapshot rewritten when ``rewrite``)."""
    briefs: list[Brief] = []
    counts: list[int] = []
    sketches: list[list[int]] = []  # masked fact sketches, one per brief
    warnings: list[Warning] = []
    source: list[int] = []  # per brief: its snapshot row, or -1: its signature is in ``raws``
    place: list[int] = []  # per brief: its entry's position (its row in a rewritten snapshot)
    raws: list[bytes] = []
    fresh: list[tuple[IndexEntry, dict[str, Any]]] = []  # the entries not in the snapshot
    new = tuple.__new__
    if snap is not None:  # the snapshot's columns as locals: this loop runs once per file
        s_warn, s_skip, s_lane, s_number, s_title, s_label, s_kind, s_words, s_fields = (
            snap.warnings, snap.skip, snap.lane, snap.number, snap.title, snap.label,
            snap.kind, snap.words, snap.fields)
        s_shingles, s_facts = snap.shingles, snap.facts
    for pos, (e, k) in enumerate(zip(entries, at, strict=True)):
        path = e.path
        when = times.get(path, -1)
        staged = when < 0 and path not in times
        if staged:
            when = stamp
        if k >= 0:
            if k in s_warn:
                warnings.extend(Warning(path, w) for w in s_warn[k])
            if s_skip[k]:
                continue
            fields = s_fields[k]
            briefs.append(new(Brief, (  # Brief(...) without its Python-level __new__
                path, e.blob, s_lane[k], s_number[k], s_title[k], s_label[k], s_kind[k],
                s_words[k], MappingProxyType(fields) if fields else _NO_FIELDS, when, staged,
                None, "present",
            )))
            counts.append(s_shingles[k])
            sketches.append(s_facts[k])
        else:
            meta, raw = next(rows)
            fresh.append((e, meta))
            warnings.extend(Warning(path, w) for w in meta.get("warnings", ()))
            if meta.get("skip"):
                continue
            briefs.append(brief_from_meta(path, e.blob, meta, when, staged))
            counts.append(int(meta.get("shingles", 0)))
            sketches.append(list(meta.get("facts", ())))
            raws.append(raw)
        source.append(k)
        place.append(pos)
    matrix = _signatures(width, source, snap, raws)
    origin = None
    if rewrite:
        data = store.Snapshot.dump(entries, at, snap, fresh, matrix, width)
        cache.put_blobs({skey: data})
        origin = Origin(store.Snapshot.tag_of(data), np.asarray(place, dtype=np.int64),
                        len(entries), True)
    elif snap is not None:
        where = np.asarray(source, dtype=np.int64)
        held = len(snap.skip) - snap.skip.count(1)  # the briefs it holds
        origin = Origin(snap.tag, where, len(snap.skip), int((where >= 0).sum()) == held)
    return briefs, matrix, counts, warnings, sketches, origin


def _signatures(
    width: int, source: Sequence[int], snap: store.Snapshot | None, raws: Sequence[bytes]
) -> npt.NDArray[np.uint32]:
    """One signature row per brief: snapshot row ``source[i]``, or (-1) the next of ``raws``
    (little-endian uint32, converted in one go)."""
    at = np.asarray(source, dtype=np.int64)
    matrix = np.empty((len(at), width), dtype=np.uint32)
    in_snap = at >= 0
    if snap is not None and in_snap.any():
        matrix[in_snap] = snap.matrix[at[in_snap]]
    if raws:
        matrix[~in_snap] = np.frombuffer(b"".join(raws), dtype="<u4").reshape(len(raws), width)
    return matrix


def _read_rows(
    repo: Repo,
    config: Config,
    entries: Sequence[IndexEntry],
    cache: Cache,
    settings: str,
    progress: Progress | None = None,
    write: bool = True,
    meanwhile: Callable[[], None] | None = None,
) -> list[Row]:
    """(meta, signature bytes) of each entry from its cache row, or parsed and
    fingerprinted (and then written as a row, unless ``write`` is False); ``meanwhile()``
    after each part fingerprinted."""
    found = store.read_rows(cache, settings, entries, config.num_perm)
    misses = [i for i, row in enumerate(found) if row is None]
    done = 0
    for part, rows in fingerprint_parts(repo, config, [entries[i] for i in misses]):
        at = misses[done : done + part]
        if write:  # part by part: written while the workers go on
            store.write_rows(cache, settings, [entries[i] for i in at], rows)
        for i, row in zip(at, rows, strict=True):
            found[i] = row
        done += part
        if progress:
            progress("fingerprint", done, len(misses))
        if meanwhile:
            meanwhile()
    return [row for row in found if row is not None]


class CreationTimes:
    """Path -> creation time for every path in HEAD, from one ``git log`` pass
    (incremental from the cached answer of an ancestor), the pass running in the
    background from the start: ``result`` waits for it (call it on the thread that
    owns ``cache``)."""

    def __init__(self, repo: Repo, cache: Cache, head: str | None) -> None:
        self.warnings: list[Warning] = []
        self._cache = cache
        self._head = head
        self._answer: dict[str, int] | None = {} if head is None else None
        self._job: Background | None = None
        self._known: dict[str, int] | None = None
        self._since: str | None = None  # the cached ancestor the pass goes on from
        self._shallow = False
        if head is None:
            return
        # a shallow clone's times are not the history's: they are neither stored (after
        # `git fetch --unshallow` the same head would answer with them) nor read
        self._shallow = repo.is_shallow()
        if self._shallow:
            self.warnings.append(Warning(
                None,
                "shallow clone: files added before the oldest fetched commit get that commit's "
                "time; run 'git fetch --unshallow' for exact creation times",
            ))
            self._job = repo.start_creation_log(upto=head)
            return
        self._answer = cache.get_created(head)
        if self._answer is not None:
            return
        for older in cache.created_heads():  # the last stored first: usually HEAD's parent
            if repo.is_ancestor(older, head):
                self._known = cache.get_created(older)
                if self._known is not None:
                    self._since = older
                break
        self._job = repo.start_creation_log(since=self._since, upto=head)

    def result(self) -> dict[str, int]:
        if self._answer is None:
            assert self._head is not None
            job = self._job  # None only when the repo has no commits at all
            self._answer = parse_creation_log(job.wait(), self._known) if job is not None else {}
            if not self._shallow:
                self._cache.put_created(self._head, self._answer, self._since)
        return self._answer

    def poll(self) -> None:
        """Take the answer in now if the pass has finished: called between the parts the
        fingerprint workers return, it parses git's output (~0.6 s for 100k commits) while
        they go on, not after them."""
        if self._answer is None and self._job is not None and self._job.done():
            self.result()

    def stop(self) -> None:
        """Stop the background pass if nobody waited for it (the scan failed)."""
        if self._job is not None:
            self._job.stop()


def order_key(b: Brief) -> tuple[float, int, str]:
    return (float(b.number) if b.number is not None else float("inf"), b.created, b.path)


class StrayCloseout(NamedTuple):
    warning: Warning
    family: str | None  # the family it most likely belongs to now (None: not clear)


def stray_closeouts(scan: Scan) -> list[StrayCloseout]:
    """One warning per close-out whose front matter ``family:`` names no family of the scan
    (after ``lane_pattern`` or ``include`` changed, family ids follow the new lane ids):
    the gate no longer counts it for its family. The family it most likely belongs to now
    is the one holding most of the docs it names (its ``family:`` and ``lanes:``, by lane
    id, run id or file name), when that is more than half of those found."""
    stray = [i for i, b in enumerate(scan.briefs)
             if b.kind == "closeout" and isinstance(b.fields.get("family"), str)
             and b.fields["family"].strip() and scan.find_family(b.fields["family"]) is None]
    if not stray:
        return []
    by_name: dict[str, set[int]] = {}
    for i, b in enumerate(scan.briefs):
        names = {stem_of(b.path), b.lane or ""}
        if i in scan.runs:
            names.add(scan.runs[i].lane)
        for name in names - {""}:
            by_name.setdefault(name.lower(), set()).add(i)
    out = []
    for c in stray:
        fields = scan.briefs[c].fields
        named = str(fields["family"]).strip()
        lanes = fields.get("lanes")
        # split at the separators alone (each word is stripped below): a pattern with
        # ``\s*`` around them took quadratic time on a long run of spaces (20 s for 60 KB)
        words = [named, *(_LANE_SEP.split(lanes) if isinstance(lanes, str)
                          else [str(x) for x in lanes] if isinstance(lanes, list) else [])]
        found = set().union(*(by_name.get(w.strip().lower(), set()) for w in words)) - {c}
        votes: dict[str, int] = {}
        for i in found:
            fam = scan.family_of(i)
            if fam is not None:
                votes[fam.id] = votes.get(fam.id, 0) + 1
        best = max(votes, key=lambda f: (votes[f], f), default=None)
        shown = path_for_humans(named)
        text = (f"its family: {shown} names no family of this scan (family ids follow "
                "lane_pattern and include), so the gate does not count it for any; ")
        if best is not None and votes[best] * 2 <= len(found):
            best = None
        if best is not None:
            text += (f"the docs it names are now in family {scan.shown_family(best)}: set "
                     f"family: {best}")
        else:
            text += "set family: to a family id of `compactor scan`, or delete it"
        out.append(StrayCloseout(Warning(scan.briefs[c].path, text), best))
    return out


def family_name(b: Brief) -> str:
    """A family's id: its first member's lane id, else its file name without the
    extension (control characters escaped: the id is printed everywhere)."""
    return path_for_humans(b.lane) if b.lane else name_for_humans(b.path)


def name_for_humans(path: str) -> str:
    """A path's file name without its extension, control characters escaped."""
    return path_for_humans(stem_of(path))


def run_scan(
    repo: Repo,
    config: Config,
    *,
    rev: str | None = None,
    now: int | None = None,
    progress: Progress | None = None,
    use_cache: bool = True,
    entries: Sequence[IndexEntry] | None = None,
    folded: bool = True,
    decisions: bool = True,
) -> Scan:
    """Scan the index (default) or the tree of ``rev``.

    With ``decisions`` False the scan stops at the families (``Scan.decisions`` is
    empty): the gate asks only which family a doc is in (``Scan.family_of``).

    The files a compaction took out (the manifest among the entries lists them) are
    scanned too, at their original paths from their blob ids, with their original
    creation times, marked ``folded`` or ``archived`` (unless ``folded`` is False): a
    compacted branch gives the same families, decisions and report as its parent.
    """
    from compactor.manifest import scan_members

    cache = open_cache(repo, use_cache)
    try:
        if entries is None:
            entries = repo.tree_entries(repo.resolve(rev)) if rev else repo.index_entries()
        members = scan_members(repo, config, entries, cache) if folded else None
        if members is not None and members.entries:
            entries = [*entries, *members.entries]
        selection = select(config, entries)
        head = repo.resolve(rev) if rev else repo.head()
        stamp = now if now is not None else repo.commit_time()
        created = CreationTimes(repo, cache, head)  # git log runs while files are fingerprinted
        try:
            briefs, matrix, counts, warnings, sketches, origin = read_briefs(
                repo, config, selection.entries, cache, progress, created.result, stamp,
                meanwhile=created.poll,
            )
        finally:
            created.stop()
        cwarn = created.warnings
        if members is not None:
            cwarn = [*cwarn, *members.warnings]
            if members.states:
                briefs = _mark_members(briefs, members.states, members.times)
        eligible = [
            i for i, b in enumerate(briefs)
            if b.kind in FAMILY_KINDS and counts[i] >= shapes.MIN_SHINGLES
        ]
        keys = [order_key(b) for b in briefs]
        names = [family_name(b) for b in briefs]
        layout = store.cached_band_layout(cache, config, band_layout)
        times = _times_tag(briefs, eligible, origin) if origin and cache.enabled else None
        lkey = store.linked_key(config, origin.tag + times, layout) \
            if origin and times is not None else None
        base = _known(cache, lkey, origin, eligible, len(briefs)) if lkey and origin else None
        fams = group(matrix, eligible, config.threshold, keys, names, layout=layout,
                     veto=_shape_veto(briefs, sketches), known=base)
        if lkey and origin and base is None and origin.whole and origin.rows.min(initial=0) >= 0:
            # these are exactly the snapshot's briefs: their components are what a later
            # scan (a check adding a lane) grows
            store.write_linked(cache, lkey, _snapshot_components(fams, eligible, origin))
        # template instances that each say something of their own: grouped again, no link
        # between two of them (families.own_content)
        apart = _apart(repo, cache, config, briefs, fams)
        if apart:
            fams = group(matrix, eligible, config.threshold, keys, names, layout=layout,
                         veto=_shape_veto(briefs, sketches, apart))
        fams = restated(repo, cache, config, fams, briefs, eligible, keys, names)
        fams = join_runs(briefs, fams, sketches, matrix, config.threshold)  # drifting runs: one family
        decided: list[Decision] = []
        if decisions:
            known = cache.get_blobs(
                store.family_key(config, matrix[f.members[0]]) for f in fams
            ) if cache.enabled else None
            learned: dict[bytes, bytes] = {}
            decided = decide(
                config, briefs, matrix, fams, known, learned if cache.enabled else None,
                threads=cpus(),
            )
            cache.put_blobs(learned)
        warnings = [*selection.warnings, *cwarn, *warnings, *cache.warnings]
    finally:
        cache.close()
    scan = Scan(
        root=repo.root,
        config=config,
        head=head,
        briefs=tuple(briefs),
        signatures=matrix,
        shingles=tuple(counts),
        families=tuple(fams),
        decisions=tuple(decided),
        warnings=tuple(warnings),
        runs=MappingProxyType(dict(infer_runs(briefs, fams))),
        apart=apart.kept_from(),
    )
    return _kept_in_place(repo, scan, members.kept if members is not None else frozenset())


def _kept_in_place(repo: Repo, scan: Scan, kept: frozenset[str]) -> Scan:
    """The scan with what people said about retention (``decisions.kept_in_place``): a
    member whose ``new_truth`` claim the gate earns is not compressed, a doc pinned in the
    compaction manifest (``kept``) is kept. Only the few docs that carry a claim are read."""
    if not scan.decisions:
        return scan
    from dataclasses import replace

    from compactor.decisions import kept_in_place

    claimed = [i for i, (b, d) in enumerate(zip(scan.briefs, scan.decisions, strict=True))
               if d.retention == "compress" and b.fields and b.new_truth is not None]
    pinned = [i for i, b in enumerate(scan.briefs) if b.path in kept] if kept else []
    if not claimed and not pinned:
        return scan
    earned: dict[int, tuple[str, ...]] = {}
    if claimed:
        from compactor.check import earned_claims

        earned = earned_claims(repo, scan, claimed)
    why: dict[int, tuple[str, ...]] = dict(earned)  # each a compress doc (``claimed``)
    why.update((i, ()) for i in pinned)
    return replace(scan, decisions=tuple(kept_in_place(scan.decisions, earned, pinned)),
                   kept=MappingProxyType(why))


def _known(cache: Cache, key: bytes, origin: Origin, eligible: Sequence[int],
           n: int) -> npt.NDArray[np.int64] | None:
    """Per brief, its shape-leg component among the snapshot's briefs (stored by an
    earlier scan; -1: a brief the snapshot does not hold), or None when there is none
    stored or a brief it linked is gone (the components cannot simply be grown)."""
    labels = store.read_linked(cache, key, origin.size)
    if labels is None:
        return None
    rows = origin.rows
    held = rows >= 0
    known = np.full(n, -1, dtype=np.int64)
    known[held] = labels[rows[held]]
    linked = known[np.asarray(eligible, dtype=np.int64)]
    # every brief it linked is here and eligible, and nothing it did not link is
    if int((labels >= 0).sum()) != int((linked >= 0).sum()) or \
            int((known >= 0).sum()) != int((linked >= 0).sum()):
        return None
    return known


def _times_tag(briefs: Sequence[Brief], eligible: Sequence[int],
               origin: Origin) -> bytes | None:
    """What the shape leg's components of a snapshot's rows depend on besides their content:
    the creation times of its eligible briefs (``families.pause_veto``: two docs written
    more than a day apart are no link unless both declare a run), per snapshot row; empty
    when every eligible brief declares itself a step of a run (no pair is then asked). The
    same blobs at the same paths may have been committed at other times (a rebased history,
    a file scanned while staged). None when a brief the snapshot holds is staged: its time
    is the time of this run, so its components are neither stored nor looked up (a key of
    it would be new every second, a row each time the hook runs)."""
    if all(briefs[i].in_run for i in eligible):
        return b""
    if any(briefs[i].staged and origin.rows[i] >= 0 for i in eligible):
        return None
    at = np.asarray(eligible, dtype=np.int64)
    created = np.fromiter((briefs[i].created for i in eligible), dtype=np.int64, count=at.size)
    rows = origin.rows[at]
    held = rows >= 0
    times = np.full(origin.size, -1, dtype=np.int64)
    times[rows[held]] = created[held]
    return hashlib.blake2b(times.astype("<i8").tobytes(), digest_size=16).digest()


def _batches(briefs: Sequence[Brief], idx: Sequence[int]) -> list[str]:
    """What the restatement leg reads of the docs' creation times: which of them share one
    (one commit's batch, ``restate.Doc.batch``), as the position of the first doc with the
    same time ('' for an unknown time). A cache key of the times themselves would change
    every second while a doc is staged (its time is the time of the run): a new row each
    time the hook runs, never read again."""
    first: dict[int, str] = {}
    return ["" if not briefs[i].created else first.setdefault(briefs[i].created, str(k))
            for k, i in enumerate(idx)]


def _snapshot_components(fams: Sequence[Family], eligible: Sequence[int],
                         origin: Origin) -> npt.NDArray[np.int64]:
    """Per snapshot row, its brief's component in ``fams`` (the shape leg's families; an
    eligible brief in none is a component of its own), -1 for a row not linked."""
    labels = np.full(origin.size, -1, dtype=np.int64)
    rows = origin.rows
    at = rows[np.asarray(eligible, dtype=np.int64)]
    labels[at] = at
    for f in fams:
        labels[rows[np.asarray(f.members, dtype=np.int64)]] = rows[f.members[0]]
    return labels


def restated(repo: Repo, cache: Cache, config: Config, fams: list[Family],
             briefs: Sequence[Brief], eligible: Sequence[int],
             keys: Sequence[tuple[float, int, str]] | None = None,
             names: Sequence[str] | None = None) -> list[Family]:
    """The shape leg's families joined by the restatement leg (``restate.py``): links among
    the docs the shape leg left alone, and from them to each family's first member (two
    families are not joined here). Gists are cached per blob, and the links found for one
    set of such docs as a whole (a warm scan reads one value). ``keys`` and ``names``: each
    brief's ``order_key`` and ``family_name``, when the caller has them already."""
    from compactor import restate

    if not config.restatement:
        return fams
    taken = {m for f in fams for m in f.members}
    loose = [i for i in eligible if i not in taken]
    if not loose:
        return fams
    # each family takes part through its first member, the state it established: a loose
    # doc may restate it (the first member, not the latest, so that a lane appended to a
    # family — the gate's usual case — leaves the cached links valid)
    firsts = {f.members[0] for f in fams}
    loose = sorted({*loose, *firsts})
    if len(loose) < 2:
        return fams
    entries = restate.entry_pages([b.path for b in briefs])
    key = store.restate_key(config, [(briefs[i].path, briefs[i].blob, briefs[i].title,
                                      briefs[i].lane or "", batch, "entry" if i in entries else "")
                                     for i, batch in zip(loose, _batches(briefs, loose),
                                                         strict=True)])
    at = {briefs[i].path: i for i in loose}
    found = store.read_restated(cache, key)
    if found is not None and not all(  # a damaged or foreign value: found again
        a in at and b in at and a != b and 0.0 <= score <= 1.0 for a, b, score, _, _ in found
    ):
        found = None
    if found is not None:  # their gists are kept as long as these links are read
        store.keep_gists(cache, key, [briefs[i].blob for i in loose])
    if found is None:
        docs = restate_docs(repo, cache, briefs, loose, entries)
        edges = restate.links(docs, lambda idx: dict(zip(idx, _bodies(repo, briefs, idx),
                                                         strict=True)))
        found = [(briefs[e.a].path, briefs[e.b].path, e.score, e.facts, e.terms)
                 for e in edges if not (e.a in firsts and e.b in firsts)]
        store.write_restated(cache, key, found)
    if not found:
        return fams
    edges = [restate.Edge(at[a], at[b], score, tuple(fs), tuple(ts))
             for a, b, score, fs, ts in found]
    if keys is None:
        keys = [order_key(b) for b in briefs]
    if names is None:
        names = [family_name(b) for b in briefs]
    return join(fams, edges, keys, names)


def restate_docs(repo: Repo, cache: Cache, briefs: Sequence[Brief], idx: Sequence[int],
                 entries: frozenset[int]) -> dict[int, restate.Doc]:
    """What the restatement leg reads of briefs ``idx`` (``restate.Doc``), their gists
    cached per blob."""
    from compactor import restate

    gists = store.read_gists(cache, [briefs[i].blob for i in idx])
    need = list({briefs[i].blob: i for i in idx if briefs[i].blob not in gists}.values())
    new = dict(zip((briefs[i].blob for i in need),
                   restate.gists(_bodies(repo, briefs, need)), strict=True))
    store.write_gists(cache, new)
    gists.update(new)
    docs = {}
    for i in idx:
        terms = restate.name_terms(briefs[i].path, briefs[i].title)
        docs[i] = restate.Doc(restate.read_gist(gists[briefs[i].blob]), frozenset(terms),
                              restate.steps(briefs[i].path, briefs[i].title),
                              restate.series(briefs[i].lane), terms, briefs[i].created,
                              i in entries, restate.folder_of(briefs[i].path))
    return docs


def restatement_candidates(repo: Repo, scan: Scan, i: int,
                           use_cache: bool = True) -> list[restate.Nearest]:
    """Brief ``i``'s nearest docs in words among those the restatement leg compared in
    this scan, each with what kept it apart from ``i`` (``scan --explain``): the docs in
    no family, those the leg linked, and each family's first member."""
    from compactor import restate
    from compactor.families import RESTATEMENT

    briefs = scan.briefs
    if not scan.config.restatement or briefs[i].kind not in FAMILY_KINDS:
        return []
    eligible = {k for k, b in enumerate(briefs)
                if b.kind in FAMILY_KINDS and scan.shingles[k] >= shapes.MIN_SHINGLES}
    if i not in eligible:
        return []
    taken = {m for f in scan.families for m in f.members}
    compared = {k for k in eligible if k not in taken} | {f.members[0] for f in scan.families}
    compared |= {m for f in scan.families for m, link in f.member_links()
                 if link.leg == RESTATEMENT}
    idx = sorted(compared | {i})
    if len(idx) < 2:
        return []
    cache = store.open_cache(repo, enabled=use_cache)
    try:
        docs = restate_docs(repo, cache, briefs, idx,
                            restate.entry_pages([b.path for b in briefs]))
    finally:
        cache.close()
    return restate.nearest(docs, i, lambda ids: dict(zip(ids, _bodies(repo, briefs, ids),
                                                         strict=True)))


def _bodies(repo: Repo, briefs: Sequence[Brief], idx: Sequence[int]) -> list[str]:
    """The markdown bodies of briefs ``idx`` (read from their blobs in one batch)."""
    return [b.body or "" for b in with_bodies(repo, [briefs[i] for i in idx])]


def _apart(repo: Repo, cache: Cache, config: Config, briefs: Sequence[Brief],
           fams: Sequence[Family]) -> Apart:
    """``families.own_content`` of the families, each family's findings cached under its
    members' (path, blob) (``store.own_key``): a warm scan reads no body, a check that
    adds a doc to one family reads that family's."""
    judged = np.fromiter((not b.in_run for b in briefs), dtype=bool, count=len(briefs))
    asked = [f for f in fams if np.count_nonzero(judged[list(f.members)]) >= 2]
    if not asked:
        return Apart()
    keys = [store.own_key(config, [(briefs[i].path, briefs[i].blob, bool(judged[i]))
                                   for i in f.members]) for f in asked]
    found = store.read_own(cache, {k: len(f.members) for k, f in zip(keys, asked, strict=True)})
    missed = [(k, f) for k, f in zip(keys, asked, strict=True) if k not in found]
    if missed:
        got = own_content([f for _, f in missed], judged, lambda idx: _texts(repo, briefs, idx),
                          lambda i: file_stem(briefs[i]))
        new: dict[bytes, store.OwnContent] = {}
        for k, f in missed:
            at = {m: n for n, m in enumerate(f.members)}
            new[k] = (sorted(at[i] for i in got.own if i in at),
                      sorted((at[a], at[b]) for a, b in got.named if a in at and b in at))
        store.write_own(cache, new)
        found.update(new)
    own: set[int] = set()
    named: set[tuple[int, int]] = set()
    groups = []
    for k, f in zip(keys, asked, strict=True):
        mine, pairs = found[k]
        if mine:
            groups.append(tuple(f.members[n] for n in mine))
            own.update(groups[-1])
        named.update((min(f.members[a], f.members[b]), max(f.members[a], f.members[b]))
                     for a, b in pairs)
    return Apart(frozenset(own), frozenset(named), tuple(groups))


def _texts(repo: Repo, briefs: Sequence[Brief], idx: Sequence[int]) -> list[Text]:
    """What ``families.own_content`` reads of briefs ``idx``: the content words of their
    bodies (``shapes.content_codes``) and the file names they mention."""
    return [Text(shapes.content_codes(body, briefs[i].mask_words), mentioned(body))
            for i, body in zip(idx, _bodies(repo, briefs, idx), strict=True)]


def file_stem(b: Brief) -> str:
    """A brief's file name without its extension, lowercased."""
    return stem_of(b.path).lower()


def _shape_veto(
    briefs: Sequence[Brief], sketches: Sequence[Sequence[int]], apart: Apart | None = None,
) -> Callable[[npt.NDArray[np.int64]], npt.NDArray[np.bool_]]:
    """The shape leg's veto: ``copy_veto`` (facts that disagree) or ``names_veto``
    (titles naming identifiers of their own; a step of a declared run has no title
    judged), or ``apart`` parts them (template instances that each say something of
    their own, ``families.own_content``). ``names_veto`` is asked only about pairs
    whose two titles are judged (a pair with one unjudged title is never vetoed by it):
    grouping asks about ~10k pairs of a 10k repo whose lanes have ids, one Python call
    per pair."""
    judged: npt.NDArray[np.bool_] | None = None
    created: npt.NDArray[np.int64] | None = None
    blobs: npt.NDArray[np.int64] | None = None

    def title(i: int) -> str | None:
        return None if briefs[i].in_run else briefs[i].title

    def veto(pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        nonlocal judged, created, blobs
        out = copy_veto(sketches, pairs, FACTS_AGREE)
        if judged is None or created is None or blobs is None:  # once per scan
            judged = np.fromiter((not b.in_run for b in briefs), dtype=bool, count=len(briefs))
            created = np.fromiter((b.created for b in briefs), dtype=np.int64,
                                  count=len(briefs))
            ids: dict[str, int] = {}
            blobs = np.fromiter((ids.setdefault(b.blob, len(ids)) for b in briefs),
                                dtype=np.int64, count=len(briefs))
        # a byte-identical copy says nothing new however long after it was written: the
        # pause parts periodic docs of one template, never a doc from its own duplicate
        if len(pairs):
            out |= pause_veto(created, ~judged, pairs) & (blobs[pairs[:, 0]] != blobs[pairs[:, 1]])
        both = judged[pairs[:, 0]] & judged[pairs[:, 1]] if len(pairs) else judged[:0]
        if both.any():
            out[both] |= names_veto(title, pairs[both])
        if apart:
            out |= apart.veto(pairs)
        return out

    return veto



def _mark_members(briefs: list[Brief], states: Mapping[str, str],
                  times: Mapping[str, int]) -> list[Brief]:
    """The briefs with the manifest's files marked folded / archived, at their recorded
    creation times (else the one git's history gives their original path)."""
    out = briefs[:]
    for i, b in enumerate(out):
        state = states.get(b.path)
        if state is not None:
            out[i] = b._replace(state=state, created=times.get(b.path, b.created), staged=False)
    return out


def with_bodies(repo: Repo, briefs: Sequence[Brief]) -> list[Brief]:
    """The briefs with ``body`` filled in (read from their blobs in one batch)."""
    from compactor.briefs import split_front_matter

    need = [b.blob for b in briefs if b.body is None]
    data = repo.read_blobs(need) if need else {}
    out = []
    for b in briefs:
        if b.body is None:
            raw = data.get(b.blob, b"")
            text = decode(raw if isinstance(raw, bytes) else b"")[0]
            b = b._replace(body=split_front_matter(text)[1])
        out.append(b)
    return out

