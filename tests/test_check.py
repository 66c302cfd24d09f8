"""The gate: `compactor check` on generated loop repos and small hand-built ones."""

from __future__ import annotations

import json
import random
import re
import shlex
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from compactor.check import claim_similarity, human, parse_now, run_check
from compactor.config import Config, load_config, make_config
from compactor.demo.example import ExampleDoc, label_spellings, loop_corpus, write_repo
from compactor.git import Repo
from tests.conftest import GitRepo, git, run_compactor

QUESTION = "What new truth does this lane buy that the last three did not"

# -- a generated loop repo, built once and copied per test ----------------------------------


@pytest.fixture(scope="session")
def loop_docs() -> list[ExampleDoc]:
    return loop_corpus(0, families=3, lanes_per_family=8)


@pytest.fixture(scope="session")
def loop_template(tmp_path_factory: pytest.TempPathFactory, loop_docs: list[ExampleDoc]) -> Path:
    root = tmp_path_factory.mktemp("loop") / "repo"
    write_repo(root, loop_docs)
    return root


@pytest.fixture
def loop(tmp_path: Path, loop_template: Path) -> GitRepo:
    root = tmp_path / "loop"
    shutil.copytree(loop_template, root, symlinks=True)
    git(root, "config", "commit.gpgsign", "false")
    return GitRepo(root)


def front(text: str, key: str) -> str | None:
    m = re.search(rf"^{key}: (.*)$", text.split("\n---", 1)[0], re.M)
    return m.group(1).strip() if m else None


def family_lanes(docs: list[ExampleDoc]) -> list[ExampleDoc]:
    """The lanes of the generated family that carries front matter (route/session/tenant)."""
    lanes = [d for d in docs if d.kind == "brief" and d.text.startswith("---\nlane:")]
    assert len(lanes) >= 6, "the corpus should hold a front-matter lane family"
    return lanes


def rename(doc: ExampleDoc, number: int, action: str) -> tuple[str, str]:
    """The doc as the next lane: same text, new lane id and action name in all spellings."""
    old = tuple(front(doc.text, "action").split("_"))  # type: ignore[union-attr]
    lane = front(doc.text, "lane")
    assert lane is not None
    text = doc.text
    olds, news = label_spellings(old), label_spellings(tuple(action.split()))
    for key in ("upper", "pascal", "camel", "snake", "kebab", "Sentence", "words"):
        text = text.replace(olds[key], news[key])
    text = text.replace(lane, f"S{number:03d}")
    path = f"docs/lanes/S{number:03d}-{news['kebab']}.md"
    return path, text


def with_front(text: str, **fields: str) -> str:
    extra = "".join(f"{k}: {v}\n" for k, v in fields.items())
    return text.replace("\n---\n", f"\n{extra}---\n", 1)


def last_proven(lanes: list[ExampleDoc]) -> str:
    for d in reversed(lanes):
        if front(d.text, "status") == "proven":
            return front(d.text, "lane")  # type: ignore[return-value]
    raise AssertionError("the corpus should mark a lane proven")


def next_number(docs: list[ExampleDoc]) -> int:
    numbers = [int(m.group(1)) for d in docs for m in [re.search(r"S(\d{3})", d.path)] if m]
    numbers += [int(m.group(1)) for d in docs for m in [re.search(r"lane-(\d+)", d.path)] if m]
    return max(numbers) + 1


# -- the must-show cases on the generated loop ------------------------------------------------


def test_renamed_lane_with_unchanged_guardrails_is_blocked_with_evidence(
    loop: GitRepo, loop_docs: list[ExampleDoc]
) -> None:
    lanes = family_lanes(loop_docs)
    last = lanes[-1]
    n = next_number(loop_docs)
    prev = front(last.text, "lane")
    old_words = front(last.text, "action").replace("_", " ")  # type: ignore[union-attr]
    path, text = rename(last, n, "cancel vendor")
    loop.stage({path: text})
    before = loop.state()

    r = run_compactor("check", cwd=loop.root)

    assert r.code == 1
    assert r.out.startswith(f"BLOCKED {path} (S{n})\n  family ")
    assert f"nearest earlier lanes: {prev} 100%," in r.out
    assert "  stop conditions (all three hold):\n" in r.out
    assert f"    - envelope proven: {last_proven(lanes)} has status: proven\n" in r.out
    assert "    - guardrails unchanged: route/session/tenant unchanged since " in r.out
    assert f"    - only the label differs: 100% the same proof shape as {prev} " in r.out
    assert f"    - renamed lane: title = {prev}'s with '{old_words}' → 'cancel vendor'\n" in r.out
    assert f"  {QUESTION} (" in r.out
    assert ("    - coverage matrix and missing-gap list of every family: compactor inventory\n"
            in r.out)
    assert re.search(r"    - closeout of family (\S+) \(its coverage matrix, missing-gap list and a "
                     r"redirect to fill in\): compactor closeout \1\n", r.out)
    assert r.out.rstrip().endswith(
        "compactor check: 1 of 1 added lane blocked; the commit is refused")
    assert loop.state() == before  # the gate changes nothing


def test_lane_with_a_genuinely_new_topic_passes_quietly(
    loop: GitRepo, loop_docs: list[ExampleDoc]
) -> None:
    n = next_number(loop_docs)
    loop.stage({f"docs/lanes/S{n:03d}-webhook-retries.md": NEW_TOPIC.format(n=n)})
    r = run_compactor("check", cwd=loop.root)
    assert (r.code, r.out) == (0, "")


def test_closeout_passes_and_resets_the_adjacency_count(
    loop: GitRepo, loop_docs: list[ExampleDoc]
) -> None:
    lanes = family_lanes(loop_docs)
    ids = [front(d.text, "lane") for d in lanes]
    closeout = (
        "# Close-out: operator action lanes\n\n"
        f"Lanes {', '.join(map(str, ids))} proved one envelope. They are closed; the next "
        "operator action goes into the coverage matrix, not into a new lane.\n"
    )
    loop.stage({"docs/closeouts/operator-actions-closeout.md": closeout})
    r = run_compactor("check", cwd=loop.root)
    assert (r.code, r.out) == (0, "")
    loop.commit({}, message="closeout")

    path, text = rename(lanes[-1], next_number(loop_docs), "cancel vendor")
    loop.stage({path: text})
    r = run_compactor("check", cwd=loop.root)
    assert r.code == 1  # the stop conditions still hold ...
    assert "stop conditions (all three hold)" in r.out
    assert "adjacent lanes" not in r.out  # ... but the run of adjacent lanes starts over


def test_a_generated_closeout_left_unfilled_resets_nothing(
    loop: GitRepo, loop_docs: list[ExampleDoc]
) -> None:
    """``compactor closeout`` writes a close-out whose redirect the author fills in.
    Committed as generated, it would let a loop clear every block with one unread file
    per few lanes: the gate counts it only once its redirect says where the work goes."""
    lanes = family_lanes(loop_docs)
    loop.commit({".compactor.yaml": "max_adjacent: 1\n"}, message="config")
    path, text = rename(lanes[-1], next_number(loop_docs), "cancel vendor")
    loop.stage({path: text})
    r = run_compactor("check", cwd=loop.root)
    assert r.code == 1 and "adjacent lanes" in r.out
    family = re.search(r"compactor closeout (\S+)\n", r.out)
    assert family is not None
    loop.git("rm", "-q", "--cached", "--", path)
    made = run_compactor("closeout", family.group(1), cwd=loop.root)
    assert made.code == 0 and "Next frontier, Owner" in made.err
    written = re.search(r"wrote (\S+)", made.err)
    assert written is not None
    closeout = written.group(1)
    written_at = int(time.time()) - 120  # committed before the lane is staged, not with it
    loop.commit({closeout: (loop.root / closeout).read_text()}, when=written_at,
                message="closeout, unread")

    loop.stage({path: text})
    r = run_compactor("check", cwd=loop.root)
    assert r.code == 1 and "adjacent lanes" in r.out  # the run goes on
    assert (f"    - the redirect of {closeout}, still empty (Next frontier, Owner): where the "
            f"work goes instead of another lane: fill it in and commit {closeout}\n") in r.out
    assert "already consolidates" not in r.out

    loop.git("rm", "-q", "--cached", "--", path)
    filled = (loop.root / closeout).read_text().replace(
        "- Next frontier:", "- Next frontier: the vendor API v2 migration").replace(
        "- Owner:", "- Owner: payments team")
    loop.commit({closeout: filled}, when=written_at + 60, message="closeout, filled in")
    loop.stage({path: text})
    r = run_compactor("check", cwd=loop.root)
    assert r.code == 1  # the stop conditions still hold ...
    assert "adjacent lanes" not in r.out  # ... but the run starts over from the close-out
    assert f"{closeout} already consolidates family" in r.out


