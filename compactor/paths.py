"""The one containment rule for every path a repository names.

compactor reads and writes files that the repository itself names — the
config's ``inventory``, ``archive_dir`` and ``template``, the compaction
manifest's entries (``restore`` targets), ``closeout --output``, the config
file. A repository is untrusted: a pull request can commit a symlink, a
manifest or a config. So every such path passes one rule before it is used:

- it is relative, has no ``..`` that leaves the work tree, no NUL byte;
- no component is ``.git`` in any spelling git itself refuses (any case,
  trailing dots or spaces, NTFS short name ``git~1``, an NTFS stream suffix,
  characters HFS+ ignores): git does not track such paths, and a write there
  reaches git's own files (hooks, config);
- after following symlinks at every component it is still inside the work
  tree and outside ``.git``;
- a write never goes through a symlink at any component (nor a read that the
  caller marks ``links=False``, such as a template).

A violation is :class:`PathRefused` (exit 2): one line naming the path, what
is wrong with it and the option or manifest entry that asked for it. The
check runs before anything is written.

Import-light on purpose: ``config.py`` (the hook's path) uses it.
"""

from __future__ import annotations

import os
from pathlib import Path

from compactor.errors import InputError

# Code points HFS+ ignores when comparing names (git's is_hfs_dotgit list), plus BOM.
_IGNORABLE = dict.fromkeys(
    [0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
     0x206A, 0x206B, 0x206C, 0x206D, 0x206E, 0x206F, 0xFEFF, 0x200B],
)


class PathRefused(InputError):
    """A path named by the repository (config, manifest) or an option leaves the work
    tree, reaches into ``.git`` or goes through a symlink."""


def is_dotgit(part: str) -> bool:
    """Whether one path component is ``.git`` as git (or a case-insensitive,
    Windows or macOS file system) would see it."""
    name = part.translate(_IGNORABLE).split(":", 1)[0].casefold().rstrip(". ")
    return name in (".git", "git~1")


def lexical(value: str) -> tuple[str | None, str]:
    """``value`` as a clean repo-relative posix path, or (None, what is wrong with it)."""
    if "\0" in value:
        return None, "holds a NUL byte"
    text = value.replace("\\", "/")
    if text.startswith("/") or (len(text) >= 2 and text[1] == ":" and text[0].isalpha()):
        return None, "is an absolute path"
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None, "leaves the work tree"
            parts.pop()
            continue
        if is_dotgit(part):
            return None, "reaches into .git"
        parts.append(part)
    if not parts:
        return None, "is the work tree itself, not a file in it"
    return "/".join(parts), ""


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _refuse(shown: str, problem: str, asked_by: str, verb: str = "write") -> PathRefused:
    from compactor.files import path_for_humans

    return PathRefused(
        f"{path_for_humans(shown)}: {problem}; refusing to {verb} there (named by {asked_by}; "
        "compactor only uses paths inside the work tree, outside .git, with no symlink on the "
        "way)"
    )


def contained(root: Path, value: str, asked_by: str, *, write: bool = False,
              links: bool = True) -> Path:
    """The file ``value`` (relative to the work tree ``root``) names, checked.

    ``asked_by`` says who named it (``option 'inventory'``, ``manifest entry
    '…'``, ``--output``). ``write``: no symlink at any component. ``links``
    False: not even for a read. Raises :class:`PathRefused`; touches nothing.
    """
    verb = "write" if write else "read"
    clean, problem = lexical(value)
    if clean is None:
        raise _refuse(value, problem, asked_by, verb)
    base = os.path.realpath(root)
    current = base
    parts = clean.split("/")
    for k, part in enumerate(parts):
        step = os.path.join(current, part)
        if os.path.islink(step):
            prefix = "/".join(parts[: k + 1])
            if write or not links:
                problem = (
                    "is a symlink; compactor only writes regular files" if k == len(parts) - 1
                    else f"goes through the symlink {prefix!r}"
                )
                raise _refuse(clean, problem, asked_by, verb)
            target = os.path.realpath(step)
            if not _inside(target, base):
                raise _refuse(clean, f"goes through the symlink {prefix!r} to outside the "
                              "work tree", asked_by, verb)
            inner = os.path.relpath(target, base)
            if inner != "." and any(is_dotgit(p) for p in inner.split(os.sep)):
                raise _refuse(clean, f"goes through the symlink {prefix!r} into .git", asked_by,
                              verb)
            step = target
        current = step
    if not _inside(current, base):  # pragma: no cover - the walk above keeps it inside
        raise _refuse(clean, "leaves the work tree", asked_by, verb)
    return Path(root, *parts)


def read_bytes(root: Path, value: str, asked_by: str, *, links: bool = True) -> bytes | None:
    """A contained file's bytes, None when it does not exist. A directory or other
    non-file is refused (exit 2)."""
    path = contained(root, value, asked_by, links=links)
    if not path.exists():
        return None
    if not path.is_file():
        raise _refuse(value, "is not a regular file", asked_by, "read")
    try:
        return path.read_bytes()
    except OSError as exc:
        from compactor.files import path_for_humans

        raise InputError(f"{path_for_humans(value)}: cannot read it ({exc.strerror or exc}); "
                         "check its permissions") from None


def write_bytes(root: Path, value: str, data: bytes, asked_by: str,
                mode: int | None = None) -> Path:
    """Write ``data`` to a contained path atomically (a temp file beside it, then a
    rename: a symlink in the final place is replaced, never followed). Keeps an existing
    file's mode unless ``mode`` is given; a new file gets 0644. OSError passes through
    for the caller to word; a refused path is :class:`PathRefused` before anything."""
    import tempfile

    path = contained(root, value, asked_by, write=True)
    if path.is_dir():
        raise _refuse(value, "is a directory", asked_by)
    _make_dirs(root, path.parent)
    if mode is None:
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    # the temp name is the file's first 100 bytes, not all of them: git holds names up to
    # 255 bytes, and the name plus the temp's prefix and suffix must fit the same limit
    short = os.fsdecode(os.fsencode(path.name)[:100])
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{short}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _make_dirs(root: Path, directory: Path) -> None:
    """mkdir -p below ``root``, refusing to pass a symlink made meanwhile."""
    missing: list[Path] = []
    d = directory
    while not d.exists() and d != root and d.parent != d:
        missing.append(d)
        d = d.parent
    for d in reversed(missing):
        os.mkdir(d)
    if os.path.islink(directory):  # pragma: no cover - a race with another process
        raise OSError(f"{directory} became a symlink")



def outside_git(value: str, git_dirs: tuple[Path, ...], asked_by: str) -> None:
    """Refuse a file an option names (read from the current directory) that is inside
    one of git's own directories (``git_dirs``; :class:`PathRefused`), or that is a folder
    or in no existing folder (:class:`InputError`). Unlike the paths a repository names it
    may be anywhere else (a temporary file for ``gh pr create --body-file``); it is
    refused before anything is done, not after a compaction branch is made."""
    from compactor.files import path_for_humans

    target = os.path.realpath(value)
    for git in {os.path.realpath(d) for d in git_dirs}:
        if _inside(target, git):
            raise PathRefused(f"{path_for_humans(value)}: {asked_by} must not be inside git's "
                              f"own directory ({git}); write it elsewhere, e.g. a temporary file")
    if os.path.isdir(target) or not os.path.isdir(os.path.dirname(target)):
        where = "a folder" if os.path.isdir(target) else "a file in no existing folder"
        raise InputError(f"{path_for_humans(value)}: {asked_by} names {where}; give a file in "
                         "a folder that exists, e.g. a temporary file")
