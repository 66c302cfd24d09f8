"""A compacted branch remembers its loop: every command reads folded lanes from the manifest.

On a generated loop repo and on the demo repo, the compacted branch and its parent give
the same report, scan (families, decisions; only each brief's ``state`` differs), inventory
block, close-out (coverage matrix, gaps) and gate verdicts; restoring a lane and committing it is not adding a lane.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import GitRepo, git

from compactor import compact
from compactor.check import render_json, run_check
from compactor.closeout import plan_closeout
from compactor.config import Config
from compactor.demo import build_demo_repo, stage_renamed_lane
from compactor.demo.example import loop_corpus, write_repo
from compactor.git import Repo
from compactor.inventory import INVENTORY_BLOCK, plan_inventory, read_block
from compactor.manifest import FOLDED_BLOCK
from compactor.render import scan_data, scan_text
from compactor.report import build_report, report_json
from compactor.scan import run_scan

INVENTORY = "docs/INVENTORY.md"


def generated(root: Path) -> None:
    docs = loop_corpus(0, families=2, lanes_per_family=10, skeleton_docs=3, one_offs=2, proofs=1)
    write_repo(root, docs)


def demo(root: Path) -> None:
    build_demo_repo(root, seed=0)


def outputs(root: Path) -> dict[str, object]:
    """What report, scan, inventory and the gate (on the next renamed lane) say here."""
    repo, config = Repo(root), Config()
    scan = run_scan(repo, config)
    data = scan_data(scan)
    states = {b["path"]: b.pop("state") for b in data["briefs"]}
    inventory = plan_inventory(repo, config)
    biggest = max(scan.families, key=lambda f: len(f.members))
    closeout = plan_closeout(repo, config, biggest.id).text
    staged = stage_renamed_lane(repo, scan)
    check = json.loads(render_json(run_check(repo, config)))
    git(root, "reset", "-q", "--hard")
    return {
        "report": json.loads(report_json(build_report(scan, skip=frozenset({INVENTORY})))),
        "scan": data,
        "states": states,
        "inventory": read_block(inventory.new, INVENTORY_BLOCK),
        "inventory_fresh": not inventory.stale,
        "folded_block": read_block(inventory.new, FOLDED_BLOCK),
        "closeout": closeout,
        "staged": staged,
        "check": check,
    }


Outputs = dict[str, object]


def compacted(root: Path, build: Callable[[Path], None]) -> tuple[GitRepo, compact.Plan, Outputs,
                                                                   Outputs]:
    """Build the loop in ``root``, commit a fresh inventory, compact onto 'tidy' and check
    it out: (repo, plan, what the parent says, what 'tidy' says)."""
    build(root)
    repo = GitRepo(root)
    git(repo.root, "config", "commit.gpgsign", "false")
    r = Repo(repo.root)
    inventory = plan_inventory(r, Config())
    repo.commit({INVENTORY: inventory.new}, message="inventory")
    plan = compact.plan_compaction(r, Config())
    assert plan.folds and plan.moves
    compact.apply_compaction(r, plan, "tidy")
    before = outputs(repo.root)
    repo.git("checkout", "-q", "tidy")
    return repo, plan, before, outputs(repo.root)


@pytest.mark.parametrize("build", [generated, demo], ids=["generated", "demo"])
def test_a_compacted_branch_gives_the_same_answers_as_its_parent(
    tmp_path: Path, build: Callable[[Path], None]
) -> None:
    repo, plan, before, after = compacted(tmp_path / "loop", build)
    for key in ("report", "scan", "inventory", "closeout", "staged", "check"):
        assert after[key] == before[key], key
    assert before["inventory_fresh"] and after["inventory_fresh"]
    # the gate refuses the renamed next lane on both, naming the same nearest lanes
    check = before["check"]
    assert isinstance(check, dict) and check["outcome"] == "block"
    assert check["verdicts"][0]["nearest"]
    # only the state says what the compaction took out
    states = after["states"]
    assert isinstance(states, dict)
    assert set(before["states"].values()) == {"present"}  # type: ignore[union-attr]
    assert {p for p, s in states.items() if s == "folded"} == {f.path for f in plan.folds}
    assert {p for p, s in states.items() if s == "archived"} == {m.path for m in plan.moves}
    # the folded block stays the per-lane record of unique lines
    block = after["folded_block"]
    assert isinstance(block, str) and before["folded_block"] is None
    for f in plan.folds:
        assert f"- original path: `{f.path}`" in block
    # scan's text marks them too
    text = scan_text(run_scan(Repo(repo.root), Config()))
    f, m = plan.folds[0], plan.moves[0]
    assert re.search(rf" {re.escape(f.path)}  \(folded\)$", text, re.MULTILINE)
    assert re.search(rf" {re.escape(m.path)}  \(archived\)$", text, re.MULTILINE)
    # and a second compaction has nothing to do
    again = compact.plan_compaction(Repo(repo.root), Config())
    assert again.empty and again.already_folded == len(plan.folds)


def test_restore_then_commit_is_an_undo_the_gate_passes_and_verify_keeps_green(
    tmp_path: Path,
) -> None:
    from compactor.restore import restore, verify

    repo, plan, _, after = compacted(tmp_path / "loop", generated)
    r, config = Repo(repo.root), Config()
    lanes = [f for f in plan.folds if f.lane][:2]
    ack = plan.moves[0]
    done = restore(r, config, [lanes[0].lane or "", lanes[1].path, ack.path])
    assert {x.path for x in done.restored} == {lanes[0].path, lanes[1].path, ack.path}
    repo.git("add", "-A", "--", *done.to_stage())
    check = run_check(r, config)
    assert check.outcome == "pass" and check.verdicts == ()
    assert not {lanes[0].path, lanes[1].path, ack.path} & set(check.added)
    repo.git("commit", "-q", "--no-verify", "-m", "restore two lanes and an ACK")
    ci = run_check(r, config, rev_range="HEAD~1..HEAD")  # CI sees the same undo
    assert ci.outcome == "pass" and ci.verdicts == ()
    result = verify(r, config)
    assert result.problems == () and result.entries == len(plan.folds) + len(plan.moves) - 3
    # the repo still tells the same story; the restored files are simply present again,
    # and kept: the reviewer brought them back, so compaction leaves them (Manifest.kept)
    data = scan_data(run_scan(r, config))
    states = {b["path"]: b.pop("state") for b in data["briefs"]}
    back = {lanes[0].path, lanes[1].path, ack.path}
    assert {b["path"]: b["retention"] for b in data["briefs"] if b["path"] in back} == dict.fromkeys(
        back, "keep")
    was = {b["path"]: b["retention"] for b in after["scan"]["briefs"]}  # type: ignore[index]
    for b in data["briefs"]:
        if b["path"] in back:
            b["retention"] = was[b["path"]]
    assert data == after["scan"]
    assert {p for p, s in states.items() if s == "present"} >= {lanes[0].path, ack.path}


def test_the_gate_knows_a_restore_by_its_blob_and_judges_an_edited_copy(tmp_path: Path) -> None:
    from compactor.restore import restore

    repo, plan, _, _ = compacted(tmp_path / "loop", generated)
    r, config = Repo(repo.root), Config()
    lane = next(f for f in plan.folds if f.lane)
    done = restore(r, config, [lane.path], keep_manifest=True)
    assert done.updated == () and done.removed == ()
    repo.git("add", "--", lane.path)  # the manifest still lists it: same blob, a restore
    check = run_check(r, config)
    assert (check.outcome, check.added, check.verdicts) == ("pass", (), ())
    path = repo.root / lane.path
    path.write_text(path.read_text() + "\nOne more line.\n")
    repo.git("add", "--", lane.path)  # another blob: a lane like any other
    check = run_check(r, config)
    assert check.added == (lane.path,) and [v.path for v in check.verdicts] == [lane.path]


def test_verify_says_when_the_folded_block_and_the_manifest_disagree_or_a_lane_is_unseen(
    tmp_path: Path,
) -> None:
    from compactor.restore import verify

    repo, plan, _, _ = compacted(tmp_path / "loop", generated)
    r = Repo(repo.root)
    f = next(f for f in plan.folds if f.lane)
    assert verify(r, Config()).problems == ()
    # a config that stops scanning the folded lanes' folder: every command would forget them
    folder = f.path.rsplit("/", 1)[0]
    hidden = Config(exclude=(*Config().exclude, f"{folder}/**"))
    problems = verify(r, hidden).problems
    assert len(problems) == sum(x.path.startswith(folder + "/") for x in plan.folds)
    assert problems[0].startswith(f"{plan.folds[0].path}: folded, but a scan of HEAD does not "
                                  "see it")
    # a folded-block entry the manifest does not list
    inventory = (repo.root / INVENTORY).read_text()
    fake = "docs/lanes/S999-nothing.md"
    mark = f'<!-- compactor:folded:lane "{f.path}" -->'
    repo.commit({INVENTORY: inventory.replace(mark, f'<!-- compactor:folded:lane "{fake}" -->\n'
                                              "### S999: nothing\n\n" + mark)},
                message="hand edit")
    assert verify(r, Config()).problems == (
        f"{fake}: has an entry in the folded block of {INVENTORY} but is not folded in the "
        "manifest",
    )


def test_a_damaged_manifest_is_a_scan_warning_and_a_compact_error(tmp_path: Path) -> None:
    from compactor.errors import InputError

    repo, plan, _, after = compacted(tmp_path / "loop", generated)
    manifest = repo.root / "docs/archive/compactor-manifest.json"
    repo.commit({"docs/archive/compactor-manifest.json": manifest.read_text()[:-40]},
                message="truncated")
    scan = run_scan(Repo(repo.root), Config())
    assert any("compactor-manifest.json: is not valid JSON" in str(w)
               and "its folded lanes are not scanned" in str(w) for w in scan.warnings)
    assert not any(b.path == plan.folds[0].path for b in scan.briefs)
    with pytest.raises(InputError, match="compactor-manifest.json: is not valid JSON"):
        compact.plan_compaction(Repo(repo.root), Config())