def test_a_closeout_staged_with_the_lane_resets_nothing(
    loop: GitRepo, loop_docs: list[ExampleDoc]
) -> None:
    """After a repeated family the next output must be a close-out, not another lane: a
    close-out (or any consolidation output) added in the same commit as the lane is no
    output before it, so a loop cannot stage a one-line close-out with every lap."""
    lanes = family_lanes(loop_docs)
    loop.commit({".compactor.yaml": "max_adjacent: 1\n"}, message="config")
    path, text = rename(lanes[-1], next_number(loop_docs), "cancel vendor")
    ids = ", ".join(str(front(d.text, "lane")) for d in lanes)
    closeout = {"docs/closeouts/lap-closeout.md":
                f"---\nkind: closeout\n---\n# Close-out\n\nLanes {ids} are closed.\n"}
    loop.stage({path: text, **closeout})
    r = run_compactor("check", cwd=loop.root)
    assert r.code == 1 and "adjacent lanes" in r.out, r
    loop.git("rm", "-q", "--cached", "--", path, *closeout)
    # a lap of lanes committed today (the fixture's lanes are older: a pause before it)
    now, n = int(time.time()), next_number(loop_docs)
    actions = ["cancel vendor", "refund vendor", "archive vendor", "merge vendor",
               "split vendor"]
    lane = [rename(lanes[-1], n + k, a) for k, a in enumerate(actions)]
    loop.commit(dict(lane[:2]), when=now - 500, message="two lanes")
    loop.commit(closeout, when=now - 400, message="a close-out, committed before")
    loop.stage(dict(lane[2:3]))
    r = run_compactor("check", cwd=loop.root)
    assert "adjacent lanes" not in r.out, r  # committed before the lane, it resets the run
    loop.commit({}, when=now - 300, message="a lane after the close-out")
    loop.commit(dict(lane[3:4]), when=now - 250, message="and another")
    again = {"docs/closeouts/lap-2-closeout.md": closeout["docs/closeouts/lap-closeout.md"]}
    loop.commit(again, when=now - 100, message="another one-line close-out, same lap")
    loop.stage(dict(lane[4:5]))
    r = run_compactor("check", cwd=loop.root)
    # once a lap: the run counts from the lap's first close-out, not the newest
    assert r.code == 1 and "adjacent lanes" in r.out, r
    assert "since its last consolidation output docs/closeouts/lap-closeout.md" in r.out, r


def test_an_invented_claim_on_a_label_swapped_copy_is_refused(
    loop: GitRepo, loop_docs: list[ExampleDoc]
) -> None:
    lanes = family_lanes(loop_docs)
    n = next_number(loop_docs)
    claim = '"Bulk cancel: 500 vendors in one call stay inside one audit transaction"'
    path, text = rename(lanes[-1], n, "cancel vendor")
    loop.stage({path: with_front(text, new_truth=claim)})

    r = run_compactor("check", cwd=loop.root)
    assert r.code == 1
    assert r.out.startswith(f"BLOCKED {path} (S{n})\n")
    assert ("    - new_truth refused: this lane adds no line the last three did not; a claim "
            "cannot stand in for one\n") in r.out
    assert "If the lane does buy new truth" not in r.out  # it tried; the claim is the problem


BULK = """
## Bulk cancellation

- Batch endpoint: 500 vendors cancelled in one call inside one audit transaction.
- Partial failure rolls the whole batch back; the ledger shows a single reversal row.
"""


def test_a_real_new_section_with_a_matching_claim_passes_with_a_warning(
    loop: GitRepo, loop_docs: list[ExampleDoc]
) -> None:
    lanes = family_lanes(loop_docs)
    n = next_number(loop_docs)
    claim = '"Bulk cancel: 500 vendors in one call stay inside one audit transaction"'
    path, text = rename(lanes[-1], n, "cancel vendor")
    loop.stage({path: with_front(text, new_truth=claim) + BULK})

    r = run_compactor("check", cwd=loop.root)
    assert r.code == 0, r.out
    assert r.out.startswith(f"WARNING {path} (S{n})\n")
    assert ('  its new_truth claim is earned: "Bulk cancel: 500 vendors in one call stay '
            'inside one audit transaction"\n  the lines it adds that the claim names:\n'
            '    + "- Batch endpoint: 500 vendors cancelled in one call inside one audit '
            'transaction."\n') in r.out
    assert "compactor check: 1 added lane passes, with warnings" in r.out
    loop.commit({}, message="S with claim")

    # the same claim on the next lane: a copied claim buys nothing, whatever the lane adds
    path2, text2 = rename(lanes[-1], n + 1, "reopen ticket")
    loop.stage({path2: with_front(text2, new_truth=claim) + BULK.replace("Bulk", "Mass")})
    r = run_compactor("check", cwd=loop.root)
    assert r.code == 1
    assert (f"    - new_truth refused: new_truth is nearly the same as S{n}'s claim (100% alike): "
            '"Bulk cancel: 500 vendors in one call stay inside one audit transaction"; '
            "a copied claim buys no new truth\n") in r.out


def test_a_claim_that_names_none_of_the_new_lines_is_refused_and_shows_them(
    loop: GitRepo, loop_docs: list[ExampleDoc]
) -> None:
    lanes = family_lanes(loop_docs)
    n = next_number(loop_docs)
    path, text = rename(lanes[-1], n, "cancel vendor")
    extra = "\n- Also noted: the staging clock drifts by four seconds nightly.\n"
    loop.stage({path: with_front(text, new_truth='"Webhooks now retry with jitter"') + extra})
    r = run_compactor("check", cwd=loop.root)
    assert r.code == 1
    assert ("    - new_truth refused: this lane adds no line the last three did not; a claim "
            "cannot stand in for one. The lines it does add, none of which the claim names: "
            '"- Also noted: the staging clock drifts by four seconds nightly."') in r.out


def test_empty_new_truth_is_refused(loop: GitRepo, loop_docs: list[ExampleDoc]) -> None:
    path, text = rename(family_lanes(loop_docs)[-1], next_number(loop_docs), "cancel vendor")
    loop.stage({path: with_front(text, new_truth='"  "')})
    r = run_compactor("check", cwd=loop.root)
    assert r.code == 1
    assert "    - new_truth refused: new_truth is empty; state what this lane proves that " in r.out


def test_ten_renamed_lanes_staged_in_one_commit_are_all_blocked(
    loop: GitRepo, loop_docs: list[ExampleDoc]
) -> None:
    last = family_lanes(loop_docs)[-1]
    n = next_number(loop_docs)
    actions = ["cancel vendor", "reopen ticket", "void invoice", "retry payout", "lock account",
               "unlock account", "export ledger", "split shipment", "release hold", "place hold"]
    files = dict(rename(last, n + k, a) for k, a in enumerate(actions))
    loop.stage(files)

    r = run_compactor("check", "--format", "json", cwd=loop.root)
    assert r.code == 1
    data = json.loads(r.out)
    assert data["outcome"] == "block"
    verdicts = data["verdicts"]
    assert [v["lane"] for v in verdicts] == [f"S{n + k:03d}" for k in range(10)]
    assert all(v["outcome"] == "block" for v in verdicts)
    # each is judged against the staged lanes before it, too
    assert verdicts[5]["nearest"][0]["lane"] in {f"S{n + k:03d}" for k in range(5)}
    assert verdicts[9]["question"].startswith(QUESTION)
    assert {"output": "coverage matrix and missing-gap list of every family",
            "how": "compactor inventory"} in verdicts[0]["due"]
    assert [c["name"] for c in verdicts[0]["conditions"]] == [
        "proven", "guardrails", "label-only", "rename"]
    assert {c["action"] for c in verdicts[0]["conditions"]} == {"block"}
    assert {c["strength"] for c in verdicts[0]["conditions"]} == {"strong"}
    assert [v["link"] for v in verdicts] == ["copy"] * 10
    # from the fifth copy of S{n} in a row on, the run of near-copies escalates too
    assert all(any(c["name"] == "adjacent" for c in v["conditions"]) for v in verdicts[3:])


@pytest.mark.slow  # started first: see tests/conftest.py
def test_replaying_templated_reports_through_the_gate_blocks_none(repo: GitRepo) -> None:
    """110 sprint reports: one skeleton, distinct content, each a lane (sprint-N), one per commit."""
    rng = random.Random(7)
    r = Repo(repo.root)
    config = Config()
    start = 1_778_304_756
    text = ""
    for k in range(110):
        path, text = sprint_report(rng, k + 1)
        repo.stage({path: text})
        result = run_check(r, config, now=start + 600 * k)
        assert result.outcome == "pass", (path, result)
        assert [v.path for v in result.verdicts] == [path]  # it was judged, as a lane
        repo.commit({}, when=start + 600 * k, message=path)
    # the gate is live on the same repo: a report copied under the next sprint number is not
    copy = text.replace("Sprint 110", "Sprint 111")
    repo.stage({"docs/sprints/sprint-111-report.md": copy})
    result = run_check(r, config, now=start + 600 * 111)
    assert result.outcome == "block"
    assert [c.evidence for c in result.verdicts[0].conditions] == [
        "title = sprint-110's with only the lane id changed"
    ]


# -- the stop conditions, one at a time on a small repo -----------------------------------


QUIET = {"adjacent_mode": "off", "rename_mode": "off"}


