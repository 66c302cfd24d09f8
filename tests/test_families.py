"""Families: connected components of verified pairs."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from conftest import GitRepo, run_compactor

from compactor import families
from compactor.families import components
from compactor.shapes import content_codes


def _union_find_roots(n: int, pairs: list[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(n)]


def test_components_are_the_smallest_member_of_each_connected_group() -> None:
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randrange(1, 120)
        pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randrange(0, 2 * n))]
        got = components(n, np.array(pairs, dtype=np.int64).reshape(-1, 2)).tolist()
        assert got == _union_find_roots(n, pairs)
    chain = list(range(3000))
    rng.shuffle(chain)
    edges = list(zip(chain, chain[1:], strict=False))
    assert components(3000, np.array(edges, dtype=np.int64)).tolist() == [0] * 3000


# --- template instances vs the steps of a run (issue 13) ---------------------------------

PACKET = """# Phase Packet: P{n:02d}

## Scope

{scope}

## Work packages

{packages}

## Prompt

Use `plans/execution/PHASE_PROMPT_TEMPLATE.md` with phase `P{n:02d}`.

## Evidence

- `plans/artifacts/P{n:02d}/`

## Gate

- `G-P{n:02d}` from the product requirements, section {n}.
"""

# each phase orders its own work: the scope is the only line that says so
SCOPES = [
    "Command palette, keyboard routing, undo history.",
    "Storage adapters with a retrying sync queue.",
    "Plugin loader and sandboxed extension hosts.",
    "Realtime presence indicators over websockets.",
    "Billing export, invoices and tax reports.",
    "Accessibility audit with screen reader fixes.",
]

PROMPT = """# Launch Prompt - Q03-{lane}

Long-run mode: follow `/srv/work/plans/execution/LONG_RUN_MODE.md` for the kickoff, quiet
execution and the end-of-window bundle.

Read the shared memory instructions at:
- `/srv/work/plans/execution/prompts/RESUME_AFTER_{prev}.md`
- `/srv/work/plans/execution/checkins/Q03/GUIDANCE.md`
- `/srv/work/plans/execution/HARD_REQUIREMENTS.md`

Execute only packet `Q03-{lane}` per those instructions.

When complete, respond exactly:
`please fetch the update at /srv/work/plans/artifacts/Q03/{lane}_SMOKE_REPORT.md and say what next.`
"""


BOUNDARY = """# Autonomy Boundary: Q03-{lane} (explorers)

## Objective

Deliver the next extraction pair focused on {focus} patterns that improve the city view's
{goal}.

## Allowed Work

- Line-by-line source analysis for two high-value components.
- Produce clean-room extraction packets with provenance and target contracts.
- Escalate licensing concerns per the protocol.

## Must Not Do

- Lift code directly into the product.
- Skip the canonical delivery proof.

## Required Evidence

- `/srv/work/plans/artifacts/Q03/Q03_{lane}_01_*.md`
- `/srv/work/plans/artifacts/Q03/Q03_{lane}_02_*.md`

