"""Hostile input, odd repositories and faults: every case runs the real CLI.

Each test asserts what a user sees: one line per problem on stderr
(``compactor: warning: <path>: <what>; <what was done>`` or
``compactor: error: ...``), the documented exit code (README "Exit codes"),
no traceback, and — unless the command succeeded — no file, index or ref
changed (the signature cache under the git dir may change).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from conftest import GitRepo, Result, git, run_compactor

from compactor.config import Config
from compactor.git import Repo
from compactor.scan import run_scan

T0 = 1_778_304_756  # 2026-05-09 05:32:36 UTC
EXIT_OK, EXIT_BLOCKED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def lane(n: int, action: str = "deploy widget") -> str:
    return (
        f"---\nlane: S{n:03d}\naction: {action}\n---\n# S{n:03d} {action}\n\n"
        "## Scope\n\nCheck the route, verify the session and record the tenant for the "
        "envelope. Re-run the replay harness against the staging cluster and compare the "
        "ledger totals with the audited baseline before closing the slice.\n\n"
        "## Proof\n\nThe harness printed matching totals; the audit trail shows no drift.\n"
    )


def lanes(*numbers: int) -> dict[str, str]:
    return {f"docs/lanes/S{n:03d}-deploy-widget.md": lane(n) for n in numbers}


ACK = "ACK, proceed with the next bounded slice.\n"
# every command that reads a repository (demo makes its own)
COMMANDS = [("scan",), ("check",), ("compact",), ("compact", "--apply"), ("verify",),
            ("restore", "--all"), ("report",), ("inventory",), ("inventory", "--check"),
            ("closeout", "S001")]


def loop_repo(repo: GitRepo, *numbers: int) -> None:
    """Lanes S001.. (one renamed-but-similar family) and an ACK, committed."""
    repo.commit(lanes(*(numbers or (1, 2, 3, 4, 5))), when=T0)
    repo.commit({"docs/acks/ack-1.md": ACK}, when=T0 + 60)


def assert_clean(result: Result, code: int, allow: tuple[str, ...] = ()) -> list[str]:
    """The exit code, no traceback, every stderr line a one-line compactor message.

    Returns the compactor lines; ``allow`` names other stderr line prefixes (summaries).
    """
    assert result.code == code, str(result)
    assert "Traceback" not in result.out + result.err
    lines = [line for line in result.err.splitlines() if not (allow and line.startswith(allow))]
    for line in lines:
        assert line.startswith(("compactor: warning: ", "compactor: error: ")), line
    errors = [line for line in lines if line.startswith("compactor: error: ")]
    assert len(errors) == (0 if code in (EXIT_OK, EXIT_BLOCKED) else 1), lines
    return lines


def one_error(result: Result, *fragments: str) -> str:
    """Exit 2 with one error line holding every fragment (the problem and the next step)."""
    lines = assert_clean(result, EXIT_USAGE)
    [error] = [line for line in lines if line.startswith("compactor: error: ")]
    for fragment in fragments:
        assert fragment in error, error
    return error


def compact_branches(repo: GitRepo) -> list[str]:
    out = repo.git("for-each-ref", "--format=%(refname:short)", "refs/heads/compactor/")
    return out.split()


def tree(repo: GitRepo, rev: str) -> dict[str, tuple[str, str]]:
    """path -> (mode, blob) of a commit's tree."""
    out = repo.git("ls-tree", "-r", "-z", "--full-tree", rev)
    entries = {}
    for rec in out.split("\0"):
        if rec:
            meta, path = rec.split("\t", 1)
            mode, _, blob = meta.split(" ")
            entries[path] = (mode, blob)
    return entries


def scan_json(result: Result) -> dict[str, object]:
    data = json.loads(result.out)
    assert isinstance(data, dict)
    return data


def paths(result: Result) -> list[str]:
    return [b["path"] for b in scan_json(result)["briefs"]]  # type: ignore[attr-defined]


# 1 -------------------------------------------------------------------------
def test_not_a_git_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "S001-note.md").write_text(lane(1))
    env = {"GIT_CEILING_DIRECTORIES": str(tmp_path)}
    for command in COMMANDS:
        result = run_compactor(*command, cwd=plain, env=env)
        assert assert_clean(result, EXIT_USAGE) == [
            f"compactor: error: {plain}: not inside a git repository; "
            "run compactor inside one or pass -C/--repo PATH"
        ]
        assert result.out == ""
    missing = tmp_path / "missing"
    result = run_compactor("-C", str(missing), "scan", cwd=plain, env=env)
    assert assert_clean(result, EXIT_USAGE) == [
        f"compactor: error: {missing}: no such directory; pass an existing path to -C/--repo"
    ]
    assert sorted(p.name for p in plain.iterdir()) == ["S001-note.md"]


# 2 -------------------------------------------------------------------------
def test_empty_repo_without_commits(repo: GitRepo) -> None:
    result = run_compactor("scan", cwd=repo.root)
    assert assert_clean(result, EXIT_OK) == []
    assert result.out == "0 briefs, 0 families\n"
    # a staged file in a repo with no commits is scanned from the index, stamped
    # with the time git would give the next commit
    repo.stage(lanes(1))
    before = repo.state()
    result = run_compactor("scan", "--format", "json", cwd=repo.root,
                           env={"GIT_COMMITTER_DATE": f"{T0} +0000"})
    assert assert_clean(result, EXIT_OK) == []
    [brief] = scan_json(result)["briefs"]  # type: ignore[misc]
    assert brief["path"] == "docs/lanes/S001-deploy-widget.md"
    assert brief["created"] == "2026-05-09T05:32:36Z"
    assert repo.state() == before


def test_empty_repo_other_commands(repo: GitRepo) -> None:
    result = run_compactor("check", cwd=repo.root)
    assert assert_clean(result, EXIT_OK) == []
    assert result.out == ""
    result = run_compactor("report", cwd=repo.root)
    assert assert_clean(result, EXIT_OK) == []
    assert "lanes:         0" in result.out.splitlines()
    repo.stage(lanes(1, 2, 3, 4))  # the hook's first commit may already loop
    before = repo.state()
    result = run_compactor("check", cwd=repo.root)
    assert assert_clean(result, EXIT_BLOCKED) == []
    assert result.out.startswith("BLOCKED docs/lanes/S00")
    for command in [("compact",), ("compact", "--apply")]:
        one_error(run_compactor(*command, cwd=repo.root),
                  f"{repo.root}: HEAD has no commits yet", "commit the docs first")
    for command in [("verify",), ("restore", "--all"), ("scan", "--rev", "HEAD")]:
        result = run_compactor(*command, cwd=repo.root)
        assert assert_clean(result, EXIT_USAGE) == [
            f"compactor: error: HEAD: {repo.root} has no commits yet; commit first, then run again"
        ]
    assert repo.state() == before


