"""Cache keys follow the code: a copy of compactor whose rule or packaged template was
edited answers differently on the next run, with the cache still on."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import compactor.templates
import pytest
from conftest import GitRepo, Result, run_compactor

import compactor
from compactor import store

LANE = """# {lane} guarded export proof

## Scope

Prove the export envelope for tenant alpha under route /v2/export with session pinning.
The batch writer streams rows in pages of five hundred and checks every checksum.

## Evidence

- replayed the nightly export against the staging snapshot
- compared row counts and digests with the source tables
- confirmed the retry path re-reads only the failed page

## Next

Carry the same envelope to the archive job once the export is green.
"""
ACK = "Acknowledged. Proceed with the next bounded slice.\n"


def _copy_of_compactor(tmp_path: Path) -> Path:
    """A runnable copy of the installed compactor package (templates included)."""
    site = tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(Path(compactor.__file__).parent, site / "compactor", ignore=ignore)
    shutil.copytree(Path(compactor.templates.__file__).parent, site / "compactor" / "templates",
                    ignore=ignore, dirs_exist_ok=True)
    return site


def _run(site: Path, repo: GitRepo, *args: str) -> Result:
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = ("import sys, compactor; assert compactor.__file__.startswith(sys.argv[1]); "
            "from compactor.cli import main; sys.argv[1:2] = []; main()")
    proc = subprocess.run([sys.executable, "-c", code, str(site), "-C", str(repo.root), *args],
                          capture_output=True, text=True, env=env, cwd=site)
    result = Result(proc.returncode, proc.stdout, proc.stderr)
    print(result)
    return result


@pytest.fixture
def loop(repo: GitRepo) -> GitRepo:
    repo.commit({
        **{f"docs/lanes/S{n:03d}-export.md": LANE.format(lane=f"S{n:03d}") for n in (1, 2, 3)},
        "docs/acks/ack-S003.md": ACK,
    }, when=1_700_000_000)
    return repo


def test_an_edited_rule_changes_the_next_answer_without_no_cache(
    loop: GitRepo, tmp_path: Path
) -> None:
    site = _copy_of_compactor(tmp_path)
    before = _run(site, loop, "scan")
    assert before.code == 0 and "archive 1" in before.out
    assert _run(site, loop, "scan").out == before.out  # warm: answered from the cache
    kinds = site / "compactor" / "kinds.py"
    # the edit a tuner makes: ACK chatter is no longer recognised
    kinds.write_text(kinds.read_text(encoding="utf-8") + (
        "\n\n_before = infer_kind\n\n\n"
        "def infer_kind(*args, **kw):  # type: ignore[no-untyped-def]\n"
        "    kind = _before(*args, **kw)\n"
        "    return 'other' if kind == 'ack' else kind\n"
    ), encoding="utf-8")
    after = _run(site, loop, "scan")
    assert after.code == 0 and "archive" not in after.out
    assert after.out == _run(site, loop, "scan", "--no-cache").out


def test_an_edited_packaged_template_makes_the_inventory_stale(
    loop: GitRepo, tmp_path: Path
) -> None:
    site = _copy_of_compactor(tmp_path)
    assert _run(site, loop, "inventory").code == 0
    assert _run(site, loop, "inventory", "--check").code == 0  # fresh, and now cached
    template = site / "compactor" / "templates" / "inventory.md.j2"
    template.write_text(template.read_text(encoding="utf-8") + "\nEdited by hand.\n",
                        encoding="utf-8")
    stale = _run(site, loop, "inventory", "--check")
    assert stale.code == 1
    assert _run(site, loop, "inventory").code == 0
    assert "Edited by hand." in (loop.root / "docs" / "INVENTORY.md").read_text(encoding="utf-8")


# -- a long-lived repo: the cache prunes itself ----------------------------------------------------

T0 = 1_778_400_000
NOTE = """# {topic} notes {k}

Where the {topic} stands after step {k}: the replay harness ran against staging, the ledger
totals matched the audited baseline and the retry path re-read only the failed page.
"""


def _db(repo: GitRepo) -> Path:
    return repo.root / ".git" / "compactor" / store.CACHE_FILE


def _keys(repo: GitRepo) -> set[bytes]:
    con = sqlite3.connect(_db(repo))
    try:
        return {bytes(k) for (k,) in con.execute("SELECT key FROM briefs UNION ALL "
                                                 "SELECT key FROM blobs")}
    finally:
        con.close()


def _clock(repo: GitRepo) -> int:
    con = sqlite3.connect(_db(repo))
    try:
        return store._clock(con)
    finally:
        con.close()


@pytest.fixture
def quick_pruning(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pruning schedule shortened (128 runs would make a slow test): rows no run read in
    the last 6 writing runs go, checked every 2nd; a read row is stamped again after 2."""
    monkeypatch.setattr(store, "KEEP", 6)
    monkeypatch.setattr(store, "TOUCH", 2)
    monkeypatch.setattr(store, "PRUNE_EVERY", 2)


