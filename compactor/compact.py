"""Stage 6: a scan of HEAD -> a compaction :class:`Plan` -> ONE commit on a new branch.

The plan is pure: built from a :class:`~compactor.scan.Scan` of HEAD, HEAD's
tree, the manifest of earlier compactions and the text of the files involved.

- ``compress`` lanes are removed and *folded* into the inventory: per lane its
  lane id, label, original path, blob id, the source commit, and the lines the
  family's exemplar (its first lane) does not have, compared after masking
  numbers and labels, so no product truth is dropped;
- ``archive`` files (ACK chatter) move under ``archive_dir`` unchanged, to the
  same relative path below it;
- ``keep`` and ``mostly-keep`` files are left alone;
- the manifest (``<archive_dir>/compactor-manifest.json``) records path -> blob
  id and where it went, so ``compactor restore`` can bring any byte back.

Lanes folded by an earlier compaction take part in the scan again (read from
their blob ids in the manifest), so the lanes that remain are judged against
the same history as before and a second compaction has nothing to do.

:func:`apply_compaction` builds the commit with plumbing only — a temporary index,
``write-tree``, ``commit-tree`` — and moves one ref at the very end, so the
work tree, the real index, HEAD and the current branch never change, and an
interrupted run leaves nothing behind but unreachable objects.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from compactor import shapes
from compactor.blocks import neutralise, read_block, replace_block
from compactor.briefs import decode
from compactor.config import Config, config_from_texts
from compactor.errors import ConfigError, InputError, RefusedError
from compactor.families import RESTATEMENT
from compactor.files import in_dir, path_for_humans
from compactor.git import IndexEntry, Repo
from compactor.manifest import (
    ARCHIVED,
    FOLDED,
    FOLDED_BLOCK,
    Compaction,
    Entry,
    Manifest,
    dump,
    entry_mark,
    folded_block,
    manifest_path,
    split_folded,
)
from compactor.paths import lexical
from compactor.scan import Scan, family_name
from compactor.words import down, plural

# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fold:
    """A renamed-but-similar lane removed from the tree and folded into the inventory."""

    path: str
    blob: str
    mode: str
    lane: str | None
    label: str
    family: str
    exemplar: str  # path of the family's first lane
    exemplar_lane: str | None
    phase: str | None
    novelty: float | None
    unique_lines: tuple[str, ...]  # lines of this lane the exemplar does not have (bounded)
    created: int | None = None  # the lane's creation time, recorded in the manifest
    more: int = 0  # unique lines beyond UNIQUE_LINES_SHOWN, left out (the blob has them)
    # the first ``fresh`` of unique_lines are lines no earlier member of the family has: the
    # lane's new truth, listed first and never left out however many there are
    fresh: int = 0
    # a member the restatement leg linked (it says an earlier doc's state again in other
    # words): that doc's name and the cosine of their content words. Its shape novelty
    # measures nothing, so the plan shows "—" and this reason instead
    restates: str | None = None
    cosine: float | None = None

    @property
    def unique_count(self) -> int:
        return len(self.unique_lines) + self.more


@dataclass(frozen=True)
class Move:
    """An ACK file moved under ``archive_dir``, content unchanged."""

    path: str
    blob: str
    mode: str
    target: str
    created: int | None = None  # the file's creation time, recorded in the manifest


@dataclass(frozen=True)
class FamilySummary:
    id: str
    lanes: int  # members present in HEAD
    folded: tuple[str, ...]  # lane ids (or paths) folded now
    kept: tuple[str, ...]  # lane ids (or paths) left in the tree


@dataclass(frozen=True)
class Write:
    """A file the compaction commit writes (the inventory, the manifest)."""

    path: str
    data: bytes
    mode: str
    existed: bool


@dataclass(frozen=True)
class Plan:
    """What one compaction does. Built once by :func:`build_plan`, never mutated."""

    head: str
    folds: tuple[Fold, ...]
    moves: tuple[Move, ...]
    writes: tuple[Write, ...]  # empty when there is nothing to do
    families: tuple[FamilySummary, ...]
    counts: Mapping[str, int]  # retention -> briefs in HEAD
    already_folded: int  # lanes folded by earlier compactions (not in HEAD)
    inventory: str
    manifest: str
    warnings: tuple[str, ...]
    unlaned: int = 0  # compress docs of families without lane ids, left in place

    @property
    def empty(self) -> bool:
        return not self.folds and not self.moves

    def changes(self) -> list[tuple[str, str, str | None]]:
        """(path, mode, blob or None to remove) for the tree; blobs of writes filled at apply."""
        out: list[tuple[str, str, str | None]] = []
        for f in self.folds:
            out.append((f.path, f.mode, None))
        for m in self.moves:
            out.append((m.path, m.mode, None))
            out.append((m.target, m.mode, m.blob))
        return out


@dataclass(frozen=True)
class Applied:
    branch: str
    commit: str
    replaced: str | None  # the commit the branch pointed to before (--force)


# -- the manifest (compactor.manifest owns the format) ------------------------------------------


def manifest_entries(plan_head: str, folds: Sequence[Fold], moves: Sequence[Move]) -> list[Entry]:
    """The manifest entries of this compaction's folds and moves."""
    out = [Entry(f.path, f.blob, FOLDED, "inventory", f.mode, f.lane, f.label, f.family,
                 plan_head, f.created) for f in folds]
    out += [Entry(m.path, m.blob, ARCHIVED, m.target, m.mode, None, None, None,
                  plan_head, m.created) for m in moves]
    return out