Each packet must include the source provenance path, a concept summary, the value for the
city view, a clean-room plan, target contracts, and a risk class with a licensing flag.
"""

# each boundary sets its own objective in a handful of words of a longer template
FOCI = [("C5", "timeline and inspection", "observability and operator clarity"),
        ("C6", "decision throughput and state explainability", "integration quality")]


def _packets_and_prompts() -> dict[str, str]:
    files = {}
    for n, scope in enumerate(SCOPES, start=1):
        packages = "\n".join(f"- P{n:02d}-WP{k:02d} ({10 * (n * 6 + k):03d}-{10 * (n * 6 + k) + 9:03d})"
                             for k in range(1, 4 + n % 3))
        files[f"docs/phase-packets/P{n:02d}-PACKET.md"] = PACKET.format(
            n=n, scope=scope, packages=packages)
    for lane, focus, goal in FOCI:
        files[f"docs/checkins/AUTONOMY_BOUNDARY_{lane}_EXPLORERS.md"] = BOUNDARY.format(
            lane=lane, focus=focus, goal=goal)
    lanes = [f"C{k}" for k in range(2, 8)]
    for prev, lane in zip(["M1", *lanes], lanes, strict=False):
        files[f"docs/prompts/LAUNCH_Q03_{lane}_EXPLORERS.md"] = PROMPT.format(lane=lane, prev=prev)
    return files


def test_template_instances_that_each_order_their_own_work_stay_apart(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # per-phase packets of one template: masked, only the scope line tells them apart;
    # two boundaries differ in their objective's few words; the launch prompts are one
    # prompt with the packet id swapped (a run)
    repo.commit(_packets_and_prompts())
    scan = repo.scan()
    paths = [[scan.briefs[i].path for i in f.members] for f in scan.families]
    prompts = sorted(p for p in (b.path for b in scan.briefs) if "/prompts/" in p)
    assert paths == [prompts]
    # scan --explain says why a packet is in no family
    out = run_compactor("scan", "--explain", "docs/phase-packets/P03-PACKET.md", cwd=repo.root)
    assert out.code == 0
    assert ("  kept apart from docs/phase-packets/P01-PACKET.md, docs/phase-packets/P04-PACKET.md,"
            " docs/phase-packets/P05-PACKET.md and 1 more: template instances whose shapes meet,"
            " each saying something no other member of their family says"
            " (families.own_content)") in out.out.splitlines()
    data = json.loads(run_compactor("scan", "--explain", "docs/checkins/AUTONOMY_BOUNDARY_C5"
                                    "_EXPLORERS.md", "--format", "json", cwd=repo.root).out)
    assert data["family"] is None
    assert data["apart"] == ["docs/checkins/AUTONOMY_BOUNDARY_C6_EXPLORERS.md"]
    # without the rule the packets are one family: what the test guards
    monkeypatch.setattr(families, "OWN_SHARE", 2.0)
    fresh = repo.scan(use_cache=False)
    again = [[fresh.briefs[i].path for i in f.members] for f in fresh.families]
    bounds = sorted(p for p in (b.path for b in fresh.briefs) if "BOUNDARY" in p)
    assert bounds in again and prompts in again
    assert any(sum("PACKET" in p for p in f) >= 5 for f in again)


ALL = np.ones(4, dtype=bool)


def _plain(n: int) -> set[str]:
    """n distinct words of letters only (a word holding a digit is masked: no content)."""
    return set(sorted("w" + a + b for a in "abcdefgh" for b in "abcdefgh")[:n])


def _texts(words: dict[int, set[str]], text: dict[int, str] | None = None,
           ) -> Callable[[Sequence[int]], list[families.Text]]:
    def read(idx: Sequence[int]) -> list[families.Text]:
        return [families.Text(content_codes(" ".join(sorted(words[i])), ()),
                              families.mentioned((text or {}).get(i, ""))) for i in idx]
    return read


def test_own_content_asks_judged_members_of_families_with_two_of_them() -> None:
    template = _plain(60)
    words = {
        0: template | {"core", "shell", "bus", "fifth", "lower"},  # a scope of its own
        1: template | {"storage", "adapters", "sync", "queue", "retry"},  # another
        2: template | {"storage"},  # one word of its own, and 1's: a step, no instance
        3: template | {"plugin", "loader", "hosts", "sandbox", "extension"},
    }
    fams = [families.Family("a", (0, 1, 2)), families.Family("b", (3, 0))]
    stem = {0: "p01-packet", 1: "p02-packet", 2: "p03-packet", 3: "p04-packet"}.__getitem__
    # 0 and 1 each say something no other member says: no link between them
    apart = families.own_content(fams[:1], ALL, _texts(words), stem)
    assert apart.own == {0, 1}
    assert apart.veto(np.array([[0, 1], [1, 0], [0, 2], [1, 2]])).tolist() == [
        True, True, False, False]
    # a declared step of a run is not asked; one judged member is a step whose write-up grew
    one = np.array([True, False, True, True])
    assert not families.own_content(fams[:1], one, _texts(words), stem)
    assert families.own_content(fams[1:], ALL, _texts(words), stem).own == {0, 3}
    # a share below OWN_SHARE is a rewording, not a scope of its own
    few = {i: template | {f"x{'ab'[i]}", f"y{'ab'[i]}"} for i in range(2)}
    assert not families.own_content([families.Family("c", (0, 1))], ALL,
                                    _texts(few), stem)


def test_a_step_that_names_the_other_by_its_file_name_stays_linked() -> None:
    # the merge log of the previous merge log, reworded: each has words of its own, but
    # the later one names the earlier one's file — a step of a run, not a template instance
    template = _plain(30)
    words = {0: template | {"refreshes", "complete", "navigable"},
             1: template | {"catch", "consistent", "keep"}}
    text = {1: "Adds `docs&#47;ops&#47;merge_logs&#47;PR_1086_MERGE_LOG.md` and the index."}
    stem = {0: "pr_1086_merge_log", 1: "pr_1087_merge_log"}.__getitem__
    apart = families.own_content([families.Family("a", (0, 1))], ALL,
                                 _texts(words, text), stem)
    assert apart.own == {0, 1} and apart.named == {(0, 1)}
    assert apart.veto(np.array([[1, 0]])).tolist() == [False]
    # the same pair without the reference is two instances
    apart = families.own_content([families.Family("a", (0, 1))], ALL,
                                 _texts(words), stem)
    assert apart.veto(np.array([[1, 0]])).tolist() == [True]


MERGE_LOG = """# PR {n} — MERGE LOG