# 3 -------------------------------------------------------------------------
def test_shallow_clone_warns_and_scans(repo: GitRepo, tmp_path: Path) -> None:
    for n in range(1, 5):
        repo.commit(lanes(n), when=T0 + 3600 * n)
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository").strip() == "true"
    shallow = GitRepo(clone)
    before = shallow.state()
    result = run_compactor("scan", "--format", "json", cwd=clone)
    assert assert_clean(result, EXIT_OK) == [
        "compactor: warning: shallow clone: files added before the oldest fetched commit get "
        "that commit's time; run 'git fetch --unshallow' for exact creation times"
    ]
    briefs = scan_json(result)["briefs"]
    assert len(briefs) == 4  # type: ignore[arg-type]
    # every file predates the clone's one commit, so all get its time
    assert {b["created"] for b in briefs} == {"2026-05-09T09:32:36Z"}  # type: ignore[union-attr]
    shallow_warning = result.err.strip()
    shallow.stage({"docs/notes/plan.md": "# Plan\n\nfree text about the next quarter\n"})
    before = shallow.state()
    result = run_compactor("check", cwd=clone)
    assert assert_clean(result, EXIT_OK) == [shallow_warning]
    result = run_compactor("compact", cwd=clone)
    assert_clean(result, EXIT_OK)
    assert "fold 3 lanes into docs/INVENTORY.md" in result.out
    assert shallow.state() == before


# 4 -------------------------------------------------------------------------
def test_detached_head(repo: GitRepo) -> None:
    repo.commit(lanes(1, 2, 3), when=T0)
    repo.commit(lanes(4), when=T0 + 60)
    on_branch = run_compactor("scan", "--format", "json", cwd=repo.root)
    repo.git("checkout", "-q", "--detach", "HEAD")
    before = repo.state()
    detached = run_compactor("scan", "--format", "json", cwd=repo.root)
    assert assert_clean(detached, EXIT_OK) == []
    assert detached.out == on_branch.out
    older = run_compactor("scan", "--rev", "HEAD~1", cwd=repo.root)
    assert assert_clean(older, EXIT_OK) == []
    assert older.out.splitlines()[0] == "3 briefs, 1 family; mostly-keep 1, compress 2"
    repo.stage({"docs/lanes/S005-deploy-widget.md": lane(5)})
    before = repo.state()
    check = run_compactor("check", cwd=repo.root)
    assert assert_clean(check, EXIT_BLOCKED) == []
    assert check.out.startswith("BLOCKED docs/lanes/S005-deploy-widget.md (S005)")
    head = repo.git("rev-parse", "HEAD").strip()
    applied = run_compactor("compact", "--apply", cwd=repo.root)
    assert assert_clean(applied, EXIT_OK) == [
        "compactor: warning: uncommitted changes are not included: compaction works from HEAD "
        f"({head[:7]}); commit them first to include them"
    ]
    [branch] = compact_branches(repo)
    assert branch == f"compactor/compact-{head[:7]}"
    assert repo.git("rev-parse", f"{branch}^").strip() == head
    # still detached at the same commit, index and files as they were
    assert repo.git("rev-parse", "HEAD").strip() == head
    assert repo.git("status", "--porcelain", "--branch").startswith("## HEAD (no branch)")
    assert repo.state()[1:] == before[1:]


# 5 -------------------------------------------------------------------------
def make_conflict(repo: GitRepo) -> None:
    repo.commit(lanes(1, 2), when=T0)
    target = "docs/lanes/S002-deploy-widget.md"
    repo.git("checkout", "-q", "-b", "other")
    repo.commit({target: lane(2) + "\nTheir extra line.\n"}, when=T0 + 60)
    repo.git("checkout", "-q", "main")
    repo.commit({target: lane(2) + "\nOur extra line.\n"}, when=T0 + 120)
    proc = subprocess.run(["git", "merge", "-q", "other"], cwd=repo.root, capture_output=True)
    assert proc.returncode != 0
    assert (repo.root / ".git" / "MERGE_HEAD").exists()


def test_merge_in_progress_scan_still_works(repo: GitRepo) -> None:
    make_conflict(repo)
    before = repo.state()
    result = run_compactor("scan", "--format", "json", cwd=repo.root)
    assert assert_clean(result, EXIT_OK) == [
        "compactor: warning: docs/lanes/S002-deploy-widget.md: has merge conflicts; read our side"
    ]
    assert paths(result) == [
        "docs/lanes/S001-deploy-widget.md", "docs/lanes/S002-deploy-widget.md"
    ]
    assert repo.state() == before
    # the hook still judges what the merge commit would add
    repo.stage({"docs/lanes/S003-deploy-widget.md": lane(3)})
    before = repo.state()
    check = run_compactor("check", cwd=repo.root)
    assert_clean(check, EXIT_BLOCKED)
    assert check.out.startswith("BLOCKED docs/lanes/S003-deploy-widget.md (S003)")
    assert repo.state() == before
    assert (repo.root / ".git" / "MERGE_HEAD").exists()


def test_merge_in_progress_compact_refuses(repo: GitRepo) -> None:
    make_conflict(repo)
    before = repo.state()
    dry = run_compactor("compact", cwd=repo.root)
    assert ("compactor: warning: a merge is in progress: --apply would refuse until it is "
            "finished") in assert_clean(dry, EXIT_OK)
    assert "fold 1 lane into docs/INVENTORY.md" in dry.out
    one_error(run_compactor("compact", "--apply", cwd=repo.root),
              "a merge is in progress", "finish or abort it (git merge --continue / --abort)")
    assert compact_branches(repo) == []
    assert repo.state() == before
    assert (repo.root / ".git" / "MERGE_HEAD").exists()


# 6 -------------------------------------------------------------------------
def test_bare_repo_is_refused(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit(lanes(1), when=T0)
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.root), str(bare))
    refs = git(bare, "for-each-ref")
    for command in [("scan",), ("check",), ("compact", "--apply"), ("verify",), ("inventory",)]:
        result = run_compactor(*command, cwd=bare)
        assert assert_clean(result, EXIT_USAGE) == [
            f"compactor: error: {bare}: is a bare repository; compactor needs a work tree "
            "(clone it, or use git worktree add)"
        ]
    assert not (bare / "compactor").exists()
    assert git(bare, "for-each-ref") == refs
    # inside the .git directory of a normal repo: not a work tree either
    result = run_compactor("-C", str(repo.root / ".git"), "scan", cwd=repo.root)
    assert assert_clean(result, EXIT_USAGE) == [
        f"compactor: error: {repo.root / '.git'}: is inside a .git directory, not a work tree; "
        "run compactor from the work tree"
    ]