def _step(repo: GitRepo, k: int) -> None:
    """Commit k of a long-lived repo: a new lane, or (every third) an edited note."""
    if k % 3 == 2:
        repo.commit({f"docs/notes/queue-{k % 2}.md": NOTE.format(topic="queue", k=k)},
                    when=T0 + 60 * k)
    else:
        repo.commit({f"docs/lanes/S{k:03d}-export.md": LANE.format(lane=f"S{k:03d}")},
                    when=T0 + 60 * k)


def test_the_cache_stays_bounded_over_commits_a_config_edit_and_upgrades(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, quick_pruning: None
) -> None:
    from compactor.config import Config
    from compactor.render import scan_json

    repo.commit({**{f"docs/notes/{t}-{k}.md": NOTE.format(topic=t, k=k)
                    for t in ("cache", "queue") for k in range(2)},
                 "docs/acks/ack.md": ACK}, when=T0)
    config = Config()
    gone: dict[str, set[bytes]] = {}  # each retired build's keys, as it left them
    sizes = []
    for k in range(1, 25):
        if k in (5, 13):  # an upgrade: every key of the build before changes
            gone[f"build before {k}"] = _keys(repo)
            monkeypatch.setattr(store, "_code", f"upgraded at commit {k}")
        if k == 9:  # a config edit
            gone["config before 9"] = _keys(repo)
            config = Config(max_adjacent=4)
        _step(repo, k)
        warm = repo.scan(config, now=T0 + 60 * k + 30)
        if k % 4 == 0 or k in (5, 9, 13):  # pruning never changes an answer
            assert scan_json(warm) == scan_json(repo.scan(config, now=T0 + 60 * k + 30,
                                                          use_cache=False))
        sizes.append(len(_keys(repo)))
    now = _keys(repo)
    for retired, keys in gone.items():  # what only a retired build or config read is gone
        still = keys & now
        assert len(still) < len(keys) // 4, retired
    # bounded: two builds and a config came and went, and it holds no more rows than after
    # the first upgrade
    assert max(sizes[-6:]) <= max(sizes[4:8]), sizes


def test_switching_branches_stays_warm_and_a_branch_left_alone_is_pruned(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, quick_pruning: None
) -> None:
    from compactor.git import Repo

    repo.commit({f"docs/lanes/S{k:03d}-export.md": LANE.format(lane=f"S{k:03d}")
                 for k in (1, 2, 3)}, when=T0)
    repo.git("branch", "side")
    read: list[str] = []
    original = Repo.read_blobs

    def counting(self: Repo, blobs, limit=None):  # type: ignore[no-untyped-def]
        wanted = list(blobs)
        read.extend(wanted)
        return original(self, wanted, limit)

    monkeypatch.setattr(Repo, "read_blobs", counting)
    side_note = {"docs/notes/side.md": NOTE.format(topic="side", k=0)}
    for k in range(4, 20):  # a commit on each branch in turn, and a scan after each
        branch = "side" if k % 2 else "main"
        repo.git("checkout", "-q", branch)
        if k == 5:
            repo.commit(side_note, when=T0 + 60 * k)
        else:
            _step(repo, k)
        read.clear()
        repo.scan(now=T0 + 60 * k + 30)
        if k >= 8:  # warm: only the commit's own file is read from git, on either branch
            assert len(set(read)) <= 1, (k, branch)
    # main alone for more than KEEP writing runs: the side branch's own rows are pruned
    repo.git("checkout", "-q", "main")
    for k in range(20, 32):
        _step(repo, k)
        repo.scan(now=T0 + 60 * k + 30)
    repo.git("checkout", "-q", "side")
    read.clear()
    repo.scan(now=T0 + 60 * 40)
    side_blob = repo.git("rev-parse", "side:docs/notes/side.md").strip()
    assert side_blob in read


