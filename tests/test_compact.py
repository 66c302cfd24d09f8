"""compactor compact: the plan, ONE commit on a new branch, nothing else touched."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import GitRepo, run_compactor
from hypothesis import given, settings
from hypothesis import strategies as st

from compactor import compact, shapes
from compactor.config import Config
from compactor.demo.example import ACTIONS, label_spellings, loop_corpus, write_repo
from compactor.git import Repo
from compactor.scan import Scan

MANIFEST = "docs/archive/compactor-manifest.json"
INVENTORY = "docs/INVENTORY.md"


def loop_repo(repo: GitRepo) -> compact.Plan:
    """A small generated loop (a renamed-lane family, launch prompts, ACKs) and its plan."""
    docs = loop_corpus(0, families=2, lanes_per_family=10, skeleton_docs=3, one_offs=2, proofs=1)
    write_repo(repo.root, docs)
    plan = plan_of(repo)
    # the loop gives compaction real work: the renamed lanes to fold, ACKs to archive; the
    # launch prompts (a family without lane ids) stay in place
    assert len(plan.families) == 1 and len(plan.folds) >= 5 and len(plan.moves) >= 3
    return plan


def lane_folds(plan: compact.Plan) -> list[compact.Fold]:
    """The folds that have a lane id (the renamed-lane family, not the launch prompts)."""
    return [f for f in plan.folds if f.lane]


def tree(repo: GitRepo, rev: str) -> dict[str, str]:
    """path -> blob id of every file of ``rev``."""
    out = {}
    for line in repo.git("ls-tree", "-r", "-z", rev).split("\0"):
        if line:
            meta, path = line.split("\t", 1)
            out[path] = meta.split()[2]
    return out


def short(repo: GitRepo) -> str:
    return repo.git("rev-parse", "--short", "HEAD").strip()


def plan_of(repo: GitRepo, config: Config | None = None) -> compact.Plan:
    return compact.plan_compaction(Repo(repo.root), config or Config())


# -- the plan ---------------------------------------------------------------------------------


def added_at(repo: GitRepo, path: str) -> str:
    """When git says ``path`` was first added (author time, ISO 8601 UTC)."""
    first = repo.git("log", "--reverse", "--diff-filter=A", "--format=%at", "--", path).split()[0]
    return datetime.fromtimestamp(int(first), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_dry_run_prints_the_plan_and_changes_nothing(repo: GitRepo) -> None:
    plan = loop_repo(repo)
    c = plan.counts
    before = repo.state()
    r = run_compactor("compact", cwd=repo.root)
    assert r.code == 0
    head = repo.git("rev-parse", "HEAD").strip()
    nf, nm = len(plan.folds), len(plan.moves)
    assert r.out.splitlines()[0] == (
        f"compaction of HEAD {head[:12]}: keep {c['keep']}, mostly-keep {c['mostly-keep']}, "
        f"{plan.unlaned} repeated without a lane id (left alone); fold {nf} lanes into "
        f"docs/INVENTORY.md; archive {nm} files "
        "under docs/archive/"
    )
    fam = plan.families[0]
    assert (f"family {fam.id}: fold {len(fam.folded)} of {fam.lanes} lanes; "
            f"keep {', '.join(fam.kept)}") in r.out
    assert f"diff: {nf} deleted, {nm} renamed, 2 added, 0 modified" in r.out
    m, f = plan.moves[0], plan.folds[0]
    assert f"  R  {m.path} -> docs/archive/{m.path}" in r.out
    assert f"  D  {f.path}" in r.out
    assert r.out.rstrip().endswith(
        f"dry run: nothing changed; 'compactor compact --apply' creates branch "
        f"compactor/compact-{short(repo)}"
    )
    assert repo.state() == before


def compress_row(repo: GitRepo) -> str:
    """The inventory's retention-table row for class compress (``compactor inventory`` run)."""
    assert run_compactor("inventory", cwd=repo.root).code == 0
    text = (repo.root / INVENTORY).read_text(encoding="utf-8")
    return next(line for line in text.splitlines() if line.startswith("| compress |"))


def test_the_inventory_says_which_compress_docs_compaction_folds_and_which_stay(
    repo: GitRepo,
) -> None:
    plan = loop_repo(repo)
    assert plan.unlaned and plan.folds
    assert compress_row(repo) == (
        f"| compress | {len(plan.folds) + plan.unlaned} | {len(plan.folds)} folded into this "
        f"inventory; {plan.unlaned} left in place: no lane id (compaction folds lanes only; "
        "merge or delete them by hand) |"
    )