def test_worktree_scans_and_caches_in_the_common_dir(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit(lanes(1, 2, 3), when=T0)
    wt = tmp_path / "wt"
    repo.git("worktree", "add", "-q", "-b", "side", str(wt))
    (wt / "docs/lanes/S004-deploy-widget.md").write_text(lane(4))
    git(wt, "add", "docs/lanes/S004-deploy-widget.md")
    result = run_compactor("scan", cwd=wt)
    assert assert_clean(result, EXIT_OK) == []
    assert result.out.splitlines()[0] == "4 briefs, 1 family; mostly-keep 1, compress 3"
    assert (repo.root / ".git" / "compactor" / "cache-v1.sqlite").is_file()
    assert not (repo.root / ".git" / "worktrees" / "wt" / "compactor").exists()
    assert not (wt / ".git").is_dir()  # a worktree's .git is a file pointing to the common dir
    # the main work tree does not see the worktree's staged lane
    main = run_compactor("scan", cwd=repo.root)
    assert main.out.splitlines()[0] == "3 briefs, 1 family; mostly-keep 1, compress 2"
    # the hook judges the worktree's index; compaction lands on a branch the main repo sees
    check = run_compactor("check", cwd=wt)
    assert_clean(check, EXIT_BLOCKED)
    assert check.out.startswith("BLOCKED docs/lanes/S004-deploy-widget.md (S004)")
    head = git(wt, "rev-parse", "HEAD").strip()
    assert_clean(run_compactor("compact", "--apply", "--branch", "tidy", cwd=wt), EXIT_OK)
    assert repo.git("rev-parse", "tidy^").strip() == head
    assert git(wt, "rev-parse", "--abbrev-ref", "HEAD").strip() == "side"


# 7-10 ------------------------------------------------------------------------
def test_bad_files_are_warned_about_and_never_stop_the_scan(repo: GitRepo) -> None:
    repo.commit(lanes(1, 2), when=T0)
    repo.stage({
        # 7: Latin-1, not UTF-8
        "docs/lanes/S003-deploy-widget.md": lane(3).replace("widget\n\n", "widget caf\xe9\n\n").encode("latin-1"),
        # 8: a PNG named .md
        "docs/diagram.md": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10" + bytes(range(256)),
        # 9: empty, and whitespace only
        "docs/empty.md": "",
        "docs/blank.md": "  \n\n\t\n",
        # 10: front matter never closed, with a tab, a list where a mapping belongs
        "docs/lanes/S004-deploy-widget.md": "---\nlane: S004\n" + lane(4).split("---\n", 2)[2],
        "docs/lanes/S005-deploy-widget.md": lane(5).replace("action:", "\taction:"),
        "docs/lanes/S006-deploy-widget.md": lane(6).replace(
            "lane: S006\naction: deploy widget\n", "- S006\n- deploy widget\n"),
    })
    before = repo.state()
    result = run_compactor("scan", "--format", "json", cwd=repo.root)
    warnings = assert_clean(result, EXIT_OK)
    assert sorted(warnings) == sorted([
        "compactor: warning: docs/lanes/S003-deploy-widget.md: not valid UTF-8; read with "
        "replacement characters",
        "compactor: warning: docs/diagram.md: looks binary, not markdown; skipped",
        "compactor: warning: docs/empty.md: is empty; skipped",
        "compactor: warning: docs/blank.md: is empty; skipped",
        "compactor: warning: docs/lanes/S004-deploy-widget.md: front matter is never closed "
        "with '---'; read as plain text",
        "compactor: warning: docs/lanes/S005-deploy-widget.md: broken YAML front matter (while "
        "scanning for the next token); front matter ignored, body read as text",
        "compactor: warning: docs/lanes/S006-deploy-widget.md: front matter is a list, not a "
        "mapping of field: value; front matter ignored, body read as text",
    ])
    data = scan_json(result)
    briefs = {b["path"]: b for b in data["briefs"]}  # type: ignore[attr-defined]
    assert sorted(briefs) == [f"docs/lanes/S00{n}-deploy-widget.md" for n in range(1, 7)]
    # the bodies were still read: lane ids from the file names and titles, and all
    # six still fingerprint as one renamed-but-similar family
    assert [briefs[p]["lane"] for p in sorted(briefs)] == [f"S00{n}" for n in range(1, 7)]
    assert briefs["docs/lanes/S003-deploy-widget.md"]["title"] == "S003 deploy widget caf\ufffd"
    [family] = data["families"]  # type: ignore[misc]
    assert len(family["members"]) == 6
    assert data["warnings"] == [w.removeprefix("compactor: warning: ") for w in warnings]
    assert repo.state() == before
    # the hook reads the same files: same warnings, and it still judges the bad lanes
    check = run_compactor("check", cwd=repo.root)
    assert sorted(assert_clean(check, EXIT_BLOCKED)) == sorted(warnings)
    assert "BLOCKED docs/lanes/S003-deploy-widget.md (S003)" in check.out
    # committed, compaction folds the lanes it could read and leaves the bad files alone
    repo.git("commit", "-q", "--no-verify", "-m", "bad files")
    head = repo.git("rev-parse", "HEAD").strip()
    before = repo.state()
    applied = run_compactor("compact", "--apply", "--branch", "tidy", cwd=repo.root)
    assert sorted(assert_clean(applied, EXIT_OK)) == sorted(warnings)  # it says what it skipped
    assert repo.state()[1:] == before[1:]
    old, new = tree(repo, head), tree(repo, "tidy")
    for path in ("docs/diagram.md", "docs/empty.md", "docs/blank.md"):
        assert new[path] == old[path]
    assert "docs/lanes/S003-deploy-widget.md" not in new  # folded, though not UTF-8


def test_hostile_front_matter_is_refused_not_expanded(repo: GitRepo) -> None:
    """YAML aliases that expand to 9**9 values, a list holding itself, nesting past the stack."""
    laughs = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)
    ]
    body = "\n# {0} hostile\n\nThe body is still read: route, session and tenant checks.\n"
    repo.commit(lanes(1), when=T0)
    repo.stage({
        "docs/S101-laughs.md": "---\n" + "\n".join(laughs) + "\n---" + body.format("S101"),
        "docs/S102-self.md": "---\na: &a [1, *a]\n---" + body.format("S102"),
        "docs/S103-deep.md": "---\na: " + "[" * 600 + "]" * 600 + "\n---" + body.format("S103"),
    })
    before = repo.state()
    result = run_compactor("scan", "--format", "json", cwd=repo.root)
    too_big = ("front matter is too big (over 10,000 values or 50 levels, YAML aliases "
               "expanded); front matter ignored, body read as text")
    assert assert_clean(result, EXIT_OK) == [
        f"compactor: warning: docs/S101-laughs.md: {too_big}",
        f"compactor: warning: docs/S102-self.md: {too_big}",
        "compactor: warning: docs/S103-deep.md: broken YAML front matter (nested over 50 levels); "
        "front matter ignored, body read as text",
    ]
    briefs = {b["path"]: b for b in scan_json(result)["briefs"]}  # type: ignore[attr-defined]
    assert briefs["docs/S101-laughs.md"]["title"] == "S101 hostile"
    assert briefs["docs/S103-deep.md"]["lane"] == "S103"
    assert repo.state() == before