def test_proof_naming_the_family_proves_the_envelope(repo: GitRepo) -> None:
    write_config(repo, QUIET)
    repo.commit({f"docs/lanes/S00{k}.md": small_lane(k, a) for k, a in
                 enumerate(["approve invoice", "cancel vendor", "flag invoice"], 1)}, when=T0)
    repo.stage({"docs/lanes/S004.md": small_lane(4, "reopen ticket")})
    r = run_compactor("check", cwd=repo.root)
    assert (r.code, r.out) == (0, "")  # similar, guardrails unchanged, but nothing proven

    repo.stage({"docs/proofs/envelope-proof.md": PROOF})  # a proof staged with it counts too
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 1
    assert ("    - envelope proven: docs/proofs/envelope-proof.md covers the family "
            "(names S001) [medium evidence]\n") in r.out
    assert "    - guardrails unchanged: route/session/tenant unchanged since S001" in r.out


def test_only_real_proof_proves_the_envelope(repo: GitRepo) -> None:
    """A template, a README or a doc sharing the lanes' words is no proof; front matter is."""
    write_config(repo, QUIET)
    repo.commit({f"docs/lanes/S00{k}.md": small_lane(k, a) for k, a in
                 enumerate(["approve invoice", "cancel vendor", "flag invoice"], 1)}, when=T0)
    repo.stage({"docs/lanes/S004.md": small_lane(4, "reopen ticket")})
    lookalike = small_lane(9, "flag invoice").replace("lane: S009\n", "").replace("S009 — ", "")
    repo.stage({
        # a template that names a lane and shares the lanes' words and skeleton
        "docs/proofs/EVIDENCE_ENTRY_TEMPLATE.md": "# Evidence entry (template)\n\nFor S001: "
        + lookalike,
        "docs/proofs/README.md": "# Proofs\n\nOne file per envelope, e.g. the one of S001.\n",
        "docs/proofs/operator-envelope.md": lookalike,  # shares every word, names no lane
    })
    r = run_compactor("check", "--format", "json", cwd=repo.root)
    assert r.code == 0, r.out
    verdict = json.loads(r.out)["verdicts"][0]
    assert (verdict["link"], verdict["conditions"]) == ("copy", [])

    repo.stage({"docs/proofs/operator-envelope.md": "---\ncovers: S002\n---\n" + lookalike})
    r = run_compactor("check", "--format", "json", cwd=repo.root)
    assert r.code == 1
    proven = json.loads(r.out)["verdicts"][0]["conditions"][0]
    assert proven == {"name": "proven", "group": "stop", "action": "block", "strength": "strong",
                      "evidence": "docs/proofs/operator-envelope.md covers the family "
                                  "(front matter covers: S002)"}


def test_due_instead_names_missing_outputs_only_and_each_command_works(repo: GitRepo) -> None:
    repo.commit({f"docs/lanes/S00{k}.md": small_lane(k, a) for k, a in
                 enumerate(["approve invoice", "cancel vendor", "flag invoice"], 1)}, when=T0)
    repo.stage({"docs/lanes/S004.md": small_lane(4, "reopen ticket")})
    r = run_compactor("check", "--format", "json", cwd=repo.root)
    assert r.code == 1
    due = json.loads(r.out)["verdicts"][0]["due"]
    assert [d["how"] for d in due] == ["compactor closeout S001", "compactor inventory"]
    for d in due:  # every suggestion works as written
        ran = run_compactor(*shlex.split(d["how"])[1:], cwd=repo.root)
        assert ran.code == 0, (d, ran)
    assert (repo.root / "docs/closeouts/S001-closeout.md").is_file()
    from compactor.check import closeout_path
    from compactor.closeout import default_path
    for name in ("S001", "LAUNCH_P07_A3", "a b/c", "..x"):
        assert closeout_path(name) == default_path(name)
    assert (repo.root / "docs/INVENTORY.md").is_file()

    # now that both exist, nothing is due that exists already: the closeout is named instead
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 1
    assert "Due instead of another lane" not in r.out
    assert ("  docs/closeouts/S001-closeout.md already consolidates family S001: add to it "
            "instead of opening another lane\n") in r.out
    # the JSON says so too (it had only "due": [], as if nothing were advised)
    verdict = json.loads(run_compactor("check", "--format", "json", cwd=repo.root).out)[
        "verdicts"][0]
    assert verdict["due"] == []
    assert verdict["consolidated_by"] == {"path": "docs/closeouts/S001-closeout.md",
                                          "how": "add to it instead of opening another lane"}


def test_changed_guardrails_let_a_similar_lane_through(repo: GitRepo) -> None:
    write_config(repo, QUIET)
    repo.commit({f"docs/lanes/S00{k}.md": small_lane(k, a, status="proven") for k, a in
                 enumerate(["approve invoice", "cancel vendor", "flag invoice"], 1)}, when=T0)
    changed = small_lane(4, "reopen ticket", route="/api/v3/bulk/{kebab}", status="proven")
    repo.stage({"docs/lanes/S004.md": changed})
    r = run_compactor("check", cwd=repo.root)
    assert (r.code, r.out) == (0, "")

    repo.stage({"docs/lanes/S004.md": small_lane(4, "reopen ticket", status="proven")})
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 1
    assert "    - envelope proven: S003 has status: proven\n" in r.out


def test_guardrails_are_unknown_without_the_fields_and_unknown_never_completes_the_stop(
    repo: GitRepo,
) -> None:
    write_config(repo, {**QUIET, "guardrail_fields": ["route", "session", "tenant"]})
    repo.commit({f"docs/lanes/S00{k}.md": small_lane(k, a, status="proven", guard=False)
                 for k, a in enumerate(["approve invoice", "cancel vendor"], 1)}, when=T0)
    repo.stage({"docs/lanes/S003.md": small_lane(3, "flag invoice", guard=False)})
    r = run_compactor("check", "--format", "json", cwd=repo.root)
    assert r.code == 0, r.out  # proven and a copy, but nothing says the guardrails held
    data = json.loads(r.out)
    assert data["verdicts"][0]["link"] == "copy"
    assert data["verdicts"][0]["conditions"] == []
    repo.git("reset", "-q")  # unstage S003

    # with the fields on both sides, unchanged: all three hold
    repo.commit({f"docs/lanes/S00{k}.md": small_lane(k, a, status="proven")
                 for k, a in enumerate(["approve invoice", "cancel vendor"], 1)}, when=T0)
    repo.stage({"docs/lanes/S003.md": small_lane(3, "flag invoice")})
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 1
    assert "    - guardrails unchanged: route/session/tenant unchanged since S001" in r.out


def test_adjacent_and_rename_escalations_follow_their_modes(repo: GitRepo) -> None:
    lanes = {f"docs/lanes/S00{k}.md": small_lane(k, a) for k, a in
             enumerate(["approve invoice", "cancel vendor", "flag invoice", "void invoice"], 1)}
    repo.commit(lanes, when=T0)
    repo.stage({"docs/lanes/S005.md": small_lane(5, "reopen ticket")})
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 1  # nothing proven, but the escalations block on their own
    assert "stop conditions" not in r.out
    assert ("    - adjacent lanes: 4 near-copies of S001 in a row in family S001 with no "
            "consolidation output naming it (S002, S003, S004, S005) > max_adjacent 3\n") in r.out
    assert "    - renamed lane: title = S004's with 'void invoice' → 'reopen ticket'\n" in r.out

    write_config(repo, {"adjacent_mode": "warn", "rename_mode": "warn"})
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 0
    assert "(warning only)" in r.out
    assert "compactor check: 1 added lane passes, with warnings" in r.out


def unnumbered(action: str, **kw: Any) -> str:
    """``small_lane`` without a lane id anywhere: a loop whose docs carry no numbers."""
    text = small_lane(0, action, **kw)
    return text.replace("lane: S000\n", "").replace("# S000 — ", "# ")


def test_docs_without_lane_ids_that_join_a_family_are_judged(repo: GitRepo) -> None:
    docs = {f"docs/handoffs/{a.replace(' ', '-')}.md": unnumbered(a, status="proven")
            for a in ["approve invoice", "cancel vendor", "flag invoice"]}
    repo.commit(docs, when=T0)
    path = "docs/handoffs/reopen-ticket.md"
    repo.stage({path: unnumbered("reopen ticket")})
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 1
    assert r.out.startswith(f"BLOCKED {path} (reopen-ticket)\n  family ")
    assert "    - envelope proven: flag-invoice has status: proven\n" in r.out
    assert re.search(r"    - only the label differs: \d+% the same proof shape as flag-invoice ", r.out)
    # a renamed title proves little without a lane id: it only warns
    assert re.search(r"    - renamed lane: .* \[weak evidence\] \(warning only\)", r.out)

    # a novel doc without a lane id joins no family and is not judged
    novel = NEW_TOPIC.format(n=0).replace("lane: S000\nkind: brief\n", "").replace("S000 — ", "")
    repo.stage({path: novel})
    r = run_compactor("check", "--format", "json", cwd=repo.root)
    assert r.code == 0
    assert json.loads(r.out)["verdicts"] == []


HANDOFFS = ["approve invoice", "cancel vendor", "flag invoice", "void invoice"]