def test_repeated_docs_without_lane_ids_stay_with_one_warning_and_the_inventory_says_so(
    repo: GitRepo,
) -> None:
    # two families of docs without lane ids (launch prompts and a reworded hand-off copy of
    # each): compaction folds neither, and says so once, not once per family
    launch = [d for d in loop_corpus(0, families=2, lanes_per_family=6, skeleton_docs=0,
                                     one_offs=0, proofs=0) if d.path.startswith("docs/launch/")]
    files = {}
    for d in launch:
        files[d.path] = d.text
        files[d.path.replace("launch/", "handoff/")] = "\n".join(
            " ".join(w[::-1] for w in line.split()) for line in d.text.splitlines())
    for k, path in enumerate(sorted(files, key=lambda p: (p.rsplit("/", 1)[1], p))):
        repo.commit({path: files[path]}, when=1767000000 + 600 * k)
    scan = repo.scan(rev="HEAD")
    stay = [b.path for b, d in zip(scan.briefs, scan.decisions, strict=True)
            if d.retention == "compress"]
    assert len(scan.families) == 2 and not scan.lane_families and len(stay) >= 4
    before = repo.state()
    r = run_compactor("compact", cwd=repo.root)
    assert r.code == 0 and repo.state() == before
    warned = [line for line in r.err.splitlines() if "no lane id" in line]
    assert warned == [
        f"compactor: warning: {len(stay)} repeated docs in 2 families have no lane id and stay in "
        "place (compaction folds only families with lane ids; `compactor scan` lists them as "
        "compress): to retire one, merge what it adds into its family's first doc and delete it "
        "by hand; if their file names carry an id, set lane_pattern to match it"
    ]
    assert "nothing to compact" in r.out
    # the inventory does not call them folded: it says they stay, with compact's count
    assert compress_row(repo) == (
        f"| compress | {len(stay)} | all {len(stay)} left in place: no lane id (compaction folds "
        "lanes only; merge or delete them by hand) |"
    )


def test_plan_folds_compress_lanes_archives_acks_and_keeps_the_rest(repo: GitRepo) -> None:
    plan = loop_repo(repo)
    scan = repo.scan(rev="HEAD")
    by_retention: dict[str, set[str]] = {}
    for b, d in zip(scan.briefs, scan.decisions, strict=True):
        by_retention.setdefault(d.retention, set()).add(b.path)
    # every compress doc of a lane family is folded; the launch prompts (no lane ids) are not
    lanes_in = compact.lane_families(scan)
    family_of = {b.path: d.family for b, d in zip(scan.briefs, scan.decisions, strict=True)}
    compressed = by_retention["compress"]
    assert {f.path for f in plan.folds} == {p for p in compressed if family_of[p] in lanes_in}
    left = {p for p in compressed if family_of[p] not in lanes_in}
    assert left and all(p.startswith("docs/launch/") for p in left)
    assert plan.unlaned == len(left)
    assert (f"family {family_of[min(left)]}: {len(left)} repeated docs have no lane id and stay "
            "in place (compaction folds only families with lane ids; `compactor scan` lists them "
            "as compress): to retire one, merge what it adds into its family's first doc and "
            "delete it by hand; if their file names carry an id, set lane_pattern to match it"
            ) in plan.warnings
    assert {m.path for m in plan.moves} == by_retention["archive"]
    assert all(m.target == f"docs/archive/{m.path}" for m in plan.moves)
    touched = {f.path for f in plan.folds} | {m.path for m in plan.moves}
    assert not touched & (by_retention["keep"] | by_retention["mostly-keep"] | left)
    kinds = {b.path: b.kind for b in scan.briefs}
    assert {kinds[m.path] for m in plan.moves} == {"ack"}
    for f in plan.folds:  # the exemplar, the first lane of the family, is always kept
        assert f.exemplar in by_retention["mostly-keep"]


ACK = "ACK {n} landed. Next bounded slice, proceed.\n"


def test_archives_only_whole_chatter_never_a_file_out_of_a_bundle(repo: GitRepo) -> None:
    repo.commit({
        # an evidence bundle: its short summary reads like chatter, its data files stay
        "docs/evidence/run-7/summary.md": "Done. All green, proceed with the next slice.\n",
        "docs/evidence/run-7/result.json": '{"ok": true}\n',
        "docs/evidence/run-7/trace.json": "[]\n",
        # ACKs beside a design note that stays: archived with their siblings or not at all
        "docs/replies/S001-ack.md": ACK.format(n="S001"),
        "docs/replies/S002-ack.md": ACK.format(n="S002"),
        "docs/replies/design.md": "# Design\n\n## Context\n\nWhy the replies live here.\n",
        # a folder of nothing but chatter is archived whole
        "docs/acks/S003-ack.md": ACK.format(n="S003"),
        "docs/acks/S004-ack.md": ACK.format(n="S004"),
    })
    scan = repo.scan(rev="HEAD")
    archive = {b.path for b, d in zip(scan.briefs, scan.decisions, strict=True)
               if d.retention == "archive"}
    assert {"docs/evidence/run-7/summary.md", "docs/replies/S001-ack.md",
            "docs/acks/S003-ack.md"} <= archive  # all read as chatter ...
    plan = plan_of(repo)
    # ... but only the folder of nothing but chatter moves
    assert [m.path for m in plan.moves] == ["docs/acks/S003-ack.md", "docs/acks/S004-ack.md"]
    assert ("docs/evidence/run-7/: 1 ACK file left in place (summary.md): the folder also "
            "holds 2 files that stay; compaction archives a folder's chatter only together "
            "with all its files") in plan.warnings
    assert ("docs/replies/: 2 ACK files left in place (S001-ack.md, S002-ack.md): the folder "
            "also holds 1 file that stays; compaction archives a folder's chatter only "
            "together with all its files") in plan.warnings
    r = run_compactor("compact", "--apply", cwd=repo.root)
    assert r.code == 0
    after = tree(repo, f"compactor/compact-{short(repo)}")
    assert "docs/evidence/run-7/summary.md" in after and "docs/replies/S001-ack.md" in after
    assert "docs/archive/docs/acks/S003-ack.md" in after and "docs/acks/S003-ack.md" not in after


