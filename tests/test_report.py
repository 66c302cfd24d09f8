"""`compactor report`: the loop postmortem computed from git alone."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from conftest import GitRepo, run_compactor

from compactor.demo.example import ExampleDoc, write_repo
from compactor.report import (
    Episode,
    Report,
    build_report,
    human_rate,
    report_json,
    report_text,
)

START = 1778304756  # 2026-05-09T05:32:36Z
END = START + 6 * 3600 + 5 * 60 + 39  # 2026-05-09T11:38:15Z
CODEX, LOOM = 1_000_000_000, 191_000_000
LANES = 88  # S085 .. S172

ACTIONS = ["approve invoice", "cancel vendor", "flag invoice", "reopen ticket", "archive vendor",
           "refund payment", "void invoice", "retry payout", "suspend account", "resume account"]


def lane_text(n: int, action: str, codex: int, loom: int) -> str:
    snake, kebab = action.replace(" ", "_"), action.replace(" ", "-")
    return f"""---
lane: S{n:03d}
action: {snake}
route: /ops/actions/{kebab}
tokens: {{codex: {codex}, loom: {loom}}}
---

# S{n:03d} — {action.capitalize()} operator action

## Goal

Prove that `{snake}` can only be invoked by an authenticated operator through the ops console,
and that every invocation leaves exactly one audit row in the ledger.

## Evidence

- Positive path: an operator runs {action}; ledger row written; HTTP 200.
- Negative path: the same call from another tenant returns 403 and writes nothing.
- Audit log: exactly one row per successful call and none for rejected calls.

## Next

