"""compactor restore and verify: every folded or archived byte comes back."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import GitRepo, git, run_compactor
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from compactor import compact
from compactor.config import Config
from compactor.demo.example import loop_corpus, write_repo
from compactor.git import Repo
from compactor.restore import restore
from compactor.scan import run_scan

MANIFEST = "docs/archive/compactor-manifest.json"

LANE = """---
lane: S{n:03d}
action: {label}
route: /ops/actions/{kebab}
---

# S{n:03d} — {title}

Ship `{snake}` behind the feature flag for the support console only.

## Scope
- route: `/ops/actions/{kebab}` registered once and mapped to `{pascal}Handler`.
- tenant: the tenant id comes from the session, never from the request body.
- audit: `ops.{snake}.committed` carries actor, tenant and request id.

## Proof
- positive path: a valid session returns 200 and the record moves state.
- negative path: a cross-tenant request returns 403 before the outbox is touched.
- replay: the same idempotency key twice writes one journal row.
{extra}
Next: S{next:03d} picks up the next action with the same envelope.
"""

LABELS = [
    ("approve", "invoice"), ("cancel", "vendor"), ("unflag", "invoice"), ("reopen", "ticket"),
    ("refund", "payment"), ("retry", "payout"), ("lock", "account"), ("merge", "customer"),
]


def lane_text(n: int, words: tuple[str, str], extra: str) -> str:
    return LANE.format(
        n=n, next=n + 1, label=" ".join(words), kebab="-".join(words), snake="_".join(words),
        pascal="".join(w.capitalize() for w in words), title=" ".join(words).capitalize(),
        extra=extra,
    )


def compacted_loop(repo: GitRepo) -> tuple[dict[str, bytes], str, compact.Plan]:
    """A loop repo compacted onto branch 'tidy', checked out: (files before, its HEAD, plan)."""
    docs = loop_corpus(0, families=2, lanes_per_family=10, skeleton_docs=3, one_offs=2, proofs=1)
    write_repo(repo.root, docs)
    originals = {d.path: d.text.encode() for d in docs}
    plan = compact.plan_compaction(Repo(repo.root), Config())
    assert len([f for f in plan.folds if f.lane]) >= 3 and len(plan.moves) >= 2
    # the launch prompts (a family without lane ids) stay in place, and the plan says so
    assert not [f for f in plan.folds if not f.lane]
    assert any("no lane id and stay in place" in w for w in plan.warnings)
    r = run_compactor("compact", "--apply", "--branch", "tidy", cwd=repo.root)
    assert r.code == 0
    repo.git("checkout", "-q", "tidy")
    return originals, repo.git("rev-parse", "HEAD").strip(), plan


def laned(plan: compact.Plan) -> list[compact.Fold]:
    return [f for f in plan.folds if f.lane]


# -- restore ------------------------------------------------------------------------------------


def test_restore_by_path_lane_and_archived_location(repo: GitRepo) -> None:
    originals, _, plan = compacted_loop(repo)
    lane, ack, other = laned(plan)[1], plan.moves[0], laned(plan)[2]
    assert lane.lane is not None
    for path in (lane.path, ack.path, other.path):
        assert not (repo.root / path).exists()
    r = run_compactor("restore", lane.lane, ack.target, other.path, cwd=repo.root)
    assert r.code == 0
    assert r.out == (
        f"restored  {lane.path} ({lane.lane})\n"
        f"restored  {ack.path}\n"
        f"restored  {other.path} ({other.lane})\n"
        f"removed   {ack.target} (the archived copy)\n"
        f"updated   {MANIFEST}\n"
        "updated   docs/INVENTORY.md\n"
    )
    stage = " ".join(sorted([lane.path, ack.path, other.path, ack.target, MANIFEST,
                             "docs/INVENTORY.md"]))
    assert r.err == ("3 files restored, 0 already there\n"
                     f"to commit the undo, from the repository root: git add -A -- {stage}\n")
    for path in (lane.path, ack.path, other.path):
        assert (repo.root / path).read_bytes() == originals[path]
    # a clean undo: the manifest and the folded block no longer list them
    left = json.loads((repo.root / MANIFEST).read_text())["entries"]
    assert not {lane.path, ack.path, other.path} & set(left) and left
    inventory = (repo.root / "docs/INVENTORY.md").read_text()
    assert f'lane "{lane.path}"' not in inventory and f'lane "{other.path}"' not in inventory
    assert not (repo.root / ack.target).exists()
    again = run_compactor("restore", lane.lane.lower(), cwd=repo.root)  # any case
    assert again.code == 0
    assert again.out == f"unchanged  {lane.path} ({lane.lane})\n"
    assert again.err == "0 files restored, 1 already there\n"


def test_a_restored_file_stays_back_until_unpinned(repo: GitRepo) -> None:
    _, _, plan = compacted_loop(repo)
    lane, ack = laned(plan)[1], plan.moves[0]
    assert lane.lane is not None
    r = run_compactor("restore", lane.lane, ack.target, cwd=repo.root)
    assert r.code == 0
    manifest = json.loads((repo.root / MANIFEST).read_text())
    assert manifest["kept"] == sorted([lane.path, ack.path])  # pinned where compaction looks
    repo.git("add", "-A")
    repo.commit({}, message="restore S: the reviewer keeps it")
    # the undo's commit is fresh: restore regenerated the inventory block for it (the
    # restored files present, and kept)
    fresh = run_compactor("inventory", "--check", cwd=repo.root)
    assert fresh.code == 0, fresh.err
    # the next compaction leaves both where the reviewer put them, and says they are kept
    again = compact.plan_compaction(Repo(repo.root), Config())
    assert again.empty, (again.folds, again.moves)
    scan = run_scan(Repo(repo.root), Config())
    kept = {b.path: d.retention for b, d in zip(scan.briefs, scan.decisions, strict=True)}
    assert kept[lane.path] == kept[ack.path] == "keep"
    explained = run_compactor("scan", "--explain", lane.path, cwd=repo.root).out
    assert f"  pinned: listed in 'kept' of {MANIFEST} (a restore, or by hand)" in explained
    # unpinned by taking the path out of 'kept': the lane is proposed again
    manifest["kept"].remove(lane.path)
    repo.commit({MANIFEST: json.dumps(manifest, indent=2) + "\n"}, message="unpin")
    unpinned = compact.plan_compaction(Repo(repo.root), Config())
    assert [f.path for f in unpinned.folds] == [lane.path]
    assert not unpinned.moves


def test_restore_takes_paths_relative_to_the_current_directory(repo: GitRepo) -> None:
    originals, _, plan = compacted_loop(repo)
    path = laned(plan)[0].path
    folder, name = path.rsplit("/", 1)
    r = run_compactor("restore", name, cwd=repo.root / folder)
    assert r.code == 0
    assert (repo.root / path).read_bytes() == originals[path]


def test_restore_refuses_to_overwrite_a_different_file_unless_forced(repo: GitRepo) -> None:
    originals, _, plan = compacted_loop(repo)
    path = laned(plan)[2].path
    (repo.root / path).write_text("someone's new text\n")
    before = repo.state()
    r = run_compactor("restore", "--all", cwd=repo.root)
    assert r.code == 2
    assert r.err == (
        f"compactor: error: {path}: exists with other content; pass --force to overwrite, "
        "or move it first\n"
    )
    assert repo.state() == before  # nothing written, not even the files that were free
    r = run_compactor("restore", "--all", "--force", cwd=repo.root)
    assert r.code == 0
    assert (repo.root / path).read_bytes() == originals[path]


def test_restore_refuses_unknown_names_and_bad_usage(repo: GitRepo) -> None:
    _, _, plan = compacted_loop(repo)
    known = laned(plan)[0].lane
    assert known is not None
    before = repo.state()
    r = run_compactor("restore", "S999", "docs/nope.md", known, cwd=repo.root)
    assert r.code == 2
    assert r.err == (
        "compactor: error: S999, docs/nope.md: not in the compaction manifest; name an original "
        "path, an archived path or a lane id it lists (or pass --all)\n"
    )
    r = run_compactor("restore", cwd=repo.root)
    assert r.code == 2
    assert r.err == (
        "compactor: error: restore: name PATH or LANE arguments, or pass --all (not both)\n"
    )
    assert repo.state() == before


def test_restore_from_another_revision_and_without_a_manifest(repo: GitRepo) -> None:
    _, _, plan = compacted_loop(repo)
    entries = len(json.loads((repo.root / MANIFEST).read_text())["entries"])
    repo.git("checkout", "-q", "main")  # the originals are all here already
    r = run_compactor("restore", "--all", "--rev", "tidy", cwd=repo.root)
    assert r.code == 0
    first = min([f.path for f in plan.folds] + [m.path for m in plan.moves])
    assert r.out.splitlines()[0] == f"unchanged  {first}"
    assert r.err == f"0 files restored, {entries} already there\n"
    r = run_compactor("restore", "--all", cwd=repo.root)
    assert r.code == 2
    assert r.err == (
        f"compactor: error: {MANIFEST}: no compaction manifest in HEAD; nothing was compacted "
        "there (check out the compacted branch, or pass --rev)\n"
    )


def test_restore_refuses_a_manifest_pointing_outside_the_work_tree(repo: GitRepo) -> None:
    proc = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.root,
                          input=b"evil\n", capture_output=True, check=True)
    blob = proc.stdout.decode().strip()
    manifest = {"version": 1, "compactions": [], "entries": {
        "../outside.md": {"action": "archived", "blob": blob, "location": "x.md"},
    }}
    repo.commit({MANIFEST: json.dumps(manifest)}, message="crafted")
    before = repo.state()
    r = run_compactor("restore", "--all", cwd=repo.root)
    assert r.code == 2
    assert r.err == (
        f"compactor: error: {MANIFEST}: entry \"../outside.md\" leaves the work tree; refusing "
        "to use this manifest (restore it from git history (git log -- PATH) or remove it)\n"
    )
    assert not (repo.root.parent / "outside.md").exists()
    assert repo.state() == before


# -- verify ------------------------------------------------------------------------------------


def test_verify_reports_missing_blobs_and_missing_files(repo: GitRepo) -> None:
    _, head, plan = compacted_loop(repo)
    # its scan (is every folded lane still seen?) takes --no-cache like every scanning command
    cache = repo.root / ".git" / "compactor"
    shutil.rmtree(cache)
    fresh = run_compactor("verify", "--no-cache", cwd=repo.root)
    assert fresh.code == 0 and fresh.out.startswith("manifest ok (") and not cache.exists()
    assert run_compactor("verify", cwd=repo.root).out == fresh.out and cache.is_dir()
    manifest = json.loads((repo.root / MANIFEST).read_text())
    lane, ack = laned(plan)[-1].path, plan.moves[-1]
    manifest["entries"][lane]["blob"] = "0123456789abcdef0123456789abcdef01234567"
    repo.commit({MANIFEST: json.dumps(manifest, indent=2)}, message="break a blob")
    repo.git("rm", "-q", ack.target)
    repo.commit({}, message="lose an archived file")
    r = run_compactor("verify", cwd=repo.root)
    assert r.code == 1
    n = len(manifest["entries"])
    problems = sorted([
        (lane, f"{lane}: blob 0123456789abcdef0123456789abcdef01234567 is missing from the "
               "repository"),
        (ack.path, f"{ack.path}: archived to {ack.target}, which is not in HEAD"),
    ])
    assert r.out == "".join(p + "\n" for _, p in problems) + (
        f"manifest: 2 problems in {n} entries; fetch the missing objects or restore the files, "
        "then verify again\n"
    )
    # the commit before the damage still verifies
    assert run_compactor("verify", "--rev", head, cwd=repo.root).code == 0


def test_verify_without_a_manifest_has_nothing_to_check(repo: GitRepo) -> None:
    repo.commit({"docs/a.md": "# a\n"})
    r = run_compactor("verify", cwd=repo.root)
    assert (r.code, r.out) == (0, "no compaction manifest in HEAD: nothing to verify\n")


# -- the property: compact -> restore gives every byte back --------------------------------------

line = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\x85"),
    max_size=40,
)
family = st.tuples(
    st.integers(min_value=3, max_value=6),  # lanes
    st.lists(st.lists(line, max_size=2), min_size=6, max_size=6),  # extra lines per lane
    st.sampled_from(["\n", "\r\n"]),  # line endings
)


@pytest.mark.slow  # started first: see tests/conftest.py
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    families=st.lists(family, min_size=1, max_size=2),
    acks=st.lists(st.sampled_from(["ACK. Proceed with", "Acknowledged, next bounded slice:",
                                   "Got it. Next up"]), max_size=3),
    others=st.lists(st.binary(max_size=64), max_size=2),
)
def test_compact_then_restore_gives_back_identical_bytes(
    families: list[tuple[int, list[list[str]], str]], acks: list[str], others: list[bytes]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        git(root, "init", "-q", "-b", "main")
        git(root, "config", "commit.gpgsign", "false")
        files: dict[str, bytes] = {}
        n = 100
        for k, (count, extras, nl) in enumerate(families):
            for i in range(count):
                words = LABELS[(i + 3 * k) % len(LABELS)]
                text = lane_text(n, words, "\n".join(f"- {x}" for x in extras[i]) + "\n")
                files[f"docs/f{k}/S{n:03d}-{'-'.join(words)}.md"] = text.replace("\n", nl).encode()
                n += 1
        for i, ack in enumerate(acks):
            files[f"docs/loop/S{100 + i:03d}-next.md"] = f"{ack} S{101 + i:03d}.\n".encode()
        for i, data in enumerate(others):
            files[f"notes/other-{i}.md"] = data
        for path, data in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(data)
        git(root, "add", "-A")
        git(root, "commit", "-q", "--no-verify", "-m", "docs")
        r = Repo(root)
        plan = compact.plan_compaction(r, Config(), use_cache=False)
        event(f"folds={len(plan.folds) > 0} moves={len(plan.moves) > 0}")
        if plan.empty:
            return
        compact.apply_compaction(r, plan, "tidy")
        git(root, "checkout", "-q", "tidy")
        removed = {f.path for f in plan.folds} | {m.path for m in plan.moves}
        assert not any((root / p).exists() for p in removed)
        done = restore(r, Config(), [], everything=True)
        assert {d.path for d in done.restored} == removed
        for path, data in files.items():
            assert (root / path).read_bytes() == data, path
