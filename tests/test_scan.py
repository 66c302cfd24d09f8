from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import GitRepo, run_compactor

from compactor.config import Config
from compactor.git import Repo
from compactor.scan import run_scan

T0 = 1_778_304_756

LANE = """---
lane: {lane}
route: /ops/actions/{kebab}
session: operator
tenant: scoped
---
# {lane} — {title} operator action

## Goal
Prove that {words} runs inside the authenticated operator envelope with the
same route, session and tenant guardrails as before.

## Evidence
- positive path: an operator with a live session can {words}
- negative path: {words} without a session is refused with 401
- replay: replaying the {words} request returns the stored result
- audit: the audit log records {words} with operator and tenant

## Next
Report back when {words} is green.
"""


def lane(n: int, words: str) -> str:
    return LANE.format(lane=f"S{n:03d}", kebab=words.replace(" ", "-"), title=words.capitalize(),
                       words=words)


ACTIONS = ["approve invoice", "cancel vendor", "unflag invoice", "archive tenant",
           "reopen ticket", "refund payment"]


@pytest.fixture
def loop(repo: GitRepo) -> GitRepo:
    for i, action in enumerate(ACTIONS):
        n = 85 + i
        repo.commit({f"docs/lanes/S{n:03d}-{action.replace(' ', '-')}.md": lane(n, action)},
                    when=T0 + i * 600)
    repo.commit({"docs/acks/S090-ack.md": "ACK S090 refund payment landed. Next bounded slice: "
                 "S091. Proceed."}, when=T0 + 4000)
    repo.commit({"docs/design.md": "# Cache design\n\nSignatures live in sqlite under the git "
                 "dir and are keyed by blob id, path and settings.\n"}, when=T0 + 5000)
    return repo


def test_scan_groups_renamed_lanes_and_classifies_the_rest(loop: GitRepo) -> None:
    scan = loop.scan()
    assert len(scan.families) == 1
    fam = scan.families[0]
    assert fam.id == "S085"
    assert [scan.briefs[i].lane for i in fam.members] == [f"S{n:03d}" for n in range(85, 91)]
    by_path = {b.path: d for b, d in zip(scan.briefs, scan.decisions, strict=True)}
    assert by_path["docs/lanes/S085-approve-invoice.md"].phase == "establishing"
    assert by_path["docs/lanes/S085-approve-invoice.md"].retention == "mostly-keep"
    assert by_path["docs/lanes/S090-refund-payment.md"].retention == "compress"
    assert by_path["docs/acks/S090-ack.md"].retention == "archive"
    assert by_path["docs/design.md"].retention == "keep"
    assert by_path["docs/design.md"].family is None


def test_creation_times_come_from_history_and_staged_files_get_the_commit_time(
    loop: GitRepo,
) -> None:
    loop.stage({"docs/lanes/S091-close-dispute.md": lane(91, "close dispute")})
    scan = run_scan(Repo(loop.root), Config(), now=T0 + 9999)
    created = {b.path: (b.created, b.staged) for b in scan.briefs}
    assert created["docs/lanes/S085-approve-invoice.md"] == (T0, False)
    assert created["docs/lanes/S091-close-dispute.md"] == (T0 + 9999, True)


def test_staged_time_honours_git_committer_date(loop: GitRepo) -> None:
    loop.stage({"docs/lanes/S091-close-dispute.md": lane(91, "close dispute")})
    result = run_compactor("scan", "--format", "json", cwd=loop.root,
                           env={"GIT_COMMITTER_DATE": "2026-05-09T12:00:00Z"})
    data = {b["path"]: b for b in json.loads(result.out)["briefs"]}
    assert data["docs/lanes/S091-close-dispute.md"]["created"] == "2026-05-09T12:00:00Z"
    assert data["docs/lanes/S085-approve-invoice.md"]["created"] == "2026-05-09T05:32:36Z"


def test_scan_reads_the_index_not_the_working_tree(loop: GitRepo) -> None:
    (loop.root / "docs/lanes/S099-untracked.md").write_text(lane(99, "untracked thing"))
    assert "docs/lanes/S099-untracked.md" not in {b.path for b in loop.scan().briefs}