def render_manifest(old: Manifest, plan_head: str, folds: Sequence[Fold],
                    moves: Sequence[Move]) -> bytes:
    """The manifest with this compaction merged in: deterministic, sorted keys."""
    merged = old.merged(manifest_entries(plan_head, folds, moves),
                        Compaction(plan_head, len(folds), len(moves)))
    return dump(merged)


# -- the inventory's folded block ------------------------------------------------------------


def _fence(lines: Sequence[str]) -> str:
    longest = max((len(m) for line in lines for m in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def fold_entry(fold: Fold, source_commit: str) -> str:
    """The inventory entry of one folded lane (starts with its machine-readable mark)."""
    name = fold.lane or fold.path
    out = [
        f"### {name}: {fold.label or '(no label)'}",
        "",
        f"- original path: `{path_for_humans(fold.path)}`",
        f"- family: {fold.family} (exemplar {fold.exemplar_lane or path_for_humans(fold.exemplar)})",
        *([f"- folded as a restatement: {_restated_text(fold)}"] if fold.restates else []),
        f"- blob: `{fold.blob}`",
        f"- source commit: `{source_commit}`",
    ]
    if fold.unique_lines:
        fence = _fence(fold.unique_lines)
        new, rest = fold.unique_lines[:fold.fresh], fold.unique_lines[fold.fresh:]
        if new:
            out += ["- lines no earlier lane of the family has:", "", f"{fence}text", *new, fence]
        if rest:
            out += [f"- {'other ' if new else ''}lines the exemplar does not have:", "",
                    f"{fence}text", *rest, fence]
        if fold.more:
            out.append(f"- … {fold.more} more line{_s(fold.more)}, see blob `{fold.blob}` "
                       f"(`git cat-file -p {fold.blob[:12]}`)")
    else:
        out.append("- lines the exemplar does not have: none")
    # everything after the mark comes from the repo: no marker-like text may survive in it
    return entry_mark(fold.path) + "\n" + neutralise("\n".join(out)) + "\n"


def render_folded_block(old_block: str | None, folds: Sequence[Fold], source_commit: str) -> str:
    """The folded block's content: earlier entries kept (in order), this compaction's appended."""
    entries = split_folded(old_block)
    for f in folds:
        entries.pop(f.path, None)  # a lane folded again (restored, re-added) gets its new entry
        entries[f.path] = fold_entry(f, source_commit)
    return folded_block(entries.values())


def fold_into_inventory(old: bytes | None, folds: Sequence[Fold], source_commit: str,
                     inventory_block: str | None = None, where: str = "inventory") -> bytes:
    """The inventory with the folded block (and the inventory block, when given) updated.

    Every byte outside the two blocks is kept. A new file starts from the
    inventory stage's header.
    """
    from compactor.inventory import HEADER, INVENTORY_BLOCK

    text = old.decode("utf-8", "surrogateescape") if old is not None else HEADER
    if inventory_block is not None:
        text = replace_block(text, INVENTORY_BLOCK, inventory_block, where)
    block = render_folded_block(read_block(text, FOLDED_BLOCK, where), folds, source_commit)
    text = replace_block(text, FOLDED_BLOCK, block, where)
    return text.encode("utf-8", "surrogateescape")


def find_block(text: str, name: str, where: str | None = None) -> str | None:
    """The content of a generated block, or None when the text has none (blocks.read_block)."""
    return read_block(text, name, where)


# -- planning ---------------------------------------------------------------------------------


# A folded lane's entry lists at most this many unique lines; the rest are counted and
# left to the blob (a long lane must not turn the inventory into a copy of itself).
UNIQUE_LINES_SHOWN = 40
_LINE_BREAK = "qqcompactorlinebreakqq"  # a token no label or number masking touches


def line_shapes(text: str, label: str, keep: Sequence[str] = ()) -> list[str]:
    """The proof shape of every line of ``text`` (numbers and ``label`` masked).

    One masking pass over the whole text, lines separated by a sentinel token,
    so that a label or number run never spans two lines.
    """
    lines = text.splitlines()
    masked = shapes.mask(f" {_LINE_BREAK} ".join(lines), label.split(), keep)
    out: list[str] = []
    current: list[str] = []
    for tok in masked:
        if tok == _LINE_BREAK:
            out.append(" ".join(current))
            current = []
        else:
            current.append(tok)
    out.append(" ".join(current))
    if len(out) != len(lines):  # cannot happen; stay correct if it does
        return [" ".join(shapes.mask(line, label.split(), keep)) for line in lines]
    return out


@dataclass(frozen=True)
class LineShapes:
    """An exemplar's lines as :func:`unique_lines` compares them: with numbers and its
    label masked, and with numbers masked only (labels as written)."""

    masked: frozenset[str]
    unmasked: frozenset[str]


def exemplar_lines(text: str, label: str, keep: Sequence[str] = ()) -> LineShapes:
    return LineShapes(frozenset(line_shapes(text, label, keep)),
                      frozenset(line_shapes(text, "", keep)))


def unique_lines(text: str, label: str, exemplar_text: str, exemplar_label: str,
                 keep: Sequence[str] = (), seen: LineShapes | None = None) -> tuple[str, ...]:
    """Lines of ``text`` the exemplar does not have, in order, each shape once.

    A line is unique only when the exemplar has no line of its shape with numbers and
    each one's label masked (a renamed line is not new) AND none with numbers masked
    only: masking a label word must not make a line the exemplar holds word for word
    look new (a lane labelled 'rotate key' masks 'key' in '… idempotency key required').
    ``seen`` is :func:`exemplar_lines` of the exemplar, when already known.
    """
    if seen is None:
        seen = exemplar_lines(exemplar_text, exemplar_label, keep)
    out: list[str] = []
    taken: set[str] = set()
    lines = text.splitlines()
    masked, unmasked = line_shapes(text, label, keep), line_shapes(text, "", keep)
    for line, shape, plain in zip(lines, masked, unmasked, strict=True):
        if not shape or shape in seen.masked or plain in seen.unmasked or shape in taken:
            continue
        taken.add(shape)
        out.append(line.rstrip())
    return tuple(out)


def _tree_file(tree: Sequence[IndexEntry], path: str) -> IndexEntry | None:
    for e in tree:
        if e.path == path:
            return e
    return None


def archive_target(config: Config, path: str) -> str:
    return f"{config.archive_dir}/{path}"


def build_plan(
    scan: Scan,
    tree: Sequence[IndexEntry],
    manifest: Manifest,
    texts: Mapping[str, bytes],
    inventory_before: bytes | None,
) -> Plan:
    """The compaction of ``scan`` (a scan of HEAD plus earlier folded lanes). Pure.

    ``texts`` maps blob id -> bytes for every compress lane and family exemplar.
    """
    config = scan.config
    assert scan.head is not None
    head = scan.head
    in_tree = {e.path: e for e in tree}
    inventory, manifest_file = config.inventory, manifest_path(config)
    special = {inventory, manifest_file}
    warnings = [str(w) for w in scan.warnings]  # files the scan skipped are not compacted either: say so
    folds: list[Fold] = []
    moves: list[Move] = []
    counts: dict[str, int] = {}
    already = 0

    exemplar_shapes: dict[str, LineShapes] = {}
    lanes_in = lane_families(scan)
    fresh = _new_to_family(scan, in_tree, lanes_in, texts)
    unlaned: dict[str, int] = {}  # family without lane ids -> its compress docs left in place

    def text_of(blob: str) -> str:
        return decode(texts.get(blob, b""))[0]

    for i, (b, d) in enumerate(zip(scan.briefs, scan.decisions, strict=True)):
        entry = in_tree.get(b.path)
        if entry is None:  # folded or archived by an earlier compaction (from the manifest)
            already += b.state == FOLDED
            continue
        counts[d.retention] = counts.get(d.retention, 0) + 1
        if b.path in special:
            continue
        if d.retention in ("compress", "archive") and lexical(b.path)[0] != b.path:
            # a name the manifest refuses (a backslash reads as a folder separator there):
            # folded or archived, no `restore` or `verify` could ever read it back
            warnings.append(f"{path_for_humans(b.path)}: left in place: the compaction "
                            "manifest holds only plain repo-relative paths (no backslash); "
                            "rename it to fold or archive it")
            continue
        if d.retention == "compress" and d.family is not None:
            if d.family not in lanes_in:
                unlaned[d.family] = unlaned.get(d.family, 0) + 1
                continue
            fam = scan.family(d.family)
            assert fam is not None
            ex = scan.briefs[fam.members[0]]
            keep = config.guardrail_fields
            if ex.path not in exemplar_shapes:
                exemplar_shapes[ex.path] = exemplar_lines(text_of(ex.blob), ex.label, keep)
            lines = unique_lines(text_of(b.blob), b.label, "", ex.label, keep,
                                 exemplar_shapes[ex.path])
            new = fresh.get(b.path, frozenset())
            ordered = [x for x in lines if x in new] + [x for x in lines if x not in new]
            n_new = len(lines) - sum(x not in new for x in lines)
            shown = max(UNIQUE_LINES_SHOWN, n_new)  # new truth is never left out
            link = fam.link(i)
            restated = link.leg == RESTATEMENT
            to = scan.briefs[link.to] if restated and link.to >= 0 else None
            folds.append(Fold(b.path, b.blob, entry.mode, b.lane, b.label, fam.id, ex.path,
                              ex.lane, d.phase, d.novelty, tuple(ordered[:shown]),
                              b.created, max(0, len(ordered) - shown), n_new,
                              (family_name(to) if to is not None else "an earlier doc")
                              if restated else None, link.score if restated else None))
        elif d.retention == "archive":
            target = archive_target(config, b.path)
            there = in_tree.get(target)
            if there is not None and there.blob != b.blob:
                warnings.append(
                    f"{path_for_humans(b.path)}: {path_for_humans(target)} already exists with "
                    "other content; left in place"
                )
                continue
            moves.append(Move(b.path, b.blob, entry.mode, target, b.created))
    moves = whole_chatter(moves, in_tree, {f.path for f in folds}, warnings)
    way = _Way(in_tree, {f.path for f in folds} | {m.path for m in moves})
    kept_moves = []
    for m in moves:  # git's index replaces a file by a folder (and back) without a word
        blocker = way.blocker(m.target)
        if blocker is None:
            kept_moves.append(m)
        else:
            warnings.append(f"{path_for_humans(m.path)}: left in place: "
                            f"{path_for_humans(blocker)} is in the way of its archived copy "
                            f"{path_for_humans(m.target)}")
    moves = kept_moves
    rank = {scan.briefs[i].path: (k, n) for k, fam in enumerate(scan.families)
            for n, i in enumerate(fam.members)}
    folds.sort(key=lambda f: rank[f.path])  # family by family, in lane order
    moves.sort(key=lambda m: m.path)

    if unlaned:
        warnings.append(unlaned_warning(dict(sorted(unlaned.items()))))
    families = []
    folded_now = {f.path for f in folds}
    for fam in scan.families:
        members = [scan.briefs[i] for i in fam.members if scan.briefs[i].path in in_tree]
        folded = tuple(b.lane or b.path for b in members if b.path in folded_now)
        if folded:
            kept = tuple(b.lane or b.path for b in members if b.path not in folded_now)
            families.append(FamilySummary(fam.id, len(members), folded, kept))

    writes: list[Write] = []
    if folds or moves:
        for written, option in ((inventory, "inventory"), (manifest_file, "archive_dir")):
            blocker = way.blocker(written)
            if blocker is not None:
                raise InputError(
                    f"{path_for_humans(written)}: {path_for_humans(blocker)} is in the way (a "
                    "file where a folder of it should be, or files under it as a folder); "
                    f"move it, or point the config's {option} elsewhere"
                )
        inv_entry, man_entry = in_tree.get(inventory), in_tree.get(manifest_file)
        writes.append(Write(
            inventory,
            fold_into_inventory(inventory_before, folds, head, None, inventory),
            inv_entry.mode if inv_entry else "100644", inv_entry is not None,
        ))
        writes.append(Write(
            manifest_file, render_manifest(manifest, head, folds, moves),
            "100644", man_entry is not None,
        ))
    return Plan(
        head=head,
        folds=tuple(folds),
        moves=tuple(moves),
        writes=tuple(writes),
        families=tuple(families),
        counts=counts,
        already_folded=already,
        inventory=inventory,
        manifest=manifest_file,
        warnings=tuple(warnings),
        unlaned=sum(unlaned.values()),
    )


def _new_to_family(scan: Scan, in_tree: Mapping[str, IndexEntry], lanes_in: frozenset[str],
                   texts: Mapping[str, bytes]) -> dict[str, frozenset[str]]:
    """Per compress lane about to be folded: its lines that no earlier member of its family
    has (compared as :func:`unique_lines` compares with the exemplar), the new truth an
    entry lists first and never leaves out."""
    keep = scan.config.guardrail_fields
    out: dict[str, frozenset[str]] = {}
    folding = {scan.briefs[i].path for i, d in enumerate(scan.decisions)
               if d.retention == "compress" and d.family in lanes_in}
    for fam in scan.families:
        if fam.id not in lanes_in or not any(scan.briefs[i].path in folding and
                                             scan.briefs[i].path in in_tree for i in fam.members):
            continue
        masked: set[str] = set()
        plain: set[str] = set()
        for pos, i in enumerate(fam.members):
            b = scan.briefs[i]
            text = decode(texts.get(b.blob, b""))[0]
            if pos and b.path in folding and b.path in in_tree:
                seen = LineShapes(frozenset(masked), frozenset(plain))
                out[b.path] = frozenset(unique_lines(text, b.label, "", "", keep, seen))
            masked.update(line_shapes(text, b.label, keep))
            plain.update(line_shapes(text, "", keep))
    return out


class _Way:
    """What in a tree is in the way of writing a file at a path: a file where one of its
    folders should be, or files under it as a folder (``leaving``: paths the compaction
    takes out of the tree). git's index would replace either without a word: the
    compaction commit lost them, and no manifest entry said so."""

    def __init__(self, tree: Mapping[str, IndexEntry], leaving: set[str]) -> None:
        self.tree, self.leaving = tree, leaving
        self.ordered: list[str] | None = None

    def blocker(self, path: str) -> str | None:
        parts = path.split("/")
        for k in range(1, len(parts)):
            folder = "/".join(parts[:k])
            if folder in self.tree and folder not in self.leaving:
                return folder
        if self.ordered is None:
            self.ordered = sorted(self.tree)
        import bisect

        under = path + "/"
        for p in self.ordered[bisect.bisect_left(self.ordered, under):]:
            if not p.startswith(under):
                break
            if p not in self.leaving:
                return p
        return None


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def whole_chatter(
    moves: Sequence[Move], tree: Mapping[str, IndexEntry], folded: set[str], warnings: list[str]
) -> list[Move]:
    """The moves that take a folder's chatter along with all its siblings.

    A file is archived only when every other file of its folder (any file, not only
    briefs) leaves the tree too — archived or folded: a ``summary.md`` beside the
    ``.json`` files of an evidence bundle, or an ACK beside the lane it answers, stays
    where it is with a warning. ACK chatter is archived with its siblings or not at all.
    """
    if not moves:
        return list(moves)
    leaving = folded | {m.path for m in moves}
    staying: dict[str, int] = {}
    for path in tree:
        if path not in leaving:
            staying[_parent(path)] = staying.get(_parent(path), 0) + 1
    kept: list[Move] = []
    held: dict[str, list[str]] = {}
    for m in moves:
        folder = _parent(m.path)
        if staying.get(folder):
            held.setdefault(folder, []).append(m.path)
        else:
            kept.append(m)
    for folder, paths in sorted(held.items()):
        n, others = len(paths), staying[folder]
        shown = ", ".join(path_for_humans(p.rsplit("/", 1)[-1]) for p in sorted(paths)[:3])
        more = f", … (+{n - 3})" if n > 3 else ""
        warnings.append(
            f"{path_for_humans(folder or '.')}/: {n} ACK file{_s(n)} left in place ({shown}{more}): "
            f"the folder also holds {others} file{_s(others)} that "
            f"{'stays' if others == 1 else 'stay'}; compaction archives "
            "a folder's chatter only together with all its files"
        )
    return kept


def read_manifest(repo: Repo, config: Config, rev: str) -> Manifest:
    """The manifest committed in ``rev`` (empty when there is none)."""
    from compactor.manifest import read

    return read(repo, config, rev) or Manifest()


def lane_families(scan: Scan) -> frozenset[str]:
    """Families holding at least one lane: the ones compaction folds (``Scan.lane_families``)."""
    return scan.lane_families


def unlaned_warning(unlaned: Mapping[str, int]) -> str:
    """The one warning for the repeated docs of families without lane ids, left in place."""
    n = sum(unlaned.values())
    where = (f"family {next(iter(unlaned))}: {n} repeated doc{_s(n)}" if len(unlaned) == 1
             else f"{n} repeated docs in {len(unlaned)} families")
    return (
        f"{where} {'has' if n == 1 else 'have'} no lane id and stay{'s' if n == 1 else ''} in "
        "place (compaction folds only families with lane ids; `compactor scan` lists them as "
        "compress): to retire one, merge what it adds into its family's first doc and delete "
        "it by hand; if their file names carry an id, set lane_pattern to match it"
    )


def plan_compaction(repo: Repo, config: Config, *, use_cache: bool = True) -> Plan:
    """Scan HEAD (with the lanes earlier compactions folded) and plan the compaction."""
    from compactor.scan import run_scan

    head = repo.head()
    if head is None:
        raise RefusedError(
            f"{repo.root}: HEAD has no commits yet; commit the docs first, then compact"
        )
    if in_dir(config.inventory, config.archive_dir):
        raise InputError(
            f"inventory {config.inventory}: is under archive_dir {config.archive_dir}; "
            "move one of them in the config"
        )
    tree = repo.tree_entries(head)
    for special in (config.inventory, manifest_path(config)):
        found = _tree_file(tree, special)
        if found is not None and found.mode not in ("100644", "100755"):
            raise InputError(
                f"{special}: is not a regular file in HEAD (mode {found.mode}); make it one, or "
                "point the config elsewhere"
            )
    manifest = read_manifest(repo, config, head)  # a malformed one is refused here
    scan = run_scan(repo, config, rev=head, entries=tree, use_cache=use_cache)
    need: set[str] = set()
    lanes_in = lane_families(scan)
    folding = {d.family for d in scan.decisions if d.retention == "compress" and d.family in lanes_in}
    for fam in scan.families:
        if fam.id in folding:  # every member: a lane's lines new to the family come first
            need.update(scan.briefs[m].blob for m in fam.members)
    inv = _tree_file(tree, config.inventory)
    if inv is not None:
        need.add(inv.blob)
    raw = repo.read_blobs(sorted(need))
    texts = {k: v for k, v in raw.items() if isinstance(v, bytes)}
    before = texts.get(inv.blob) if inv else None
    plan = build_plan(scan, tree, manifest, texts, before)
    if not plan.empty and (before is None or _has_inventory_block(before)):
        from compactor.inventory import tree_block

        block = tree_block(repo, config, tree, use_cache)
        plan = with_inventory_block(plan, before, block)
    return plan


def with_inventory_block(plan: Plan, inventory_before: bytes | None, block: str) -> Plan:
    """The plan with its inventory write also carrying the regenerated inventory block."""
    from dataclasses import replace

    writes = tuple(
        replace(w, data=fold_into_inventory(inventory_before, plan.folds, plan.head, block, w.path))
        if w.path == plan.inventory else w
        for w in plan.writes
    )
    return replace(plan, writes=writes)


def _has_inventory_block(data: bytes) -> bool:
    from compactor.inventory import INVENTORY_BLOCK

    return find_block(data.decode("utf-8", "surrogateescape"), INVENTORY_BLOCK) is not None


# -- applying -----------------------------------------------------------------------------------


CONFIG_FILES = (".compactor.yaml", "pyproject.toml")


def config_at(repo: Repo, rev: str) -> tuple[Config, str | None]:
    """The config that commit ``rev``'s files give (``config.load_config`` on its tree)."""
    texts = {name: _committed_text(repo, rev, name) for name in CONFIG_FILES}
    return config_from_texts(texts[".compactor.yaml"], texts["pyproject.toml"])


def _committed_text(repo: Repo, rev: str, name: str) -> str | None:
    """The text of file ``name`` in commit ``rev``, a committed symlink followed inside the
    tree as the work tree's config file is read (``config.load_config``); None when absent,
    not a file, or linked out of the tree (the work tree's copy is refused then)."""
    path = name
    for _ in range(8):  # a chain of links; a loop ends here
        entry = repo.tree_entry(rev, path)
        if entry is None:
            return None
        data = repo.read_blobs([entry.blob]).get(entry.blob)
        if not isinstance(data, bytes):
            return None
        if entry.mode != "120000":
            return decode(data)[0] if entry.mode in ("100644", "100755") else None
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path),
                                                   data.decode("utf-8", "surrogateescape")))
        if target == ".." or target.startswith(("../", "/")):
            return None
        path = target
    return None