def test_pathological_heading_lines_do_not_hang(repo: GitRepo) -> None:
    """A heading of a million '#' once took a regex hours (quadratic backtracking)."""
    repo.commit(lanes(1, 2, 3), when=T0)
    hashes = "# " + "#" * 1_000_000 + " x\n"
    repo.commit({
        "docs/lanes/S004-deploy-widget.md": hashes + lane(4),  # the title line
        "docs/lanes/S005-deploy-widget.md": lane(5) + "\n## " + " #" * 500_000 + "x\n",
    }, when=T0 + 60)
    for command in (("scan",), ("inventory",)):
        proc = popen(*command, cwd=repo.root)
        try:
            _out, err = proc.communicate(timeout=120)  # a hang guard, not a speed test
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        assert proc.returncode == EXIT_OK, err
        assert "Traceback" not in err
    scan = run_compactor("scan", "--format", "json", cwd=repo.root)
    titles = {b["path"]: b["title"] for b in scan_json(scan)["briefs"]}  # type: ignore[attr-defined]
    assert titles["docs/lanes/S004-deploy-widget.md"] == "#" * 1_000_000 + " x"


# 11 ------------------------------------------------------------------------
BIG = 50 * 1024 * 1024


@pytest.fixture
def big_repo(repo: GitRepo) -> GitRepo:
    repo.commit(lanes(1, 2), when=T0)
    chunk = ("# S900 huge\n\n" + "the same line of the huge generated log again\n" * 2000)
    block = chunk.encode()
    with open(repo.root / "docs" / "huge.md", "wb") as fh:
        for _ in range(BIG // len(block)):
            fh.write(block)
        fh.write(b"x" * (BIG % len(block)))
    repo.git("add", "docs/huge.md")
    return repo


def test_huge_markdown_file_is_skipped(big_repo: GitRepo) -> None:
    before = big_repo.state()
    result = run_compactor("scan", cwd=big_repo.root)
    assert assert_clean(result, EXIT_OK) == [
        "compactor: warning: docs/huge.md: is 52,428,800 bytes, over max_file_bytes "
        "(2,000,000); skipped"
    ]
    assert result.out.splitlines()[0] == "2 briefs, 1 family; mostly-keep 1, compress 1"
    check = run_compactor("check", cwd=big_repo.root)
    assert assert_clean(check, EXIT_OK) == result.err.splitlines()
    assert check.out == ""
    assert big_repo.state() == before
    big_repo.git("commit", "-q", "--no-verify", "-m", "huge")
    dry = run_compactor("compact", cwd=big_repo.root)
    assert_clean(dry, EXIT_OK)
    assert "fold 1 lane into docs/INVENTORY.md" in dry.out and "huge.md" not in dry.out


def test_huge_markdown_file_is_never_read_into_memory(
    big_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = big_repo.git("rev-parse", ":docs/huge.md").strip()
    calls: list[tuple[tuple[str, ...], bytes]] = []
    real_run = Repo.run

    def spy(self: Repo, *args: str, input: bytes | None = None, **kw: object) -> bytes:
        calls.append((args, input or b""))
        return real_run(self, *args, input=input, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Repo, "run", spy)
    tracemalloc.start()
    try:
        scan = run_scan(Repo(big_repo.root), Config(), use_cache=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [b.path for b in scan.briefs] == sorted(lanes(1, 2))
    checked = [i for a, i in calls if a[:2] == ("cat-file", "--batch-check")]
    read = [i for a, i in calls if a[:2] == ("cat-file", "--batch")]
    assert any(big.encode() in i for i in checked)  # its size was asked for ...
    assert read and not any(big.encode() in i for i in read)  # ... its bytes never
    assert peak < BIG // 4


# 12 ------------------------------------------------------------------------
def test_symlink_pointing_outside_the_repo(repo: GitRepo, tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "S777-secret-plan.md"
    secret.parent.mkdir()
    secret.write_text("# S777 secret plan\n\nclassified words that must never be read\n")
    repo.commit(lanes(1), when=T0)
    (repo.root / "docs" / "S777-link.md").symlink_to(secret)
    (repo.root / "docs" / "dir.md").symlink_to(secret.parent)
    repo.git("add", "docs/S777-link.md", "docs/dir.md")
    before = repo.state()
    result = run_compactor("scan", "--format", "json", cwd=repo.root)
    assert assert_clean(result, EXIT_OK) == [
        "compactor: warning: docs/S777-link.md: is a symlink; skipped (compactor never follows "
        "links)",
        "compactor: warning: docs/dir.md: is a symlink; skipped (compactor never follows links)",
    ]
    assert paths(result) == ["docs/lanes/S001-deploy-widget.md"]
    assert "classified" not in result.out and "S777" not in json.dumps(scan_json(result)["briefs"])
    check = run_compactor("check", cwd=repo.root)
    assert assert_clean(check, EXIT_OK) == result.err.splitlines()
    assert repo.state() == before
    # compaction keeps the links as links, untouched
    repo.commit(lanes(2, 3), when=T0 + 60)
    head = repo.git("rev-parse", "HEAD").strip()
    assert_clean(run_compactor("compact", "--apply", "--branch", "tidy", cwd=repo.root), EXIT_OK)
    old, new = tree(repo, head), tree(repo, "tidy")
    assert new["docs/S777-link.md"] == old["docs/S777-link.md"]
    assert new["docs/S777-link.md"][0] == "120000"
    assert new["docs/dir.md"] == old["docs/dir.md"]
    assert secret.read_text() == "# S777 secret plan\n\nclassified words that must never be read\n"


def test_restore_never_writes_through_a_symlink(repo: GitRepo, tmp_path: Path) -> None:
    loop_repo(repo)
    assert_clean(run_compactor("compact", "--apply", "--branch", "tidy", cwd=repo.root), EXIT_OK)
    repo.git("checkout", "-q", "tidy")
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours\n")
    folded = repo.root / "docs/lanes/S003-deploy-widget.md"
    assert not folded.exists()
    folded.symlink_to(outside)
    lanes_dir = repo.root / "docs/lanes"
    before = repo.state()
    for command in [("restore", "S003"), ("restore", "--force", "--all")]:
        result = run_compactor(*command, cwd=repo.root)
        one_error(result, "docs/lanes/S003-deploy-widget.md: ", "refusing to write there")
    assert outside.read_text() == "not yours\n"
    assert repo.state() == before
    # a linked directory is refused the same way
    folded.unlink()
    lanes_dir.rename(tmp_path / "lanes")
    (tmp_path / "elsewhere").mkdir()
    lanes_dir.symlink_to(tmp_path / "elsewhere")
    one_error(run_compactor("restore", "S004", cwd=repo.root), "refusing to write there")
    assert list((tmp_path / "elsewhere").iterdir()) == []


# 13 ------------------------------------------------------------------------
def test_odd_file_names(repo: GitRepo) -> None:
    names = ["docs/S010 with spaces.md", "docs/S011-ünïcødé-文档.md", "docs/S012-new\nline.md"]
    repo.commit({name: lane(10 + i) for i, name in enumerate(names)}, when=T0)
    before = repo.state()
    text = run_compactor("scan", cwd=repo.root)
    assert assert_clean(text, EXIT_OK) == []
    out = text.out.splitlines()
    assert out[0] == "3 briefs, 1 family; mostly-keep 1, compress 2"
    shown = [line.rsplit(" ", 1)[-1] for line in out if "docs/" in line]
    assert any(line.endswith(" docs/S010 with spaces.md") for line in out)
    assert "docs/S011-ünïcødé-文档.md" in shown
    assert "docs/S012-new\\nline.md" in shown  # escaped, on one line
    assert not any(line.startswith("line.md") for line in out)
    js = run_compactor("scan", "--format", "json", cwd=repo.root)
    assert sorted(paths(js)) == sorted(names)  # JSON keeps the real names
    assert repo.state() == before
    # the hook names the file escaped, on one line
    repo.stage({"docs/S013-new\nline two.md": lane(13)})
    check = run_compactor("check", cwd=repo.root)
    assert_clean(check, EXIT_BLOCKED)
    assert check.out.startswith("BLOCKED docs/S013-new\\nline two.md (S013)\n")
    repo.git("commit", "-q", "--no-verify", "-m", "S013")
    # folded and restored byte for byte under the same odd names
    assert_clean(run_compactor("compact", "--apply", "--branch", "tidy", cwd=repo.root), EXIT_OK)
    repo.git("checkout", "-q", "tidy")
    gone = sorted(set(names[1:]) | {"docs/S013-new\nline two.md"})
    assert not any((repo.root / p).exists() for p in gone)
    restored = run_compactor("restore", "--all", cwd=repo.root)
    assert_clean(restored, EXIT_OK, allow=("3 files restored", "to commit the undo"))
    assert restored.err.endswith("git add -A (the paths above)\n")  # no shell line for odd names
    assert "restored  docs/S012-new\\nline.md (S012)" in restored.out.splitlines()
    for i, p in enumerate(names[1:], start=11):
        assert (repo.root / p).read_text() == lane(i)
    assert (repo.root / "docs/S013-new\nline two.md").read_text() == lane(13)


# 14 ------------------------------------------------------------------------
@pytest.mark.parametrize(("config", "message"), [
    ("treshold: 0.5\n",
     ".compactor.yaml:1: unknown option 'treshold'; did you mean 'threshold'?"),
    ("threshold: high\n",
     ".compactor.yaml:1: option 'threshold' must be a number, got str 'high'"),
    ("# the loop's settings\nthreshold: 0.6\nseed: 4294967296\n",
     ".compactor.yaml:3: option 'seed' must be between 0 and 4294967295, got 4294967296"),
    ("lane_pattern: 'S(\\d+'\n",
     ".compactor.yaml:1: option 'lane_pattern' is not a valid regular expression "
     "(missing ), unterminated subpattern at position 1)"),
    ("lane_pattern: 'S\\d+'\n",
     ".compactor.yaml:1: option 'lane_pattern' needs a capturing group for the lane number"),
    ("kind_rules: {proof: ['((']}\n",
     ".compactor.yaml:1: option 'kind_rules.proof' has a bad regex '((' "
     "(missing ), unterminated subpattern at position 1)"),
    ("exclude: ['**/[z-a].md']\n",
     ".compactor.yaml:1: option 'exclude' has a bad glob '**/[z-a].md' "
     "(bad character range z-a at position 9)"),
    ("- just\n- a list\n",
     ".compactor.yaml: must be a mapping of option: value"),
    ("threshold: [0.5\n",
     ".compactor.yaml:1:12: cannot parse (while parsing a flow sequence: expected ',' or ']', "
     "but got '<stream end>'); fix the YAML syntax"),
    ("include: ['**/*.md']\nfoo: bar: baz\n",
     ".compactor.yaml:2:9: cannot parse (mapping values are not allowed here); fix the YAML "
     "syntax"),
])
def test_bad_yaml_config(repo: GitRepo, config: str, message: str) -> None:
    repo.commit({**lanes(1), ".compactor.yaml": config}, when=T0)
    before = repo.state()
    result = run_compactor("scan", cwd=repo.root)
    assert assert_clean(result, EXIT_USAGE) == [f"compactor: error: {message}"]
    assert result.out == ""
    assert repo.state() == before


@pytest.mark.parametrize(("config", "message"), [
    ("[tool.compactor]\nthreshhold = 0.4\n",
     "pyproject.toml [tool.compactor]: unknown option 'threshhold'; did you mean 'threshold'?"),
    ("[tool.compactor]\nlane_pattern = '(S'\n",
     "pyproject.toml [tool.compactor]: option 'lane_pattern' is not a valid regular "
     "expression (missing ), unterminated subpattern at position 0)"),
    ("[tool.compactor\n",
     "pyproject.toml: cannot parse (Expected ']' at the end of a table declaration "
     "(at line 1, column 16)); fix the TOML syntax"),
])
def test_bad_pyproject_config(repo: GitRepo, config: str, message: str) -> None:
    repo.commit({**lanes(1), "pyproject.toml": config}, when=T0)
    before = repo.state()
    result = run_compactor("scan", cwd=repo.root)
    assert assert_clean(result, EXIT_USAGE) == [f"compactor: error: {message}"]
    assert repo.state() == before


# 15 ------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "value"), [
    ("archive_dir", "../x"),
    ("archive_dir", "/tmp/archive"),
    ("archive_dir", "docs/../../x"),
    ("inventory", "../INVENTORY.md"),
])
def test_paths_outside_the_repo_are_refused(repo: GitRepo, key: str, value: str) -> None:
    repo.commit({**lanes(1), ".compactor.yaml": f"{key}: '{value}'\n"}, when=T0)
    before = repo.state()
    result = run_compactor("scan", cwd=repo.root)
    assert assert_clean(result, EXIT_USAGE) == [
        f"compactor: error: .compactor.yaml:1: option '{key}' must be a path inside the "
        f"repository, got '{value}'"
    ]
    assert repo.state() == before


def test_bad_config_stops_every_command(repo: GitRepo) -> None:
    loop_repo(repo)
    repo.commit({".compactor.yaml": "archive_dir: ../x\nthreshold: 0.7\n"}, when=T0 + 120)
    before = repo.state()
    for command in [c for c in COMMANDS[1:] if c not in (("compact",), ("inventory", "--check"))]:
        result = run_compactor(*command, cwd=repo.root)
        assert assert_clean(result, EXIT_USAGE) == [
            "compactor: error: .compactor.yaml:1: option 'archive_dir' must be a path inside the "
            "repository, got '../x'"
        ]
    assert compact_branches(repo) == []
    assert repo.state() == before


def test_inventory_under_archive_dir_is_refused(repo: GitRepo) -> None:
    loop_repo(repo)
    repo.commit({".compactor.yaml": "inventory: docs/archive/INVENTORY.md\n"}, when=T0 + 120)
    before = repo.state()
    for command in [("compact",), ("compact", "--apply")]:
        one_error(run_compactor(*command, cwd=repo.root),
                  "docs/archive/INVENTORY.md", "archive_dir docs/archive",
                  "move one of them in the config")
    assert repo.state() == before


# 16 ------------------------------------------------------------------------
def test_corrupt_signature_cache_is_rebuilt(repo: GitRepo) -> None:
    repo.commit(lanes(1, 2, 3, 4), when=T0)
    repo.commit({"docs/notes.md": "# Notes\n\nfree text about the project\n"}, when=T0 + 60)
    fresh = run_compactor("scan", "--format", "json", "--no-cache", cwd=repo.root)
    assert assert_clean(fresh, EXIT_OK) == []
    cache = repo.root / ".git" / "compactor" / "cache-v1.sqlite"
    assert not cache.exists()  # --no-cache writes nothing
    repo.scan()  # fills the cache
    assert cache.is_file()
    for leftover in cache.parent.glob("cache-v1.sqlite-*"):
        leftover.unlink()
    cache.write_bytes(bytes(range(256)) * 64)
    before = repo.state()
    result = run_compactor("scan", "--format", "json", cwd=repo.root)
    [warning] = assert_clean(result, EXIT_OK)
    assert warning == (
        f"compactor: warning: {cache}: signature cache unreadable (file is not a database); "
        "rebuilding it"
    )
    got, want = scan_json(result), scan_json(fresh)
    assert got["briefs"] == want["briefs"] and got["families"] == want["families"]
    # rebuilt: the next run uses it silently and gives the same answer
    again = run_compactor("scan", "--format", "json", cwd=repo.root)
    assert assert_clean(again, EXIT_OK) == []
    assert again.out == fresh.out
    assert repo.state() == before
    # the hook too: a corrupt cache costs a warning, never the verdict
    repo.stage(lanes(5))
    want_check = run_compactor("check", "--no-cache", cwd=repo.root)
    assert_clean(want_check, EXIT_BLOCKED)
    cache.write_bytes(b"\0garbage" * 999)
    got_check = run_compactor("check", cwd=repo.root)
    assert assert_clean(got_check, EXIT_BLOCKED) == [warning]
    assert got_check.out == want_check.out


@pytest.mark.parametrize("meta", [
    "[1]", "null", '{"warnings": 5}', '{"skip": 1}',
    '{"lane": 5, "number": "x", "title": null, "label": 3, "kind": "zzz", "words": "a", '
    '"fields": []}',
    '{"lane": "S001", "number": 1, "title": "t", "label": "l", "kind": "zzz", "words": 1, '
    '"fields": {}, "shingles": 9}',
])
def test_foreign_cache_rows_are_recomputed_not_trusted(repo: GitRepo, meta: str) -> None:
    """Rows of the right key but a shape this version never writes (in-process: a unit fault)."""
    import sqlite3

    from compactor.render import scan_json as render_json

    repo.commit(lanes(1, 2, 3), when=T0)
    fresh = render_json(repo.scan(use_cache=False, now=T0))
    repo.scan(now=T0)  # fills the cache
    db = sqlite3.connect(repo.root / ".git" / "compactor" / "cache-v1.sqlite")
    with db:
        db.execute("UPDATE briefs SET meta = ?", (meta,))
    db.close()
    assert render_json(repo.scan(now=T0)) == fresh


# 17 ------------------------------------------------------------------------
def test_two_processes_at_once(repo: GitRepo) -> None:
    from compactor.demo.example import loop_corpus, write_repo

    write_repo(repo.root, loop_corpus(3, families=2, lanes_per_family=10, skeleton_docs=5))
    before = repo.state()
    for _ in range(2):  # once with no cache at all, once racing on a warm one
        procs = [
            subprocess.Popen([sys.executable, "-m", "compactor", "scan", "--format", "json"],
                             cwd=repo.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
            for _ in range(2)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (_out, err) in zip(procs, outs, strict=True):
            assert p.returncode == EXIT_OK, err
            assert "Traceback" not in err and "compactor: error" not in err, err
        assert outs[0][0] == outs[1][0]
        assert len(scan_json(Result(0, outs[0][0], ""))["families"]) >= 2  # type: ignore[arg-type]
    assert repo.state() == before


def popen(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "compactor", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_hooks_at_once(repo: GitRepo) -> None:
    loop_repo(repo, 1, 2, 3)
    repo.stage(lanes(4, 5))
    before = repo.state()
    procs = [popen("check", cwd=repo.root) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [EXIT_BLOCKED, EXIT_BLOCKED], outs
    assert outs[0] == outs[1]
    assert outs[0][0].startswith("BLOCKED docs/lanes/S004-deploy-widget.md (S004)")
    assert repo.state() == before


def test_two_inventories_at_once(repo: GitRepo) -> None:
    loop_repo(repo)
    procs = [popen("inventory", cwd=repo.root) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [EXIT_OK, EXIT_OK], outs
    for _out, err in outs:
        assert err in ("wrote docs/INVENTORY.md\n", "docs/INVENTORY.md is up to date\n")
    check = run_compactor("inventory", "--check", cwd=repo.root)
    assert check.code == EXIT_OK and check.err == "docs/INVENTORY.md is up to date\n"
    assert not list((repo.root / "docs").glob("*.tmp*")) and not list(
        (repo.root / "docs").glob(".INVENTORY*"))


def test_two_compactions_at_once(repo: GitRepo) -> None:
    loop_repo(repo)
    before = repo.state()
    procs = [popen("compact", "--apply", "--branch", "tidy", cwd=repo.root) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [EXIT_OK, EXIT_USAGE], outs
    loser = outs[[p.returncode for p in procs].index(EXIT_USAGE)]
    winner = outs[[p.returncode for p in procs].index(EXIT_OK)]
    assert "Traceback" not in loser[1] + winner[1]
    [error] = loser[1].splitlines()
    assert error in (
        "compactor: error: tidy: branch already exists; pass --force to replace it, or "
        "--branch NAME",
        "compactor: error: refs/heads/tidy: changed while compactor was working (another "
        "process?); it was left as it is: check it and run again",
    )
    commit = repo.git("rev-parse", "tidy").strip()
    assert f"one commit {commit[:12]} on top of" in winner[0]
    assert repo.state()[1:] == before[1:]
    assert_clean(run_compactor("verify", "--rev", "tidy", cwd=repo.root), EXIT_OK)


# 18 ------------------------------------------------------------------------
def test_brief_removed_from_the_index_but_still_on_disk(repo: GitRepo) -> None:
    repo.commit(lanes(1, 2, 3), when=T0)
    gone = "docs/lanes/S002-deploy-widget.md"
    repo.git("rm", "-q", "--cached", gone)
    assert (repo.root / gone).is_file()
    before = repo.state()
    result = run_compactor("scan", "--format", "json", cwd=repo.root)
    assert assert_clean(result, EXIT_OK) == []
    assert paths(result) == [
        "docs/lanes/S001-deploy-widget.md", "docs/lanes/S003-deploy-widget.md"
    ]
    # the committed tree still has it
    at_head = run_compactor("scan", "--format", "json", "--rev", "HEAD", cwd=repo.root)
    assert gone in paths(at_head)
    check = run_compactor("check", cwd=repo.root)
    assert assert_clean(check, EXIT_OK) == []
    assert check.out == ""
    assert repo.state() == before
    # compaction works from HEAD, says so, and leaves the index as it is
    head = repo.git("rev-parse", "HEAD").strip()
    applied = run_compactor("compact", "--apply", "--branch", "tidy", cwd=repo.root)
    assert assert_clean(applied, EXIT_OK) == [
        "compactor: warning: uncommitted changes are not included: compaction works from HEAD "
        f"({head[:7]}); commit them first to include them"
    ]
    assert repo.state()[1:] == before[1:]


def test_brief_moved_in_the_index(repo: GitRepo) -> None:
    """Deleted at one path, staged at another: a move, not a new lane for the gate."""
    loop_repo(repo)
    (repo.root / "docs/old").mkdir()
    repo.git("mv", "docs/lanes/S005-deploy-widget.md", "docs/old/S005-deploy-widget.md")
    before = repo.state()
    check = run_compactor("check", cwd=repo.root)
    assert assert_clean(check, EXIT_OK) == [] and check.out == ""
    scan = run_compactor("scan", "--format", "json", cwd=repo.root)
    assert "docs/old/S005-deploy-widget.md" in paths(scan)
    assert "docs/lanes/S005-deploy-widget.md" not in paths(scan)
    assert repo.state() == before


# 19 ------------------------------------------------------------------------
BEGIN, END = "<!-- compactor:folded:begin -->", "<!-- compactor:folded:end -->"


def compacted_and_merged(repo: GitRepo) -> str:
    """A loop repo after one compaction was merged; returns the inventory's text."""
    loop_repo(repo)
    assert_clean(run_compactor("compact", "--apply", "--branch", "tidy", cwd=repo.root), EXIT_OK)
    repo.git("merge", "-q", "--ff-only", "tidy")
    return (repo.root / "docs/INVENTORY.md").read_text()


def test_hand_edited_inventory_is_kept(repo: GitRepo) -> None:
    text = compacted_and_merged(repo)
    head, rest = text.split(BEGIN)
    block, tail = rest.split(END)
    head = "# Inventory\n\nOwner: the docs team. Ask in #docs before editing.\n\n" + \
        head.split("\n", 1)[1]
    tail = tail + "\n## Notes by hand\n\n- S003 was the one that found the drift.\n"
    repo.commit({"docs/INVENTORY.md": head + BEGIN + block + END + tail}, when=T0 + 600)
    repo.commit(lanes(6, 7), when=T0 + 700)
    before = repo.state()
    result = run_compactor("compact", "--apply", "--branch", "tidy2", cwd=repo.root)
    assert_clean(result, EXIT_OK)
    assert "fold 2 lanes into docs/INVENTORY.md" in result.out
    new = repo.git("show", "tidy2:docs/INVENTORY.md")
    # the inventory block is regenerated (it counts the newly folded lanes); every byte
    # outside the two generated blocks is kept
    mine, between = head.split(IBEGIN)[0], head.split(IEND)[1]
    assert new.startswith(mine + IBEGIN) and new.endswith(END + tail)
    assert IEND + between + BEGIN in new
    assert new.count(BEGIN) == 1 and new.count(END) == 1
    for n in (2, 3, 4, 5, 6, 7):  # earlier entries kept, new ones added
        assert f'<!-- compactor:folded:lane "docs/lanes/S00{n}-deploy-widget.md" -->' in new
    assert repo.state()[1:] == before[1:]


@pytest.mark.parametrize("damage", ["no end marker", "two begin markers"])
def test_inventory_with_broken_markers_is_refused(repo: GitRepo, damage: str) -> None:
    text = compacted_and_merged(repo)
    if damage == "no end marker":
        text = text.replace(END, "")
    else:
        text = text.replace(END, END + "\n\n" + BEGIN)
    repo.commit({"docs/INVENTORY.md": text}, when=T0 + 600)
    repo.commit(lanes(6, 7), when=T0 + 700)
    before = repo.state()
    for command in [("compact",), ("compact", "--apply", "--branch", "tidy2")]:
        one_error(run_compactor(*command, cwd=repo.root), "docs/INVENTORY.md", "folded",
                  "and run again")
    assert repo.state() == before


IBEGIN, IEND = "<!-- compactor:inventory:begin -->", "<!-- compactor:inventory:end -->"


def test_inventory_command_keeps_hand_edits(repo: GitRepo) -> None:
    loop_repo(repo, 1, 2, 3)
    result = run_compactor("inventory", cwd=repo.root)
    assert result.code == EXIT_OK and result.err == "wrote docs/INVENTORY.md\n", str(result)
    inv = repo.root / "docs/INVENTORY.md"
    text = inv.read_text()
    head, rest = text.split(IBEGIN)
    block, tail = rest.split(IEND)
    head = head.replace("# Inventory\n", "# Inventory\n\nOwner: the docs team.\n", 1)
    block = block.replace("## Summary", "## Summary (edited by hand)")
    tail += "\n## Notes by hand\n\n- S003 found the drift.\n"
    inv.write_text(head + IBEGIN + block + IEND + tail)
    repo.git("add", "docs/INVENTORY.md")
    repo.git("commit", "-q", "--no-verify", "-m", "hand edits")
    repo.stage(lanes(4))
    stale = run_compactor("inventory", "--check", cwd=repo.root)
    assert stale.code == EXIT_BLOCKED, str(stale)
    assert stale.err == "docs/INVENTORY.md is stale; run `compactor inventory` and commit it\n"
    result = run_compactor("inventory", cwd=repo.root)
    assert result.code == EXIT_OK and result.err == "wrote docs/INVENTORY.md\n", str(result)
    new = inv.read_text()
    # outside the block: byte for byte; inside: regenerated, as the file says
    assert new.startswith(head + IBEGIN) and new.endswith(IEND + tail)
    assert "(edited by hand)" not in new and "S001 .. S004" in new
    again = run_compactor("inventory", cwd=repo.root)
    assert again.err == "docs/INVENTORY.md is up to date\n" and inv.read_text() == new


@pytest.mark.parametrize("damage", ["no end marker", "not UTF-8", "a symlink"])
def test_inventory_command_refuses_a_damaged_file(
    repo: GitRepo, tmp_path: Path, damage: str
) -> None:
    loop_repo(repo, 1, 2, 3)
    assert run_compactor("inventory", cwd=repo.root).code == EXIT_OK
    inv = repo.root / "docs/INVENTORY.md"
    text = inv.read_text()
    outside = tmp_path / "elsewhere.md"
    outside.write_text(text)
    if damage == "no end marker":
        inv.write_text(text.replace(IEND, ""))
        fragments = ["docs/INVENTORY.md: the generated block 'inventory' has a begin marker "
                     "but no end marker", "and run again"]
    elif damage == "not UTF-8":
        inv.write_bytes(text.encode() + b"\xff\xfe\n")
        fragments = ["docs/INVENTORY.md: is not valid UTF-8; fix or delete it and run again"]
    else:
        inv.unlink()
        inv.symlink_to(outside)
        fragments = ["docs/INVENTORY.md: is a symlink; compactor only writes regular files"]
    repo.stage(lanes(4))  # the inventory is stale now
    before = repo.state()
    for command in [("inventory",), ("inventory", "--check")]:
        one_error(run_compactor(*command, cwd=repo.root), *fragments)
    assert repo.state() == before
    assert outside.read_text() == text


# 20 ------------------------------------------------------------------------
def test_huge_repo_without_briefs(repo: GitRepo) -> None:
    # one blob under 3000 names, checked out by git (cheaper than hashing 3000 files)
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.root, check=True,
                          input="VALUE = 1\n", capture_output=True, text=True).stdout.strip()
    listing = "".join(f"100644 {blob}\tsrc/pkg{i % 30}/mod{i}.py\n" for i in range(3000))
    subprocess.run(["git", "update-index", "--index-info"], cwd=repo.root, check=True,
                   input=listing, text=True)
    repo.git("checkout-index", "-a", "-u")
    repo.git("commit", "-q", "--no-verify", "-m", "code")
    assert repo.git("status", "--porcelain") == ""
    before = repo.state()
    result = run_compactor("scan", cwd=repo.root)
    assert assert_clean(result, EXIT_OK) == []
    assert result.out == "0 briefs, 0 families\n"
    check = run_compactor("check", cwd=repo.root)
    assert assert_clean(check, EXIT_OK) == [] and check.out == ""
    result = run_compactor("compact", "--apply", cwd=repo.root)
    assert assert_clean(result, EXIT_OK) == []
    assert ("nothing to compact: no lanes to fold, no ACK files to archive; "
            "no commit created") in result.out.splitlines()
    verify = run_compactor("verify", cwd=repo.root)
    assert assert_clean(verify, EXIT_OK) == []
    assert verify.out == "no compaction manifest in HEAD: nothing to verify\n"
    report = run_compactor("report", cwd=repo.root)
    assert assert_clean(report, EXIT_OK) == []
    assert "briefs:        0 in 0 families" in report.out.splitlines()
    stale = run_compactor("inventory", "--check", cwd=repo.root)
    assert stale.code == EXIT_BLOCKED and "Traceback" not in stale.err
    assert stale.err == "docs/INVENTORY.md is missing; run `compactor inventory` and commit it\n"
    assert repo.state() == before


# the exit codes ----------------------------------------------------------------
def test_readme_documents_the_exit_codes_these_tests_assert() -> None:
    from compactor import errors

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = dict(
        line.strip("|").split("|", 1) for line in section.splitlines()
        if line.startswith("| ") and line[2].isdigit()
    )
    meanings = {int(k): v.strip() for k, v in rows.items()}
    assert sorted(meanings) == [EXIT_OK, EXIT_BLOCKED, EXIT_USAGE, EXIT_INTERNAL]
    assert (errors.EXIT_OK, errors.EXIT_BLOCKED, errors.EXIT_USAGE, errors.EXIT_INTERNAL) == (
        EXIT_OK, EXIT_BLOCKED, EXIT_USAGE, EXIT_INTERNAL)
    assert meanings[EXIT_OK].startswith("ok")
    assert "blocked" in meanings[EXIT_BLOCKED] and "stale" in meanings[EXIT_BLOCKED]
    assert meanings[EXIT_USAGE].startswith("usage or input error: not a git repository")
    assert meanings[EXIT_INTERNAL].startswith("internal error")


def test_a_bug_is_exit_3_with_one_line(repo: GitRepo) -> None:
    """What a user sees when compactor itself fails: one line, exit 3; the traceback on demand."""
    loop_repo(repo, 1, 2)
    crash = ("import sys, compactor.scan as s\n"
             "def boom(*a, **k): raise ZeroDivisionError('division by zero')\n"
             "s.run_scan = boom\n"
             "from compactor.cli import main\n"
             "main(['scan'])\n")
    before = repo.state()
    proc = subprocess.run([sys.executable, "-c", crash], cwd=repo.root, capture_output=True,
                          text=True)
    assert proc.returncode == EXIT_INTERNAL, proc.stderr
    assert proc.stderr == (
        "compactor: internal error: ZeroDivisionError: division by zero at <string>:2; this is "
        "a bug, please report it (set COMPACTOR_DEBUG=1 for the traceback)\n"
    )
    proc = subprocess.run([sys.executable, "-c", crash], cwd=repo.root, capture_output=True,
                          text=True, env={**os.environ, "COMPACTOR_DEBUG": "1"})
    assert proc.returncode != EXIT_OK and "Traceback" in proc.stderr
    assert repo.state() == before