## Summary
PR #{n} was squash-merged with the required guard and its branch deleted.

## Why
- {why}
- The docs token policy gate, a required guard, makes sure docs-only changes are safe.

## Changes
- Add/Update: `docs/ops/merge_logs/PR_{prev}_MERGE_LOG.md`

## Verification
- Gate snapshot before merge: `mergeable=MERGEABLE`, `mergeStateStatus=CLEAN`
- mergedAt: `2026-01-30T22:{n2:02d}:51Z`
- Checks: lint, unit tests, audit, docs reference targets, health gate all passed.

## Links
- PR: https://example.invalid/pulls/{n}
- Documented PR: PR #{prev}
"""

WHYS = [
    "Brings the merge log of the previous PR up to date and refreshes the index, so the "
    "audit trail stays complete and easy to navigate.",
    "Catching up docs: merge log and index updates that keep the audit trail consistent "
    "and navigable for readers.",
    "Follows up on the last merge with its log and an index refresh so that auditors find "
    "every entry in order.",
]


def test_merge_logs_about_merge_logs_reworded_stay_one_family(repo: GitRepo) -> None:
    # each log reworded, each with words of its own, each naming the previous log's file
    files = {f"docs/PR_{1086 + k}_MERGE_LOG.md": MERGE_LOG.format(
        n=1086 + k, prev=1085 + k, why=why, n2=10 * k) for k, why in enumerate(WHYS)}
    repo.commit(files)
    fams = repo.scan().families
    assert [len(f.members) for f in fams] == [3]


def test_a_warm_scan_reads_what_it_found_in_each_family_from_the_cache(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from compactor import scan as scan_module

    repo.commit(_packets_and_prompts())
    cold = [f.members for f in repo.scan().families]

    def unread(*args: object) -> None:
        raise AssertionError("a body was read on a warm scan")

    monkeypatch.setattr(scan_module, "_texts", unread)
    assert [f.members for f in repo.scan().families] == cold
    # a family that changed is asked again (and only it: its bodies are read)
    monkeypatch.undo()
    repo.commit({"docs/phase-packets/P07-PACKET.md": PACKET.format(
        n=7, scope="Offline mode with conflict resolution for drafts.",
        packages="- P07-WP01 (400-409)\n- P07-WP02 (410-419)")})
    read: list[int] = []
    real = scan_module._texts

    def counted(repo_: object, briefs: object, idx: Sequence[int]) -> object:
        read.extend(idx)
        return real(repo_, briefs, idx)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_module, "_texts", counted)
    scan = repo.scan()
    assert all("PACKET" not in scan.briefs[i].path for f in scan.families for i in f.members)
    assert read and {scan.briefs[i].path for i in read} <= {
        b.path for b in scan.briefs if "PACKET" in b.path}


def test_a_text_mentions_file_names_with_and_without_their_extension() -> None:
    text = ("Add/Update: `docs&#47;ops&#47;merge_logs&#47;PR_1086_MERGE_LOG.md`; continue: "
            "[next](/docs/todo/waves/stage-00/wave-002.md). Version 2.8.0.0 notes.")
    names = families.mentioned(text)
    assert {"pr_1086_merge_log.md", "pr_1086_merge_log", "wave-002.md", "wave-002",
            "2.8.0.0"} <= names
    assert "merge_log" not in names and "PR_1086_MERGE_LOG" not in names


def test_own_content_reads_families_in_batches_with_the_same_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    template = _plain(30)
    words = {i: template | {f"{c}{'abcdefgh'[i]}" for c in "pqr"} for i in range(8)}
    fams = [families.Family(str(k), (2 * k, 2 * k + 1)) for k in range(4)]
    stem = str
    calls: list[list[int]] = []

    def read(idx: Sequence[int]) -> list[families.Text]:
        calls.append(list(idx))
        return _texts(words)(idx)

    every = np.ones(8, dtype=bool)
    whole = families.own_content(fams, every, read, stem)
    assert whole.own == set(range(8)) and len(calls) == 1
    calls.clear()
    monkeypatch.setattr(families, "READ_BATCH", 3)  # one family of two at a time
    assert families.own_content(fams, every, read, stem) == whole
    assert calls == [[0, 1], [2, 3], [4, 5], [6, 7]]


# per-release notes of one template: a maintenance release is the last one with the
# version swapped (no lane id, no front matter: nothing declares a run)
RELEASE_NOTE = """# Reporting {v} release notes