def uncommitted_config(repo: Repo, config: Config, source: str | None, head: str) -> str | None:
    """The config file whose uncommitted state makes ``config`` (read from the work tree,
    from ``source``) differ from HEAD's, or None when HEAD's files give the same config.

    The compaction commit is built on HEAD's tree, so its branch carries HEAD's config:
    made with another one, its inventory and manifest would not be what ``compactor
    inventory --check`` expects there."""
    try:
        theirs, their_source = config_at(repo, head)
    except ConfigError:  # HEAD's config does not even load: the work tree's differs
        return source or CONFIG_FILES[0]
    if theirs == config:
        return None
    # the file that decides: of the two that gave the configs, the one read first (a
    # .compactor.yaml deleted and not committed is named, not the pyproject.toml now read)
    return next((f for f in CONFIG_FILES if f in (source, their_source)), CONFIG_FILES[0])


def default_branch(repo: Repo, head: str) -> str:
    return f"compactor/compact-{repo.text('rev-parse', '--short', head)}"


def check_apply(repo: Repo, branch: str, force: bool) -> str | None:
    """Refuse an unsafe apply (exit 2); returns the branch's current commit (None: new)."""
    if not repo.is_valid_branch_name(branch):
        raise RefusedError(f"{branch}: not a valid branch name; pass another with --branch NAME")
    op = repo.operation_in_progress()
    if op is not None:
        raise RefusedError(
            f"a {op} is in progress in {repo.root}; finish or abort it (git {op} --continue / "
            f"--abort), then compact"
        )
    if repo.head() is None:
        raise RefusedError(
            f"{repo.root}: HEAD has no commits yet; commit the docs first, then compact"
        )
    ref = f"refs/heads/{branch}"
    old = repo.ref_value(ref)
    if old is not None and repo.branch() == branch:
        raise RefusedError(
            f"{branch}: is the branch checked out here; compact onto another with --branch NAME"
        )
    if old is not None and not force:
        raise RefusedError(
            f"{branch}: branch already exists; pass --force to replace it, or --branch NAME"
        )
    return old


