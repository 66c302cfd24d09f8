"""Loop episodes: bursts of lanes of one family (or run) dense in time, found in git history."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_compactor
from test_report import ACTIONS, START, lane_text, loop_docs

from compactor.demo.example import ExampleDoc, write_repo
from compactor.episodes import CAP, FACTOR, FLOOR, split

DAY = 86400


def test_split_cuts_at_a_day_and_at_pauses_far_beyond_the_typical_spacing() -> None:
    every_5_min = [k * 300 for k in range(10)]
    assert split(every_5_min) == [(0, 10)]
    # a pause longer than FACTOR x the typical spacing (and than FLOOR) ends an episode
    paused = every_5_min + [every_5_min[-1] + max(FLOOR, FACTOR * 300) + 1 + k * 300
                            for k in range(5)]
    assert split(paused) == [(0, 10), (10, 15)]
    # ... but a pause shorter than FLOOR never does, however regular the lanes were
    assert split([0, 10, 20, 30, 30 + FLOOR]) == [(0, 5)]
    # a day's silence always does, even for lanes spaced hours apart
    slow = [k * 6 * 3600 for k in range(4)]
    assert split(slow) == [(0, 4)]
    assert split([*slow, slow[-1] + CAP + 1]) == [(0, 4), (4, 5)]
    assert split([]) == []


def loop(first: int, count: int, start: int, spacing: int, codex: int) -> list[ExampleDoc]:
    return [
        ExampleDoc(f"docs/lanes/S{n:03d}.md",
                   lane_text(n, ACTIONS[k % len(ACTIONS)], codex, 0).replace("loom: 0", "loom: 1"),
                   "F", "brief", start + k * spacing)
        for k, n in enumerate(range(first, first + count))
    ]


def test_the_seed_loop_is_one_episode_with_the_seed_figures(tmp_path: Path) -> None:
    root = tmp_path / "loop"
    write_repo(root, loop_docs())
    data = json.loads(run_compactor("report", "--format", "json", cwd=root).out)
    assert data["episodes_found"] == 1
    [e] = data["episodes"]
    assert e["number"] == 1 and e["run"] is None and e["family"] is not None
    assert e["window"] == {"start": "2026-05-09T05:32:36Z", "end": "2026-05-09T11:38:15Z"}
    assert round(e["duration_hours"], 3) == 6.094
    assert e["lanes"] == {"count": 88, "first": "S085", "last": "S172"}
    assert e["tokens"] == {"codex": 1_000_000_000, "loom": 191_000_000}
    assert {k: round(v / 1e6, 1) for k, v in e["burn_per_hour"].items()} == {
        "codex": 164.1, "loom": 31.3, "total": 195.4}
    assert e["artifacts"] == 88 + 9  # the lanes and the ACK chatter inside the window
    # the history is this one loop, so it keeps the seed's burn rate too
    assert data["burn_per_hour"] == e["burn_per_hour"]
    text = run_compactor("report", cwd=root).out
    assert "episodes:      1 (the whole history: family S085)\n" in text


def test_two_loops_months_apart_are_two_episodes(tmp_path: Path) -> None:
    root = tmp_path / "two"
    docs = [*loop(1, 12, START, 300, 1000), *loop(13, 8, START + 120 * DAY, 600, 5000)]
    write_repo(root, docs)
    result = run_compactor("report", "--format", "json", cwd=root)
    assert result.code == 0
    data = json.loads(result.out)
    assert data["burn_per_hour"] is None  # four months are not one loop
    assert data["lanes"] == {"count": 20, "first": "S001", "last": "S020"}
    first, second = data["episodes"]
    assert first["family"] == second["family"] == "S001"  # one family, two loops
    assert first["lanes"] == {"count": 12, "first": "S001", "last": "S012"}
    assert first["duration_seconds"] == 11 * 300
    assert first["tokens"] == {"codex": 12_000, "loom": 12}
    assert second["lanes"] == {"count": 8, "first": "S013", "last": "S020"}
    assert second["duration_seconds"] == 7 * 600
    assert second["burn_per_hour"]["codex"] == round(40_000 / (4200 / 3600), 1)

    text = run_compactor("report", cwd=root).out.splitlines()
    assert text[0].startswith("history:       2026-05-09T05:32:36Z -> ")
    assert text[0].endswith("(120.0 days)")
    assert not any(line.startswith("burn per hour:") for line in text[:6])
    assert "episodes:      2 (2.1 h in all, 20 lanes, 100.0% of the tokens)" in text
    assert "episode 2 of 2: family S001" in text

    one = json.loads(run_compactor("report", "--format", "json", "--episode", "2", cwd=root).out)
    assert [e["number"] for e in one["episodes"]] == [2] and one["episodes_found"] == 2
    fam = json.loads(run_compactor("report", "--format", "json", "--family", "s001",
                                   cwd=root).out)
    assert [e["number"] for e in fam["episodes"]] == [1, 2]
    missing = run_compactor("report", "--episode", "3", cwd=root)
    assert missing.code == 2
    assert missing.err == ("compactor: error: no episode 3; episodes: 1 .. 2 "
                           "(see `compactor report`)\n")
    unknown = run_compactor("report", "--family", "NOPE", cwd=root)
    assert unknown.code == 2 and "families with episodes: S001" in unknown.err


def test_a_repo_of_occasional_lanes_has_no_loop(tmp_path: Path) -> None:
    root = tmp_path / "weekly"
    docs = [ExampleDoc(f"docs/lanes/S{n:03d}.md", lane_text(n, ACTIONS[n], 100, 10), "F", "brief",
                       START + n * 7 * DAY) for n in range(1, 7)]
    docs.append(ExampleDoc("docs/README.md", "# Docs\n\nWhat lives here.\n", None, "other",
                           START))
    write_repo(root, docs)
    data = json.loads(run_compactor("report", "--format", "json", cwd=root).out)
    assert data["episodes"] == [] and data["episodes_found"] == 0
    assert data["burn_per_hour"] is None
    assert data["lanes"]["count"] == 6
    text = run_compactor("report", cwd=root).out
    assert ("episodes:      none: no 3 lanes of one family or run close together in time (a "
            "pause over 24 h always ends an episode)\n") in text
    assert "compactor/" not in text  # no source path in what a user reads
    assert "burn per hour" not in text


def test_lanes_imported_in_one_commit_are_no_episode(tmp_path: Path) -> None:
    root = tmp_path / "import"
    docs = [ExampleDoc(f"docs/lanes/S{n:03d}.md", lane_text(n, ACTIONS[n], 100, 10), "F", "brief",
                       START) for n in range(1, 9)]
    write_repo(root, docs)
    text = run_compactor("report", cwd=root).out
    assert "lanes:         8 (S001 .. S008)\n" in text
    assert ("episodes:      none: every lane was committed at the same time (an import: its "
            "times say nothing about a loop)\n") in text
    # asked for the family's episodes, the report says why it has none, not "none" beside
    # a list of episodes
    r = run_compactor("report", "--family", "s001", cwd=root)
    assert (r.code, r.out) == (2, "")
    assert r.err == ("compactor: error: family S001 has no loop episode: 8 of its 8 lanes "
                     "were committed at one time (a batch is an import: its times say nothing "
                     "about a loop), and no 3 of the others were written close together (a "
                     "pause over a day, or over an hour and 10x their typical spacing, ends a "
                     "burst); no episodes at all\n")


MERGE_LOG = """# PR {n} merge log