Hand back to the supervisor loop; next bounded slice is S{n + 1:03d}.
"""


def loop_docs() -> list[ExampleDoc]:
    """88 lanes spread evenly over the window, token totals exactly 1e9 codex / 191e6 loom."""
    docs = [ExampleDoc("docs/README.md", "# Docs\n\nHow the loop keeps its briefs.\n", None,
                       "other", START - 7200)]
    span = END - START
    for k in range(LANES):
        n = 85 + k
        codex = CODEX // LANES + (1 if k < CODEX % LANES else 0)
        loom = LOOM // LANES + (1 if k < LOOM % LANES else 0)
        created = START + round(k * span / (LANES - 1))
        text = lane_text(n, ACTIONS[k % len(ACTIONS)], codex, loom)
        docs.append(ExampleDoc(f"docs/lanes/S{n:03d}.md", text, "F", "brief", created))
        if k % 10 == 3:  # ACK chatter carries a lane id too, inside the window
            docs.append(ExampleDoc(f"docs/acks/S{n:03d}-ack.md",
                                   f"ACK S{n:03d} landed. Next bounded slice: S{n + 1:03d}.\n",
                                   None, "ack", created + 30))
    # written after the loop about its lanes: must not stretch the window
    docs.append(ExampleDoc(
        "docs/postmortems/S172-loop-postmortem.md",
        "# Postmortem: the S085-S172 loop\n\nEighty-eight lanes re-proved one envelope.\n",
        None, "postmortem", END + 86400))
    return docs


def test_report_json_is_exact_on_a_known_loop(tmp_path: Path) -> None:
    root = tmp_path / "loop"
    write_repo(root, loop_docs())
    result = run_compactor("report", "--format", "json", cwd=root)
    assert result.code == 0
    data = json.loads(result.out)
    assert data["window"] == {"start": "2026-05-09T05:32:36Z", "end": "2026-05-09T11:38:15Z"}
    assert round(data["duration_hours"], 3) == 6.094
    assert data["duration_seconds"] == 21939
    assert data["lanes"] == {"count": 88, "first": "S085", "last": "S172"}
    assert data["tokens"] == {"codex": 1_000_000_000, "loom": 191_000_000}
    assert data["tokens_total"] == 1_191_000_000
    burn = data["burn_per_hour"]
    assert set(burn) == {"codex", "loom", "total"}
    assert round(burn["codex"] / 1e6, 1) == 164.1
    assert round(burn["loom"] / 1e6, 1) == 31.3
    assert round(burn["total"] / 1e6, 1) == 195.4
    phases = data["phases"]
    assert {p["name"] for p in phases} <= {"establishing", "repetition", "churn", "no family"}
    assert sum(p["lanes"] for p in phases) == 88  # ACKs are chatter, not lanes
    assert sum(p["tokens"] for p in phases) == 1_191_000_000
    assert round(sum(p["share"] for p in phases), 3) == 1.0
    # the lanes are one renamed family: most of the energy went into repeating it
    by_name = {p["name"]: p for p in phases}
    assert by_name["establishing"]["lanes"] < 10
    assert "no family" not in by_name


def test_report_text_reads_like_the_postmortem(tmp_path: Path) -> None:
    root = tmp_path / "loop"
    write_repo(root, loop_docs())
    result = run_compactor("report", cwd=root)
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == "window:        2026-05-09T05:32:36Z -> 2026-05-09T11:38:15Z (6.094 h)"
    assert lines[1] == "lanes:         88 (S085 .. S172)"
    assert lines[2] == "tokens:        codex 1,000,000,000, loom 191,000,000, total 1,191,000,000"
    assert lines[3] == "burn per hour: codex 164.1M/h, loom 31.3M/h, combined 195.4M/h"
    assert "phase" in result.out and "share" in result.out
    md = run_compactor("report", "--format", "markdown", cwd=root)
    assert md.code == 0
    assert md.out.startswith("## Loop report\n")
    assert "| burn per hour | codex 164.1M/h, loom 31.3M/h, combined 195.4M/h |" in md.out
    assert "| phase | lanes | tokens | share |" in md.out


def test_plain_int_tokens_and_a_run_of_lanes_outside_families(repo: GitRepo) -> None:
    repo.commit({"notes/S001.md": "---\ntokens: 7200\n---\n# S001 design spike\n\nOne-off.\n"},
                when=START)
    repo.commit({"notes/S002.md": "---\ntokens: '1,800'\n---\n# S002 cleanup\n\nUnrelated.\n"},
                when=START + 1800)
    repo.commit({"notes/S003.md": "---\ntokens: 9k\n---\n# S003 release notes\n\nOther.\n"},
                when=START + 3600)
    report = build_report(repo.scan())
    assert report.tokens == {"total": 18000}
    assert report.lanes == 3 and (report.first_lane, report.last_lane) == ("S001", "S003")
    assert report.duration_hours == 1.0
    assert report.burn_per_hour() == {"total": 18000.0}
    assert [(p.name, p.lanes, p.tokens) for p in report.phases] == [("no family", 3, 18000)]
    # three lanes of one run of lane ids, half an hour apart, are one episode: the history
    assert [(e.family, e.run, e.report.lanes) for e in report.episodes] == [(None, "s", 3)]
    text = report_text(report)
    assert "tokens:        total 18,000\n" in text
    assert "burn per hour: total 18.0k/h\n" in text
    assert "episodes:      1 (the whole history: run s)\n" in text


def test_a_repo_without_lanes_reports_no_window(repo: GitRepo) -> None:
    repo.commit({"README.md": "# Readme\n\nNo lanes here.\n"}, when=START)
    result = run_compactor("report", "--format", "json", cwd=repo.root)
    assert result.code == 0
    data = json.loads(result.out)
    assert data["window"] == {"start": None, "end": None}
    assert data["duration_hours"] == 0 and data["burn_per_hour"] is None
    assert data["lanes"] == {"count": 0, "first": None, "last": None}
    assert data["tokens"] == {} and data["tokens_total"] == 0 and data["phases"] == []
    text = run_compactor("report", cwd=repo.root)
    assert text.out.startswith("window:        no artifact carries a lane id\n")


def test_report_changes_nothing_and_rejects_a_bad_format(repo: GitRepo) -> None:
    repo.commit({"docs/S010.md": "# S010 thing\n\nText.\n"}, when=START)
    before = repo.state()
    assert run_compactor("report", cwd=repo.root).code == 0
    assert repo.state() == before
    bad = run_compactor("report", "--format", "yaml", cwd=repo.root)
    assert bad.code == 2 and "Invalid value for '--format'" in bad.err


def test_report_json_round_trips_the_record() -> None:
    loop = Report(start=0, end=7200, lanes=3, first_lane="S1", last_lane="S3",
                  tokens={"codex": 7200})
    report = replace(loop, episodes=(Episode(1, "S1", None, loop),), episodes_found=1)
    data = json.loads(report_json(report))
    assert data["burn_per_hour"] == {"codex": 3600.0, "total": 3600.0}
    assert data["episodes"][0]["burn_per_hour"] == {"codex": 3600.0, "total": 3600.0}
    # a history that is not one episode has no burn rate of its own
    assert json.loads(report_json(loop))["burn_per_hour"] is None
    assert data["window"] == {"start": "1970-01-01T00:00:00Z", "end": "1970-01-01T02:00:00Z"}
    assert human_rate(164_090_432.5) == "164.1M" and human_rate(999.0) == "999.0"


def test_docs_sharing_one_file_name_are_named_by_their_folders(repo: GitRepo) -> None:
    """Every run's escalation_note.md: the episode is the family's by its short id, its
    lanes the notes by the folders that tell them apart; --family takes both names."""
    stamps = [f"2026-01-23T0{h}3500Z" for h in range(5)]
    for k, (stamp, action) in enumerate(zip(stamps, ACTIONS, strict=False)):
        text = lane_text(k, action, 1000, 100).replace(f"lane: S{k:03d}\n", "").replace(
            f"# S{k:03d} — ", "# ").replace(f"slice is S{k + 1:03d}", "slice is next")
        repo.commit({f"reports/{stamp}/inbox_status/escalation_note.md": text},
                    when=START + 600 * k)
    first, last = (f"{s}/escalation_note" for s in (stamps[0], stamps[-1]))
    out = run_compactor("report", cwd=repo.root)
    assert out.code == 0
    assert f"\nepisode 1 of 1: family {first}\n" in out.out, out.out
    assert f"\nlanes:         5 ({first} .. {last})\n" in out.out
    assert "escalation_note .. escalation_note" not in out.out
    for name in (first, "escalation_note"):
        one = run_compactor("report", "--family", name, "--format", "json", cwd=repo.root)
        assert one.code == 0
        episode = json.loads(one.out)["episodes"][0]
        assert (episode["family"], episode["family_short_id"]) == ("escalation_note", first)
