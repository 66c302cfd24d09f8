from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from conftest import GitRepo, git

from compactor.git import Background, GitError, Repo

T0 = 1_778_304_756  # 2026-05-09 05:32:36 UTC


def per_file_created(root: Path, path: str) -> int:
    """The slow reference: one git call per file, following renames to the original add."""
    out = git(root, "log", "--follow", "--diff-filter=A", "--format=%at", "--", path)
    return int(out.split()[-1])


def test_one_pass_creation_times_equal_per_file_log(repo: GitRepo) -> None:
    when = T0
    for i in range(40):
        when += 97
        files = {f"docs/lanes/S{100 + i:03d}-step.md": f"# S{100 + i}\nlane {i} body text {i * 7}\n"}
        if i % 5 == 0:
            files[f"notes/n{i}.md"] = f"note {i}\n"
        repo.commit(files, when=when, message=f"lane {i}")
    # renames (content kept, so git sees them as renames), including a rename of a rename
    (repo.root / "docs/moved").mkdir()
    (repo.root / "docs/final").mkdir()
    for i in (3, 11, 25):
        when += 60
        repo.git("mv", f"docs/lanes/S{100 + i:03d}-step.md", f"docs/moved/S{100 + i:03d}.md")
        repo.commit({}, when=when, message=f"move {i}")
    when += 60
    repo.git("mv", "docs/moved/S103.md", "docs/final/S103-final.md")
    repo.commit({}, when=when, message="move again")
    # a deleted and re-added path keeps the time it was first added
    when += 60
    repo.git("rm", "-q", "notes/n0.md")
    repo.commit({}, when=when, message="drop n0")
    when += 60
    repo.commit({"notes/n0.md": "a brand new note with other words entirely\n"}, when=when)

    created = Repo(repo.root).creation_times()
    paths = repo.git("ls-files").split()
    assert len(paths) == 48
    assert set(paths) <= set(created)
    for path in paths:
        assert created[path] == per_file_created(repo.root, path), path
    # a renamed file keeps its original time, not the time of the move
    assert created["docs/final/S103-final.md"] == T0 + 4 * 97


def test_incremental_pass_matches_full_pass(repo: GitRepo) -> None:
    for i in range(5):
        repo.commit({f"a{i}.md": f"text {i}\n"}, when=T0 + i * 10)
    r = Repo(repo.root)
    mid = r.head()
    assert mid is not None
    first = r.creation_times()
    repo.git("mv", "a1.md", "b1.md")
    repo.commit({"c.md": "new\n"}, when=T0 + 100)
    assert r.creation_times(since=mid, known=first) == r.creation_times()


def test_index_entries_handle_odd_names(repo: GitRepo) -> None:
    names = ["with space.md", "ünïcode-läne.md", "new\nline.md"]
    repo.commit({n: "x\n" for n in names})
    assert sorted(e.path for e in Repo(repo.root).index_entries()) == sorted(names)


def test_shallow_clone_degrades_to_oldest_commit(repo: GitRepo, tmp_path: Path) -> None:
    for i in range(4):
        repo.commit({f"f{i}.md": f"file {i}\n"}, when=T0 + i * 3600)
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{repo.root}", str(clone)],
                   check=True)
    r = Repo(clone)
    assert r.is_shallow()
    created = r.creation_times()
    # f0 and f1 predate the clone's history: they get its oldest commit's time
    assert created["f0.md"] == created["f1.md"] == created["f2.md"] == T0 + 2 * 3600
    assert created["f3.md"] == T0 + 3 * 3600


def test_a_background_command_returns_its_output_or_its_error(repo: GitRepo) -> None:
    repo.commit({"docs/a.md": "# a\n"}, when=T0)
    r = Repo(repo.root)
    job = r.start_creation_log()
    assert job is not None
    assert b"docs/a.md" in job.wait()

    failing = Background(repo.root, ["log", "no-such-revision", "--"])
    with pytest.raises(GitError, match=r"^git log failed: .*no-such-revision"):
        failing.wait()