def commit_message(plan: Plan) -> str:
    subject = (
        f"compactor: fold {len(plan.folds)} lane{_s(len(plan.folds))} into {plan.inventory}, "
        f"archive {len(plan.moves)} file{_s(len(plan.moves))}"
    )
    body = [f"Compacted from {plan.head}."]
    if plan.families:
        body.append("Families folded: " + ", ".join(
            f"{f.id} ({len(f.folded)} of {plural(f.lanes, 'lane')})" for f in plan.families) + ".")
    body.append(f"Manifest: {plan.manifest}. Restore any file byte-exact with "
                "'compactor restore PATH|LANE|--all'.")
    return subject + "\n\n" + "\n".join(body) + "\n"


def apply_compaction(repo: Repo, plan: Plan, branch: str, *, force: bool = False) -> Applied:
    """Build the plan's ONE commit on top of its HEAD and point ``branch`` at it, last."""
    old = check_apply(repo, branch, force)
    if not repo.has_identity():
        raise RefusedError(
            "git does not know who you are, so it cannot write the commit; set "
            "'git config user.name' and 'git config user.email', then compact"
        )
    if repo.head() != plan.head:
        raise RefusedError(f"HEAD moved since the plan was made ({plan.head[:12]}); run again")
    changes = plan.changes()
    for w in plan.writes:
        changes.append((w.path, w.mode, repo.write_blob(w.data)))
    tree = repo.build_tree(plan.head, changes)
    commit = repo.commit_tree(tree, plan.head, commit_message(plan))
    repo.update_ref(f"refs/heads/{branch}", commit, old, "compactor compact")
    return Applied(branch, commit, old)


