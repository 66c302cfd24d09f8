"""The one door to git.

Every git call of the package goes through this module. It speaks git plumbing
directly (``ls-files``, ``cat-file --batch``, one ``log`` pass) because that is
what a pre-commit hook can afford on every commit: no per-file calls, nothing
read from the working tree that the index does not hold.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from compactor.errors import CompactorError, InputError, NotARepoError, RefusedError

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
SHALLOW_RANGE = ("the range reaches past this shallow clone: fetch the whole history or the base "
                 "(git fetch --unshallow, or git fetch origin BASE; actions/checkout: "
                 "fetch-depth: 0)")


class GitError(CompactorError):
    """A git command failed."""


class IndexEntry(NamedTuple):
    """One index (or tree) entry. A named tuple: a warm hook builds 10k of these."""

    mode: str
    blob: str
    stage: int
    path: str


def _run(
    cwd: Path | str,
    args: Sequence[str],
    *,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    full_env = None
    if env is not None:
        full_env = {**os.environ, **env}
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=input,
            capture_output=True,
            env=full_env,
        )
    except FileNotFoundError:
        raise CompactorError("git is not installed or not on PATH; install git first") from None
    return _checked(proc, args, check)


def _checked(
    proc: subprocess.CompletedProcess[bytes], args: Sequence[str], check: bool
) -> subprocess.CompletedProcess[bytes]:
    if check and proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        first = msg[-1] if msg else f"exit {proc.returncode}"
        raise GitError(f"git {args[0]} failed: {first}")
    return proc


_HEAD = ("rev-parse", "--verify", "-q", "HEAD^{commit}")
_INDEX = ("ls-files", "-s", "-z")


def _added_args(base: str | None, cached: bool, head: str | None) -> tuple[str, ...]:
    if cached:
        return ("diff", "--cached", "--name-status", "-z", "--no-renames", "--diff-filter=A",
                base or EMPTY_TREE)
    return ("diff", "--name-status", "-z", "--no-renames", "--diff-filter=A",
            base or EMPTY_TREE, head or "HEAD")


def _moved_args(base: str | None, cached: bool, head: str | None) -> tuple[str, ...]:
    args = ("diff", "--name-status", "-z", "--find-renames=100%", "--diff-filter=R")
    if cached:
        return (*args, "--cached", base or EMPTY_TREE)
    return (*args, base or EMPTY_TREE, head or "HEAD")


def _head_of(proc: subprocess.CompletedProcess[bytes]) -> str | None:
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def _added_paths(out: bytes) -> list[bytes]:
    """The paths of ``git diff --name-status -z`` output."""
    fields = [f for f in out.split(b"\0") if f]
    return [fields[i + 1] for i in range(0, len(fields) - 1, 2)]


def _blobs_of(listing: bytes, paths: Sequence[bytes]) -> list[str]:
    """The blob ids of ``paths`` (stage 0) in ``ls-files -s -z`` output, in their order
    (a guess: a path not found as a whole record is left out)."""
    out: list[str] = []
    for p in paths:
        at = listing.find(b"\t" + p + b"\0")
        if at < 0:
            continue
        meta = listing[listing.rfind(b"\0", 0, at) + 1 : at].split(b" ")
        if len(meta) == 3 and meta[2] == b"0":
            out.append(meta[1].decode("ascii", "replace"))
    return list(dict.fromkeys(out))


# staged briefs up to this size are read ahead (the gate fingerprints what it has not seen)
_AHEAD_BYTES = 256 * 1024

_Key = tuple[tuple[str, ...], bytes | None]
_Answer = subprocess.CompletedProcess[bytes] | BaseException


class _Ahead:
    """Read-only git commands run one after another on a thread while the caller does
    other work: the staged-change gate starts its first git reads (HEAD, the paths the
    change adds and moves, the index listing, then the added files' sizes and contents)
    while Python imports numpy. Each answer goes to the next call with the same
    arguments and input (``take``); any other call runs git itself. Nothing here writes:
    an answer taken is the one that call would have got."""

    def __init__(self, root: Path) -> None:
        import threading

        self._root = root
        self._cond = threading.Condition()
        self._coming: dict[_Key, int] = {(_HEAD, None): 1}  # answers still to come
        self._done: dict[_Key, list[_Answer]] = {}
        threading.Thread(target=self._work, name="compactor-git-ahead", daemon=True).start()

    def _one(self, key: _Key) -> _Answer:
        try:
            return _run(self._root, key[0], input=key[1], check=False)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            return exc

    def _give(self, key: _Key, got: _Answer, then: Sequence[_Key] = ()) -> None:
        with self._cond:
            self._coming[key] -= 1
            for more in then:  # announced with the answer: the caller waits for them
                self._coming[more] = self._coming.get(more, 0) + 1
            self._done.setdefault(key, []).append(got)
            self._cond.notify_all()

    def _work(self) -> None:
        try:
            key: _Key = (_HEAD, None)
            got = self._one(key)
            if not isinstance(got, subprocess.CompletedProcess):
                self._give(key, got)
                return
            head = _head_of(got)
            added, index = (_added_args(head, True, None), None), (_INDEX, None)
            # in the order the gate asks: HEAD again when its scan starts
            plan = [added, (_moved_args(head, True, None), None), index, (_HEAD, None)]
            self._give(key, got, plan)
            answers: dict[_Key, _Answer] = {}
            for key in plan:
                answers[key] = got = self._one(key)
                self._give(key, got)
            try:
                self._read_added(answers[added], answers[index])
            except Exception:  # noqa: BLE001 - only a read ahead: the caller reads itself
                pass
        finally:
            with self._cond:
                self._coming.clear()  # nothing more is coming: callers run git themselves
                self._cond.notify_all()

    def _read_added(self, added: _Answer, index: _Answer) -> None:
        """The sizes, then the contents, of the files the change adds (what the gate
        reads to fingerprint a staged brief; asked the same way ``read_blobs`` asks)."""
        if not (isinstance(added, subprocess.CompletedProcess) and added.returncode == 0
                and isinstance(index, subprocess.CompletedProcess) and index.returncode == 0):
            return
        blobs = _blobs_of(index.stdout, sorted(_added_paths(added.stdout)))
        if not blobs:
            return
        sizes: _Key = (("cat-file", "--batch-check"), ("\n".join(blobs) + "\n").encode())
        with self._cond:
            self._coming[sizes] = self._coming.get(sizes, 0) + 1
        got = self._one(sizes)
        small = []
        if isinstance(got, subprocess.CompletedProcess) and got.returncode == 0:
            for line in got.stdout.splitlines():
                parts = line.split(b" ")
                if (len(parts) == 3 and parts[1] == b"blob" and parts[2].isdigit()
                        and int(parts[2]) <= _AHEAD_BYTES):
                    small.append(parts[0].decode("ascii", "replace"))
        contents: _Key = (("cat-file", "--batch"), ("\n".join(small) + "\n").encode())
        self._give(sizes, got, [contents] if small == blobs else [])
        if small == blobs:
            self._give(contents, self._one(contents))

    def take(self, key: _Key) -> subprocess.CompletedProcess[bytes] | None:
        """The next answer for ``key`` (waiting for it when it is coming), or None."""
        with self._cond:
            while not self._done.get(key) and self._coming.get(key, 0) > 0:
                self._cond.wait()
            answers = self._done.get(key)
            got = answers.pop(0) if answers else None
        if isinstance(got, BaseException):
            raise got
        return got


class Background:
    """A git command running while the caller does other work; its output goes to a
    temporary file (no pipe to drain meanwhile). ``wait`` returns it; ``stop`` ends it."""

    def __init__(self, cwd: Path, args: Sequence[str]) -> None:
        import tempfile  # not on the paths that never start one (the hook's warm path)

        self.args = list(args)
        self._cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._out = tempfile.TemporaryFile()
            try:
                self._err = tempfile.TemporaryFile()
            except OSError:
                self._out.close()
                raise
        except OSError:  # no usable temp dir: run it in the foreground when asked
            return
        try:
            self._proc = subprocess.Popen(["git", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                                          stdout=self._out, stderr=self._err)
        except FileNotFoundError:
            self._close_files()
            raise CompactorError("git is not installed or not on PATH; install git first") from None

    def wait(self) -> bytes:
        if self._proc is None:
            return _run(self._cwd, self.args).stdout
        try:
            code = self._proc.wait()
            self._out.seek(0)
            out = self._out.read()
            self._err.seek(0)
            err = self._err.read().decode("utf-8", "replace").strip().splitlines()
        finally:
            self._close_files()
        if code != 0:
            raise GitError(f"git {self.args[0]} failed: {err[-1] if err else f'exit {code}'}")
        return out

    def done(self) -> bool:
        """Whether the command has finished (``wait`` then returns at once)."""
        return self._proc is not None and self._proc.poll() is not None

    def stop(self) -> None:
        """End the command if it still runs (the caller gave up on it)."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._close_files()

    def _close_files(self) -> None:
        self._out.close()
        self._err.close()


def _own_env() -> dict[str, str]:
    """The environment without variables that would point git at another repository."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def write_history(root: Path, branch: str, stream: Callable[[str | None], Iterable[bytes]]) -> None:
    """Append commits to ``branch`` of the repo at ``root`` (created when missing) with one
    ``git fast-import``, then check the branch out (``reset --hard``).

    ``stream(parent)`` yields the fast-import input for ``refs/heads/<branch>`` on top of
    ``parent`` (the branch's commit, else HEAD's, else None). Used by the demo's generated
    loop repos (``compactor.demo.example``); no git config is read or written.
    """
    root.mkdir(parents=True, exist_ok=True)
    env = _own_env()

    def git(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True)
        if check and done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"git {args[0]} failed in {root}: {err[-1] if err else done.returncode}")
        return done

    def rev(ref: str) -> str | None:
        done = git("rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False)
        return done.stdout.decode().strip() if done.returncode == 0 else None

    if not (root / ".git").exists():
        git("init", "-q", "-b", branch)
    ref = f"refs/heads/{branch}"
    parent = rev(ref) or rev("HEAD")
    # Speed: blobs are streamed (no delta search against the previous blob), light zlib, and
    # a malloc top pad so glibc does not shrink and regrow the heap for every object.
    chunks = iter(stream(parent))
    first = next(chunks, None)
    if first is not None:
        fi_env = {**env, "MALLOC_TOP_PAD_": env.get("MALLOC_TOP_PAD_", str(64 << 20))}
        proc = subprocess.Popen(
            ["git", "-c", "pack.compression=1", "fast-import", "--quiet", "--done",
             "--big-file-threshold=1"], cwd=root, env=fi_env, stdin=subprocess.PIPE)
        assert proc.stdin is not None
        try:
            proc.stdin.write(first)
            for chunk in chunks:
                proc.stdin.write(chunk)
        finally:
            proc.stdin.close()
        if proc.wait() != 0:
            raise GitError(f"git fast-import failed in {root} (exit {proc.returncode})")
    git("symbolic-ref", "HEAD", ref)
    if rev("HEAD"):
        git("-c", "core.autocrlf=false", "reset", "-q", "--hard")


def find_root(path: Path | str | None = None) -> Path:
    """The top of the work tree containing ``path`` (default: the current directory)."""
    return _probe(path)[0]


def _probe(path: Path | str | None) -> tuple[Path, Path | None, bool | None]:
    """``find_root``, and from the same git call the common git dir and shallowness."""
    where = Path(path) if path is not None else Path.cwd()
    if not where.exists():
        raise NotARepoError(f"{where}: no such directory; pass an existing path to -C/--repo")
    if where.is_file():
        where = where.parent
    proc = _run(where, ["rev-parse", "--is-bare-repository", "--show-toplevel", "--git-common-dir",
                        "--is-shallow-repository"], check=False)
    out = proc.stdout.decode("utf-8", "replace").split("\n")
    # git prints --is-bare-repository before failing on --show-toplevel, so look first
    if out and out[0].strip() == "true":
        raise NotARepoError(
            f"{where}: is a bare repository; compactor needs a work tree (clone it, or use "
            "git worktree add)"
        )
    if out and out[0].strip() == "false" and proc.returncode != 0:
        raise NotARepoError(
            f"{where}: is inside a .git directory, not a work tree; "
            "run compactor from the work tree"
        )
    if proc.returncode != 0:
        raise NotARepoError(
            f"{where}: not inside a git repository; run compactor inside one or pass -C/--repo PATH"
        )
    if len(out) < 2 or not out[1].strip():
        raise NotARepoError(
            f"{where}: is inside a .git directory, not a work tree; run compactor from the work tree"
        )
    common = Path(where, out[2].strip()).resolve() if len(out) > 3 and out[2].strip() else None
    shallow = {"true": True, "false": False}.get(out[3].strip()) if len(out) > 3 else None
    return Path(out[1].strip()), common, shallow


class Repo:
    """A work tree and its git directory."""

    def __init__(self, root: Path, common: Path | None = None, shallow: bool | None = None) -> None:
        self.root = root
        self._common = common  # known from discover(): one git call fewer on the hook's path
        self._shallow = shallow
        self._ahead: _Ahead | None = None

    def start_staged_reads(self) -> None:
        """Start the first git reads of a staged-change check on a thread (see
        :class:`_Ahead`): the caller imports the rest of compactor meanwhile."""
        if self._ahead is None:
            self._ahead = _Ahead(self.root)

    def _git(self, args: Sequence[str], check: bool = True, input: bytes | None = None
             ) -> subprocess.CompletedProcess[bytes]:
        """``git args`` (fed ``input``): the answer read ahead when there is one."""
        got = self._ahead.take((tuple(args), input)) if self._ahead is not None else None
        if got is None:
            return _run(self.root, args, input=input, check=check)
        return _checked(got, args, check)

    @classmethod
    def discover(cls, path: Path | str | None = None) -> Repo:
        return cls(*_probe(path))

    # -- basic plumbing -------------------------------------------------
    def run(
        self,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> bytes:
        if env is None:
            return self._git(args, check=check, input=input).stdout
        return _run(self.root, args, input=input, env=env, check=check).stdout

    def text(self, *args: str) -> str:
        return self.run(*args).decode("utf-8", "replace").strip()

    def git_dir(self) -> Path:
        return Path(self.root, self.text("rev-parse", "--git-dir")).resolve()

    def common_dir(self) -> Path:
        if self._common is None:
            self._common = Path(self.root, self.text("rev-parse", "--git-common-dir")).resolve()
        return self._common

    def head(self) -> str | None:
        """The commit HEAD points to, or None in a repo with no commits yet."""
        return _head_of(self._git(_HEAD, check=False))

    def resolve(self, rev: str) -> str:
        proc = _run(self.root, ["rev-parse", "--verify", "-q", f"{rev}^{{commit}}"], check=False)
        if proc.returncode != 0:
            if self.head() is None:
                raise RefusedError(
                    f"{rev}: {self.root} has no commits yet; commit first, then run again"
                )
            raise RefusedError(f"{rev}: not a commit in {self.root}; check the revision name")
        return proc.stdout.decode().strip()

    def resolve_range(self, spec: str) -> tuple[str, str]:
        """A commit range -> (base, tip) commits: ``A..B``; ``A...B`` from the merge base
        of A and B (what a pull request adds); ``A..`` and ``..B`` (HEAD for the side
        left out). In a shallow clone a revision or merge base that lies past the clone's
        edge is named as such, with what to fetch."""
        three = "..." in spec
        base, sep, tip = spec.partition("..." if three else "..")
        if not sep or tip.startswith(".") or base.endswith(".") or not (base or tip):
            raise InputError(
                f"--range {spec!r}: expected A..B, A...B (from their merge base), A.. or ..B "
                "(e.g. origin/main...HEAD)"
            )
        base, tip = base or "HEAD", tip or "HEAD"
        base_id, tip_id = self._range_end(spec, base), self._range_end(spec, tip)
        if not three:
            return base_id, tip_id
        proc = _run(self.root, ["merge-base", base_id, tip_id], check=False)
        merge = proc.stdout.decode().strip()
        if proc.returncode != 0 or not merge:
            if self.is_shallow():
                raise RefusedError(f"--range {spec!r}: no merge base of {base} and {tip} here: "
                                   f"{SHALLOW_RANGE}")
            raise RefusedError(f"--range {spec!r}: {base} and {tip} have no common history; "
                               f"use {base}..{tip} to compare their trees")
        return merge, tip_id

    def _range_end(self, spec: str, rev: str) -> str:
        proc = _run(self.root, ["rev-parse", "--verify", "-q", f"{rev}^{{commit}}"], check=False)
        if proc.returncode == 0:
            return proc.stdout.decode().strip()
        if self.is_shallow():
            raise RefusedError(f"--range {spec!r}: {rev} is not in this clone: {SHALLOW_RANGE}")
        return self.resolve(rev)

    def is_shallow(self) -> bool:
        if self._shallow is None:
            self._shallow = self.text("rev-parse", "--is-shallow-repository") == "true"
        return self._shallow

    def branch(self) -> str | None:
        proc = _run(self.root, ["symbolic-ref", "-q", "--short", "HEAD"], check=False)
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def parents(self, rev: str) -> list[str]:
        """The parents of commit ``rev`` (two or more: a merge commit; none in a shallow
        clone's oldest commit)."""
        out = self.text("rev-list", "--parents", "-n", "1", rev, "--")
        return out.split()[1:]

    def operation_in_progress(self) -> str | None:
        """'merge', 'rebase', 'cherry-pick' or 'revert' when one is under way."""
        gd = self.git_dir()
        for name, what in (
            ("MERGE_HEAD", "merge"),
            ("rebase-merge", "rebase"),
            ("rebase-apply", "rebase"),
            ("CHERRY_PICK_HEAD", "cherry-pick"),
            ("REVERT_HEAD", "revert"),
        ):
            if (gd / name).exists():
                return what
        return None

    def commit_time(self) -> int:
        """The time git would stamp a commit made now: GIT_COMMITTER_DATE when set, else now."""
        if not os.environ.get("GIT_COMMITTER_DATE"):
            return int(time.time())
        proc = _run(self.root, ["var", "GIT_COMMITTER_IDENT"], check=False)
        parts = proc.stdout.decode("utf-8", "replace").strip().rsplit(" ", 2)
        if proc.returncode == 0 and len(parts) == 3 and parts[1].lstrip("-").isdigit():
            return int(parts[1])
        raise CompactorError(
            "GIT_COMMITTER_DATE is set but git cannot read it; fix or unset the variable"
        )

    # -- the index and blobs --------------------------------------------
    def index_entries(self) -> list[IndexEntry]:
        """Every entry of the index (what the next commit will hold)."""
        out = self.run(*_INDEX)
        entries = []
        stages = {"0": 0, "1": 1, "2": 2, "3": 3}
        # one decode for the whole listing (paths as _decode_path decodes them; the
        # metadata is ASCII), then plain string splits: a warm hook lists 10k entries
        for rec in out.decode("utf-8", "surrogateescape").split("\0"):
            if not rec:
                continue
            meta, _, path = rec.partition("\t")
            mode, blob, stage = meta.split(" ")
            entries.append(IndexEntry(mode, blob, stages[stage] if stage in stages else int(stage), path))
        return entries

    def index_blob(self, path: str) -> str | None:
        """The blob id the index holds for ``path`` as a regular file (stage 0), or None."""
        out = self.run("ls-files", "-s", "-z", "--", f":(literal){path}")
        for rec in out.split(b"\0"):
            meta, _, name = rec.partition(b"\t")
            parts = meta.split(b" ")
            if name == path.encode("utf-8", "surrogateescape") and len(parts) == 3 and \
                    parts[0] in (b"100644", b"100755") and parts[2] == b"0":
                return parts[1].decode()
        return None

    def stored_blob(self, path: str, data: bytes) -> str:
        """The blob id git would store for ``data`` at ``path`` (core.autocrlf and
        .gitattributes applied; nothing written)."""
        return self.run("hash-object", f"--path={path}", "--stdin", input=data).decode().strip()

    def converted_on_checkout(self, paths: Sequence[str]) -> list[str]:
        """The ``paths`` whose bytes ``git checkout`` would convert (core.autocrlf=true,
        core.eol=crlf, or a text / eol / filter attribute): one ``check-attr`` call."""
        if not paths:
            return []
        crlf = any(_run(self.root, ["config", "--get", key], check=False).stdout.strip().lower()
                   in want for key, want in (("core.autocrlf", (b"true",)),
                                             ("core.eol", (b"crlf",))))
        if crlf:
            return list(paths)
        data = "".join(f"{p}\0" for p in paths).encode("utf-8", "surrogateescape")
        out = self.run("check-attr", "-z", "--stdin", "text", "eol", "filter", "working-tree-encoding",
                       input=data).split(b"\0")
        hits: set[str] = set()
        for i in range(0, len(out) - 2, 3):
            if out[i + 2] not in (b"unspecified", b"unset"):
                hits.add(_decode_path(out[i]))
        return [p for p in paths if p in hits]

    def checkout_bytes(self, path: str, blob: str) -> bytes:
        """What ``git checkout`` writes for ``blob`` at ``path`` (eol conversion, smudge)."""
        return self.run("cat-file", "--filters", f"--path={path}", blob)

    def is_tracked(self, path: str) -> bool:
        """Whether the index holds ``path`` as a regular file (one git call)."""
        out = self.run("ls-files", "-s", "-z", "--", f":(literal){path}")
        return any(rec.split(b" ", 1)[0] in (b"100644", b"100755") and
                   rec.partition(b"\t")[2] == path.encode("utf-8", "surrogateescape")
                   for rec in out.split(b"\0") if rec)

    def tree_entries(self, rev: str) -> list[IndexEntry]:
        """Every blob of a commit's tree, as index-like entries (stage 0)."""
        out = self.run("ls-tree", "-r", "-z", "--full-tree", rev)
        entries = []
        for rec in out.split(b"\0"):
            if not rec:
                continue
            meta, _, path = rec.partition(b"\t")
            mode, typ, blob = meta.decode().split(" ")
            if typ == "blob":
                entries.append(IndexEntry(mode, blob, 0, _decode_path(path)))
        return entries

    def tree_entry(self, rev: str, path: str) -> IndexEntry | None:
        """The entry of one path in a commit's tree (None when absent or not a file)."""
        proc = _run(self.root, ["ls-tree", "-z", "--full-tree", rev, "--", path], check=False)
        if proc.returncode != 0:
            return None
        for rec in proc.stdout.split(b"\0"):
            meta, _, raw = rec.partition(b"\t")
            parts = meta.decode().split(" ")
            if len(parts) == 3 and parts[1] == "blob" and _decode_path(raw) == path:
                return IndexEntry(parts[0], parts[2], 0, path)
        return None

    def blobs_of(self, paths: Sequence[str], rev: str | None = None) -> dict[str, str]:
        """Path -> blob id of ``paths`` in the index (or in commit ``rev``), one call."""
        if not paths:
            return {}
        if rev is None:
            args = ["--literal-pathspecs", "ls-files", "-s", "-z", "--", *paths]
        else:
            args = ["--literal-pathspecs", "ls-tree", "-z", "--full-tree", rev, "--", *paths]
        out: dict[str, str] = {}
        for rec in self.run(*args).split(b"\0"):
            meta, _, raw = rec.partition(b"\t")
            parts = meta.decode().split(" ")
            if len(parts) == 3:
                blob = parts[1] if rev is None else parts[2]
                if rev is None and parts[2] not in ("0", "2"):
                    continue
                out[_decode_path(raw)] = blob
        return out

    def read_blobs(self, blobs: Iterable[str], limit: int | None = None) -> dict[str, bytes | int]:
        """Contents of many blobs from ONE ``cat-file --batch`` process.

        A blob larger than ``limit`` bytes is not read; its size (an int) is
        returned in place of its bytes.
        """
        wanted = list(dict.fromkeys(blobs))
        if not wanted:
            return {}
        result: dict[str, bytes | int] = {}
        sizes = self._blob_sizes(wanted) if limit is not None else {}
        small = [b for b in wanted if limit is None or sizes.get(b, 0) <= limit]
        for b in wanted:
            if limit is not None and sizes.get(b, 0) > limit:
                result[b] = sizes[b]
        if small:
            out = self.run("cat-file", "--batch", input=("\n".join(small) + "\n").encode())
            pos = 0
            for b in small:
                nl = out.index(b"\n", pos)
                header = out[pos:nl].split(b" ")
                if len(header) < 3 or header[1] != b"blob":
                    raise GitError(f"blob {b} is missing from the object database; run git fsck")
                size = int(header[2])
                start = nl + 1
                result[b] = out[start : start + size]
                pos = start + size + 1
        return result

    def _blob_sizes(self, blobs: list[str]) -> dict[str, int]:
        out = self.run("cat-file", "--batch-check", input=("\n".join(blobs) + "\n").encode())
        sizes = {}
        for line in out.decode().splitlines():
            parts = line.split(" ")
            if len(parts) == 3:
                sizes[parts[0]] = int(parts[2])
        return sizes

    def blob_exists(self, blob: str) -> bool:
        return _run(self.root, ["cat-file", "-e", f"{blob}^{{blob}}"], check=False).returncode == 0

    # -- history ----------------------------------------------------------
    def creation_times(
        self, since: str | None = None, upto: str = "HEAD", known: dict[str, int] | None = None
    ) -> dict[str, int]:
        """Committer time of the commit that first added each path, from ONE ``git log`` pass.

        The committer time, not the author time: it is what the hook stamps a staged
        file with (``commit_time``), and ``git commit --date`` does not set it, so a
        loop cannot space its laps apart with one flag (``families.pause_veto``).

        A path deleted and added again keeps its earliest time; a renamed file
        keeps the time of its original add (git's default rename detection).
        ``since`` limits the pass to ``since..upto`` (an incremental update of
        an earlier answer).
        """
        job = self.start_creation_log(since, upto)
        return parse_creation_log(job.wait(), known) if job is not None else {}

    def start_creation_log(self, since: str | None = None, upto: str = "HEAD") -> Background | None:
        """The ``git log`` pass of :meth:`creation_times`, started in the background
        (None when there are no commits); parse its output with ``parse_creation_log``."""
        if self.head() is None:
            return None
        spec = f"{since}..{upto}" if since else upto
        args = ("log", "--reverse", "-z", "-M", "--no-merges", "--format=%x01%ct", "--name-status",
                spec, "--")
        return Background(self.root, args)

    def is_ancestor(self, older: str, newer: str) -> bool:
        args = ["merge-base", "--is-ancestor", older, newer]
        return _run(self.root, args, check=False).returncode == 0

    def diff_added(self, base: str | None, cached: bool = True, head: str | None = None) -> list[str]:
        """Paths added by the staged change (index vs ``base``) or by ``base..head``."""
        return [_decode_path(p) for p in _added_paths(self.run(*_added_args(base, cached, head)))]

    # -- compaction plumbing (a new commit without touching the checkout) ------
    def has_uncommitted_changes(self) -> bool:
        """Whether the index or a tracked file of the work tree differs from HEAD."""
        out = self.run("--no-optional-locks", "status", "--porcelain", "-z", "-uno")
        return bool(out.strip(b"\0"))

    def missing_blobs(self, blobs: Iterable[str]) -> set[str]:
        """The blob ids of ``blobs`` that the object database does not hold (one process)."""
        wanted = list(dict.fromkeys(blobs))
        if not wanted:
            return set()
        proc = _run(self.root, ["cat-file", "--batch-check"], check=False,
                    input=("\n".join(wanted) + "\n").encode())
        if proc.returncode != 0:
            if not self.is_partial_clone():
                err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
                raise GitError(f"git cat-file failed: {err[-1] if err else proc.returncode}")
            # a partial clone whose promisor remote cannot send a blob (offline, gone):
            # git dies on the first one, so list what is here instead (no fetching)
            out = self.run("cat-file", "--batch-all-objects", "--batch-check=%(objectname) "
                           "%(objecttype)", env={"GIT_NO_LAZY_FETCH": "1"})
            here = {line.split(" ")[0] for line in out.decode("ascii", "replace").splitlines()
                    if line.endswith(" blob")}
            return {b for b in wanted if b not in here}
        found = set()
        for line in proc.stdout.decode("utf-8", "replace").splitlines():
            parts = line.split(" ")
            if len(parts) == 3 and parts[1] == "blob":
                found.add(parts[0])
        return {b for b in wanted if b not in found}

    def is_partial_clone(self) -> bool:
        """Whether objects may be missing on purpose (``git clone --filter``)."""
        proc = _run(self.root, ["config", "--get", "extensions.partialClone"], check=False)
        if proc.returncode == 0 and proc.stdout.strip():
            return True
        proc = _run(self.root, ["config", "--get-regexp", r"^remote\..*\.promisor$"], check=False)
        return any(line.rstrip().endswith(" true")
                   for line in proc.stdout.decode("utf-8", "replace").splitlines())

    def write_blob(self, data: bytes) -> str:
        """Store ``data`` as a blob in the object database; returns its id."""
        return self.run("hash-object", "-w", "--stdin", input=data).decode().strip()

    def build_tree(self, base: str, changes: Sequence[tuple[str, str, str | None]]) -> str:
        """The tree of commit ``base`` with ``changes`` applied: (path, mode, blob or None).

        A blob of None removes the path. Works in a temporary index file inside
        the git directory, removed afterwards whatever happens: the real index,
        the work tree and every ref stay as they were.
        """
        import shutil
        import tempfile

        git_dir = self.git_dir()
        sweep_temporary_indexes(git_dir)
        with _stopped_by_signals():  # SIGTERM / SIGHUP: the finally below still runs
            tmp = Path(tempfile.mkdtemp(prefix=TEMP_INDEX_PREFIX, dir=git_dir))
            try:
                env = {"GIT_INDEX_FILE": str(tmp / "index")}
                self.run("read-tree", base, env=env)
                records = []
                for path, mode, blob in changes:
                    raw = path.encode("utf-8", "surrogateescape")
                    if blob is None:
                        records.append(b"0 " + b"0" * 40 + b"\t" + raw + b"\0")
                    else:
                        records.append(f"{mode} {blob}".encode() + b"\t" + raw + b"\0")
                if records:
                    self.run("update-index", "-z", "--index-info", input=b"".join(records),
                             env=env)
                return self.run("write-tree", env=env).decode().strip()
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

    def commit_tree(self, tree: str, parent: str, message: str) -> str:
        """A new commit object (author and committer from git's usual config); no ref moves."""
        return self.run("commit-tree", tree, "-p", parent, "-F", "-",
                        input=message.encode()).decode().strip()

    def ref_value(self, ref: str) -> str | None:
        """The object a full ref name points to, or None when it does not exist."""
        proc = _run(self.root, ["rev-parse", "--verify", "-q", ref], check=False)
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def update_ref(self, ref: str, new: str, old: str | None, message: str) -> None:
        """Point ``ref`` at ``new`` only if it still holds ``old`` (None: only if it is absent)."""
        proc = _run(self.root, ["update-ref", "-m", message, ref, new, old or ""], check=False)
        if proc.returncode != 0:  # lost a race: another process moved or created the ref
            raise RefusedError(
                f"{ref}: changed while compactor was working (another process?); "
                "it was left as it is: check it and run again"
            )

    def has_identity(self) -> bool:
        """Whether git can name an author and a committer for a new commit."""
        return all(
            _run(self.root, ["var", v], check=False).returncode == 0
            for v in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT")
        )

    def is_valid_branch_name(self, name: str) -> bool:
        proc = _run(self.root, ["check-ref-format", "--branch", name], check=False)
        return proc.returncode == 0 and not name.startswith("-")

    def diff_moved(
        self, base: str | None, cached: bool = True, head: str | None = None
    ) -> dict[str, str]:
        """Exact renames (content unchanged) in the staged change or ``base..head``: new -> old."""
        fields = [f for f in self.run(*_moved_args(base, cached, head)).split(b"\0") if f]
        return {
            _decode_path(fields[i + 2]): _decode_path(fields[i + 1])
            for i in range(0, len(fields) - 2, 3)
        }


TEMP_INDEX_PREFIX = "compactor-index-"
TEMP_INDEX_MAX_AGE = 3600.0  # seconds: older ones were left by a killed run
_TEMP_INDEX_NAME = re.compile(r"compactor-index-[A-Za-z0-9_]{8}")  # tempfile.mkdtemp's names


def sweep_temporary_indexes(git_dir: Path, now: float | None = None) -> list[str]:
    """Remove compactor's own temporary index directories older than an hour (a run
    killed with SIGKILL leaves one): only directories named like mkdtemp's, never a
    symlink, never anything else. Returns the names removed."""
    import shutil

    now = time.time() if now is None else now
    removed: list[str] = []
    try:
        names = os.listdir(git_dir)
    except OSError:
        return removed
    for name in names:
        if not _TEMP_INDEX_NAME.fullmatch(name):
            continue
        path = git_dir / name
        try:
            st = os.lstat(path)
        except OSError:
            continue
        import stat

        if not stat.S_ISDIR(st.st_mode) or now - st.st_mtime < TEMP_INDEX_MAX_AGE:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(name)
    return removed


class _Stopped(BaseException):
    """SIGTERM or SIGHUP arrived while compactor held a temporary index."""


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """Turn SIGTERM / SIGHUP into an exception while the block runs, so ``finally``
    clauses remove temporary files; the signal is re-raised with its default action
    afterwards (the process still ends as the sender asked)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        got.append(signum)
        raise _Stopped

    wanted = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
              if s is not None]
    old = {s: signal.signal(s, stop) for s in wanted}
    try:
        yield
    except _Stopped:
        pass
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    if got:  # after the caller's cleanup: end the way the signal asked
        signal.signal(got[0], signal.SIG_DFL)
        os.kill(os.getpid(), got[0])
        raise CompactorError("stopped by a signal")  # pragma: no cover - the kill ends us


def parse_creation_log(out: bytes, known: dict[str, int] | None = None) -> dict[str, int]:
    """Parse ``git log --reverse -z --format=%x01%ct --name-status`` output.

    ``known`` is an earlier answer that the log continues (it is not modified). A path
    added more than once (deleted and added again, or added on two branches since merged)
    keeps its earliest time, not the first the log lists: git lists merged branches by
    date, so "first listed" would differ between one full pass and an incremental one
    that goes on from a cached ancestor (a warm scan and a cold one disagreeing).
    """
    created: dict[str, int] = dict(known or {})
    for chunk in out.split(b"\x01"):
        if not chunk:
            continue
        head, _, rest = chunk.partition(b"\n")
        try:
            when = int(head.strip(b"\0\n"))
        except ValueError:
            continue
        fields = [f for f in rest.lstrip(b"\n").split(b"\0")]
        it: Iterator[bytes] = iter(fields)
        for status in it:
            status = status.strip(b"\n")
            if not status:
                continue
            code = status[:1]
            if code in (b"R", b"C"):
                old = _decode_path(next(it, b""))
                new = _decode_path(next(it, b""))
                t = created.get(old, when)
                if created.get(new, t) >= t:
                    created[new] = t
            elif code == b"A":
                path = _decode_path(next(it, b""))
                if created.get(path, when) >= when:
                    created[path] = when
            else:
                next(it, None)
    return created


def _decode_path(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")