Compatible with the dashboards {v} line and the search engine {v}.

## Maintenance

- Bump the plugin version to {v} in `build.gradle` and `package.json`
- Increment the dashboards dependency to {v} for the release train
- Update the backwards compatibility matrix with the {v} artifacts
- Refresh the release workflow so the {v} tag builds the bundle

## Documentation

- Add the release notes for {v}
"""

DAY = 24 * 3600
T0 = 1_700_000_000


def _note(n: int) -> tuple[str, str]:
    v = f"2.{n}.0"
    return f"docs/release-notes-{v}.md", RELEASE_NOTE.format(v=v)


def test_copies_without_a_lane_id_written_weeks_apart_are_no_family(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a release a month: each note is distinct work, the copies are the template's
    for k, n in enumerate((8, 9, 10)):
        repo.commit(dict([_note(n)]), when=T0 + 30 * DAY * k)
    assert repo.scan(use_cache=False).families == ()
    # scan --explain names the copies a pause kept apart (equal shapes: nearest first)
    out = run_compactor("scan", "--explain", _note(9)[0], cwd=repo.root)
    assert out.code == 0
    assert ("  no copy link to docs/release-notes-2.10.0.md (written 30 days after), "
            "docs/release-notes-2.8.0.md (written 30 days before): shapes that meet, written "
            "more than a day apart, and no lane id declares one run (families.pause_veto)"
            ) in out.out.splitlines()
    data = json.loads(run_compactor("scan", "--explain", _note(10)[0], "--format", "json",
                                    cwd=repo.root).out)
    assert data["family"] is None
    assert [(p["path"], p["days"]) for p in data["paused"]] == [
        ("docs/release-notes-2.9.0.md", -30.0), ("docs/release-notes-2.8.0.md", -60.0)]
    # the same notes written within hours of each other: a burst of copies, one family
    for k, n in enumerate((11, 12, 13)):
        repo.commit(dict([_note(n)]), when=T0 + 200 * DAY + 3600 * k)
    scan = repo.scan(use_cache=False)
    assert [[scan.briefs[i].path for i in f.members] for f in scan.families] == [
        [_note(n)[0] for n in (11, 12, 13)]]
    # docs a day apart at most chain into one family, though the first and last are not
    for k, n in enumerate((14, 15, 16, 17)):
        repo.commit(dict([_note(n)]), when=T0 + 300 * DAY + 20 * 3600 * k)
    scan = repo.scan(use_cache=False)
    assert sorted(len(f.members) for f in scan.families) == [3, 4]
    # without the rule every note is one family: what the test guards
    monkeypatch.setattr(families, "PAUSE", 400 * DAY)
    assert [len(f.members) for f in repo.scan(use_cache=False).families] == [10]


def test_a_byte_identical_copy_weeks_later_is_still_its_family(repo: GitRepo) -> None:
    """The pause parts periodic docs of one template, not a doc from its own duplicate: the
    same text committed again at another path a month later is in one family with it (a
    run's notes copied into a hand-off folder, a template committed unfilled once more)."""
    path, text = _note(8)
    repo.commit({path: text}, when=T0)
    repo.commit({"docs/handoff/release-notes-2.8.0.md": text}, when=T0 + 30 * DAY)
    repo.commit(dict([_note(9)]), when=T0 + 60 * DAY)  # the next release: still apart
    scan = repo.scan(use_cache=False)
    assert [[scan.briefs[i].path for i in f.members] for f in scan.families] == [
        [path, "docs/handoff/release-notes-2.8.0.md"]]


def test_the_shape_legs_pause_is_the_gates_lap_and_the_reports_episode() -> None:
    from compactor import check, episodes

    assert families.PAUSE == check.PAUSE == episodes.CAP == 24 * 3600


def test_declared_lanes_weeks_apart_stay_one_family(repo: GitRepo) -> None:
    # a loop of numbered lanes resumed after a pause is the same loop: the lane ids
    # declare the run, time does not cut it
    for k, lane in enumerate(("S101", "S102", "S103")):
        path, text = _note(k)
        repo.commit({f"docs/{lane}-release-notes.md": text.replace("# Reporting",
                                                                  f"# {lane} Reporting")},
                    when=T0 + 30 * DAY * k)
    scan = repo.scan(use_cache=False)
    assert [len(f.members) for f in scan.families] == [3]


def test_a_cached_scan_sees_the_times_its_links_depend_on(repo: GitRepo) -> None:
    # three notes scanned while staged (all written "now": one family, cached) and then
    # committed a month apart: the same blobs at the same paths, other times
    notes = dict(_note(n) for n in (8, 9, 10))
    repo.stage(notes)
    assert [len(f.members) for f in repo.scan().families] == [3]
    repo.git("rm", "-q", "--cached", "--", *notes)
    for k, (path, text) in enumerate(notes.items()):
        repo.commit({path: text}, when=T0 + 30 * DAY * k)
    assert repo.scan().families == ()
    assert repo.scan(use_cache=False).families == ()


def test_a_numbered_run_resumed_after_a_pause_is_joined_again(repo: GitRepo) -> None:
    # cycles 1-3 one day, 4-6 five days later, copies without a lane id: the pause splits
    # them, the numbering that continues without a gap joins the pieces (runs.join_runs)
    for k in range(1, 7):
        text = RELEASE_NOTE.format(v="x").replace("Reporting", f"Cycle {k}")
        repo.commit({f"docs/cycle-{k}-report.md": text},
                    when=T0 + (5 * DAY if k > 3 else 0) + 600 * k)
    scan = repo.scan(use_cache=False)
    assert [[scan.briefs[i].path for i in f.members] for f in scan.families] == [
        [f"docs/cycle-{k}-report.md" for k in range(1, 7)]]
    assert scan.families[0].pieces == ("cycle-1-report", "cycle-4-report")
