"""Run identity inferred from a family: ids for runs numbered outside lane_pattern (issue 13)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import GitRepo, run_compactor

from compactor.briefs import Brief
from compactor.config import Config
from compactor.families import Family
from compactor.runs import RunId, family_runs, join_runs


def family_of(names: list[str], lanes: list[str | None] | None = None) -> tuple[list[Brief], Family]:
    briefs = [Brief(f"docs/{n}", "0" * 40, (lanes or [None] * len(names))[k], None, n, "", "other",
                    100, created=1_700_000_000 + 60 * k) for k, n in enumerate(names)]
    return briefs, Family("F", tuple(range(len(names))))


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["LAUNCH_P07_A3_ORCH.md", "LAUNCH_P07_A4_ORCH.md", "LAUNCH_P07_B2_PLAN.md",
          "LAUNCH_P07_A5_ORCH.md", "LAUNCH_P07_B3_PLAN.md"],
         [("A3", 3), ("A4", 4), ("B2", 2), ("A5", 5), ("B3", 3)]),
        (["PR_8801_MERGE_LOG.md", "PR_8804_MERGE_LOG.md", "PR_8810_MERGE_LOG.md"],
         [("PR-8801", 8801), ("PR-8804", 8804), ("PR-8810", 8810)]),
        (["wave-12.md", "wave-13.md", "wave-14.md"],
         [("wave-12", 12), ("wave-13", 13), ("wave-14", 14)]),
        (["1712345678901-status.md", "1712345999000-status.md", "1712346000500-status.md"],
         [("1712345678901", 1712345678901), ("1712345999000", 1712345999000),
          ("1712346000500", 1712346000500)]),
        (["2025-09-05_00-09-26_captain.md", "2025-09-05_00-20-25_captain.md",
          "2025-09-05_07-14-43_captain.md"],
         [("2025-09-05-00-09-26", 20250905000926), ("2025-09-05-00-20-25", 20250905002025),
          ("2025-09-05-07-14-43", 20250905071443)]),
        (["cycle-3-report.md", "cycle-4-report.md", "cycle-5-report.md"],
         [("cycle-3", 3), ("cycle-4", 4), ("cycle-5", 5)]),
    ],
)
def test_the_token_rising_along_the_run_is_its_lane_id(
    names: list[str], expected: list[tuple[str, int]]
) -> None:
    briefs, fam = family_of(names)
    assert family_runs(briefs, fam) == {k: RunId(*e) for k, e in enumerate(expected)}


@pytest.mark.parametrize(
    "names",
    [
        ["NodeFilesystemAlmostOutOfFiles.md", "NodeFilesystemAlmostOutOfSpace.md",
         "NodeNetworkReceiveErrs.md"],  # no number in the names
        ["task-17.md", "task-3.md", "task-11.md", "task-2.md"],  # numbers do not rise with time
        ["step-1.md", "step-1-copy.md", "step-1-again.md"],  # the number never varies
        ["wave-1.md", "wave-2.md"],  # too short to call a run
    ],
)
def test_no_run_is_inferred_without_a_rising_token(names: list[str]) -> None:
    briefs, fam = family_of(names)
    assert family_runs(briefs, fam) == {}


def test_members_with_a_lane_id_keep_it_and_get_no_inferred_one() -> None:
    briefs, fam = family_of(["S001-a.md", "x-5.md", "x-6.md", "x-7.md"], ["S001", None, None, None])
    assert set(family_runs(briefs, fam)) == {1, 2, 3}


PROMPT = """# Launch prompt - P07-{id} (canonical)

Read the resume prompt first, then the guidance file and the blockers list for this phase.
Execute only packet `P07-{id}` per those instructions and report when it is done.
When complete, ask the operator to retrieve the update report of packet `P07-{id}` and
provide further direction; do not start another packet on your own.
"""


def test_scan_reports_the_inferred_run_of_each_member(repo: GitRepo) -> None:
    for k in range(3, 8):
        repo.commit({f"docs/prompts/LAUNCH_P07_A{k}_ORCH.md": PROMPT.format(id=f"A{k}")},
                    when=1_700_000_000 + 600 * k)
    data = json.loads(run_compactor("scan", "--format", "json", cwd=repo.root).out)
    assert [b["lane"] for b in data["briefs"]] == [None] * 5
    assert len(data["families"]) == 1
    assert [b["run"] for b in data["briefs"]] == [f"A{k}" for k in range(3, 8)]


# --- one run, one family when its write-up format drifts (join_runs) ---------------------

# Two write-up formats of one autonomous cycle report: the agent switched template halfway.
# Both state the same facts (the same file trimmed, the same compliance, the same blocker).
EARLY = """# Autonomous cycle {n}: maintenance pass