def test_unique_lines_keep_what_the_exemplar_lacks_and_ignore_renames() -> None:
    exemplar = (
        "# S085 — Approve invoice\n\nShip `approve_invoice` behind the flag.\n"
        "- route: /ops/actions/approve-invoice\n- tenant from the session\n"
    )
    lane = (
        "# S091 — Cancel vendor\n\nShip `cancel_vendor` behind the flag.\n"
        "- route: /ops/actions/cancel-vendor\n- tenant from the session\n"
        "- EU tenants need a second approver before cancel vendor runs.\n"
    )
    got = compact.unique_lines(lane, "cancel vendor", exemplar, "approve invoice")
    assert got == ("- EU tenants need a second approver before cancel vendor runs.",)


def test_a_line_the_exemplar_holds_word_for_word_is_not_unique_once_a_label_word_is_masked(
) -> None:
    exemplar = (
        "# S085 — Approve invoice\n\n- replay: the same idempotency key twice writes one row.\n"
        "- audit: ops.approve_invoice.committed carries the actor.\n"
    )
    lane = (
        "# S097 — Rotate key\n\n- replay: the same idempotency key twice writes one row.\n"
        "- audit: ops.rotate_key.committed carries the actor.\n"
        "- the old key stays valid for 24 hours after rotation.\n"
    )
    # masking 'key' (a word of this lane's label) must not make the replay line look new
    got = compact.unique_lines(lane, "rotate key", exemplar, "approve invoice")
    assert got == ("- the old key stays valid for 24 hours after rotation.",)


def test_a_long_lane_lists_a_bounded_number_of_unique_lines_and_counts_the_rest(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = loop_repo(repo)
    full = {f.path: f.unique_lines for f in plan.folds}
    monkeypatch.setattr(compact, "UNIQUE_LINES_SHOWN", 3)  # the loop's lanes have more
    bounded = compact.plan_compaction(Repo(repo.root), Config())
    # the lines new to the family (listed first) are never cut: at least 3 are listed
    long = next(f for f in bounded.folds if len(full[f.path]) > max(3, f.fresh))
    shown = max(3, long.fresh)
    assert long.unique_lines == full[long.path][:shown]
    assert long.more == len(full[long.path]) - shown == long.unique_count - shown
    entry = compact.fold_entry(long, bounded.head)
    assert f"- … {long.more} more line{'s' if long.more > 1 else ''}, see blob `{long.blob}`" in (
        entry)
    assert f"({long.unique_count} unique lines, {shown} listed)" in compact.plan_text(bounded,
                                                                                     "tidy")


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=300), label=st.sampled_from(["approve invoice", "cancel", ""]))
def test_line_shapes_mask_each_line_on_its_own(text: str, label: str) -> None:
    expected = [" ".join(shapes.mask(line, label.split())) for line in text.splitlines()]
    assert compact.line_shapes(text, label) == expected


# -- apply ------------------------------------------------------------------------------------


