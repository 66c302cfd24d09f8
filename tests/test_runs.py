"""Run identity inferred from a family: ids for runs numbered outside lane_pattern (issue 13)."""

from __future__ import annotations

import json

import pytest
from conftest import GitRepo, run_compactor

from compactor.briefs import Brief
from compactor.families import Family
from compactor.runs import RunId, family_runs


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
