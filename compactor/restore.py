"""After a compaction: bring folded or archived files back, and check nothing was lost.

Both read the manifest that ``compactor compact`` commits
(``<archive_dir>/compactor-manifest.json``) from a commit (HEAD by default),
never from the working tree. ``restore`` writes the original bytes of the files
it names, from their blob ids, into the working tree, and (a clean undo) takes them
out of the manifest's entries and the folded block there, pinning them in the
manifest's ``kept`` list so that the next compaction leaves them in place; ``verify`` checks that every blob
the manifest names is still in the repository, that every archived file and
folded entry it points to is where it says, that the folded block and the
manifest list the same lanes, and that a scan still sees every folded lane.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from compactor.compact import find_block
from compactor.config import Config
from compactor.errors import InputError, RefusedError
from compactor.files import path_for_humans
from compactor.git import IndexEntry, Repo
from compactor.manifest import FOLDED_BLOCK, Entry, Manifest, load, manifest_path, split_folded
from compactor.paths import contained, write_bytes


@dataclass(frozen=True)
class Restored:
    path: str
    lane: str | None
    action: str  # what the compaction did: folded / archived
    written: bool  # False: the file was already there with these bytes


@dataclass(frozen=True)
class Undone:
    """What a restore did: the files written back, and (a clean undo) the manifest and
    inventory updated and the archived copies removed in the work tree."""

    restored: tuple[Restored, ...]
    updated: tuple[str, ...] = ()  # the manifest / inventory, rewritten without the entries
    removed: tuple[str, ...] = ()  # archived copies deleted (they held the same bytes)

    def to_stage(self) -> list[str]:
        """Every path the restore changed: what ``git add`` needs to commit the undo."""
        return sorted({*(r.path for r in self.restored if r.written), *self.updated,
                       *self.removed})


@dataclass(frozen=True)
class Verified:
    entries: int
    problems: tuple[str, ...]
    manifest_found: bool


def _manifest_in(repo: Repo, config: Config, rev: str) -> tuple[Manifest, list[IndexEntry],
                                                                 bool]:
    """The manifest of ``rev``, its tree, and whether it has a manifest at all."""
    tree = repo.tree_entries(repo.resolve(rev))
    where = manifest_path(config)
    for e in tree:
        if e.path == where:
            return load(repo, e.blob, where), tree, True
    return Manifest(), tree, False


def select_entries(entries: Mapping[str, Entry], targets: Sequence[str],
           prefix: str = "") -> list[str]:
    """Manifest paths named by ``targets`` (original paths, archive locations or lane ids).

    ``prefix`` is the current directory relative to the repository root: a
    path is tried as given (from the root) and then below it. Unknown targets
    are refused, naming them all.
    """
    chosen: list[str] = []
    unknown: list[str] = []
    for target in targets:
        t = target.replace("\\", "/").removeprefix("./")
        candidates = [t] + ([f"{prefix.rstrip('/')}/{t}"] if prefix else [])
        hits = [c for c in candidates if c in entries]
        if not hits:
            hits = [p for p, e in entries.items() if e.location in candidates]
        if not hits:
            hits = [p for p, e in entries.items() if e.lane and e.lane.lower() == t.lower()]
        if not hits:
            unknown.append(target)
        for h in sorted(hits):
            if h not in chosen:
                chosen.append(h)
    if unknown:
        raise InputError(
            f"{', '.join(unknown)}: not in the compaction manifest; name an original path, an "
            "archived path or a lane id it lists (or pass --all)"
        )
    return chosen


def _safe_target(root: Path, path: str, where: str) -> Path:
    """Where a manifest entry is restored to, by the containment rule (``paths.py``)."""
    return contained(root, path, _named_by(path, where), write=True)


def _named_by(path: str, where: str) -> str:
    return f"manifest entry {json.dumps(path, ensure_ascii=False)} in {where}"


def restore(
    repo: Repo,
    config: Config,
    targets: Sequence[str],
    *,
    everything: bool = False,
    force: bool = False,
    rev: str = "HEAD",
    prefix: str = "",
    keep_manifest: bool = False,
) -> Undone:
    """Write the original bytes of the named manifest entries into the work tree.

    Checks everything first — known names, blobs present, no different file in
    the way (unless ``force``) — and writes only when all is well. Then, unless
    ``keep_manifest``, undoes the compaction of those files in the work tree: their
    entries leave the manifest and the inventory's folded block, and an archived
    copy holding the same bytes is deleted — so committing the restore adds the
    files back as they were, not as new lanes.
    """
    manifest, tree, found = _manifest_in(repo, config, rev)
    entries = manifest.by_path()
    if not found:
        raise InputError(
            f"{manifest_path(config)}: no compaction manifest in {rev}; nothing was compacted "
            "there (check out the compacted branch, or pass --rev)"
        )
    paths = sorted(entries) if everything else select_entries(entries, targets, prefix)
    missing = repo.missing_blobs(entries[p].blob for p in paths)
    if missing:
        names = [path_for_humans(p) for p in paths if entries[p].blob in missing]
        raise InputError(
            f"{', '.join(names)}: blob missing from the repository; fetch the full history "
            "(git fetch --unshallow) and retry"
        )
    data = repo.read_blobs(entries[p].blob for p in paths)
    converted = set(repo.converted_on_checkout(paths))  # CRLF, smudge: what checkout writes
    plan: list[tuple[str, Path, bytes, bool]] = []
    clashes: list[str] = []
    where = manifest_path(config)
    for p in paths:
        dest = _safe_target(repo.root, p, where)
        raw = data[entries[p].blob]
        content = raw if isinstance(raw, bytes) else b""
        if p in converted:
            content = repo.checkout_bytes(p, entries[p].blob)
        same = False
        try:
            if dest.is_symlink() or dest.is_dir():
                raise RefusedError(
                    f"{path_for_humans(p)}: a directory or symlink is in the way; move it, "
                    "then restore"
                )
            if dest.exists():
                same = dest.read_bytes() == content
                if not same and not force:
                    clashes.append(path_for_humans(p))
        except OSError as exc:  # a name past the system's limits, a folder it may not read
            raise InputError(f"{path_for_humans(p)}: cannot read what is there "
                             f"({exc.strerror or exc}); nothing was restored") from None
        plan.append((p, dest, content, not same))
    if clashes:
        raise RefusedError(
            f"{', '.join(clashes)}: exists with other content; pass --force to overwrite, or "
            "move it first"
        )
    out: list[Restored] = []
    for p, _dest, content, write in plan:
        entry = entries[p]
        if write:
            try:
                write_bytes(repo.root, p, content, _named_by(p, where),
                            mode=0o755 if entry.mode == "100755" else None)
            except OSError as exc:
                done = ", ".join(path_for_humans(r.path) for r in out if r.written) or "none"
                raise InputError(
                    f"{path_for_humans(p)}: cannot write it ({exc.strerror or exc}); fix that "
                    f"and run restore again (already restored: {done})"
                ) from None
        out.append(Restored(p, entry.lane, entry.action, write))
    if keep_manifest:
        return Undone(tuple(out))
    contents = {p: content for p, _dest, content, _write in plan}
    # the inventory block is regenerated only for an undo on top of HEAD (the work tree's)
    head = (tree, manifest) if repo.resolve(rev) == repo.head() else None
    return _undo(repo, config, [entries[r.path] for r in out], tuple(out), contents, head)


def _undo(repo: Repo, config: Config, done: Sequence[Entry], restored: tuple[Restored, ...],
          contents: Mapping[str, bytes],
          head: tuple[Sequence[IndexEntry], Manifest] | None = None) -> Undone:
    """Take the restored entries out of the work tree's manifest and folded block (pinning
    them in its ``kept`` list), delete archived copies that hold the restored bytes, and —
    given HEAD's tree, ``head`` — regenerate the inventory block for HEAD plus this undo,
    so that the commit of the undo is fresh for ``compactor inventory --check``."""
    from compactor.blocks import MarkerError, read_block, replace_block
    from compactor.inventory import INVENTORY_BLOCK, tree_block
    from compactor.manifest import dump, folded_block, parse
    from compactor.paths import read_bytes

    root, where = repo.root, manifest_path(config)
    paths = {e.path for e in done}
    updated: list[str] = []
    data = read_bytes(root, where, "config archive_dir")
    manifest_after: bytes | None = None
    after: Manifest | None = None
    if data is not None:
        before = parse(data, where)
        after = before.keeping(paths)  # and pinned: the next compaction leaves them back
        manifest_after = dump(after)
        if after != before:
            write_bytes(root, where, manifest_after, "config archive_dir")
            updated.append(where)
    removed: list[str] = []
    for e in done:
        if e.folded or e.location == e.path:
            continue
        copy = contained(root, e.location, _named_by(e.path, where), write=True)
        if copy.is_file() and not copy.is_symlink() and copy.read_bytes() == contents[e.path]:
            copy.unlink()
            removed.append(e.location)
    folded = {e.path for e in done if e.folded}
    raw = read_bytes(root, config.inventory, "config inventory")
    if raw is not None:
        text = new = raw.decode("utf-8", "surrogateescape")
        try:
            block = read_block(text, FOLDED_BLOCK, config.inventory)
            entries = split_folded(block)
            if block is not None and folded & set(entries):
                kept = [t for p, t in entries.items() if p not in folded]
                new = replace_block(text, FOLDED_BLOCK, folded_block(kept), config.inventory)
            if head is not None and after is not None and _has_block(new, config):
                tree = _tree_after(repo, config, *head, after, manifest_after or b"")
                new = replace_block(new, INVENTORY_BLOCK, tree_block(repo, config, tree),
                                    config.inventory)
        except MarkerError as exc:
            raise MarkerError(f"{exc.message}; the files are restored, the inventory was "
                              "left as it is") from None
        if new != text:
            write_bytes(root, config.inventory, new.encode("utf-8", "surrogateescape"),
                        "config inventory")
            updated.append(config.inventory)
    return Undone(restored, tuple(updated), tuple(removed))


def _has_block(text: str, config: Config) -> bool:
    from compactor.blocks import read_block
    from compactor.inventory import INVENTORY_BLOCK

    return read_block(text, INVENTORY_BLOCK, config.inventory) is not None


def _tree_after(repo: Repo, config: Config, head: Sequence[IndexEntry], was: Manifest,
                after: Manifest, manifest: bytes) -> list[IndexEntry]:
    """HEAD's files as the commit of the undo will hold them: every file HEAD's manifest
    lists that the work tree's no longer does (this restore's and earlier ones') back at
    its path, each archived copy no longer in the work tree gone, and the manifest
    rewritten (stored as a blob: the scan reads the manifest by its blob id)."""
    root, where = repo.root, manifest_path(config)
    listed = after.by_path()
    back = [e for e in was.entries if e.path not in listed and (root / e.path).is_file()]
    gone = {e.location for e in back
            if not e.folded and e.location != e.path and not (root / e.location).exists()}
    changed = {*(e.path for e in back), *gone, where}
    tree = [e for e in head if e.path not in changed]
    tree += [IndexEntry(e.mode, e.blob, 0, e.path) for e in back]
    tree.append(IndexEntry("100644", repo.write_blob(manifest), 0, where))
    return tree


def verify(repo: Repo, config: Config, rev: str = "HEAD", use_cache: bool = True) -> Verified:
    """Every manifest blob present, every archived file and folded entry where it says."""
    manifest, tree, found = _manifest_in(repo, config, rev)
    problems: list[str] = []
    missing = repo.missing_blobs(e.blob for e in manifest.entries)
    in_tree = {e.path: e for e in tree}
    block: str | None = None
    inventory = in_tree.get(config.inventory)
    if inventory is not None and manifest.folded:
        raw = repo.read_blobs([inventory.blob])[inventory.blob]
        text = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else ""
        block = find_block(text, FOLDED_BLOCK, config.inventory)
    listed = split_folded(block)
    links = {e.path for e in tree if e.mode == "120000"}
    for e in manifest.entries:
        shown = path_for_humans(e.path)
        parts = e.path.split("/")
        through = next(("/".join(parts[:k]) for k in range(1, len(parts) + 1)
                        if "/".join(parts[:k]) in links), None)
        if through is not None:
            problems.append(f"{shown}: goes through the symlink {through!r} committed in {rev}; "
                            "restore would refuse to write it")
        if e.blob in missing:
            problems.append(f"{shown}: blob {e.blob} is missing from the repository")
        if e.action == "archived" and e.location not in in_tree:
            problems.append(
                f"{shown}: archived to {path_for_humans(e.location)}, which is not in {rev}"
            )
        if e.folded:
            if inventory is None:
                problems.append(f"{shown}: folded into {config.inventory}, which is not in {rev}")
            elif e.path not in listed:
                problems.append(f"{shown}: has no entry in the folded block of {config.inventory}")
    for path in listed:
        entry = manifest.get(path)
        if entry is None or not entry.folded:
            problems.append(f"{path_for_humans(path)}: has an entry in the folded block of "
                            f"{config.inventory} but is not folded in the manifest")
    if manifest.folded and not problems:
        problems += _invisible(repo, config, rev, manifest, use_cache)
    return Verified(len(manifest.entries), tuple(problems), found)


def _invisible(repo: Repo, config: Config, rev: str, manifest: Manifest,
               use_cache: bool = True) -> list[str]:
    """Folded lanes a scan of ``rev`` does not see (so no command would count them)."""
    from compactor.scan import run_scan

    scan = run_scan(repo, config, rev=rev, use_cache=use_cache)
    seen = {b.path for b in scan.briefs}
    return [
        f"{path_for_humans(e.path)}: folded, but a scan of {rev} does not see it (its path is "
        "not included, excluded or under archive_dir in the config); restore it or fix the "
        "config" for e in manifest.folded if e.path not in seen
    ]