def test_apply_builds_one_commit_on_a_new_branch_and_touches_nothing_else(
    repo: GitRepo,
) -> None:
    plan = loop_repo(repo)
    head = repo.git("rev-parse", "HEAD").strip()
    (repo.root / "docs/proofs/operator-action-envelope-proof.md").write_text("local edit\n")
    before = repo.state()
    r = run_compactor("compact", "--apply", cwd=repo.root)
    assert r.code == 0
    branch = f"compactor/compact-{short(repo)}"
    assert f"created branch {branch}: one commit" in r.out
    assert (
        f"compactor: warning: uncommitted changes are not included: compaction works from HEAD "
        f"({short(repo)}); commit them first to include them"
    ) in r.err
    # the checkout: HEAD, branch, index and working tree byte-identical; one new ref
    refs, index, files = repo.state()
    assert (index, files) == before[1:]
    new_refs = set(refs.splitlines()) - set(before[0].splitlines())
    assert new_refs == {f"refs/heads/{branch} {repo.git('rev-parse', branch).strip()}"}
    assert set(before[0].splitlines()) <= set(refs.splitlines())
    assert repo.git("symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert repo.git("rev-parse", "main").strip() == head
    # one commit on top of HEAD
    assert repo.git("rev-list", f"{head}..{branch}").split() == [
        repo.git("rev-parse", branch).strip()
    ]
    assert repo.git("rev-parse", f"{branch}^").strip() == head
    # its tree: the folds removed, the ACKs moved unchanged, inventory and manifest added
    old, new = tree(repo, head), tree(repo, branch)
    expected = dict(old)
    for f in plan.folds:
        del expected[f.path]
    for m in plan.moves:
        expected[m.target] = expected.pop(m.path)
    assert {p: b for p, b in new.items() if p not in (INVENTORY, MANIFEST)} == expected
    manifest = json.loads(repo.git("show", f"{branch}:{MANIFEST}"))
    assert manifest["compactions"] == [
        {"archived": len(plan.moves), "folded": len(plan.folds), "source_commit": head}
    ]
    assert len(manifest["entries"]) == len(plan.folds) + len(plan.moves)
    f = lane_folds(plan)[1]
    fam = next(x for x in plan.families if x.id == f.family)
    assert manifest["entries"][f.path] == {
        "action": "folded", "blob": old[f.path], "family": fam.id,
        "label": f.label, "lane": f.lane, "location": "inventory", "mode": "100644",
        "source_commit": head, "created": added_at(repo, f.path),
    }
    m = plan.moves[0]
    assert manifest["entries"][m.path] == {
        "action": "archived", "blob": old[m.path], "location": f"docs/archive/{m.path}",
        "mode": "100644", "source_commit": head, "created": added_at(repo, m.path),
    }
    inventory = repo.git("show", f"{branch}:{INVENTORY}")
    entry = inventory[inventory.index(f"### {f.lane}: {f.label}\n"):]
    entry = entry[: entry.index("<!-- compactor:folded")]
    assert f"- original path: `{f.path}`" in entry
    assert f"- blob: `{old[f.path]}`" in entry
    assert f"- source commit: `{head}`" in entry
    assert f"- family: {fam.id} (exemplar {fam.kept[0]})" in entry
    for line in f.unique_lines:  # what the exemplar does not have is kept in the inventory
        assert line in entry


def test_compacted_branch_restores_byte_exact_and_compacts_to_nothing(repo: GitRepo) -> None:
    plan = loop_repo(repo)
    entries = len(plan.folds) + len(plan.moves)
    head = repo.git("rev-parse", "HEAD").strip()
    originals = {p: (repo.root / p).read_bytes() for p in tree(repo, head)}
    assert run_compactor("compact", "--apply", "--branch", "tidy", cwd=repo.root).code == 0
    repo.git("checkout", "-q", "tidy")
    compacted = tree(repo, "tidy")

    before = repo.state()
    again = run_compactor("compact", "--apply", cwd=repo.root)
    assert again.code == 0
    assert "nothing to compact: no lanes to fold, no ACK files to archive; no commit created" in (
        again.out
    )
    assert f"({len(plan.folds)} lanes were folded by earlier compactions)" in again.out
    assert repo.state() == before

    ok = run_compactor("verify", cwd=repo.root)
    assert (ok.code, ok.out) == (0, f"manifest ok ({entries} entries)\n")
    fresh = run_compactor("inventory", "--check", cwd=repo.root)
    assert fresh.code == 0  # the commit carries the regenerated inventory block

    r = run_compactor("restore", "--all", cwd=repo.root)
    assert r.code == 0
    f = lane_folds(plan)[0]
    assert f"restored  {f.path} ({f.lane})" in r.out
    assert r.err == (f"{entries} files restored, 0 already there\n"
                     "to commit the undo, from the repository root: git add -A (the paths above)\n")
    assert len(set(originals) - set(compacted)) == entries
    for path, data in originals.items():
        assert (repo.root / path).read_bytes() == data, path


def test_a_later_compaction_merges_into_inventory_and_manifest(repo: GitRepo) -> None:
    plan = loop_repo(repo)
    entries = len(plan.folds) + len(plan.moves)
    first_head = repo.git("rev-parse", "HEAD").strip()
    assert run_compactor("compact", "--apply", "--branch", "c1", cwd=repo.root).code == 0
    repo.git("checkout", "-q", "c1")
    # a human edits the inventory around the generated blocks
    text = (repo.root / INVENTORY).read_text()
    text = "Owner: ops docs team.\n\n" + text + "\n## Notes by hand\n\nKeep this.\n"
    repo.commit({INVENTORY: text}, message="hand edits")
    # the loop goes on: three more renames of the last folded lane
    last = lane_folds(plan)[-1]
    assert last.lane is not None
    source = repo.git("show", f"{first_head}:{last.path}")
    top = max(b.number or 0 for b in repo.scan(rev=first_head).briefs)
    old = label_spellings(last.label.split())
    used = {f.label for f in plan.folds} | {last.label}
    actions = [a for a in ACTIONS if len(a) == 2 and " ".join(a) not in used][:3]
    more, names = {}, []
    for k, action in enumerate(actions, start=1):
        new = label_spellings(action)
        lane = f"S{top + k:03d}"
        body = source.replace(last.lane, lane)
        for key in sorted(old, key=lambda key: -len(old[key])):
            body = body.replace(old[key], new[key])
        path = f"{last.path.rsplit('/', 1)[0]}/{lane}-{new['kebab']}.md"
        more[path] = body
        names.append(f"### {lane}: {new['words']}")
    repo.commit(more, message="more lanes")
    second_head = repo.git("rev-parse", "HEAD").strip()

    r = run_compactor("compact", "--apply", "--branch", "c2", cwd=repo.root)
    assert r.code == 0, r
    assert f"fold 3 lanes into {INVENTORY}; archive 0 files" in r.out
    assert not set(more) & set(tree(repo, "c2"))
    inventory = repo.git("show", f"c2:{INVENTORY}")
    assert inventory.startswith("Owner: ops docs team.\n\n")
    assert inventory.endswith("<!-- compactor:folded:end -->\n\n## Notes by hand\n\nKeep this.\n")
    first = lane_folds(plan)[0]
    positions = [inventory.index(n) for n in [f"### {first.lane}: {first.label}", *names]]
    assert positions == sorted(positions)  # earlier entries kept, new ones appended
    manifest = json.loads(repo.git("show", f"c2:{MANIFEST}"))
    assert [c["source_commit"] for c in manifest["compactions"]] == [first_head, second_head]
    assert manifest["entries"][first.path]["source_commit"] == first_head
    assert all(manifest["entries"][p]["source_commit"] == second_head for p in more)
    assert len(manifest["entries"]) == entries + 3


def test_inventory_text_outside_the_folded_block_survives_byte_for_byte(repo: GitRepo) -> None:
    plan = loop_repo(repo)
    head = "# Our inventory\r\n\r\nWritten by people; caf\xe9 \u2014 keep.\r\n\r\n"
    middle = "\n\nBetween the blocks: also ours.\n\n"
    tail = "\nTrailing words, no newline"
    human = (
        f"{head}<!-- compactor:inventory:begin -->\nold inventory\n"
        f"<!-- compactor:inventory:end -->{middle}"
        f"<!-- compactor:folded:begin -->\nstale text\n<!-- compactor:folded:end -->{tail}"
    )
    repo.commit({INVENTORY: human}, message="inventory")
    assert run_compactor("compact", "--apply", "--branch", "c", cwd=repo.root).code == 0
    raw = subprocess_bytes(repo, f"c:{INVENTORY}")
    assert raw.startswith(head.encode() + b"<!-- compactor:inventory:begin -->\n")
    assert (b"<!-- compactor:inventory:end -->" + middle.encode()
            + b"<!-- compactor:folded:begin -->\n") in raw
    assert raw.endswith(b"<!-- compactor:folded:end -->" + tail.encode())
    text = raw.decode()
    assert "stale text" not in text and "old inventory" not in text
    f = lane_folds(plan)[2]
    assert f"### {f.lane}: {f.label}" in text
    assert "## Summary" in text  # the inventory block, regenerated for the compacted tree


def subprocess_bytes(repo: GitRepo, spec: str) -> bytes:
    import subprocess

    return subprocess.run(["git", "show", spec], cwd=repo.root, capture_output=True,
                          check=True).stdout


def test_pr_body_to_stdout_and_to_a_file(repo: GitRepo, tmp_path: Path) -> None:
    plan = loop_repo(repo)
    r = run_compactor("compact", "--pr-body", "-", cwd=repo.root)
    assert r.code == 0
    assert r.out.startswith("## Compaction of ")
    assert f"| folded into the inventory | {len(plan.folds)} |" in r.out
    fam = plan.families[0]
    assert (f"| {fam.id} | {fam.lanes} | {', '.join(fam.folded)} | "
            f"{', '.join(fam.kept)} |") in r.out
    m = plan.moves[0]
    assert f"- `{m.path}` → `docs/archive/{m.path}`" in r.out
    assert "compactor restore --all" in r.out
    assert "dry run: nothing changed" in r.err  # the plan moves to stderr
    body = tmp_path / "pr.md"
    r = run_compactor("compact", "--pr-body", str(body), cwd=repo.root)
    assert r.code == 0
    assert body.read_text().startswith("## Compaction of ")
    assert f"wrote the pull-request description to {body}" in r.err
    # never among git's own files (a hook, the config), as closeout --output is not
    for inside in (".git/hooks/pre-commit", ".git/description"):
        before = (repo.root / inside).read_bytes() if (repo.root / inside).exists() else None
        r = run_compactor("compact", "--pr-body", inside, cwd=repo.root)
        assert r.code == 2, r.err
        assert "--pr-body must not be inside git's own directory" in r.err
        after = (repo.root / inside).read_bytes() if (repo.root / inside).exists() else None
        assert after == before
    # a folder, or a file in no folder: exit 2 naming it, refused before --apply makes a branch
    for bad, what in ((str(tmp_path), "a folder"),
                      (str(tmp_path / "no-such" / "pr.md"), "a file in no existing folder")):
        before = repo.state()
        r = run_compactor("compact", "--apply", "--pr-body", bad, cwd=repo.root)
        assert r.code == 2, r.err
        assert r.err.splitlines()[-1] == (
            f"compactor: error: {bad}: --pr-body names {what}; give a file in a folder that "
            "exists, e.g. a temporary file")
        assert repo.state() == before
        assert repo.git("branch", "--list", "compactor/*") == ""


# -- an interrupted run leaves nothing behind ---------------------------------------------------


@pytest.mark.parametrize("where", ["update_ref", "write-tree"])
def test_a_failure_before_the_ref_update_leaves_nothing_behind(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    loop_repo(repo)
    r = Repo(repo.root)
    plan = compact.plan_compaction(r, Config())
    before = repo.state()

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed")

    if where == "update_ref":
        monkeypatch.setattr(Repo, "update_ref", boom)
    else:
        real_run = Repo.run

        def run(self: Repo, *args: str, **kw: object) -> bytes:
            if args and args[0] == "write-tree":
                raise RuntimeError("killed")
            return real_run(self, *args, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(Repo, "run", run)
    with pytest.raises(RuntimeError, match="killed"):
        compact.apply_compaction(r, plan, "compactor/compact-x")
    assert repo.state() == before
    assert list((repo.root / ".git").glob("compactor-index*")) == []
    assert repo.git("branch", "--list", "compactor/*") == ""


# -- refusals --------------------------------------------------------------------------------------


def test_refuses_during_a_merge(repo: GitRepo) -> None:
    loop_repo(repo)
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({"docs/design/locale-fallbacks-0.md": "side\n"}, message="side")
    repo.git("checkout", "-q", "main")
    repo.commit({"docs/design/locale-fallbacks-0.md": "main\n"}, message="main")
    proc = run_git_allow_fail(repo, "merge", "side")
    assert proc != 0
    before = repo.state()
    r = run_compactor("compact", "--apply", cwd=repo.root)
    assert r.code == 2
    assert r.err.endswith(
        "compactor: error: a merge is in progress in "
        f"{repo.root}; finish or abort it (git merge --continue / --abort), then compact\n"
    )
    assert repo.state() == before


def test_apply_takes_a_committed_config_that_is_a_symlink_in_the_tree(repo: GitRepo) -> None:
    # the work tree's .compactor.yaml is read through a symlink inside the work tree; HEAD's
    # must be read the same way, or a committed config reads as "uncommitted" for ever
    loop_repo(repo)
    repo.write("conf/compactor.yaml", "archive_dir: docs/old\n")
    (repo.root / ".compactor.yaml").symlink_to("conf/compactor.yaml")
    repo.git("add", "conf/compactor.yaml", ".compactor.yaml")
    repo.commit({}, message="config, linked")
    r = run_compactor("compact", "--apply", "--branch", "tidy", cwd=repo.root)
    assert r.code == 0 and "uncommitted config" not in r.err
    assert repo.git("ls-tree", "-r", "--name-only", "tidy", "--", "docs/old").strip()
    # an edit of the linked file is an uncommitted config like any other
    repo.write("conf/compactor.yaml", "archive_dir: docs/older\n")
    r = run_compactor("compact", "--apply", "--branch", "tidy2", cwd=repo.root)
    assert r.code == 2 and "uncommitted config" in r.err


def test_apply_names_an_uncommitted_deletion_of_the_config_it_read(repo: GitRepo) -> None:
    # HEAD's config is .compactor.yaml; deleted in the work tree, the pyproject.toml (as
    # committed) is read instead: the file to commit is .compactor.yaml, not pyproject.toml
    loop_repo(repo)
    repo.commit({".compactor.yaml": "archive_dir: docs/old\n",
                 "pyproject.toml": "[tool.compactor]\narchive_dir = \"docs/older\"\n"},
                message="config")
    (repo.root / ".compactor.yaml").unlink()
    r = run_compactor("compact", "--apply", cwd=repo.root)
    assert r.code == 2
    assert "compactor: error: .compactor.yaml: uncommitted config" in r.err
    assert "pyproject.toml" not in r.err


def test_apply_refuses_an_uncommitted_config_and_uses_a_committed_one(repo: GitRepo) -> None:
    # the branch is built on HEAD's tree: made with a config HEAD lacks, it would carry
    # an inventory and an archive that HEAD's config does not give
    loop_repo(repo)
    repo.write(".compactor.yaml", "archive_dir: docs/old\n")  # untracked
    r = run_compactor("compact", cwd=repo.root)
    assert r.code == 0 and "under docs/old/" in r.out
    assert (".compactor.yaml: uncommitted config (it differs from HEAD's): this dry run uses "
            "it; --apply refuses until it is committed") in r.err
    before = repo.state()
    r = run_compactor("compact", "--apply", cwd=repo.root)
    assert r.code == 2
    assert r.err.endswith(
        "compactor: error: .compactor.yaml: uncommitted config (it differs from HEAD's): the "
        "compaction branch is built on HEAD and would lack it; commit .compactor.yaml first, "
        "or stash the change to compact with HEAD's config\n")
    assert repo.state() == before
    repo.commit({".compactor.yaml": "archive_dir: docs/old\n"}, message="config")
    # a comment changes the file, not the config: nothing to refuse
    repo.write(".compactor.yaml", "# where ACKs go\narchive_dir: docs/old\n")
    r = run_compactor("compact", "--apply", "--branch", "tidy", cwd=repo.root)
    assert r.code == 0 and "uncommitted config" not in r.err
    repo.git("stash", "-q")
    repo.git("checkout", "-q", "tidy")
    assert (repo.root / "docs/old/compactor-manifest.json").is_file()
    assert run_compactor("inventory", "--check", cwd=repo.root).code == 0


def run_git_allow_fail(repo: GitRepo, *args: str) -> int:
    import subprocess

    return subprocess.run(["git", *args], cwd=repo.root, capture_output=True).returncode


def test_refuses_an_existing_branch_unless_forced(repo: GitRepo) -> None:
    loop_repo(repo)
    branch = f"compactor/compact-{short(repo)}"
    repo.git("branch", branch, "HEAD~3")
    before = repo.state()
    r = run_compactor("compact", "--apply", cwd=repo.root)
    assert r.code == 2
    assert r.err.endswith(
        f"compactor: error: {branch}: branch already exists; pass --force to replace it, "
        "or --branch NAME\n"
    )
    assert repo.state() == before
    old = repo.git("rev-parse", branch).strip()
    r = run_compactor("compact", "--apply", "--force", cwd=repo.root)
    assert r.code == 0
    assert f"created branch {branch} (was {old[:12]})" in r.out
    assert repo.git("rev-parse", f"{branch}^").strip() == repo.git("rev-parse", "HEAD").strip()
    assert repo.state()[1:] == before[1:]


def test_refuses_to_replace_the_checked_out_branch_even_with_force(repo: GitRepo) -> None:
    loop_repo(repo)
    before = repo.state()
    r = run_compactor("compact", "--apply", "--force", "--branch", "main", cwd=repo.root)
    assert r.code == 2
    assert "compactor: error: main: is the branch checked out here" in r.err
    assert repo.state() == before


def test_refuses_an_unborn_head(repo: GitRepo) -> None:
    repo.stage({"docs/lanes/S085-approve-invoice.md": "# S085\n"})
    before = repo.state()
    r = run_compactor("compact", "--apply", cwd=repo.root)
    assert r.code == 2
    assert r.err == (
        f"compactor: error: {repo.root}: HEAD has no commits yet; commit the docs first, "
        "then compact\n"
    )
    assert repo.state() == before


def test_refuses_a_bad_branch_name(repo: GitRepo) -> None:
    loop_repo(repo)
    before = repo.state()
    r = run_compactor("compact", "--apply", "--branch", "no..dots", cwd=repo.root)
    assert r.code == 2
    assert "compactor: error: no..dots: not a valid branch name" in r.err
    assert repo.state() == before


def test_a_malformed_manifest_is_refused(repo: GitRepo) -> None:
    loop_repo(repo)
    repo.commit({MANIFEST: "{not json"}, message="oops")
    r = run_compactor("compact", cwd=repo.root)
    assert r.code == 2
    assert r.err.startswith(f"compactor: error: {MANIFEST}: is not valid JSON (")
    assert "Traceback" not in r.err


def test_refuses_without_a_git_identity(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    loop_repo(repo)
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(key, raising=False)
    repo.git("config", "user.useConfigOnly", "true")
    before = repo.state()
    r = run_compactor("compact", "--apply", cwd=repo.root)
    assert r.code == 2
    assert r.err.endswith(
        "compactor: error: git does not know who you are, so it cannot write the commit; set "
        "'git config user.name' and 'git config user.email', then compact\n"
    )
    assert repo.state() == before


def test_a_symlinked_inventory_is_refused(repo: GitRepo) -> None:
    plan = loop_repo(repo)
    (repo.root / INVENTORY).symlink_to(Path(plan.folds[0].exemplar).relative_to("docs"))
    repo.git("add", INVENTORY)
    repo.commit({}, message="link")
    before = repo.state()
    r = run_compactor("compact", "--apply", cwd=repo.root)
    assert r.code == 2
    assert r.err.endswith(
        f"compactor: error: {INVENTORY}: is not a regular file in HEAD (mode 120000); make it "
        "one, or point the config elsewhere\n"
    )
    assert repo.state() == before


def test_dry_run_warns_what_apply_would_refuse(repo: GitRepo) -> None:
    loop_repo(repo)
    repo.git("branch", "tidy")
    r = run_compactor("compact", "--branch", "tidy", cwd=repo.root)
    assert r.code == 0
    assert r.err.endswith(
        "compactor: warning: branch tidy exists: --apply would refuse (pass --force or "
        "--branch NAME)\n"
    )
    assert r.out.rstrip().endswith("'compactor compact --apply' creates branch tidy")


def test_a_detached_head_compacts_from_its_commit(repo: GitRepo) -> None:
    loop_repo(repo)
    repo.git("checkout", "-q", "--detach", "HEAD~1")
    base = repo.git("rev-parse", "HEAD").strip()
    before = repo.state()
    r = run_compactor("compact", "--apply", cwd=repo.root)
    assert r.code == 0
    branch = f"compactor/compact-{short(repo)}"
    assert repo.git("rev-parse", f"{branch}^").strip() == base
    assert repo.state()[1:] == before[1:]
    assert repo.git("rev-parse", "HEAD").strip() == base
    assert run_git_allow_fail(repo, "symbolic-ref", "-q", "HEAD") == 1  # still detached


# -- what compaction leaves in place: new truth, and what a reviewer restored -----------------


NEW_SECTION = """
## Bulk cancellation

- Batch endpoint: 500 vendors cancelled in one call inside one audit transaction.
- Partial failure rolls the whole batch back; the ledger shows a single reversal row.
"""


def claimed_loop(repo: GitRepo) -> tuple[str, str, str]:
    """A loop with three more renamed lanes committed after it: one whose new_truth claim
    names a section of its own (the gate earns it), one claiming the same without the
    section (committed past the gate), one plain copy. Their paths, in that order."""
    from test_check import family_lanes, next_number, rename, with_front

    docs = loop_corpus(0, families=3, lanes_per_family=8)
    write_repo(repo.root, docs)
    last, n = family_lanes(docs)[-1], next_number(docs)
    claim = '"Bulk cancel: 500 vendors in one call stay inside one audit transaction"'
    earned, text = rename(last, n, "cancel vendor")
    repo.commit({earned: with_front(text, new_truth=claim) + NEW_SECTION}, message="earned")
    r = run_compactor("check", "--range", "HEAD^..HEAD", cwd=repo.root)
    assert r.code == 0 and "its new_truth claim is earned" in r.out, r.out
    unearned, text = rename(last, n + 1, "reopen ticket")
    repo.commit({unearned: with_front(text, new_truth=claim.replace("Bulk", "Mass"))},
                message="claim, no new line")
    copy, text = rename(last, n + 2, "lock account")
    repo.commit({copy: text}, message="copy")
    return earned, unearned, copy


def test_a_lane_whose_new_truth_claim_the_gate_earns_is_left_in_place(repo: GitRepo) -> None:
    earned, unearned, copy = claimed_loop(repo)
    plan = plan_of(repo)
    folded = {f.path for f in plan.folds}
    assert earned not in folded  # new truth: mostly-keep, as the README's retention table says
    assert {unearned, copy} <= folded  # a claim the lane does not back buys nothing
    scan = run_scan_of(repo)
    retention = {b.path: d.retention for b, d in zip(scan.briefs, scan.decisions, strict=True)}
    assert (retention[earned], retention[unearned], retention[copy]) == (
        "mostly-keep", "compress", "compress")
    # scan --explain says why it stays: the lines the claim earned
    why = json.loads(run_compactor("scan", "--explain", earned, "--format", "json",
                                   cwd=repo.root).out)["retention_why"]
    assert ("- Batch endpoint: 500 vendors cancelled in one call inside one audit transaction."
            in why["earned"])
    assert "retention_why" not in json.loads(run_compactor(
        "scan", "--explain", unearned, "--format", "json", cwd=repo.root).out)
    # deterministic and idempotent: the compacted branch has nothing more to fold
    assert run_compactor("compact", "--apply", "--branch", "tidy", cwd=repo.root).code == 0
    repo.git("checkout", "-q", "tidy")
    assert plan_of(repo).empty and (repo.root / earned).exists()


def run_scan_of(repo: GitRepo, config: Config | None = None) -> Scan:
    from compactor.scan import run_scan

    return run_scan(Repo(repo.root), config or Config())


def test_a_folded_lane_lists_its_lines_new_to_the_family_first_and_never_cuts_them(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_check import family_lanes, next_number, rename

    docs = loop_corpus(0, families=3, lanes_per_family=8)
    write_repo(repo.root, docs)
    path, text = rename(family_lanes(docs)[-1], next_number(docs), "cancel vendor")
    new = ["- Pager rotation moved to the Lisbon on-call desk for vendor cancellations.",
           "- Cancelled vendors keep read access to their invoices for ninety days.",
           "- The weekly settlement export skips vendors cancelled before Monday noon.",
           "- A cancellation reason is mandatory and shows up in the vendor timeline."]
    repo.commit({path: text + "\n" + "\n".join(new) + "\n"}, message="lane with four new lines")
    full = next(f for f in plan_of(repo).folds if f.path == path)
    assert len(full.unique_lines) > len(new)  # it also has lines the exemplar lacks
    monkeypatch.setattr(compact, "UNIQUE_LINES_SHOWN", 2)  # fewer than its new lines
    plan = plan_of(repo)
    fold = next(f for f in plan.folds if f.path == path)
    assert fold.unique_lines[:4] == tuple(new) and fold.fresh == 4  # first, and all of them
    assert fold.more == full.unique_count - 4
    entry = compact.fold_entry(fold, plan.head)
    assert entry.index("- lines no earlier lane of the family has:") < entry.index(new[0])
    assert f"- … {fold.more} more lines, see blob" in entry


def test_a_doc_pinned_by_hand_in_a_new_manifest_is_never_folded(repo: GitRepo) -> None:
    plan = loop_repo(repo)
    pinned = plan.folds[0].path
    repo.commit({MANIFEST: json.dumps({"version": 1, "entries": {}, "kept": [pinned]})},
                message="pin one lane")
    again = plan_of(repo)
    assert pinned not in {f.path for f in again.folds}
    assert {f.path for f in again.folds} == {f.path for f in plan.folds} - {pinned}
    assert again.counts["keep"] == plan.counts["keep"] + 1
    # the manifest the compaction writes keeps the pin
    written = next(w for w in again.writes if w.path == MANIFEST)
    assert json.loads(written.data)["kept"] == [pinned]


def test_the_plan_gives_a_restatement_its_reason_not_a_shape_novelty(repo: GitRepo) -> None:
    from test_restate import BURST, OTHERS, T0

    # the burst of reworded status docs, declared lanes of one run
    laned = {p: f"---\nlane: S{101 + k}\n---\n{text}"
             for k, (p, text) in enumerate(sorted(BURST.items()))}
    repo.commit({**OTHERS, **laned}, when=T0)
    config = Config(fold_restated=0.5)  # these rewordings link at ~0.51
    plan = plan_of(repo, config)
    scan = run_scan_of(repo, config)
    fam = next(f for f in scan.families if scan.briefs[f.members[0]].path in laned)
    first = scan.briefs[fam.members[0]]
    restated = [f for f in plan.folds if f.path in laned]
    assert len(restated) == 3
    text = compact.plan_text(plan, "tidy")
    for f in restated:
        i = scan.index(f.path)
        cosine = fam.link(i).score
        assert cosine is not None and f.cosine == cosine
        to = scan.briefs[fam.link(i).to]
        assert f.restates == (to.lane or "")
        # "—" where a shape novelty would be (as scan shows it), and why it is folded
        line = next(x for x in text.splitlines() if f.path in x)
        assert "novelty    —" in line and "%" not in line.split(f.path)[0], line
        assert (f"(restates {to.lane} in other words, cosine "
                f"{int(cosine * 100) / 100:.2f};") in line, line
        assert f"- folded as a restatement: restates {to.lane}" in compact.fold_entry(f, plan.head)
    assert first.lane == "S101"