# -- what people read --------------------------------------------------------------------------


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{round(x * 100)}%"


def diff_summary(plan: Plan) -> list[str]:
    """``git diff --name-status``-like lines of the compaction commit."""
    lines = [f"D  {path_for_humans(f.path)}" for f in plan.folds]
    lines += [f"R  {path_for_humans(m.path)} -> {path_for_humans(m.target)}" for m in plan.moves]
    lines += [f"{'M' if w.existed else 'A'}  {path_for_humans(w.path)}" for w in plan.writes]
    return lines


def plan_text(plan: Plan, branch: str, applied: Applied | None = None) -> str:
    c = plan.counts
    kept = f"keep {c.get('keep', 0)}, mostly-keep {c.get('mostly-keep', 0)}"
    if plan.unlaned:
        kept += f", {plan.unlaned} repeated without a lane id"
    kept += " (left alone)"
    if plan.empty:
        out = [f"compaction of HEAD {plan.head[:12]}: {kept}"]
        if plan.already_folded:
            out.append(f"({plan.already_folded} lanes were folded by earlier compactions)")
        out.append("nothing to compact: no lanes to fold, no ACK files to archive; "
                   "no commit created")
        return "\n".join(out)
    out = [
        f"compaction of HEAD {plan.head[:12]}: {kept}; "
        f"fold {len(plan.folds)} lane{_s(len(plan.folds))} into {plan.inventory}; "
        f"archive {len(plan.moves)} file{_s(len(plan.moves))} under {plan_archive_dir(plan)}/"
    ]
    if plan.already_folded:
        out.append(f"({plan.already_folded} lanes were folded by earlier compactions)")
    for fam in plan.families:
        out.append("")
        out.append(f"family {fam.id}: fold {len(fam.folded)} of {fam.lanes} lanes; "
                   f"keep {', '.join(fam.kept)}")
        folds = [f for f in plan.folds if f.family == fam.id]
        w = max([10, *(len(path_for_humans(f.lane or "-")) for f in folds)])  # longest lane id
        for f in folds:
            # a restatement's shape novelty measures nothing (scan shows "—" too): its reason
            novelty = "—" if f.restates is not None else _pct(f.novelty)
            why = f"{_restated_text(f)}; " if f.restates is not None else ""
            out.append(f"  fold  {path_for_humans(f.lane or '-'):<{w}} {f.phase or '-':<11} "
                       f"novelty {novelty:>4}  {path_for_humans(f.path)}  "
                       f"({why}{_unique_text(f)})")
    if plan.moves:
        out.append("")
        out.append("archive (content unchanged):")
        for m in plan.moves:
            out.append(f"  {path_for_humans(m.path)} -> {path_for_humans(m.target)}")
    out.append("")
    summary = diff_summary(plan)
    out.append(f"diff: {len(plan.folds)} deleted, {len(plan.moves)} renamed, "
               f"{sum(not w.existed for w in plan.writes)} added, "
               f"{sum(w.existed for w in plan.writes)} modified")
    out += [f"  {line}" for line in summary]
    out.append("")
    if applied is None:
        out.append(f"dry run: nothing changed; 'compactor compact --apply' creates branch {branch}")
    else:
        was = f" (was {applied.replaced[:12]})" if applied.replaced else ""
        out.append(f"created branch {applied.branch}{was}: one commit {applied.commit[:12]} on "
                   f"top of {plan.head[:12]}; your checkout, index and branch are unchanged")
        out.append(f"review it with 'git show --stat {applied.branch}', push it and open a pull "
                   "request")
    return "\n".join(out)