def test_a_warm_run_writes_nothing_and_a_read_row_is_stamped_again_when_due(
    loop: GitRepo, quick_pruning: None
) -> None:
    loop.scan(now=T0)
    clock, size = _clock(loop), _db(loop).stat().st_size
    for _ in range(3):
        loop.scan(now=T0)
    assert (_clock(loop), _db(loop).stat().st_size) == (clock, size)
    # runs that write (here: another config) move the clock on; what the first config's scan
    # reads is stamped again once its stamp is TOUCH runs old, and survives the pruning
    from compactor.config import Config

    first = store.snapshot_key(store.brief_settings(Config()))
    for k in range(12):
        loop.scan(Config(max_adjacent=4 + k), now=T0)
        loop.scan(now=T0)
    assert _clock(loop) >= 12 and first in _keys(loop)
    assert store.snapshot_key(store.brief_settings(Config(max_adjacent=4))) not in _keys(loop)


def test_a_locked_cache_is_left_for_a_later_run_to_prune(loop: GitRepo) -> None:
    from compactor.git import Repo
    from compactor.render import scan_json

    want = scan_json(loop.scan(use_cache=False))
    loop.scan()
    cache = store.open_cache(Repo(loop.root))
    cache.put_blobs({b"k" * 16: b"a value"})  # this run wrote: its close ticks the clock
    clock = _clock(loop)
    other = sqlite3.connect(_db(loop), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing
    try:
        started = time.perf_counter()
        cache.close()
        assert time.perf_counter() - started < 5  # not the 15 s a write would wait
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert _clock(loop) == clock and not cache.enabled
    assert scan_json(loop.scan()) == want


def test_cache_command_shows_and_empties_the_cache(loop: GitRepo) -> None:
    outside = run_compactor("cache", "--clean", cwd=loop.root.parent,
                            env={"GIT_CEILING_DIRECTORIES": str(loop.root.parent)})
    assert (outside.code, outside.out) == (2, "")
    assert outside.err == (f"compactor: error: {loop.root.parent}: not inside a git repository; "
                           "run compactor inside one or pass -C/--repo PATH\n")
    missing = run_compactor("cache", cwd=loop.root)
    assert (missing.code, missing.out) == (
        0, "no cache at .git/compactor/cache-v1.sqlite: the next scan or check creates it\n")
    before = run_compactor("scan", "--format", "json", cwd=loop.root)
    shown = run_compactor("cache", cwd=loop.root)
    assert shown.code == 0 and shown.out.startswith(".git/compactor/cache-v1.sqlite: ")
    assert ", 1 run written" not in shown.out and "written by 1 run\n" in shown.out
    assert _keys(loop)
    state = loop.state()
    cleaned = run_compactor("cache", "--clean", cwd=loop.root)
    assert cleaned.code == 0 and cleaned.out.startswith("emptied .git/compactor/cache-v1.sqlite: ")
    assert _keys(loop) == set() and loop.state() == state
    assert run_compactor("cache", cwd=loop.root).out.endswith(
        "0 brief rows, 0 values, written by 0 runs\n")
    assert run_compactor("scan", "--format", "json", cwd=loop.root).out == before.out
    # an unreadable file is deleted (the next run would rebuild it anyway)
    for extra in _db(loop).parent.glob("cache-v1.sqlite-*"):
        extra.unlink()
    _db(loop).write_bytes(b"not a database" * 50)
    assert "unreadable (file is not a database)" in run_compactor("cache", cwd=loop.root).out
    gone = run_compactor("cache", "--clean", cwd=loop.root)
    assert gone.code == 0 and gone.out.startswith("deleted .git/compactor/cache-v1.sqlite")
    assert not _db(loop).exists()
    assert run_compactor("cache", "--clean", cwd=loop.root).out == (
        "no cache at .git/compactor/cache-v1.sqlite: nothing to clean\n")


def test_cache_clean_refuses_while_another_run_writes(loop: GitRepo) -> None:
    loop.scan()
    keys = _keys(loop)
    other = sqlite3.connect(_db(loop), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        result = run_compactor("cache", "--clean", cwd=loop.root)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert result.code == 2 and result.out == ""
    assert result.err == (
        f"compactor: error: {_db(loop)}: another compactor run is using the cache; run "
        "`compactor cache --clean` again when it has finished\n")
    assert _keys(loop) == keys


def test_pruned_pages_go_back_to_the_file_system(tmp_path: Path, quick_pruning: None) -> None:
    """What an upgrade leaves behind (here 5 MB of values no later run reads) is deleted,
    and the file shrinks back instead of keeping the free pages for good."""
    db = tmp_path / store.CACHE_FILE
    cache = store.Cache(tmp_path)
    cache.put_blobs({bytes([k]) * 16: bytes([k]) * 100_000 for k in range(50)})
    cache.close()
    assert db.stat().st_size > 5_000_000
    for k in range(12):  # later runs, each writing a value of its own
        cache = store.Cache(tmp_path)
        cache.put_blobs({b"run %02d value...." % k: b"small"})
        assert cache.get_blobs([b"run %02d value...." % k]) == {b"run %02d value...." % k: b"small"}
        cache.close()
    assert db.stat().st_size < 200_000
    cache = store.Cache(tmp_path)
    assert cache.get_blobs([bytes([0]) * 16]) == {} and cache.get_blobs([b"run 11 value...."])
    cache.close()


def test_a_snapshot_reads_back_what_it_was_given_and_carries_rows_over() -> None:
    """Snapshot.dump -> load: every column as given (fresh metas, skipped files with their
    warnings, front-matter fields), and a rewrite that takes some rows from the old
    snapshot holds the same values as one written from scratch."""
    import numpy as np

    from compactor.git import IndexEntry
    from compactor.store import Snapshot

    width = 4
    entries = [IndexEntry("100644", f"{n:040x}", 0, f"docs/d{n}.md") for n in range(5)]
    metas: list[dict[str, object]] = [
        {"lane": "S001", "number": 1, "title": "One", "label": "one", "kind": "brief",
         "words": 10, "fields": {"lane": "S001", "tokens": {"codex": 5}, "tags": ["a", "b"]},
         "shingles": 7, "facts": [3, 4_000_000_000]},
        {"skip": True, "warnings": ["looks binary, not markdown; skipped"]},
        {"lane": None, "number": None, "title": "Two", "label": "two", "kind": "ack",
         "words": 3, "fields": {}, "shingles": 0, "facts": [], "warnings": ["odd"]},
        {"lane": "S002", "number": 2, "title": "One", "label": "one", "kind": "brief",
         "words": 11, "fields": {"lane": "S002"}, "shingles": 8, "facts": [5]},
        {"lane": "S003", "number": 3, "title": "Three", "label": "three", "kind": "proof",
         "words": 12, "fields": {}, "shingles": 9, "facts": []},
    ]
    matrix = np.arange(4 * width, dtype=np.uint32).reshape(4, width)  # the 4 briefs' rows

    def columns(snap: Snapshot) -> list[object]:
        return [snap.paths, snap.blobs, snap.skip, snap.warnings, snap.lane, snap.number,
                snap.title, snap.label, snap.kind, snap.words, snap.fields, snap.shingles,
                snap.facts, snap.matrix.tolist()]

    whole = Snapshot.load(Snapshot.dump(entries, [-1] * 5, None, list(zip(entries, metas, strict=True)),
                                        matrix, width), width)
    assert whole is not None
    assert whole.skip == bytes([0, 1, 0, 0, 0])
    assert whole.warnings == {1: ["looks binary, not markdown; skipped"], 2: ["odd"]}
    assert whole.lane == ["S001", None, None, "S002", "S003"]
    assert whole.kind == ["brief", "brief", "ack", "brief", "proof"]
    assert whole.fields[0] == {"lane": "S001", "tokens": {"codex": 5}, "tags": ["a", "b"]}
    assert whole.facts[0] == [3, 4_000_000_000] and whole.facts[1] == []
    assert whole.matrix.tolist() == [matrix[0].tolist(), [0] * width, *matrix[1:].tolist()]
    # rows 0-2 from the snapshot, 3-4 fresh
    mixed = Snapshot.load(Snapshot.dump(entries, [0, 1, 2, -1, -1], whole,
                                        list(zip(entries[3:], metas[3:], strict=True)), matrix,
                                        width), width)
    assert mixed is not None and columns(mixed) == columns(whole)


def test_a_cache_of_another_version_is_rebuilt_with_a_plain_note(loop: GitRepo) -> None:
    # the first run after an upgrade meets the older version's cache layout: that is no
    # corruption, and the note must not read like one
    before = run_compactor("scan", "--format", "json", cwd=loop.root)
    con = sqlite3.connect(_db(loop))
    with con:
        con.execute("UPDATE meta SET v = ? WHERE k = 'schema'", ("0123456789abcdef",))
    con.close()
    assert run_compactor("cache", cwd=loop.root).out.endswith(
        ", written by another compactor version; the next run rebuilds it\n")
    after = run_compactor("scan", "--format", "json", cwd=loop.root)
    assert after.code == 0
    assert json.loads(after.out)["briefs"] == json.loads(before.out)["briefs"]
    assert after.err == (
        f"compactor: warning: {_db(loop)}: the cache was written by another compactor version; "
        "rebuilding it once for this one\n")
    assert "unreadable" not in after.err
    again = run_compactor("scan", "--format", "json", cwd=loop.root)
    assert again.err == "" and again.out == before.out


DISTINCT = {
    "docs/notes/queue.md": "# Queue backlog\n\nThe ingestion queue drains slower on Mondays "
    "because the partner batch lands at nine; we moved the consumer pool to twelve workers, "
    "added a dead-letter alarm and wrote the replay runbook for poisoned messages.\n",
    "docs/notes/billing.md": "# Billing migration\n\nInvoices now render from the ledger "
    "service instead of the monolith; tax rounding differs by a cent on Swiss orders, so "
    "finance signed off a reconciliation script that posts the difference nightly.\n",
    "docs/notes/search.md": "# Search relevance\n\nSynonyms for product colours were "
    "missing from the analyzer, which sank navy and maroon results; the new dictionary "
    "ships behind a flag and the click-through dashboard tracks the change per locale.\n",
    "docs/notes/oncall.md": "# On-call rota\n\nPagers rotate weekly on Tuesdays at noon; "
    "the secondary covers holidays, escalations go to the platform lead after thirty "
    "minutes, and every incident gets a written review within five working days.\n",
}


def test_restatement_gists_live_as_long_as_the_links_computed_from_them(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, quick_pruning: None
) -> None:
    """The gists behind the restatement links are read only when the links must be found
    again (a doc in no family changed): they are kept while the links are read, so that
    day's run computes the changed doc's gist alone."""
    from compactor import restate

    repo.commit(DISTINCT, when=T0)
    computed: list[int] = []
    original = restate.gists

    def counting(bodies):  # type: ignore[no-untyped-def]
        bodies = list(bodies)
        computed.append(len(bodies))
        return original(bodies)

    monkeypatch.setattr(restate, "gists", counting)
    repo.scan(now=T0)
    assert sum(computed) >= 3  # the docs in no family (the queue note is read as an ACK)
    for k in range(1, 16):  # lanes of one family: the docs in no family stay the same
        repo.commit({f"docs/lanes/S{k:03d}-export.md": LANE.format(lane=f"S{k:03d}")},
                    when=T0 + 60 * k)
        repo.scan(now=T0 + 60 * k + 30)
    assert _clock(repo) > store.KEEP + store.PRUNE_EVERY
    computed.clear()
    repo.commit({"docs/notes/billing.md": DISTINCT["docs/notes/billing.md"] + "\nUpdated.\n"},
                when=T0 + 3600)
    repo.scan(now=T0 + 3660)
    assert computed == [1]


def test_switching_between_far_apart_branches_fingerprints_nothing_again(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two branches further apart than the snapshot's slack: each switch rewrites the
    snapshot, and the files the old one held but the new one drops are kept as rows, so
    switching back reads them instead of parsing and fingerprinting them again."""
    import compactor.scan as scan_module
    from compactor.render import scan_json

    monkeypatch.setattr(store, "SNAPSHOT_SLACK", 1)  # 4 files apart is far here
    repo.commit({f"docs/lanes/S{k:03d}-export.md": LANE.format(lane=f"S{k:03d}")
                 for k in (1, 2, 3)}, when=T0)
    repo.git("checkout", "-q", "-b", "wide")
    repo.commit({**DISTINCT, "docs/lanes/S004-export.md": LANE.format(lane="S004")},
                when=T0 + 60)
    fingerprinted: list[int] = []
    original = scan_module.fingerprint_parts

    def counting(repo_, config, entries):  # type: ignore[no-untyped-def]
        fingerprinted.append(len(entries))
        return original(repo_, config, entries)

    monkeypatch.setattr(scan_module, "fingerprint_parts", counting)
    for k in range(6):
        repo.git("checkout", "-q", ("main", "wide")[k % 2])
        fingerprinted.clear()
        warm = scan_json(repo.scan(now=T0 + 600))
        if k >= 2:
            assert sum(fingerprinted) == 0, k
        assert warm == scan_json(repo.scan(now=T0 + 600, use_cache=False))