def test_second_scan_recomputes_nothing(loop: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    first = loop.scan()
    calls: list[int] = []
    original = Repo.read_blobs

    def counting(self: Repo, blobs, limit=None):  # type: ignore[no-untyped-def]
        wanted = list(blobs)
        calls.append(len(wanted))
        return original(self, wanted, limit)

    monkeypatch.setattr(Repo, "read_blobs", counting)
    second = loop.scan()
    assert sum(calls) == 0
    assert [b.path for b in second.briefs] == [b.path for b in first.briefs]
    assert (second.signatures == first.signatures).all()


def test_corrupt_cache_is_rebuilt_not_trusted(loop: GitRepo) -> None:
    first = loop.scan()
    db = loop.root / ".git" / "compactor" / "cache-v1.sqlite"
    assert db.exists()
    for extra in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        extra.unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    again = loop.scan()
    assert any("cache" in str(w) for w in again.warnings)
    assert [d.family for d in again.decisions] == [d.family for d in first.decisions]
    assert (again.signatures == first.signatures).all()
    assert not any("cache" in str(w) for w in loop.scan().warnings)


def test_scan_json_shape(loop: GitRepo) -> None:
    result = run_compactor("scan", "--format", "json", cwd=loop.root)
    assert result.code == 0
    data = json.loads(result.out)
    keys = {"path", "lane", "kind", "family", "phase", "retention", "novelty", "created"}
    assert all(keys <= set(b) for b in data["briefs"])
    fam = data["families"][0]
    assert fam["id"] == "S085" and len(fam["members"]) == 6
    ack = next(b for b in data["briefs"] if b["kind"] == "ack")
    assert ack["family"] is None and ack["lane"] == "S090" and ack["novelty"] is None
    # each member says which leg linked it: these renamed lanes are copies (shape leg)
    assert [link["leg"] for link in fam["links"]] == ["copy"] * 6
    legs = {b["path"]: b["link"] for b in data["briefs"]}
    assert {legs[p] for p in fam["members"]} == {"copy"} and legs[ack["path"]] is None


def test_scan_text_lists_families_and_retention(loop: GitRepo) -> None:
    result = run_compactor("scan", cwd=loop.root)
    assert result.code == 0
    assert "family S085: 6 lanes (S085 .. S090)" in result.out
    assert "link" in result.out.splitlines()[3] and " copy " in result.out
    assert "establishing" in result.out and "compress" in result.out


def test_scan_counts_lanes_as_the_report_and_inventory_do(repo: GitRepo) -> None:
    """"lanes" means docs with a lane id (or a run id) in every output: a family of
    reworded status docs without one is "4 docs, no lane id", where the inventory's
    summary and the report say 0 lanes (scan said "4 lanes")."""
    from test_restate import BURST, OTHERS, T0

    repo.commit({**OTHERS, **BURST}, when=T0)
    text = run_compactor("scan", cwd=repo.root).out
    [line] = [x for x in text.splitlines() if x.startswith("family ")]
    assert ": 4 docs, no lane id (" in line, line
    assert run_compactor("inventory", cwd=repo.root).code == 0
    inventory = (repo.root / "docs/INVENTORY.md").read_text()
    assert "| lanes | 0 |" in inventory and "4 docs, no lane id (" in inventory
    assert "lanes:         0" in run_compactor("report", cwd=repo.root).out


def test_vendored_and_boilerplate_markdown_is_not_scanned_by_default(repo: GitRepo) -> None:
    changelog = "# Changelog\n\n## 1.0.0\n\n- Fixed a bug in the parser.\n- Added an option.\n"
    template = "---\nname: Bug report\n---\n\n## Describe the bug\n\nA clear description.\n"
    repo.commit({
        "docs/lanes/S001-approve-invoice.md": "# S001 Approve invoice\n\nProve the route.\n",
        **{f"node_modules/pkg{k}/CHANGELOG.md": changelog for k in range(5)},
        **{f"site/node_modules/pkg{k}/README.md": changelog for k in range(5)},
        ".github/ISSUE_TEMPLATE/bug.md": template,
        "CHANGELOG.md": changelog,
        "docs/vendor/S002-approve-vendor.md": "# S002 Approve vendor\n\nProve the route.\n",
    })
    paths = [b["path"] for b in json.loads(run_compactor("scan", "--format", "json",
                                                          cwd=repo.root).out)["briefs"]]
    assert paths == ["docs/lanes/S001-approve-invoice.md", "docs/vendor/S002-approve-vendor.md"]
    # exclude replaces the default: an empty list scans everything
    repo.write(".compactor.yaml", "exclude: []\n")
    r = run_compactor("scan", "--format", "json", cwd=repo.root)
    assert len(json.loads(r.out)["briefs"]) == 14


def test_scan_explain_says_why_a_doc_got_its_kind_lane_and_family(loop: GitRepo) -> None:
    data = json.loads(run_compactor("scan", "--format", "json", cwd=loop.root).out)
    fam = data["families"][0]
    member = fam["members"][1]
    result = run_compactor("scan", "--explain", member, cwd=loop.root)
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0] == member
    assert lines[1].startswith("  kind brief: it has a lane id")
    assert lines[2].startswith("  lane S086: ")
    assert lines[3].startswith(f"  family {fam['id']}: linked as a copy")
    ack = next(b["path"] for b in data["briefs"] if b["kind"] == "ack")
    out = json.loads(run_compactor("scan", "--explain", ack, "--format", "json", cwd=loop.root).out)
    assert out["kind"] == "ack" and "short" in out["kind_why"] and out["family"] is None
    missing = run_compactor("scan", "--explain", "docs/nope.md", cwd=loop.root)
    assert missing.code == 2 and "docs/nope.md: not a scanned doc" in missing.err


