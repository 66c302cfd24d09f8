"""The compaction manifest: the one reader, writer and validator of what compaction moved.

``compactor compact`` commits ``<archive_dir>/compactor-manifest.json``: per
original path, the blob id of the file it took out of the tree and what it did
with it (``folded`` into the inventory, or ``archived`` under ``archive_dir``),
its lane, label, family, mode, the commit it was compacted from and its original
creation time; plus the list of compactions, and ``kept``: the paths compaction
leaves in place whatever their retention (a file ``compactor restore`` brought back
stays back; a path listed there by hand is pinned the same way). Every command reads it through
:func:`parse` (or :func:`load`, which caches the parsed records by blob id), and
only :func:`dump` writes it, so compact, restore, verify and the scan agree on
one format.

The inventory's ``compactor:folded`` block holds one entry per folded lane,
each opened by a machine-readable mark (:func:`entry_mark`); the block's
entries are read and rebuilt here as well (:func:`split_folded`,
:func:`folded_block`).
"""

from __future__ import annotations

import hashlib
import json
import marshal
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from compactor.errors import InputError, Warning, path_for_humans
from compactor.paths import lexical
from compactor.store import code_digest

if TYPE_CHECKING:
    from compactor.config import Config
    from compactor.git import IndexEntry, Repo
    from compactor.store import Cache

MANIFEST_NAME = "compactor-manifest.json"
MANIFEST_VERSION = 1
FOLDED = "folded"
ARCHIVED = "archived"
ACTIONS = (FOLDED, ARCHIVED)
MODES = ("100644", "100755")
ENTRY_MARK = "<!-- compactor:folded:lane "
FOLDED_BLOCK = "folded"
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_FIX = "restore it from git history (git log -- PATH) or remove it"


@dataclass(frozen=True)
class Entry:
    """One file a compaction took out of the tree (original ``path`` -> where it went)."""

    path: str
    blob: str
    action: str  # folded | archived
    location: str  # "inventory" for a folded lane, the archived path for an archived file
    mode: str = "100644"
    lane: str | None = None
    label: str | None = None
    family: str | None = None
    source_commit: str | None = None
    created: int | None = None  # the original creation time (epoch seconds); None: not recorded

    @property
    def folded(self) -> bool:
        return self.action == FOLDED


@dataclass(frozen=True)
class Compaction:
    source_commit: str
    folded: int
    archived: int


@dataclass(frozen=True)
class Manifest:
    """The manifest as read (or about to be written). Entries sorted by path."""

    entries: tuple[Entry, ...] = ()
    compactions: tuple[Compaction, ...] = ()
    kept: tuple[str, ...] = ()  # paths compaction leaves in place (restored, or pinned by hand)

    def by_path(self) -> dict[str, Entry]:
        return {e.path: e for e in self.entries}

    def get(self, path: str) -> Entry | None:
        for e in self.entries:
            if e.path == path:
                return e
        return None

    @property
    def folded(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.action == FOLDED)

    @property
    def archived(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.action == ARCHIVED)

    def merged(self, new: Iterable[Entry], compaction: Compaction | None = None) -> Manifest:
        """This manifest with ``new`` entries added (replacing those of the same path)."""
        entries = self.by_path()
        for e in new:
            entries[e.path] = e
        compactions = self.compactions + ((compaction,) if compaction is not None else ())
        kept = tuple(p for p in self.kept if p not in entries)  # compacted again on purpose
        return Manifest(tuple(entries[p] for p in sorted(entries)), compactions, kept)

    def without(self, paths: Iterable[str]) -> Manifest:
        """This manifest with the entries of ``paths`` taken out (a restore)."""
        gone = set(paths)
        return replace(self, entries=tuple(e for e in self.entries if e.path not in gone))

    def keeping(self, paths: Iterable[str]) -> Manifest:
        """This manifest with ``paths`` taken out of its entries and pinned in ``kept`` (a
        restore: the next compaction leaves them in place)."""
        mine = set(paths)
        return replace(self.without(mine), kept=tuple(sorted({*self.kept, *mine})))


