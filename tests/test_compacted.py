"""A compacted branch remembers its loop: every command reads folded lanes from the manifest.

On a generated loop repo and on the demo repo, the compacted branch and its parent give
the same report, scan (families, decisions; only each brief's ``state`` differs), inventory
block and gate verdicts; restoring a lane and committing it is not adding a lane.
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
    compact.apply_plan(r, plan, "tidy")
    before = outputs(repo.root)
    repo.git("checkout", "-q", "tidy")
    return repo, plan, before, outputs(repo.root)


@pytest.mark.parametrize("build", [generated, demo], ids=["generated", "demo"])
def test_a_compacted_branch_gives_the_same_answers_as_its_parent(
    tmp_path: Path, build: Callable[[Path], None]
) -> None:
    repo, plan, before, after = compacted(tmp_path / "loop", build)
    for key in ("report", "scan", "inventory", "staged", "check"):
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
