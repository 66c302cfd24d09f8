"""Stage 1: which files of the index (or of a commit) are briefs to read.

Files come from git, never from the working tree: the index for scans and the
hook (what the next commit holds), a commit's tree for ``--range``. Symlinks
are never followed; submodules are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from compactor.errors import Warning, path_for_humans
from compactor.git import IndexEntry

if TYPE_CHECKING:  # config imports this module (to check globs)
    from compactor.config import Config

__all__ = ["Selection", "glob_regex", "in_dir", "matches", "path_for_humans", "select", "unmatched"]


@dataclass(frozen=True)
class Selection:
    entries: tuple[IndexEntry, ...]
    warnings: tuple[Warning, ...]


def glob_regex(pattern: str) -> str:
    """Translate a path glob (``*``, ``?``, ``[...]``, ``**``) to a regex for posix paths."""
    i, out = 0, []
    pattern = pattern.lstrip("/")
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@lru_cache(maxsize=32)
def _matcher(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """The globs as one regex: on ``re`` when every glob is tame, else time-bounded
    (patterns.py: a glob cannot hang the hook)."""
    from compactor.patterns import compile_user, glob_is_tame, tidy_glob

    if not patterns:
        return None
    tidy = [tidy_glob(p) for p in patterns]
    # the alternation grouped: ``\Z`` ends every glob, not only the last one
    return compile_user("(?:" + "|".join(f"(?:{glob_regex(p)})" for p in tidy) + r")\Z",
                        re.DOTALL,
                        "include/exclude", trusted=all(glob_is_tame(p) for p in tidy))


@lru_cache(maxsize=32)
def _literals(patterns: tuple[str, ...]) -> tuple[str, ...] | None:
    """For each glob, the longest run of its characters that every path it matches
    contains as they are (None when some glob has none, like ``*``)."""
    from compactor.patterns import tidy_glob

    out = []
    for pattern in patterns:
        # what is not a plain character: a wildcard, a bracket (or a lone '[') or a
        # backslash — left out, so each piece left is matched literally
        # ('**/' with its slash: it matches nothing at all too)
        pieces = re.split(r"\*\*/|\*+|\?|\[[^\]]*\]?|\\", tidy_glob(pattern).lstrip("/"))
        longest = max(pieces, key=len)
        if not longest:
            return None
        out.append(longest)
    return tuple(out)


def _holding(paths: Sequence[str], literals: tuple[str, ...] | None) -> set[str] | None:
    """The paths containing one of ``literals`` (None: every path may match), found by
    searching all the paths at once instead of asking each one."""
    if literals is None:
        return None
    from bisect import bisect_right

    joined = "\0".join(paths)  # no path holds a NUL
    starts = [0]
    for p in paths[:-1]:
        starts.append(starts[-1] + len(p) + 1)
    found: set[str] = set()
    for lit in literals:
        at = joined.find(lit)
        while at >= 0:
            k = bisect_right(starts, at) - 1
            found.add(paths[k])
            at = joined.find(lit, starts[k + 1]) if k + 1 < len(paths) else -1
    return found


def matches(patterns: Sequence[str], path: str) -> bool:
    m = _matcher(tuple(patterns))
    return bool(m and m.match(path))


def unmatched(patterns: Sequence[str], paths: Sequence[str]) -> list[str]:
    """The globs of ``patterns`` that match none of ``paths``, in their order."""
    return [p for p in dict.fromkeys(patterns) if not any(matches((p,), path) for path in paths)]


def stem_of(path: str) -> str:
    """A path's file name without its extension (``docs/S101-x.md`` -> ``S101-x``)."""
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def in_dir(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def select(config: Config, entries: Sequence[IndexEntry]) -> Selection:
    """The entries that are briefs. Conflicted paths use 'ours' (stage 2)."""
    warnings: list[Warning] = []
    by_path: dict[str, IndexEntry] = {}
    conflicted: set[str] = set()
    for e in entries:
        if e.stage == 0:
            by_path[e.path] = e
        else:
            conflicted.add(e.path)
            if e.stage == 2:
                by_path[e.path] = e
    chosen = []
    include = _matcher(tuple(config.include))
    exclude = _matcher(tuple(config.exclude))
    paths = sorted(by_path)
    # only a path holding one of the excluded globs' literal parts can be excluded
    maybe = _holding(paths, _literals(tuple(config.exclude))) if exclude else set()
    inside = config.archive_dir.rstrip("/") + "/"
    for path in paths:
        e = by_path[path]
        if include is None or not include.match(path):
            continue
        if exclude and (maybe is None or path in maybe) and exclude.match(path):
            continue
        if path == config.archive_dir or path.startswith(inside):
            continue  # already archived by a compaction (in_dir)
        if e.mode == "120000":
            warnings.append(Warning(path, "is a symlink; skipped (compactor never follows links)"))
            continue
        if e.mode == "160000":
            continue
        if path in conflicted:
            warnings.append(Warning(path, "has merge conflicts; read our side"))
        chosen.append(e)
    return Selection(tuple(chosen), tuple(warnings))