def test_near_copies_without_lane_ids_are_refused_past_max_adjacent(repo: GitRepo) -> None:
    repo.commit({f"docs/handoffs/{a.replace(' ', '-')}.md": unnumbered(a) for a in HANDOFFS},
                when=T0)
    repo.stage({"docs/handoffs/reopen-ticket.md": unnumbered("reopen ticket")})
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 1, r.out
    assert r.out.startswith("BLOCKED docs/handoffs/reopen-ticket.md (reopen-ticket)\n")
    assert "stop conditions" not in r.out  # nothing proven: the run alone refuses it
    assert re.search(r"    - adjacent lanes: 4 near-copies of \S+ in a row in family \S+ .*"
                     r"> max_adjacent 3\n", r.out)

    write_config(repo, {"unnumbered_mode": "warn"})  # the switch for docs without lane ids
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 0
    assert "> max_adjacent 3 (warning only)" in r.out
    write_config(repo, {"unnumbered_mode": "off"})
    r = run_compactor("check", cwd=repo.root)
    assert (r.code, r.out) == (0, "")


def test_counters_spelled_as_words_are_no_new_fact(repo: GitRepo) -> None:
    """A status re-posted every lap with its counters in words ("the fourth hour, eleven
    checks") says nothing new: its run of near-copies is refused as if they were digits."""
    laps = [("fourth", "eleven"), ("fifth", "twelve"), ("sixth", "thirteen"),
            ("seventh", "fourteen"), ("eighth", "fifteen")]
    docs = {f"docs/handoffs/{a.replace(' ', '-')}.md": unnumbered(a).replace(
        "## Next", f"Still waiting: the {o} hour, {n} checks so far.\n\n## Next")
        for a, (o, n) in zip(HANDOFFS, laps, strict=False)}
    repo.commit(docs, when=T0)
    repo.stage({"docs/handoffs/reopen-ticket.md": unnumbered("reopen ticket").replace(
        "## Next", "Still waiting: the ninth hour, sixteen checks so far.\n\n## Next")})
    r = run_compactor("check", "--format", "json", cwd=repo.root)
    [verdict] = json.loads(r.out)["verdicts"]
    assert verdict["link"] == "copy"
    assert r.code == 1 and "adjacent" in {c["name"] for c in verdict["conditions"]}


def test_words_of_earlier_laps_in_another_form_are_no_new_fact(repo: GitRepo) -> None:
    """A lap that re-inflects the words of the laps before it ("clocking" after "clock")
    adds nothing: it is a copy, refused past max_adjacent. The same lap with a line about
    something the laps never named is a templated doc of its own and passes."""
    lap = "Still waiting on the clock; the checker checks; a report is due.\n\n## Next"
    repo.commit({f"docs/handoffs/{a.replace(' ', '-')}.md":
                 unnumbered(a).replace("## Next", lap) for a in HANDOFFS}, when=T0)
    path = "docs/handoffs/reopen-ticket.md"
    repo.stage({path: unnumbered("reopen ticket").replace(
        "## Next", "Clocking, checked, reports reporting.\n\n## Next")})
    r = run_compactor("check", "--format", "json", cwd=repo.root)
    [verdict] = json.loads(r.out)["verdicts"]
    assert verdict["link"] == "copy"
    assert r.code == 1 and "adjacent" in {c["name"] for c in verdict["conditions"]}

    repo.stage({path: unnumbered("reopen ticket").replace(
        "## Next", "Migrated the ledger exporter to parquet partitions.\n\n## Next")})
    r = run_compactor("check", "--format", "json", cwd=repo.root)
    [verdict] = json.loads(r.out)["verdicts"]
    assert verdict["link"] == "distinct"
    assert r.code == 0, r.out


def test_two_members_of_one_lane_id_are_named_by_their_files(repo: GitRepo) -> None:
    """Messages name lanes by lane id; where two members of the family carry the same one
    (a plan and a status of SPRINT1), the file name says which is meant."""
    repo.commit({
        "docs/lanes/S001-approve-invoice.md": small_lane(1, "approve invoice"),
        "docs/lanes/S001-cancel-vendor.md": small_lane(1, "cancel vendor"),
        "docs/lanes/S002-flag-invoice.md": small_lane(2, "flag invoice"),
    }, when=T0)
    repo.stage({"docs/lanes/S003-void-invoice.md": small_lane(3, "void invoice")})
    r = run_compactor("check", "--format", "json", cwd=repo.root)
    [verdict] = json.loads(r.out)["verdicts"]
    names = {n["lane"] for n in verdict["nearest"]}
    assert names == {"S001 (S001-approve-invoice)", "S001 (S001-cancel-vendor)", "S002"}