def manifest_path(config: Config) -> str:
    return f"{config.archive_dir}/{MANIFEST_NAME}"


# -- reading --------------------------------------------------------------------------------


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(value: str) -> int:
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def _optional_str(raw: Mapping[str, Any], key: str) -> bool:
    return raw.get(key) is None or isinstance(raw.get(key), str)


def _entry(path: Any, raw: Any, where: str) -> Entry:
    bad = f"{where}: entry {path!r}"
    if not isinstance(path, str) or not path or not isinstance(raw, dict):
        raise InputError(f"{bad} needs blob, action and location; {_FIX}")
    ok = (
        isinstance(raw.get("blob"), str)
        and _OBJECT_ID.fullmatch(raw["blob"]) is not None
        and raw.get("action") in ACTIONS
        and isinstance(raw.get("location"), str)
    )
    if not ok:
        raise InputError(f"{bad} needs blob, action and location; {_FIX}")
    for named in (path, raw["location"] if raw["action"] == ARCHIVED else None):
        if named is None:
            continue
        clean, problem = lexical(named)
        if clean != named:  # only clean repo-relative paths outside .git: no restore surprise
            what = problem or "is not a clean repo-relative path"
            if named != path:
                what = f"has location {json.dumps(named)}, which {what}"
            raise InputError(f"{where}: entry {json.dumps(path)} {what}; refusing to use this "
                             f"manifest ({_FIX})")
    mode = raw.get("mode", "100644")
    if mode not in MODES:
        raise InputError(f"{bad}: mode {mode!r} is not a regular file's (100644 or 100755); {_FIX}")
    for key in ("lane", "label", "family"):
        if not _optional_str(raw, key):
            raise InputError(f"{bad}: {key} must be a string or null; {_FIX}")
    source = raw.get("source_commit")
    if source is not None and not (isinstance(source, str) and _OBJECT_ID.fullmatch(source)):
        raise InputError(f"{bad}: source_commit must be a commit id; {_FIX}")
    created = raw.get("created")
    when: int | None = None
    if created is not None:
        try:
            when = _epoch(created) if isinstance(created, str) else None
        except ValueError:
            when = None
        if when is None:
            raise InputError(f"{bad}: created must be an ISO-8601 time; {_FIX}")
    return Entry(path, raw["blob"], raw["action"], raw["location"], mode, raw.get("lane"),
                 raw.get("label"), raw.get("family"), source, when)