def test_a_background_command_nobody_waits_for_is_stopped(repo: GitRepo) -> None:
    job = Background(repo.root, ["-c", "alias.nap=!sleep 3", "nap"])
    started = time.monotonic()
    job.stop()
    assert time.monotonic() - started < 2
    assert job._proc.returncode is not None and job._proc.returncode != 0  # killed, not done
    job.stop()  # twice is harmless


def test_without_a_usable_temp_dir_the_command_runs_in_the_foreground(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    repo.commit({"docs/a.md": "# a\n"}, when=T0)

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    job = Repo(repo.root).start_creation_log()
    assert job is not None
    assert b"docs/a.md" in job.wait()
    job.stop()
    assert Repo(repo.root).creation_times() == {"docs/a.md": T0}


@pytest.mark.parametrize("committed", [True, False])
def test_reads_started_ahead_give_what_the_calls_would(repo: GitRepo, committed: bool) -> None:
    # the gate starts HEAD, the added/moved paths and the index listing on a thread while
    # it imports; each call gets exactly the answer it would have got by itself
    if committed:
        repo.commit({"docs/a.md": "# a\n", "docs/b.md": "# b\n"})
        repo.git("mv", "docs/b.md", "docs/c.md")
    repo.stage({"docs/new é.md": "# new\n"})
    plain = Repo.discover(repo.root)
    ahead = Repo.discover(repo.root)
    ahead.start_staged_reads()
    base = ahead.head()
    assert base == plain.head()
    assert (base is None) is not committed
    added = ["docs/c.md", "docs/new é.md"] if committed else ["docs/new é.md"]
    assert ahead.diff_added(base) == plain.diff_added(base) == added
    assert ahead.diff_moved(base) == plain.diff_moved(base)
    assert ahead.diff_moved(base) == ({"docs/c.md": "docs/b.md"} if committed else {})
    entries = ahead.index_entries()
    assert entries == plain.index_entries()
    # the added files' sizes and contents, asked the way the scan asks for what it has
    # not fingerprinted
    blobs = [e.blob for e in entries if e.path in added]
    assert ahead.read_blobs(blobs, limit=2_000_000) == plain.read_blobs(blobs, limit=2_000_000)
    assert set(ahead.read_blobs(blobs, limit=2_000_000).values()) == {b"# new\n"} | (
        {b"# b\n"} if committed else set())
    # answers are taken once: asked again, git runs again (the index changed meanwhile)
    repo.stage({"docs/later.md": "# later\n"})
    assert ahead.diff_added(base) == plain.diff_added(base)
    assert "docs/later.md" in ahead.diff_added(base)
    assert ahead.head() == base


def test_a_path_added_on_two_branches_gets_one_time_whatever_the_pass(repo: GitRepo) -> None:
    """One path added on a side branch (an old committer date: a PR's commits carry the
    dates their author chose) and on main (a later date), then merged: the full pass and
    the incremental one that goes on from main's cached head give the path one time, the
    earliest (before, the incremental pass kept main's: a warm scan and a cold one
    disagreed about which docs were written days apart)."""
    repo.commit({"docs/a.md": "a\n"}, when=T0)
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({"docs/p.md": "same text\n"}, when=T0 + 100, message="side adds p")
    repo.git("checkout", "-q", "main")
    repo.commit({"docs/p.md": "same text\n"}, when=T0 + 30 * 86400, message="main adds p")
    r = Repo(repo.root)
    main = r.head()
    assert main is not None
    known = r.creation_times()
    repo.git("-c", "commit.gpgsign=false", "merge", "-q", "--no-edit", "side",
             env={"GIT_COMMITTER_DATE": f"{T0 + 31 * 86400} +0000"})
    full = r.creation_times()
    assert full["docs/p.md"] == T0 + 100
    assert r.creation_times(since=main, known=known) == full