def test_a_lane_is_judged_against_at_most_lap_pool_members_before_it(
        repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """A change that adds thousands of lanes to one family must stay linear: each lane is
    judged against at most LAP_POOL members before it, the same ones whether the change's
    lanes come last in the family (the fast path) or not."""
    from compactor import check

    monkeypatch.setattr(check, "LAP_POOL", 4)
    actions = ["approve invoice", "cancel vendor", "flag invoice", "void invoice",
               "reopen ticket", "close account", "lock account", "open account"]
    repo.commit({f"docs/lanes/S{k:03d}.md": small_lane(k, a)
                 for k, a in enumerate(actions[:3], 1)}, when=T0)
    added = {f"docs/lanes/S{k:03d}.md": small_lane(k, a) for k, a in enumerate(actions, 1)
             if k > 3}
    repo.stage(added)
    scan = repo.scan()
    ctx = check._Context(Repo(repo.root), scan, list(added))
    fam = scan.family_of(ctx.lanes[0])
    assert fam is not None and set(ctx.lanes) <= set(fam.members)
    for i in ctx.lanes:
        slow = [m for m in fam.members if ctx.earlier(m, i)][-4:]
        assert ctx.prior(i) == slow
    assert [len(ctx.prior(i)) for i in ctx.lanes] == [3, 4, 4, 4, 4]
    result = check.judge(Repo(repo.root), scan, list(added))
    assert result.verdicts[-1].outcome == "block"


def test_a_pause_of_more_than_a_day_ends_a_run(repo: GitRepo) -> None:
    """Near-copies a month apart (release notes of maintenance versions) are laps of
    nothing: the run is the family's latest lap, from its last pause of more than a day.
    The same docs hours apart are the loop that test above refuses."""
    day = 86400
    for k, a in enumerate(HANDOFFS):
        repo.commit({f"docs/handoffs/{a.replace(' ', '-')}.md": unnumbered(a)},
                    when=T0 + k * 30 * day)
    repo.stage({"docs/handoffs/reopen-ticket.md": unnumbered("reopen ticket")})
    r = run_compactor("check", "--format", "json", cwd=repo.root)
    assert r.code == 0, r.out
    [verdict] = json.loads(r.out)["verdicts"]
    assert verdict["link"] == "copy"  # still a copy of the latest one ...
    assert "adjacent" not in {c["name"] for c in verdict["conditions"]}  # ... but no run

    # four laps within hours of each other (the staged one committed with the first): a run
    for k, a in enumerate(["close account", "open account", "lock account"]):
        repo.commit({f"docs/handoffs/{a.replace(' ', '-')}.md": unnumbered(a)},
                    when=T0 + 200 * day + k * 3600)
    repo.stage({"docs/handoffs/reset-account.md": unnumbered("reset account")})
    r = run_compactor("check", "--format", "json", cwd=repo.root)
    assert r.code == 1, r.out
    [verdict] = json.loads(r.out)["verdicts"]
    assert "adjacent" in {c["name"] for c in verdict["conditions"]}


def test_templated_docs_whose_facts_differ_neither_block_nor_warn(repo: GitRepo) -> None:
    """One template, a module and a finding of their own: a work log, not a loop."""
    findings = ["typed the loader and removed the legacy retry shim",
                "split the parser into tokenizer and evaluator stages",
                "replaced mojibake fixtures with valid Cyrillic samples",
                "documented webhook signature rotation for partners",
                "cached currency rates per tenant with hourly expiry",
                "dropped the unused pandas dependency from reports"]
    for k, f in enumerate(findings):
        module = f"module{chr(97 + k)} service"
        text = unnumbered(module) + f"\n## Work log\n\n- Completed cleanup: {f}.\n"
        repo.stage({f"docs/cards/{module.replace(' ', '-')}.md": text})
        result = run_check(Repo(repo.root), Config(), now=T0 + 60 * k)
        assert result.outcome == "pass", (k, result)
        assert [v.link for v in result.verdicts] in ([], ["first"], ["distinct"])
        repo.commit({}, when=T0 + 60 * k)
    assert len(repo.scan().families) == 1  # one family: the template is the same


def test_token_budget_counts_the_trailing_hour(repo: GitRepo) -> None:
    write_config(repo, {"token_budget_per_hour": 50_000_000})
    repo.commit({"docs/old.md": note("old", 900_000_000)}, when=T0 - 7200)  # outside the hour
    for k in range(3):
        repo.commit({f"docs/notes/n{k}.md": note(f"n{k}", 50_000_000)}, when=T0 - 3000 + k * 600)
    repo.stage({"docs/lanes/S201-webhook-retries.md":
                NEW_TOPIC.format(n=201).replace("---\n", "---\ntokens: {codex: 62000000}\n", 1)})
    r = run_compactor("check", "--now", str(T0), cwd=repo.root)
    assert r.code == 1
    assert "    - token budget: 212M tokens in the last hour > budget 50M\n" in r.out
    assert QUESTION not in r.out  # no earlier lanes to compare with

    # the clock is the commit's: two hours later the window holds the new lane alone
    r = run_compactor("check", cwd=repo.root, env={"GIT_COMMITTER_DATE": f"{T0 + 7200} +0000"})
    assert "token budget: 62M tokens in the last hour > budget 50M" in r.out

    write_config(repo, {"token_budget_per_hour": 50_000_000, "budget_mode": "warn"})
    r = run_compactor("check", "--now", str(T0), cwd=repo.root)
    assert r.code == 0
    assert "212M tokens in the last hour > budget 50M (warning only)" in r.out


# -- what is judged, and the CLI around it ----------------------------------------------------


def test_consolidation_outputs_proofs_and_acks_are_never_judged(
    loop: GitRepo, loop_docs: list[ExampleDoc]
) -> None:
    lanes = family_lanes(loop_docs)
    body = lanes[-1].text.split("\n---\n", 1)[1]
    loop.stage({
        "docs/INVENTORY.md": body,
        "docs/closeouts/loop-closeout.md": lanes[-1].text.replace("kind: brief", "kind: closeout"),
        "docs/proofs/another-envelope-proof.md": body,
        "docs/acks/S150-ack.md": "ACK S150 landed. Next bounded slice: S151. Proceed.\n",
    })
    r = run_compactor("check", "--format", "json", cwd=loop.root)
    assert r.code == 0
    data = json.loads(r.out)
    assert data["verdicts"] == [] and data["outcome"] == "pass"
    assert len(data["added"]) == 4


def test_range_judges_the_lanes_a_commit_range_adds(
    loop: GitRepo, loop_docs: list[ExampleDoc]
) -> None:
    path, text = rename(family_lanes(loop_docs)[-1], next_number(loop_docs), "cancel vendor")
    loop.commit({path: text}, message="renamed lane")
    assert run_compactor("check", cwd=loop.root).code == 0  # nothing staged
    r = run_compactor("check", "--range", "HEAD~1..HEAD", cwd=loop.root)
    assert r.code == 1
    assert r.out.startswith(f"BLOCKED {path} ")
    r = run_compactor("check", "--range", "HEAD~2..HEAD~1", cwd=loop.root)
    assert r.code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--range", "HEAD"], "compactor: error: --range 'HEAD': expected A..B, A...B (from "
                              "their merge base), A.. or ..B (e.g. origin/main...HEAD)\n"),
        (["--range", "HEAD....HEAD"], "compactor: error: --range 'HEAD....HEAD': expected A..B"),
        (["--range", ".."], "compactor: error: --range '..': expected A..B"),
        (["--range", "nope..HEAD"], "compactor: error: nope: not a commit in "),
        (["--now", "yesterday"], "compactor: error: --now 'yesterday': not a time; give epoch "
                                 "seconds or ISO 8601 like 2026-05-09T12:00:00Z\n"),
        (["--range", "HEAD..HEAD", "--now", "5"], "compactor: error: --now cannot be combined "
                                                  "with --range"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(repo: GitRepo, args: list[str], message: str) -> None:
    repo.commit({"docs/a.md": "# A\n\ntext\n"})
    r = run_compactor("check", *args, cwd=repo.root)
    assert r.code == 2
    assert r.err.startswith(message)
    assert len(r.err.splitlines()) == 1 and r.out == ""


def test_first_commit_of_a_repo_is_judged_too(repo: GitRepo) -> None:
    repo.stage({f"docs/lanes/S00{k}.md": small_lane(k, a) for k, a in
                enumerate(["approve invoice", "cancel vendor", "flag invoice", "void invoice"], 1)})
    r = run_compactor("check", "--format", "json", cwd=repo.root)
    data = json.loads(r.out)
    assert [v["outcome"] for v in data["verdicts"]] == ["pass", "block", "block", "block"]
    assert r.code == 1


def test_helpers() -> None:
    assert human(212_000_000) == "212M" and human(1500) == "1.5k" and human(12) == "12"
    assert parse_now("2026-05-09T05:32:36Z") == 1778304756 == parse_now("1778304756")
    config = make_config({})
    a = "Bulk cancel of 500 vendors stays in one audit transaction"
    assert claim_similarity(config, a, ("cancel", "vendor"),
                            a.replace("cancel", "approve").replace("vendors", "invoices"),
                            ("approve", "invoice")) == 1.0
    assert claim_similarity(config, a, (), "Webhook retries back off exponentially", ()) < 0.2


# -- material ---------------------------------------------------------------------------------

T0 = 1_778_400_000

NEW_TOPIC = """---
lane: S{n:03d}
kind: brief
action: webhook_retries
route: /internal/webhooks/retry
session: service-token
tenant: all-tenants
---

# S{n:03d} — Webhook delivery retries with exponential back-off

## Goal

Outbound webhooks are dropped after a single 502 from the receiver. Measure how many
deliveries we lose per day, then add a retry schedule with jitter so a flapping receiver
does not turn into a thundering herd against our own relay.

## Findings so far

- 3.1% of deliveries failed once in the last week; 0.4% failed twice.
- Receivers behind Cloudflare return 520 rather than 502, which the relay treats as final.
- The relay keeps no per-endpoint state, so it cannot tell a dead endpoint from a slow one.

## Plan

1. Record each attempt in a `webhook_attempts` table keyed by delivery id.
2. Retry 5xx and timeouts at 30 s, 2 min, 10 min, 1 h and 6 h, with 20% jitter.
3. Park an endpoint after 50 consecutive failures and page the owning team.
4. Backfill the last 24 hours of dropped deliveries from the outbox.
"""

PROOF = """# Proof: the operator action envelope

Applies to the lanes S001 to S003 and every later action of that shape: the route guard,
the operator session and the tenant scope were each exercised with a positive and three
negative calls, and the audit rows were compared against the request log line by line.
"""


def small_lane(k: int, action: str, *, route: str = "/ops/actions/{kebab}",
               status: str | None = None, guard: bool = True) -> str:
    sp = label_spellings(tuple(action.split()))
    fm = [f"lane: S{k:03d}", f"action: {sp['snake']}"]
    if guard:
        fm += [f"route: {route.format(**sp)}", "session: operator-session",
               "tenant: tenant-scoped"]
    if status:
        fm.append(f"status: {status}")
    return "\n".join([
        "---", *fm, "---", "",
        f"# S{k:03d} — {sp['Sentence']} operator action", "",
        "## Goal", "",
        f"Prove that `{sp['snake']}` can only be invoked by an authenticated operator through "
        f"`/ops/actions/{sp['kebab']}`, and that every invocation leaves exactly one audit row "
        "in the ledger.", "",
        "## Evidence", "",
        f"- Positive path: an operator runs {sp['words']}; the ledger row is written; HTTP 200.",
        "- Negative path: the same call from another tenant returns 403 and writes nothing.",
        "- Replay: sending the same Idempotency-Key twice yields one ledger row.",
        f"- Audit log: `ops.{sp['snake']}.completed` carries actor, tenant and request id.", "",
        "## Next", "",
        "Hand back to the supervisor loop; the next bounded slice is queued.", "",
    ])


def note(name: str, tokens: int) -> str:
    return (f"---\ntokens: {tokens}\n---\n\n# Worker log {name}\n\n"
            f"Spent tokens on {name} while the loop ran; nothing else to report here.\n")


def write_config(repo: GitRepo, values: dict[str, object]) -> None:
    repo.write(".compactor.yaml", json.dumps(values) + "\n")


_WORDS = """
alpha ledger invoice vendor cache queue worker shard replica cursor index snapshot budget
refund payout tenant session route policy schema import export parser renderer template
metric alert dashboard incident deploy rollback canary feature flag cohort migration backfill
latency throughput memory disk socket timeout retry backoff jitter lock mutex thread pool
customer partner carrier warehouse shipment order basket coupon discount tax currency rate
audit trail consent privacy retention archive purge compress encrypt decrypt rotate secret
""".split()
_VERBS = """fixed reworked split merged dropped added measured traced renamed moved pinned
bumped tuned cached batched sharded profiled documented retired rebuilt""".split()


def sprint_report(rng: random.Random, n: int) -> tuple[str, str]:
    """A sprint report: one fixed skeleton, sentences drawn fresh every time."""

    def sentence() -> str:
        words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 10))]
        words.insert(rng.randint(1, 3), rng.choice(_VERBS))
        return " ".join(words).capitalize() + "."

    out = [f"# Sprint {n} report", "", "_Assembled by the sprint bot from merged pull "
           "requests. Numbers come from the CI dashboard._", "", "## Summary", "",
           " ".join(sentence() for _ in range(4)), "", "## Changes", ""]
    out += [f"- {sentence()}" for _ in range(6)]
    out += ["", "## Risks", ""] + [f"- {sentence()}" for _ in range(2)]
    out += ["", "## Follow-ups", ""] + [f"- [ ] {sentence()}" for _ in range(3)]
    out += ["", "Reviewed-by: loom supervisor", ""]
    return f"docs/sprints/sprint-{n}-report.md", "\n".join(out)