## Summary
The swarm stayed at 100% compliance this cycle. The agent scanned the tree for files near
the limit, trimmed `models.py` again and confirmed that `ContractSystem` still waits for
an implementation. No new tasks arrived from the captain; the queue stays empty.

## Actions
- scanned every module against the line limit
- trimmed `models.py` below the limit once more
- re-read the onboarding notes and the coordination rules

## Next
Wait for new tasks; keep compliance; report again next cycle.
"""
LATE = """# Cycle {n} — proactive optimization success

**Status:** compliance held at 100%; `ContractSystem` is still not implemented.

### What happened
1. Optimisation sweep over the repository found `models.py` close to its ceiling
2. It was shortened by a handful of lines and re-verified
3. Captain inbox checked: nothing assigned, nothing pending

### Outlook
The sweep repeats next cycle unless the captain assigns work.
"""


def _cycles(repo: GitRepo, numbers: range, template: str, name: str) -> None:
    for n in numbers:
        repo.commit({f"devlogs/autonomous-cycle-{n}_{name}.md": template.format(n=n)},
                    when=1_757_000_000 + 600 * n)


def test_a_run_whose_format_drifts_stays_one_family(repo: GitRepo) -> None:
    _cycles(repo, range(9, 15), EARLY, "maintenance-pass")
    _cycles(repo, range(15, 22), LATE, "proactive-optimization-success")
    scan = repo.scan()
    assert scan.similarity(0, 6) < Config().threshold  # the shape leg alone splits the run
    [family] = scan.families
    assert [scan.briefs[i].path.split("_")[0] for i in family.members] == [
        f"devlogs/autonomous-cycle-{n}" for n in range(9, 22)]  # in run order
    assert all(family.link(i).leg == "copy" for i in family.members)
    assert sorted(r.number for r in scan.runs.values()) == list(range(9, 22))


def test_a_drifting_run_with_another_deliverable_between_its_pieces_stays_split(
        repo: GitRepo) -> None:
    _cycles(repo, range(9, 14), EARLY, "maintenance-pass")
    repo.commit({"devlogs/autonomous-cycle-14_file-deletion-crisis.md":
                 "# Cycle 14: a file deletion crisis\n\nA sync job deleted `registry.json` and "
                 "`agents.yaml`; both were restored from the backup and the sync job was "
                 "disabled until its owner answers.\n"}, when=1_757_000_000 + 600 * 14)
    _cycles(repo, range(15, 20), LATE, "proactive-optimization-success")
    assert len(repo.scan().families) == 2


def _pieces(names: list[str], cut: int) -> tuple[list[Brief], list[Family]]:
    briefs = [Brief(f"docs/{n}", "0" * 40, None, None, n, "", "other", 100,
                    created=1_700_000_000 + 60 * k) for k, n in enumerate(names)]
    return briefs, [Family("A", tuple(range(cut))), Family("B", tuple(range(cut, len(names))))]


SAME = [[11, 12, 13]]  # one masked fact sketch (sorted 32-bit hashes)
SIGS = np.zeros((9, 16), dtype=np.uint32)  # shapes, when facts cannot judge: all alike


@pytest.mark.parametrize("name", ["wave-{:03}.md", "v2-{}.md", "2025-09-05_autonomous-cycle-{}_x.md"])
def test_join_runs_joins_consecutive_pieces_of_one_series_in_run_order(name: str) -> None:
    names = [name.format(n) for n in (4, 5, 6, 0, 1, 2, 3)]
    briefs, fams = _pieces(names, 3)
    [joined] = join_runs(briefs, fams, SAME * len(names), SIGS, 0.6)
    assert joined.id == "A"
    assert [briefs[i].path for i in joined.members] == [f"docs/{name.format(n)}" for n in range(7)]


@pytest.mark.parametrize(
    ("names", "sketches"),
    [
        # cards of one task-card scheme, interleaved: another card stands between the pieces
        (["DTM-104_module-core-manager.md", "DTM-108_module-render-adapter.md",
          "DTM-105_module-core-repository.md", "DTM-109_module-core-contracts.md",
          "DTM-106_stage12-kickoff.md"], SAME * 5),
        # per-stage closeouts: the numbering jumps between the pieces further than inside them
        (["DTM-69_stage5-closeout.md", "DTM-75_stage6-closeout.md",
          "DTM-156_stage12-closeout.md", "DTM-161_stage13-closeout.md"], SAME * 4),
        # per-PR merge logs whose numbers continue, but each logs its own change (facts differ)
        (["PR_792_MERGE_LOG.md", "PR_793_MERGE_LOG.md", "PR_794_MERGE_LOG.md",
          "PR_795_MERGE_LOG.md"], [[1, 2, 3], [1, 2, 3], [4, 5, 6], [4, 5, 6]]),
        # two series: the words before the number differ
        (["cycle-1-report.md", "cycle-2-report.md", "sprint-3-report.md", "sprint-4-report.md"],
         SAME * 4),
        # a bare date is no series
        (["2025-09-05_alpha.md", "2025-09-06_beta.md", "2025-09-07_gamma.md",
          "2025-09-08_delta.md"], SAME * 4),
    ],
)
def test_join_runs_keeps_distinct_numbered_series_apart(
        names: list[str], sketches: list[list[int]]) -> None:
    briefs, fams = _pieces(names, 2)
    fams[1] = Family("B", (2, 3))
    assert join_runs(briefs, fams, sketches, SIGS, 0.6) == fams


@pytest.mark.parametrize(("alike", "joined"), [(0.75, True), (0.25, False)])
def test_lane_pieces_keep_no_facts_so_their_shapes_must_stay_close(alike: float,
                                                                     joined: bool) -> None:
    briefs = [Brief(f"docs/S{n:03}-step.md", "0" * 40, f"S{n:03}", n, "t", "", "brief", 100,
                    created=1_700_000_000 + 60 * n) for n in range(1, 7)]
    fams = [Family("S001", (0, 1, 2)), Family("S004", (3, 4, 5))]
    sigs = np.zeros((6, 16), dtype=np.uint32)
    sigs[3:, : 16 - int(16 * alike)] = 7  # the second piece agrees with the first on `alike`
    out = join_runs(briefs, fams, [[] for _ in briefs], sigs, 0.6)  # lanes: no fact sketch
    assert [f.members for f in out] == ([tuple(range(6))] if joined else [(0, 1, 2), (3, 4, 5)])


def test_a_doc_that_interrupted_one_piece_is_no_gap_between_the_pieces() -> None:
    # cycles 9..14 came out as one piece around two distinct reports (10, 13); 15.. as another
    names = [f"autonomous-cycle-{n}_report.md" for n in (9, 11, 12, 14, 15, 16, 17, 10, 13)]
    briefs, _ = _pieces(names, 4)
    fams = [Family("A", (0, 1, 2, 3)), Family("B", (4, 5, 6))]
    [joined] = join_runs(briefs, fams, SAME * len(names), SIGS, 0.6)
    assert joined.members == tuple(range(7))


def test_scan_says_which_pieces_a_run_was_joined_from(repo: GitRepo) -> None:
    _cycles(repo, range(9, 15), EARLY, "maintenance-pass")
    _cycles(repo, range(15, 22), LATE, "proactive-optimization-success")
    data = json.loads(run_compactor("scan", "--format", "json", cwd=repo.root).out)
    [family] = data["families"]
    assert family["pieces"] == ["autonomous-cycle-9_maintenance-pass",
                                "autonomous-cycle-15_proactive-optimization-success"]
    out = run_compactor("scan", "--explain", "devlogs/autonomous-cycle-17_proactive-optimization"
                        "-success.md", cwd=repo.root).out
    assert ("one run joined from autonomous-cycle-9_maintenance-pass, "
            "autonomous-cycle-15_proactive-optimization-success") in out
    # no lane id, but the run id the gate judges it by is said, with where it comes from
    run = [r for r in data["briefs"] if r["path"].startswith("devlogs/autonomous-cycle-17")]
    assert run[0]["run"] and f"  run id {run[0]['run']}: inferred, a number in its file " in out
    assert "  lane -: none" in out