## Summary

Merged the docs gate change after review; the operator quickstart and the runbook index
were regenerated, the changed-files list was attached and the evidence bundle was linked.

## Verification

- CI: green on the merge commit, all required checks passed after the rebase.
- Docs gates: reference targets and token policy passed on the final head.
- Lint: clean, no new warnings in the touched modules or their tests.

## Follow-up

Nothing open; the next pull request continues the same operator pack work.
"""


def test_a_burst_of_docs_without_lane_ids_is_named_by_their_run(tmp_path: Path) -> None:
    root = tmp_path / "merges"
    docs = [ExampleDoc(f"docs/merges/PR_{n}_MERGE_LOG.md", MERGE_LOG.format(n=n), "F", "other",
                       START + k * 900) for k, n in enumerate(range(701, 707))]
    write_repo(root, docs)
    data = json.loads(run_compactor("report", "--format", "json", cwd=root).out)
    [e] = data["episodes"]
    assert e["family"] == "PR_701_MERGE_LOG" and e["duration_seconds"] == 5 * 900
    assert e["lanes"] == {"count": 6, "first": "PR-701", "last": "PR-706"}
    # the history above the episodes counts the same lanes (it said "lanes: 0" beside them)
    assert data["lanes"] == e["lanes"]
    assert data["window"] == e["window"]


TOPICS = [
    "billing exports now stream CSV rows straight from the warehouse replica",
    "tenant quotas moved into a sidecar table with nightly reconciliation jobs",
    "search ranking weights were retrained against last quarter's click logs",
    "mobile login gained passkeys; SMS fallback stays behind a feature flag",
    "audit trail entries are signed and shipped to cold storage every hour",
    "image resizing workers switched from ImageMagick to libvips for memory",
    "cache warmup runs before deploys and primes the forty hottest product pages",
    "rate limits per API key are enforced at the edge proxy instead of the app",
]


def test_two_agents_series_with_one_id_word_are_two_runs(tmp_path: Path) -> None:
    """Lanes in no family are grouped by run: two agents writing `…autonomous-cycle-N…`
    and `…Captain_Agent-4_Work_Cycle_N…` side by side are two runs, not one "run cycle"
    mixing both series."""
    root = tmp_path / "cycles"
    config = ExampleDoc(".compactor.yaml", "lane_pattern: '(?i)cycle[-_ ](\\d+)'\n", None,
                        "other", START - 3600)
    docs = [config]
    for k in range(4):
        n = k + 1
        a, b = TOPICS[2 * k], TOPICS[2 * k + 1]
        docs.append(ExampleDoc(f"docs/2025-09-05_autonomous-cycle-{n}_{a.split()[0]}.md",
                               f"# Cycle {n}\n\n{a.capitalize()}.\n", None, "brief",
                               START + k * 600))
        docs.append(ExampleDoc(f"docs/2025-09-05_general_Captain_Agent-4_Work_Cycle_{n}_Done.md",
                               f"# Captain cycle {n}\n\n{b.capitalize()}.\n", None, "brief",
                               START + k * 600 + 300))
    write_repo(root, docs)
    data = json.loads(run_compactor("report", "--format", "json", cwd=root).out)
    runs = sorted((e["run"], e["lanes"]["first"], e["lanes"]["last"]) for e in data["episodes"])
    assert runs == [("cycle (autonomous)", "cycle-1", "cycle-4"),
                    ("cycle (general captain agent work)", "Cycle_1", "Cycle_4")]