def test_scan_explain_reads_a_path_from_the_current_directory_first(loop: GitRepo,
                                                                    tmp_path: Path) -> None:
    # like git and ruff: from a subdirectory a path is read from there, then from the root
    member = json.loads(run_compactor("scan", "--format", "json", cwd=loop.root).out
                        )["families"][0]["members"][1]
    folder, name = member.rsplit("/", 1)
    want = run_compactor("scan", "--explain", member, cwd=loop.root).out
    assert want.startswith(member + "\n")
    for arg, cwd in [(name, loop.root / folder), (f"./{name}", loop.root / folder),
                     (member, loop.root / folder),  # not there: from the root
                     (f"../{folder.rsplit('/', 1)[-1]}/{name}", loop.root / folder),
                     (str(loop.root / member), loop.root)]:  # absolute
        got = run_compactor("scan", "--explain", arg, cwd=cwd)
        assert (got.code, got.out) == (0, want), (arg, cwd)
    # -C names the directory a path is read from, as with git -C
    got = run_compactor("-C", str(loop.root / folder), "scan", "--explain", name, cwd=tmp_path)
    assert (got.code, got.out) == (0, want)
    missing = run_compactor("scan", "--explain", "nope.md", cwd=loop.root / folder)
    assert missing.code == 2 and missing.err.endswith(
        "nope.md: not a scanned doc (not in the index, excluded, or skipped); give its path "
        "from the current directory or from the repository root\n")


def test_the_shape_veto_asks_names_veto_only_what_it_can_veto() -> None:
    # grouping's veto skips names_veto for pairs with a title it does not judge (a step
    # of a declared run): the same answers as asking it about every pair
    import itertools
    from types import MappingProxyType

    import numpy as np

    from compactor.briefs import Brief
    from compactor.facts import FACTS_AGREE, copy_veto, names_veto
    from compactor.scan import _shape_veto

    titles = ["Runbook: NodeFilesystemAlmostOutOfFiles", "Runbook: NodeFilesystemAlmostOutOfSpace",
              "Audit of `core.manager`", "Audit of `core.adapters`", "S101 deploy widget",
              "S102 `core.manager` rollout", "Status", "Plan for `utils.func`"]
    briefs = [
        Brief(f"docs/d{k}.md", f"{k:040x}", f"S1{k:02d}" if k in (4, 5) else None, None,
              title, "", "brief" if k in (4, 5) else "other", 50,
              MappingProxyType({"action": "roll out"} if k == 7 else {}))
        for k, title in enumerate(titles)
    ]
    sketches = [[1, 2, 3], [1, 2, 3], [5], [5], [], [5], [1, 2, 3], [5]]  # facts agree
    pairs = np.array(list(itertools.combinations(range(len(briefs)), 2)), dtype=np.int64)
    by_names = names_veto(lambda i: None if briefs[i].in_run else briefs[i].title, pairs)
    plain = copy_veto(sketches, pairs, FACTS_AGREE) | by_names
    veto = _shape_veto(briefs, sketches)
    assert veto(pairs).tolist() == plain.tolist()
    vetoed = {tuple(p) for p, v in zip(pairs.tolist(), plain.tolist(), strict=True) if v}
    assert {(0, 1), (2, 3)} <= vetoed and (2, 5) not in vetoed and (3, 7) not in vetoed
    assert veto(pairs[:0]).tolist() == []