def test_moving_lanes_is_not_opening_lanes(repo: GitRepo) -> None:
    repo.commit({f"docs/lanes/S00{k}.md": small_lane(k, a) for k, a in
                 enumerate(["approve invoice", "cancel vendor", "flag invoice", "void invoice"],
                           1)}, when=T0)
    repo.git("mv", "docs/lanes", "docs/operator-lanes")
    assert run_compactor("check", cwd=repo.root).code == 0
    repo.commit({}, message="move")
    assert run_compactor("check", "--range", "HEAD~1..HEAD", cwd=repo.root).code == 0
    # moved AND edited: judged as the new lane it is
    repo.git("mv", "docs/operator-lanes/S004.md", "docs/S004.md")
    repo.write("docs/S004.md", small_lane(4, "void invoice") + "One more line.\n")
    repo.git("add", "docs/S004.md")
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 1 and r.out.startswith("BLOCKED docs/S004.md (S004)")


def test_warnings_name_only_the_files_the_change_adds(repo: GitRepo) -> None:
    repo.commit({"docs/old.md": "---\nbroken: [\n---\n\n# Old\n\ntext\n"}, when=T0)
    assert "docs/old.md" in run_compactor("scan", cwd=repo.root).err
    repo.stage({"docs/new.md": "---\nalso: [broken\n---\n\n# New\n\ntext\n"})
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 0
    assert r.err.startswith("compactor: warning: docs/new.md: broken YAML front matter")
    assert "docs/old.md" not in r.err


def test_an_old_file_whose_name_reads_like_a_message_is_not_repeated(repo: GitRepo) -> None:
    # a space or ': ' in a file name once made its warning look like a run-wide one
    repo.commit({"docs/old notes: draft.md": "---\nbroken: [\n---\n\n# Old\n\ntext\n"}, when=T0)
    assert "docs/old notes: draft.md" in run_compactor("scan", cwd=repo.root).err
    repo.stage({"docs/new.md": "# New\n\ntext\n"})
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 0 and "old notes" not in r.err


def test_reworded_restatements_warn_then_are_refused_past_max_restated(repo: GitRepo) -> None:
    """The detection links reworded docs as restatements; the gate warns on them, and
    refuses the run once it holds more than ``max_restated`` of them."""
    import dataclasses

    from compactor.check import judge
    from compactor.families import Family, Link

    rng = random.Random(3)
    docs = {}
    for k in range(1, 13):
        _, text = sprint_report(rng, k)
        docs[f"docs/status/update-{chr(96 + k)}.md"] = text.replace(f"Sprint {k}", "Status")
    repo.stage(docs)
    r = Repo(repo.root)
    scan = repo.scan()
    members = tuple(sorted((scan.index(p) for p in docs), key=lambda i: scan.briefs[i].path))
    assert {scan.decisions[i].family for i in members} == {None}  # apart by shape
    links = (Link("copy"), *(Link("restatement", to=m) for m in members[:-1]))
    fam = Family(scan.briefs[members[0]].path.rsplit("/", 1)[1][:-3], members, links)
    decisions = tuple(d._replace(family=fam.id) if i in members else d
                      for i, d in enumerate(scan.decisions))
    linked = dataclasses.replace(scan, families=(fam,), decisions=decisions)

    result = judge(r, linked, list(docs))
    assert [v.link for v in result.verdicts] == ["first"] + ["restatement"] * 11
    assert [v.outcome for v in result.verdicts] == ["pass"] + ["warn"] * 8 + ["block"] * 3
    assert [(c.name, c.strength) for c in result.verdicts[1].conditions] == [
        ("restated", "medium")]
    assert "1 restatement of update-a in a row" in result.verdicts[1].conditions[0].evidence
    assert result.verdicts[9].conditions[0].evidence.endswith("> max_restated 8")
    assert result.verdicts[9].conditions[0].strength == "strong"
    assert result.verdicts[8].conditions[0].strength == "medium"

    quiet = dataclasses.replace(linked, config=make_config({"unnumbered_mode": "warn"}))
    assert {v.outcome for v in judge(r, quiet, list(docs)).verdicts} == {"pass", "warn"}


def test_a_fact_the_next_copies_repeat_is_template_and_the_run_goes_on(repo: GitRepo) -> None:
    """A lane with a line of its own passes; when the lanes after it repeat that line, it
    was the new template, and the run of near-copies counts through it."""
    stage = "\n## Stage\n\nStage scope: ledger reconciliation across regional payout shards.\n"
    lanes = {f"docs/lanes/S00{k}.md": small_lane(k, a) for k, a in
             enumerate(["approve invoice", "cancel vendor"], 1)}
    lanes |= {f"docs/lanes/S00{k}.md": small_lane(k, a) + stage for k, a in
              enumerate(["flag invoice", "void invoice", "reopen ticket"], 3)}
    write_config(repo, {"rename_mode": "off"})
    repo.stage(lanes)
    data = json.loads(run_compactor("check", "--format", "json", cwd=repo.root).out)
    verdicts = data["verdicts"]
    assert [v["link"] for v in verdicts] == ["first", "copy", "distinct", "copy", "copy"]
    assert [v["outcome"] for v in verdicts] == ["pass", "pass", "pass", "pass", "block"]
    assert ("4 near-copies of S001 in a row in family S001 with no consolidation output naming "
            "it (S002, S003, S004, S005) > max_adjacent 3") == verdicts[4]["conditions"][0][
                "evidence"]


def test_a_run_numbered_in_its_file_names_gets_the_full_gate(repo: GitRepo) -> None:
    """No lane_pattern matches LAUNCH_P07_A3..., but the run's rising packet id is its lane
    id (scan.runs): a renamed copy is refused at once, as a numbered lane would be."""
    prompt = ("# Launch prompt - packet P07-A{n}\n\nRead the resume prompt "
              "`prompts/RESUME_POST_A{m}.md` first, then the boundary file.\n\n"
              "Execute only packet `P07-A{n}` per those instructions; report to "
              "`artifacts/P07/A{n}_REPORT.md` and ask for further direction.\n")
    for n in range(1, 4):
        repo.commit({f"docs/prompts/LAUNCH_P07_A{n}.md": prompt.format(n=n, m=n - 1)},
                    when=T0 + 60 * n)
    repo.stage({"docs/prompts/LAUNCH_P07_A4.md": prompt.format(n=4, m=3)})
    result = run_check(Repo(repo.root), Config(), now=T0 + 300)
    [v] = result.verdicts
    assert (v.outcome, v.link) == ("block", "copy")
    assert [(c.name, c.action, c.strength) for c in v.conditions] == [
        ("rename", "block", "strong")]

    write_config(repo, {"rename_mode": "warn"})  # the modes of numbered lanes apply to it
    result = run_check(Repo(repo.root), load_config(repo.root)[0], now=T0 + 300)
    assert result.outcome == "warn"


def test_family_names_are_found_in_text_as_the_plain_whole_word_search_finds_them() -> None:
    # the gate looks for a family's lane names in outputs with a prefix-tree search;
    # it finds what the plain alternation (longest name first, whole words) finds
    from compactor.check import _Names, names_pattern

    rng = random.Random(7)
    alphabet = "aB-1_.é"
    for _ in range(800):
        words = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))).lower()
                 for _ in range(rng.randint(1, 8))}
        plain = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        reference = re.compile(rf"(?<![\w-])(?:{plain})(?![\w])", re.IGNORECASE)
        names = _Names.__new__(_Names)
        names.shown = {w: w.upper() for w in words}
        names._scan, names._fid = None, None  # no family: no short id to add
        names.pattern = names_pattern(words)
        for _ in range(10):
            text = "".join(rng.choice(alphabet + " Ab\n") for _ in range(rng.randint(0, 40)))
            m = reference.search(text)
            assert names.in_text(text) == (names.shown[m.group(0).lower()] if m else None)


# -- docs about docs: a merge log whose subject is the previous merge log ------------------------

_TOPICS = [
    ("Add the invoice export endpoint with CSV streaming", "src/billing/export.py"),
    ("Retry webhook deliveries with exponential back-off", "src/hooks/retry.py"),
    ("Move the session cache from memcached to Redis", "src/cache/sessions.py"),
    ("Drop the legacy vendor importer and its fixtures", "src/vendors/legacy.py"),
    ("Add tenant-scoped rate limits to the public API", "src/api/limits.py"),
    ("Fix the timezone bug in the monthly payout report", "src/payouts/report.py"),
    ("Index refunds by merchant for the dashboard query", "src/refunds/index.py"),
    ("Replace the hand-written YAML loader with ruamel", "src/config/load.py"),
]


def merge_log(n: int, why: str, change: str, summary: str | None = None) -> str:
    """One per-PR merge log of a team's template: every log has these headings."""
    return "\n".join([
        f"# PR {n} — Merge Log", "",
        "## Summary", summary or f"PR #{n} was merged (squash) and its branch deleted.", "",
        "## Why", why, "",
        "## Changes", f"- {change}", "",
        "## Verification", "- Required checks: all passed", f"- Merge commit recorded for PR #{n}", "",
        "## Risk", "Low.", "",
    ])


def ordinary_log(n: int, k: int) -> str:
    why, path = _TOPICS[k % len(_TOPICS)]
    # an ordinary log may cite the previous PR: a step alone names the work, not its log
    return merge_log(n, f"{why}. Follows PR #{n - 1}.", f"Changed `{path}` and its tests.")