def parse(data: bytes | None, where: str) -> Manifest:
    """The manifest stored as ``data`` (empty when None); refuse a malformed one (exit 2)."""
    if data is None:
        return Manifest()
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{where}: is not valid JSON ({exc}); {_FIX}") from None
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number; [[[[…]]]]
        what = "nested too deeply" if isinstance(exc, RecursionError) else \
            "holds a number too long to read"
        raise InputError(f"{where}: is not a compactor manifest ({what}); {_FIX}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("entries"), dict):
        raise InputError(f"{where}: is not a compactor manifest (no 'entries' mapping); {_FIX}")
    version = raw.get("version")
    if version and version != MANIFEST_VERSION:
        raise InputError(
            f"{where}: manifest version {version!r} is not {MANIFEST_VERSION}; upgrade compactor"
        )
    entries = tuple(_entry(p, raw["entries"][p], where) for p in sorted(raw["entries"], key=str))
    compactions = []
    listed = raw.get("compactions", [])
    if not isinstance(listed, list):
        raise InputError(f"{where}: 'compactions' must be a list; {_FIX}")
    for c in listed:
        ok = (isinstance(c, dict) and isinstance(c.get("source_commit"), str)
              and all(type(c.get(k, 0)) is int for k in ("folded", "archived")))
        if not ok:
            raise InputError(f"{where}: a compaction needs source_commit, folded and archived; "
                             f"{_FIX}")
        compactions.append(Compaction(c["source_commit"], c.get("folded", 0),
                                      c.get("archived", 0)))
    listed = raw.get("kept", [])
    if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
        raise InputError(f"{where}: 'kept' must be a list of paths; {_FIX}")
    for named in listed:
        clean, problem = lexical(named)
        if clean != named:
            raise InputError(f"{where}: kept path {json.dumps(named)} "
                             f"{problem or 'is not a clean repo-relative path'}; {_FIX}")
    return Manifest(entries, tuple(compactions), tuple(sorted(set(listed))))


def dump(manifest: Manifest) -> bytes:
    """The manifest file's bytes: deterministic (sorted keys), one trailing newline."""
    entries: dict[str, Any] = {}
    for e in manifest.entries:
        item: dict[str, Any] = {"action": e.action, "blob": e.blob, "location": e.location,
                                "mode": e.mode, "source_commit": e.source_commit}
        if e.action == FOLDED:
            item.update(family=e.family, label=e.label, lane=e.lane)
        elif e.lane is not None:
            item["lane"] = e.lane
        if e.created is not None:
            item["created"] = _iso(e.created)
        entries[e.path] = item
    data = {
        "compactions": [{"archived": c.archived, "folded": c.folded,
                         "source_commit": c.source_commit} for c in manifest.compactions],
        "entries": entries,
        "version": MANIFEST_VERSION,
    }
    if manifest.kept:
        data["kept"] = sorted(manifest.kept)
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def find(entries: Iterable[IndexEntry], config: Config) -> IndexEntry | None:
    """The manifest's entry among a tree's (or the index's) entries, or None."""
    where = manifest_path(config)
    for e in entries:
        if e.path == where and e.stage in (0, 2):
            return e
    return None


def read(repo: Repo, config: Config, rev: str) -> Manifest | None:
    """The manifest committed in ``rev`` (None when there is none)."""
    where = manifest_path(config)
    entry = repo.tree_entry(rev, where)
    if entry is None:
        return None
    return load(repo, entry.blob, where)


def listed_blobs(repo: Repo, config: Config, rev: str, use_cache: bool = True) -> dict[str, str]:
    """Original path -> blob id of every file the manifest committed in ``rev`` lists
    (empty without one): the gate's question, answered from the cached columns."""
    from compactor.store import open_cache

    where = manifest_path(config)
    entry = repo.tree_entry(rev, where)
    if entry is None:
        return {}
    cache = open_cache(repo, use_cache)
    try:
        paths, blobs, _modes, _actions, _created, _kept = _columns(repo, entry.blob, where, cache)
    finally:
        cache.close()
    return dict(zip(paths, blobs, strict=True))


def load(repo: Repo, blob: str, where: str, cache: Cache | None = None) -> Manifest:
    """The manifest stored in ``blob``: from the cache when this blob was parsed before,
    else read, validated (a malformed one is exit 2) and cached."""
    key = _cache_key(blob)
    found = _cached(cache, key, _from_cache)
    if found is not None:
        return found
    raw = repo.read_blobs([blob])[blob]
    manifest = parse(raw if isinstance(raw, bytes) else b"", where)
    if cache is not None and cache.enabled:
        cache.put_blobs({key: _to_cache(manifest)})
    return manifest


_T = TypeVar("_T")


def _cached(cache: Cache | None, key: bytes, decode: Callable[[bytes], _T | None]) -> _T | None:
    """The value stored under ``key``, decoded; None when absent or not a valid value."""
    if cache is None or not cache.enabled:
        return None
    stored = cache.get_blobs([key]).get(key)
    return decode(stored) if stored is not None else None


def _cache_key(blob: str, kind: str = "manifest") -> bytes:
    """The cache key of what this code learned from the manifest stored in ``blob``."""
    return hashlib.blake2b(f"{kind}|{code_digest()}|{blob}".encode(), digest_size=16).digest()


def _to_cache(manifest: Manifest) -> bytes:
    return marshal.dumps((
        [(e.path, e.blob, e.action, e.location, e.mode, e.lane, e.label, e.family,
          e.source_commit, e.created) for e in manifest.entries],
        [(c.source_commit, c.folded, c.archived) for c in manifest.compactions],
        list(manifest.kept),
    ))


def _from_cache(data: bytes) -> Manifest | None:
    """The cached manifest, or None when the value is not one this version wrote."""
    try:
        value = marshal.loads(data)
        rows, comps, kept = value
        if type(kept) is not list or not all(type(p) is str for p in kept):
            return None
        entries = []
        for row in rows:
            path, blob, action, location, mode, lane, label, family, source, created = row
            if not (type(path) is str and type(blob) is str and action in ACTIONS
                    and type(location) is str and mode in MODES
                    and all(v is None or type(v) is str for v in (lane, label, family, source))
                    and (created is None or type(created) is int)):
                return None
            entries.append(Entry(path, blob, action, location, mode, lane, label, family, source,
                                 created))
        compactions = []
        for source, folded, archived in comps:
            if not (type(source) is str and type(folded) is int and type(archived) is int):
                return None
            compactions.append(Compaction(source, folded, archived))
    except (ValueError, TypeError, EOFError):
        return None
    return Manifest(tuple(entries), tuple(compactions), tuple(kept))


# -- what the manifest adds to a scan --------------------------------------------------------


PRESENT = "present"
STATES = (PRESENT, FOLDED, ARCHIVED)


@dataclass(frozen=True)
class Members:
    """The files a compaction took out of the tree, to be scanned again at their original
    paths from their blob ids: folded lanes stay members of their families, archived ACKs
    count as archived. ``times`` holds the creation times the manifest recorded."""

    entries: tuple[IndexEntry, ...]
    states: Mapping[str, str]  # original path -> folded | archived
    times: Mapping[str, int]  # original path -> creation time (when the manifest has it)
    warnings: tuple[Warning, ...]
    kept: frozenset[str] = frozenset()  # paths compaction leaves in place (Manifest.kept)


def scan_members(repo: Repo, config: Config, entries: Sequence[IndexEntry],
                 cache: Cache | None = None) -> Members | None:
    """What the manifest among ``entries`` adds to a scan of them (None: no manifest).

    A path back in ``entries`` (restored) is read from there, not from the manifest. A
    malformed manifest (say, one naming a path outside the work tree) or a blob missing
    from the repository is a warning (the scan goes on without it), never a failure:
    ``compactor verify`` and ``compactor compact`` refuse them with the reason. On the
    hook's warm path this is one cache read of the manifest's columns (by its blob id).
    """
    from compactor.git import IndexEntry

    found = find(entries, config)
    if found is None:
        return None
    where = manifest_path(config)
    try:
        paths, blobs, modes, actions, created, pinned = _columns(repo, found.blob, where, cache)
    except InputError as exc:
        return Members((), {}, {}, (Warning(None, f"{exc.message}; its folded lanes are not "
                                                  "scanned"),))
    if not paths:
        return Members((), {}, {}, (), frozenset(pinned))
    present = {e.path for e in entries}
    wanted = [i for i, p in enumerate(paths) if p not in present]
    missing = _missing(repo, blobs, found.blob, bool(wanted), cache)
    warnings = [Warning(where, f"{path_for_humans(paths[i])}: blob {blobs[i]} is missing from "
                               "the repository; "
                               "not scanned (run 'compactor verify')")
                for i in wanted if blobs[i] in missing]
    kept = [i for i in wanted if blobs[i] not in missing] if missing else wanted
    return Members(
        tuple(IndexEntry(modes[i], blobs[i], 0, paths[i]) for i in kept),
        {paths[i]: actions[i] for i in kept},
        {paths[i]: created[i] for i in kept if created[i] >= 0},
        tuple(warnings),
        frozenset(pinned),
    )


Columns = tuple[list[str], list[str], list[str], list[str], list[int], list[str]]


def _columns(repo: Repo, blob: str, where: str, cache: Cache | None) -> Columns:
    """(paths, blobs, modes, actions, created or -1, kept paths) of the manifest in ``blob``: from the
    cache (one read) when this code parsed it before, else :func:`load` and cached."""
    key = _cache_key(blob, "manifest-scan")
    found = _cached(cache, key, _columns_from)
    if found is not None:
        return found
    m = load(repo, blob, where, cache)
    cols: Columns = ([e.path for e in m.entries], [e.blob for e in m.entries],
                     [e.mode for e in m.entries], [e.action for e in m.entries],
                     [-1 if e.created is None else e.created for e in m.entries], list(m.kept))
    if cache is not None and cache.enabled:
        cache.put_blobs({key: marshal.dumps(cols)})
    return cols


def _columns_from(data: bytes) -> Columns | None:
    """The cached columns, or None when the value is not one this version wrote."""
    try:
        value = marshal.loads(data)
    except (ValueError, TypeError, EOFError):
        return None
    if type(value) is not tuple or len(value) != 6:
        return None
    paths, blobs, modes, actions, created, kept = value
    if not all(type(c) is list for c in value):
        return None
    n = len(paths)
    if not (len(blobs) == len(modes) == len(actions) == len(created) == n
            and set(map(type, paths)) <= {str} and set(map(type, blobs)) <= {str}
            and set(modes) <= set(MODES) and set(actions) <= set(ACTIONS)
            and set(map(type, created)) <= {int} and set(map(type, kept)) <= {str}):
        return None
    return paths, blobs, modes, actions, created, kept


def _missing(repo: Repo, blobs: list[str], blob: str, needed: bool,
             cache: Cache | None) -> set[str]:
    """The manifest's blobs the repository lacks. That a manifest's blobs are all there
    is cached by its blob id (objects a commit reaches do not go away); a missing one is
    looked for again on every scan (a fetch may bring it)."""
    if not needed:
        return set()
    key = _cache_key(blob, "manifest-blobs")
    if cache is not None and cache.enabled and cache.get_blobs([key]).get(key) == b"all":
        return set()
    missing = repo.missing_blobs(blobs)
    if not missing and cache is not None and cache.enabled:
        cache.put_blobs({key: b"all"})
    return missing


# -- the inventory's folded block -------------------------------------------------------------


FOLDED_HEAD = (
    "## Folded lanes\n\n"
    "Renamed-but-similar lanes that `compactor compact` removed from the tree. Each keeps\n"
    "its blob id; `compactor restore PATH|LANE` brings its original bytes back.\n"
    "Generated: edits inside this block are replaced on the next compaction.\n"
)


def entry_mark(path: str) -> str:
    """The first line of a folded lane's entry in the folded block."""
    # '<' and '>' as JSON escapes: a path can hold neither a marker nor the mark's end
    quoted = json.dumps(path, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return f"{ENTRY_MARK}{quoted} -->"


def split_folded(block: str | None) -> dict[str, str]:
    """The entries of a folded block: original path -> entry text (mark included), in order."""
    entries: dict[str, str] = {}
    if not block:
        return entries
    parts = block.split(ENTRY_MARK)
    for part in parts[1:]:
        head, sep, _rest = part.partition(" -->")
        try:
            path = json.loads(head)
        except json.JSONDecodeError:
            continue
        if sep and isinstance(path, str):
            entries[path] = (ENTRY_MARK + part).rstrip("\n") + "\n"
    return entries


def folded_block(entries: Iterable[str]) -> str:
    """The folded block's content for these entry texts (in order)."""
    return FOLDED_HEAD + "".join("\n" + e for e in entries) + "\n"