def _restated_text(f: Fold) -> str:
    """Why a restatement member is folded: what it says again, and how alike in words."""
    cosine = f", cosine {down(f.cosine, 2):.2f}" if f.cosine is not None else ""
    return f"restates {path_for_humans(f.restates or '')} in other words{cosine}"


def _unique_text(f: Fold) -> str:
    n = f.unique_count
    if f.more:
        return f"{n} unique lines, {len(f.unique_lines)} listed"
    return f"{n} unique line{_s(n)} kept"


def plan_archive_dir(plan: Plan) -> str:
    return plan.manifest.rsplit("/", 1)[0]


def pr_body(plan: Plan, branch: str) -> str:
    """The pull-request description of a compaction (markdown)."""
    c = plan.counts
    arch = plan_archive_dir(plan)
    out = [
        f"## Compaction of {plan.head[:12]}",
        "",
        f"`compactor compact` folded {len(plan.folds)} renamed-but-similar "
        f"lane{_s(len(plan.folds))} into `{plan.inventory}` and archived {len(plan.moves)} "
        f"ACK file{_s(len(plan.moves))} under `{arch}/`. Nothing is lost: every file keeps its "
        f"blob id in `{plan.manifest}`, and each folded lane's entry in the inventory lists the "
        "lines its family's exemplar does not have.",
        "",
        "| | files |",
        "|---|---:|",
        f"| kept (keep) | {c.get('keep', 0)} |",
        f"| kept (mostly-keep: establishing and still-novel lanes) | {c.get('mostly-keep', 0)} |",
        f"| folded into the inventory | {len(plan.folds)} |",
        f"| archived | {len(plan.moves)} |",
        "",
    ]
    if plan.families:
        out += ["### Families folded", "", "| family | lanes | folded | kept |", "|---|---:|---|---|"]
        for fam in plan.families:
            out.append(f"| {fam.id} | {fam.lanes} | {', '.join(fam.folded)} | "
                       f"{', '.join(fam.kept)} |")
        out.append("")
    if plan.moves:
        out += ["### Files archived", ""]
        out += [f"- `{path_for_humans(m.path)}` → `{path_for_humans(m.target)}`"
                for m in plan.moves]
        out.append("")
    first = plan.folds[0] if plan.folds else None
    example = first.path if first else (plan.moves[0].path if plan.moves else "PATH")
    out += [
        "### How to restore",
        "",
        f"After checking out `{branch}` (or once it is merged):",
        "",
        "```bash",
        f"compactor restore {path_for_humans(example)}   # one file, by its original path",
    ]
    if first is not None and first.lane:
        out.append(f"compactor restore {first.lane}   # by lane id")
    out += [
        "compactor restore --all   # every folded and archived file",
        "compactor verify          # CI: every blob of the manifest is still reachable",
        "```",
        "",
        "Restored files are written to the working tree byte-exact from their blob ids.",
    ]
    return "\n".join(out) + "\n"