# Logs about logs: each reworded, the subject the merge log of the PR before.
_ABOUT = [
    ("Bring the merge log of PR #{m} into the repo so the audit trail stays complete.",
     "Added `docs/merge_logs/PR_{m}_MERGE_LOG.md`."),
    ("Add the merge log for PR #{m} and link it from the index.",
     "New file PR_{m}_MERGE_LOG.md; index updated."),
    ("Record the PR #{m} merge log, keeping the chain of logs unbroken.",
     "Added docs/merge_logs/PR_{m}_MERGE_LOG.md."),
    ("Document PR #{m}: its merge log, checked by the hygiene script.",
     "Added the PR {m} merge log."),
]


def about_log(n: int, m: int, k: int) -> str:
    why, change = _ABOUT[k % len(_ABOUT)]
    return merge_log(n, why.format(m=m), change.format(m=m))


def log_path(n: int) -> str:
    return f"docs/merge_logs/PR_{n}_MERGE_LOG.md"


def commit_each(repo: GitRepo, docs: list[tuple[int, str]], start: int) -> list[str]:
    """Stage each doc, ask the gate, commit anyway; the outcome of each, in order."""
    outcomes = []
    for k, (n, text) in enumerate(docs):
        repo.stage({log_path(n): text})
        result = run_check(Repo(repo.root), load_config(repo.root)[0], now=start + 600 * k)
        outcomes.append(result.outcome)
        repo.commit({log_path(n): text}, when=start + 600 * k)
    return outcomes


def test_a_chain_of_logs_about_logs_is_refused_at_its_second_doc(repo: GitRepo) -> None:
    repo.commit({log_path(100 + k): ordinary_log(100 + k, k) for k in range(6)}, when=T0)
    # a lone log about the last log is an ordinary log of a docs-only PR: quiet
    repo.stage({log_path(106): about_log(106, 105, 0)})
    r = run_compactor("check", cwd=repo.root)
    assert (r.code, r.out) == (0, "")
    repo.commit({log_path(106): about_log(106, 105, 0)}, when=T0 + 600)

    # the log about that log is a doc about a doc about a doc
    repo.stage({log_path(107): about_log(107, 106, 1)})
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 1
    assert r.out.startswith(f"BLOCKED {log_path(107)} (PR_107_MERGE_LOG)\n")
    assert ("    - docs about docs: PR_107_MERGE_LOG is about PR_106_MERGE_LOG (itself a doc "
            'about a doc): "Add the merge log for PR #106 and link it from the index."; 2 docs of '
            "series PR_#_MERGE_LOG in a row are about other docs of it (PR_106_MERGE_LOG, "
            "PR_107_MERGE_LOG) > max_bookkeeping 1\n") in r.out
    assert ("  What new truth does this lane buy that the last two did not "
            "(PR_105_MERGE_LOG, PR_106_MERGE_LOG)?\n") in r.out
    data = json.loads(run_compactor("check", "--format", "json", cwd=repo.root).out)
    [v] = data["verdicts"]
    assert (v["outcome"], v["link"], v["family"]) == ("block", "none", None)
    assert [(c["name"], c["action"], c["strength"]) for c in v["conditions"]] == [
        ("bookkeeping", "block", "strong")]

    # the threshold and the mode are the user's
    write_config(repo, {"max_bookkeeping": 2})
    assert run_compactor("check", cwd=repo.root).code == 0
    repo.commit({log_path(107): about_log(107, 106, 1)}, when=T0 + 1200)
    repo.stage({log_path(108): about_log(108, 107, 2)})
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 1 and "3 docs of series PR_#_MERGE_LOG in a row" in r.out
    write_config(repo, {"bookkeeping_mode": "warn"})
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 0 and "> max_bookkeeping 1 (warning only)" in r.out
    write_config(repo, {"bookkeeping_mode": "off"})
    assert (run_compactor("check", cwd=repo.root).out) == ""


def test_logs_about_ordinary_logs_in_a_row_are_refused_with_medium_evidence(repo: GitRepo) -> None:
    """911, 912 about 911, 891 (added late), 914 about 891: each about an ordinary log."""
    repo.commit({log_path(200 + k): ordinary_log(200 + k, k) for k in range(4)}, when=T0)
    outcomes = commit_each(repo, [(211, ordinary_log(211, 4)), (212, about_log(212, 211, 0)),
                                  (190, ordinary_log(190, 5))], T0 + 600)
    assert outcomes == ["pass", "pass", "pass"]
    repo.stage({log_path(214): about_log(214, 190, 1)})
    result = run_check(Repo(repo.root), Config(), now=T0 + 3000)
    [v] = result.verdicts
    assert v.outcome == "block"
    [c] = v.conditions
    assert (c.name, c.strength) == ("bookkeeping", "medium")
    assert c.evidence.startswith("PR_214_MERGE_LOG is about PR_190_MERGE_LOG: ")
    assert "(PR_212_MERGE_LOG, PR_214_MERGE_LOG) > max_bookkeeping 1" in c.evidence
    r = run_compactor("check", cwd=repo.root)
    assert "[medium evidence]" in r.out


def test_ordinary_per_pr_logs_of_one_template_are_never_refused_nor_warned(
        repo: GitRepo) -> None:
    repo.commit({log_path(300): ordinary_log(300, 0)}, when=T0)
    docs = [(n, about_log(n, n - 1, 0) if n == 304 else ordinary_log(n, n))  # 304: a lone log about a log
            for n in range(301, 308)]
    # a log that fixes an old log's link is maintenance, not a loop
    docs.append((320, merge_log(320, "Fix the evidence link in the PR_42_MERGE_LOG.md file.",
                                "Fixed one link.")))
    assert commit_each(repo, docs, T0 + 600) == ["pass"] * len(docs)


def test_a_claim_must_be_earned_on_a_log_about_a_log(repo: GitRepo) -> None:
    repo.commit({log_path(400 + k): ordinary_log(400 + k, k) for k in range(3)}, when=T0)
    repo.commit({log_path(403): about_log(403, 402, 0)}, when=T0 + 600)
    invented = with_front(about_log(404, 403, 1).replace("# PR", "---\n---\n\n# PR", 1),
                          new_truth='"the chain is now complete"')
    repo.stage({log_path(404): invented})
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 1
    assert "this lane adds no line the last three did not" in r.out


def test_docs_without_lane_ids_are_named_by_their_run_id_and_lines_stay_short(
        repo: GitRepo) -> None:
    """Long dated file names numbered outside lane_pattern: the gate names each doc by the
    run id the scan infers (cycle-5), the family by its first member's, and that short id
    works wherever the family id does."""
    def name(n: int, action: str) -> str:
        return (f"docs/2025-09-05_autonomous-cycle-{n}_{action.replace(' ', '-')}-success-"
                "report-for-the-overnight-shift.md")
    for n, a in enumerate(HANDOFFS, 1):
        repo.commit({name(n, a): unnumbered(a)}, when=T0 + 600 * n)
    fid = name(1, HANDOFFS[0]).removeprefix("docs/").removesuffix(".md")
    scan = repo.scan()
    assert scan.short_ids == {fid: "cycle-1"} and scan.find_family("CYCLE-1") == fid
    text = run_compactor("scan", cwd=repo.root).out
    assert f"family cycle-1 (id {fid}): 4 lanes (cycle-1 .. cycle-4)\n" in text
    assert "\n  cycle-2    churn " in text  # the lane column: the run id, not '-'
    assert json.loads(run_compactor("scan", "--format", "json", cwd=repo.root).out)[
        "families"][0]["short_id"] == "cycle-1"

    added = name(5, "reopen ticket")
    repo.stage({added: unnumbered("reopen ticket")})
    r = run_compactor("check", cwd=repo.root, env={"GIT_COMMITTER_DATE": f"{T0 + 3600} +0000"})
    assert r.code == 1
    assert r.out.startswith(f"BLOCKED {added} (cycle-5)\n"
                            "  family cycle-1; nearest earlier lanes: cycle-4 ")
    assert re.search(r"    - adjacent lanes: 4 near-copies of cycle-1 in a row in family cycle-1 "
                     r".*\(cycle-2, cycle-3, cycle-4, cycle-5\) > max_adjacent 3\n", r.out)
    assert "    - closeout of family cycle-1 (its coverage matrix, missing-gap list and a " \
           "redirect to fill in): compactor closeout cycle-1\n" in r.out
    assert max(len(line) for line in r.out.splitlines()) < 170
    verdict = json.loads(run_compactor("check", "--format", "json", cwd=repo.root,
                                       env={"GIT_COMMITTER_DATE": f"{T0 + 3600} +0000"}).out)[
        "verdicts"][0]
    assert (verdict["lane"], verdict["family"], verdict["family_short_id"]) == (
        "cycle-5", fid, "cycle-1")
    # the advice works as written, and the close-out it writes is the family's
    assert run_compactor("closeout", "cycle-1", cwd=repo.root).code == 0
    closeout = f"docs/closeouts/{fid}-closeout.md"
    assert f'family: "{fid}"' in (repo.root / closeout).read_text()
    unknown = run_compactor("closeout", "cycle-9", cwd=repo.root)  # the short ids listed
    assert (unknown.code, unknown.err) == (
        2, "compactor: error: cycle-9: no such family; known families: cycle-1\n")
    report = run_compactor("report", "--family", "cycle-1", cwd=repo.root)
    assert report.code == 0 and "episode" in report.out.lower(), report