def test_switching_branches_reads_the_history_once_per_branch(
    loop: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Creation times are kept for the last few heads: a branch switched to and from goes
    on from its own head's times (``git log`` over its new commits only, or not at all),
    and they are the times an uncached scan reads."""
    loop.git("checkout", "-q", "-b", "side", "HEAD~2")
    loop.commit({"docs/lanes/S120-close-dispute.md": lane(120, "close dispute")}, when=T0 + 7000)
    passes: list[str | None] = []
    original = Repo.start_creation_log

    def logged(self: Repo, since: str | None = None, upto: str = "HEAD"):  # type: ignore[no-untyped-def]
        passes.append(since)
        return original(self, since, upto)

    monkeypatch.setattr(Repo, "start_creation_log", logged)
    for branch in ("main", "side"):
        loop.git("checkout", "-q", branch)
        loop.scan()
    assert len(passes) == 2
    passes.clear()
    for k in range(6):  # commits on both branches in turn, a scan after each
        branch = ("main", "side")[k % 2]
        loop.git("checkout", "-q", branch)
        loop.scan()
        loop.commit({f"docs/lanes/S{130 + k}-{branch}.md": lane(130 + k, f"hold {branch}")},
                    when=T0 + 8000 + 60 * k)
        scan = loop.scan()
        cached = list(passes)
        uncached = loop.scan(use_cache=False)
        assert [b.created for b in scan.briefs] == [b.created for b in uncached.briefs]
        del passes[len(cached):]
    # one pass a commit, from the branch's last head: never the whole history again
    assert len(passes) == 6 and None not in passes


def test_long_lane_ids_keep_the_scan_table_aligned(repo: GitRepo) -> None:
    repo.commit({".compactor.yaml": 'lane_pattern: "heartbeat-cycle-(\\\\d+)"\n'}, when=T0 - 60)
    for i, action in enumerate(ACTIONS):
        n = 70 + i
        text = LANE.format(lane=f"heartbeat-cycle-{n}", kebab=action.replace(" ", "-"),
                           title=action.capitalize(), words=action)
        repo.commit({f"docs/heartbeat-cycle-{n}.md": text}, when=T0 + i * 600)
    out = run_compactor("scan", cwd=repo.root).out.splitlines()
    header = next(k for k, line in enumerate(out) if line.lstrip().startswith("lane "))
    rows = [line for line in out[header + 1:] if line.startswith("  heartbeat-cycle-")]
    assert len(rows) == len(ACTIONS)
    columns = out[header].index("phase"), out[header].index("path")
    for row in rows:  # each value starts under its heading, the lane id whole
        lane, phase = row.split()[:2]
        assert lane.startswith("heartbeat-cycle-") and row.index(phase) == columns[0], row
        assert row.index("docs/") == columns[1], row
    # compact's plan lists the folded lanes the same way
    folds = [line for line in run_compactor("compact", cwd=repo.root).out.splitlines()
             if line.startswith("  fold  ")]
    assert len(folds) >= 3 and len({line.index(" novelty ") for line in folds}) == 1
    assert all(line.split()[1].startswith("heartbeat-cycle-") for line in folds)


def test_find_family_takes_an_id_in_any_case_unless_two_families_share_that_spelling() -> None:
    import numpy as np

    from compactor.families import Family
    from compactor.scan import Scan

    fams = tuple(Family(fid, ()) for fid in ("Ab", "aB", "Wave-3"))
    scan = Scan(Path("."), Config(), None, (), np.zeros((0, 128), np.uint32), (), fams, (), ())
    assert [scan.find_family(n) for n in ("Ab", "aB", "WAVE-3", "wave-3")] == \
        ["Ab", "aB", "Wave-3", "Wave-3"]
    assert scan.find_family("ab") is None  # two families in other cases: neither is meant
    assert scan.find_family("Wave-4") is None