def test_a_close_out_written_by_hand_may_name_the_family_by_its_short_id(
        repo: GitRepo) -> None:
    """The gate calls the family cycle-1; a close-out that names it so counts as the one
    that names its id does: the run of near-copies starts again after it."""
    def name(n: int, action: str) -> str:
        return (f"docs/2025-09-05_autonomous-cycle-{n}_{action.replace(' ', '-')}-success-"
                "report-for-the-overnight-shift.md")
    for n, a in enumerate(HANDOFFS, 1):
        repo.commit({name(n, a): unnumbered(a)}, when=T0 + 600 * n)
    repo.commit({"docs/closeouts/overnight-closeout.md":
                 "---\nkind: closeout\nfamily: cycle-1\n---\n\n# Overnight cycles closed\n\n"
                 "- Next frontier: the billing export\n- Owner: ops\n"}, when=T0 + 3000)
    assert "names no family" not in run_compactor("scan", cwd=repo.root).err
    repo.stage({name(5, "reopen ticket"): unnumbered("reopen ticket")})
    r = run_compactor("check", cwd=repo.root, env={"GIT_COMMITTER_DATE": f"{T0 + 3600} +0000"})
    assert "adjacent lanes" not in r.out, r.out  # the run of near-copies starts again
    assert "overnight-closeout.md already consolidates family cycle-1" in r.out


def test_a_long_file_name_without_a_run_id_is_cut_where_the_gate_names_it(
        repo: GitRepo) -> None:
    def name(a: str) -> str:
        return f"docs/handoffs/{a.replace(' ', '-')}-operator-action-handoff-note-for-the-ops-team.md"
    repo.commit({name(a): unnumbered(a) for a in HANDOFFS}, when=T0)
    repo.stage({name("reopen ticket"): unnumbered("reopen ticket")})
    r = run_compactor("check", cwd=repo.root)
    assert r.code == 1
    assert r.out.startswith(f"BLOCKED {name('reopen ticket')} (reopen-ticket-operator-act…-the-ops-team)\n")
    # prose lines are folded; the close-out advice names the family whole (pasted, it works)
    fid = name(HANDOFFS[0]).removeprefix("docs/handoffs/").removesuffix(".md")
    assert f"compactor closeout {fid}\n" in r.out
    assert max(len(line) for line in r.out.splitlines()) <= 280
    assert re.search(r"^ {8}void-invoice-operator-acti…-the-ops-team, ", r.out, re.M)  # folded
    # scan's family line names its first and last doc by their file names, cut like the gate's
    text = run_compactor("scan", cwd=repo.root).out
    assert (f"family {fid}: 5 docs, no lane id (approve-invoice-operator-a…-the-ops-team .. "
            "reopen-ticket-operator-act…-the-ops-team)\n") in text


def test_a_close_out_left_behind_by_a_lane_pattern_change_is_named_once(repo: GitRepo) -> None:
    def name(n: int, action: str) -> str:
        return f"docs/2025-09-05_autonomous-cycle-{n}_{action.replace(' ', '-')}-report.md"
    for n, a in enumerate(HANDOFFS, 1):
        repo.commit({name(n, a): unnumbered(a)}, when=T0 + 600 * n)
    fid = name(1, HANDOFFS[0]).removeprefix("docs/").removesuffix(".md")
    assert run_compactor("closeout", "cycle-1", cwd=repo.root).code == 0
    closeout = f"docs/closeouts/{fid}-closeout.md"
    text = (repo.root / closeout).read_text()
    text = text.replace("- Next frontier:", "- Next frontier: the payout retry path") \
        .replace("- Owner:", "- Owner: ops")
    repo.commit({closeout: text}, when=T0 + 4000)
    assert "names no family" not in run_compactor("scan", cwd=repo.root).err

    # the lane_pattern the gate itself advises for such names renames the family
    repo.commit({".compactor.yaml": "lane_pattern: '(?i)cycle[-_ ](\\d+)'\n"}, when=T0 + 4100)
    scan = run_compactor("scan", cwd=repo.root)
    assert "\nfamily cycle-1: 4 lanes (cycle-1 .. cycle-4)\n" in scan.out
    warning = (f"compactor: warning: {closeout}: its family: {fid} names no family of this scan "
               "(family ids follow lane_pattern and include), so the gate does not count it for "
               "any; the docs it names are now in family cycle-1: set family: cycle-1")
    assert scan.err.splitlines() == [warning]
    repo.stage({name(5, "reopen ticket"): unnumbered("reopen ticket")})
    check = run_compactor("check", cwd=repo.root, env={"GIT_COMMITTER_DATE": f"{T0 + 4200} +0000"})
    assert check.code == 1 and "compactor closeout cycle-1" in check.out
    assert check.err.splitlines() == [warning]  # once, though the gate asks for a close-out
    # done as it says: the close-out counts again, and nothing is said
    repo.commit({closeout: text.replace(f'family: "{fid}"', "family: cycle-1")}, when=T0 + 4300)
    check = run_compactor("check", cwd=repo.root, env={"GIT_COMMITTER_DATE": f"{T0 + 4400} +0000"})
    assert (check.code, check.out, check.err) == (0, "", "")  # its run starts at the close-out
    assert run_compactor("scan", cwd=repo.root).err == ""
    # a close-out naming docs in no family now: said, without a guess
    repo.commit({"docs/closeouts/old-closeout.md": "---\nkind: closeout\nfamily: S900\n"
                 "lanes: S900–S905\n---\n\n# Close-out\n\nThe S900 loop is closed.\n"})
    assert run_compactor("scan", cwd=repo.root).err == (
        "compactor: warning: docs/closeouts/old-closeout.md: its family: S900 names no family "
        "of this scan (family ids follow lane_pattern and include), so the gate does not count "
        "it for any; set family: to a family id of `compactor scan`, or delete it\n")


def test_docs_sharing_one_file_name_are_named_by_the_folders_that_tell_them_apart(
        repo: GitRepo) -> None:
    """Every run writes its own escalation_note.md: the gate, scan and the close-out advice
    name each doc (and the family) by the folders that differ, not 'escalation_note'; the
    family's id stays what close-outs and --family knew."""
    def name(n: int) -> str:
        return f"reports/2026-01-2{n}T023500Z/inbox_status/escalation_note.md"
    for n, a in enumerate(HANDOFFS, 1):
        repo.commit({name(n): unnumbered(a)}, when=T0 + 600 * n)
    scan = repo.scan()
    assert [f.id for f in scan.families] == ["escalation_note"]
    assert scan.short_ids == {"escalation_note": "2026-01-21T023500Z/escalation_note"}
    assert scan.find_family("2026-01-21t023500z/ESCALATION_NOTE") == "escalation_note"
    text = run_compactor("scan", cwd=repo.root).out
    assert ("family 2026-01-21T023500Z/escalation_note (id escalation_note): 4 docs, no lane "
            "id (2026-01-21T023500Z/escalation_note .. 2026-01-24T023500Z/escalation_note)\n"
            ) in text
    explain = run_compactor("scan", "--explain", name(2), cwd=repo.root).out
    assert "\n  named 2026-01-22T023500Z/escalation_note: other docs without a lane id share " \
           "its file name" in explain
    assert "\n  family 2026-01-21T023500Z/escalation_note (id escalation_note): linked as a " \
           in explain
    assert json.loads(run_compactor("scan", "--explain", name(2), "--format", "json",
                                    cwd=repo.root).out)["family_short_id"] == \
        "2026-01-21T023500Z/escalation_note"

    repo.stage({name(5): unnumbered("reopen ticket")})
    env = {"GIT_COMMITTER_DATE": f"{T0 + 3600} +0000"}
    r = run_compactor("check", cwd=repo.root, env=env)
    assert r.code == 1
    assert r.out.startswith(f"BLOCKED {name(5)} (2026-01-25T023500Z/escalation_note)\n"
                            "  family 2026-01-21T023500Z/escalation_note; nearest earlier "
                            "lanes: 2026-01-24T023500Z/escalation_note "), r.out
    assert "escalation_note, escalation_note" not in r.out
    assert ("compactor closeout 2026-01-21T023500Z/escalation_note\n") in r.out
    verdict = json.loads(run_compactor("check", "--format", "json", cwd=repo.root,
                                       env=env).out)["verdicts"][0]
    assert (verdict["lane"], verdict["family"], verdict["family_short_id"]) == (
        "2026-01-25T023500Z/escalation_note", "escalation_note",
        "2026-01-21T023500Z/escalation_note")
    # the advice works as written; the close-out names the family by its id, so the old id
    # (in close-outs committed before) still finds it
    assert run_compactor("closeout", "2026-01-21T023500Z/escalation_note", cwd=repo.root).code == 0
    assert 'family: "escalation_note"' in (
        repo.root / "docs/closeouts/escalation_note-closeout.md").read_text()
    assert run_compactor("report", "--family", "escalation_note", cwd=repo.root).code == 0
