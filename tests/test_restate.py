"""The restatement leg (issue 13): one state announced again in other words joins a
family; templates of distinct deliverables, plans against their completion and the
numbered steps of a series do not."""

from __future__ import annotations

import json

import pytest
from conftest import GitRepo, run_compactor

from compactor.config import Config
from compactor.families import RESTATEMENT
from compactor.files import stem_of
from compactor.restate import gist, name_words, read_gist, steps

T0 = 1_700_000_000

# One websocket fix told four times, each in another form (headings, wording), stating
# the same facts: the commit, the test file, the timeout and the test counts.
BURST = {
    "docs/WEBSOCKET_TIMEOUT_FIX_COMPLETE.md": """# WebSocket timeout fix complete

The flaky websocket reconnect test no longer hangs the pipeline. Commit `a1b2c3d`
sets `timeout=5` on the client handshake in `tests/test_ws_reconnect.py`, so a dropped
handshake fails fast instead of blocking the worker until the job is killed.

## What changed
- The reconnect handshake waits at most 5 s.
- The websocket client fixture closes its socket after each test.

## Result
6,424 tests collected, 6,390 passed, 34 failures left, all of them database setup.
The websocket reconnect hang is gone from every run since; the worker is free again.
Root cause: the websocket client handshake had no timeout, so a dropped reconnect
blocked the pytest worker.
""",
    "docs/WEBSOCKET_FIX_SUMMARY.md": """# Websocket fix summary

**Problem:** the websocket reconnect test blocked a worker until the job timed out.
**Cause:** the client handshake in `tests/test_ws_reconnect.py` had no timeout.
**Fix:** commit `a1b2c3d` adds `timeout=5`; the fixture closes its socket after each test.

### Numbers
| collected | passed | failing |
|---|---|---|
| 6,424 tests | 6,390 | 34 failures (database setup) |

The reconnect hang has not come back; the websocket suite finishes in seconds and the
worker is free again. Root cause: no timeout on the websocket client handshake, so a
dropped reconnect blocked the pytest worker.
""",
    "docs/WEBSOCKET_FIX_READY.md": """# Websocket fix ready

Pushed `a1b2c3d`: the websocket reconnect handshake in `tests/test_ws_reconnect.py`
now uses `timeout=5`, and the websocket fixture closes its socket after every test.

Steps taken:
1. reproduced the reconnect hang locally;
2. added the handshake timeout;
3. confirmed the run collects 6,424 tests with 34 failures, each a database setup error.

Next: the full pipeline; the websocket reconnect hang should not block a worker again.
Root cause was the websocket client handshake without a timeout: a dropped reconnect
blocked the pytest worker.
""",
    "docs/WS_FIX_QUICK_REFERENCE.md": """# Quick reference: websocket reconnect

- Symptom: a worker hangs in the websocket reconnect test.
- File: `tests/test_ws_reconnect.py`
- Fix: `timeout=5` on the handshake (commit `a1b2c3d`), socket closed by the fixture.
- After the fix: 6,424 tests, 34 failures (database setup only).
- If a websocket reconnect hangs a worker again, check the handshake timeout first.
- Root cause: websocket client handshake without timeout; a dropped reconnect blocked
  the pytest worker.
""",
}

# The same agent's other reports, each on its own subject with its own facts.
OTHERS = {
    "docs/ALEMBIC_MIGRATION_REPAIR.md": """# Alembic migration chain repair

Two heads appeared after merging the billing branch: `4f1e` and `9c2a`. The merge
revision `b7d0` joins them; `alembic upgrade head` now runs clean on an empty database.
The billing tables keep their foreign keys; 12 migrations were replayed in 41 s.
""",
    "docs/PAYMENT_WEBHOOK_DESIGN.md": """# Payment webhook design

Stripe sends `invoice.paid` and `charge.refunded`. The handler verifies the signature
with the signing secret, stores the raw event, and enqueues one job per event id so a
retried delivery is processed once. Budget: 200 ms per delivery, 3 retries.
""",
    "docs/TELEGRAM_BOT_COMMANDS.md": """# Telegram bot commands

`/start` registers the chat, `/status` shows open positions, `/stop` pauses alerts.
Commands are rate limited to 20 per minute per chat; an unknown command answers with
the help text. Admin commands need the `ADMIN_CHAT_ID` allow list.
""",
    "docs/REDIS_CACHE_LAYOUT.md": """# Redis cache layout

Quotes live under `quote:{symbol}` for 30 s, sessions under `sess:{id}` for 24 h.
Eviction is allkeys-lru with a 512 MB cap; the hit rate over a week was 93.4%.
A cache miss falls back to the broker API and fills the key.
""",
    "docs/LOGGING_GUIDELINES.md": """# Logging guidelines

Log JSON lines with `level`, `event` and `request_id`. No secrets, no card numbers,
no full tokens. Errors carry the exception type and a short message; debug logs are
off in production. Retention is 14 days in the log store.
""",
}


def _family_of(scan: object, path: str) -> str | None:
    s = scan  # a Scan
    return s.decisions[s.index(path)].family  # type: ignore[attr-defined]


def test_one_state_restated_in_other_words_is_one_family(repo: GitRepo) -> None:
    repo.commit({**OTHERS, **BURST}, when=T0)
    scan = repo.scan()
    fams = {_family_of(scan, p) for p in BURST}
    assert len(fams) == 1 and None not in fams
    fam = scan.family(fams.pop())
    assert fam is not None and set(scan.briefs[i].path for i in fam.members) == set(BURST)
    legs = [link.leg for _, link in fam.member_links()]
    assert legs == [RESTATEMENT] * 4  # reworded: no shape-leg pair among them
    link = fam.link(fam.members[1])
    assert "a1b2c3d" in link.facts or "tests/test_ws_reconnect.py" in link.facts
    assert link.score is not None and link.score >= 0.4
    for p in OTHERS:
        assert _family_of(scan, p) is None, p
    # the first announcement is kept, the ones after it say the same state again
    kept = [(scan.decisions[i].phase, scan.decisions[i].retention) for i in fam.members]
    assert kept[0] == ("establishing", "mostly-keep")
    # folded only on a strong link (cosine >= fold_restated, 0.6): these rewordings link
    # at ~0.51, so they stay in place unless the setting is lowered below their links
    scores = [fam.link(i).score or 0.0 for i in fam.members[1:]]
    assert all(0.5 <= s < 0.6 for s in scores), scores
    assert kept[1:] == [("repetition", "mostly-keep")] * 3
    folded = repo.scan(Config(fold_restated=0.5))
    assert [folded.decisions[i].retention for i in fam.members[1:]] == ["compress"] * 3

    # scan shows which leg linked each member and the evidence
    data = json.loads(run_compactor("scan", "--format", "json", cwd=repo.root).out)
    [shown] = [f for f in data["families"] if f["id"] == fam.id]
    assert {link["leg"] for link in shown["links"]} == {RESTATEMENT}
    assert any(link.get("facts") for link in shown["links"])


RUNBOOK = """# {alert}

## Meaning
The alert fires when {what} for more than 15 minutes on `{metric}`.

## Impact
{impact}

## Diagnosis
Check the `{metric}` panel and the events of the affected {thing}.

## Mitigation
{fix}
"""

ALERTS = [
    ("KubeCPUOvercommit", "the cluster has overcommitted CPU resource requests",
     "kube_resourcequota_cpu", "Pods may not be scheduled when a node fails.", "node pool",
     "Add nodes or lower the CPU requests of the largest workloads."),
    ("KubeMemoryOvercommit", "the cluster has overcommitted memory resource requests",
     "kube_resourcequota_memory", "Pods may be evicted when a node fails.", "node pool",
     "Add nodes or lower the memory requests of the largest workloads."),
    ("NodeNetworkReceiveErrs", "a network interface reports receive errors",
     "node_network_receive_errs_total", "Packets are dropped on the receiving side.",
     "network interface", "Check the cabling, the driver and the interface counters."),
    ("NodeNetworkTransmitErrs", "a network interface reports transmit errors",
     "node_network_transmit_errs_total", "Packets are dropped on the sending side.",
     "network interface", "Check the driver, the queue length and the interface counters."),
]


def test_templated_runbooks_of_distinct_alerts_are_not_restatements(repo: GitRepo) -> None:
    files = {f"docs/runbooks/{a}.md": RUNBOOK.format(alert=a, what=w, metric=m, impact=i,
                                                     thing=t, fix=f)
             for a, w, m, i, t, f in ALERTS}
    repo.commit({**OTHERS, **files}, when=T0)
    scan = repo.scan()
    assert [_family_of(scan, p) for p in files] == [None] * len(files)


@pytest.mark.parametrize("before", ["plan", "draft", "progress"])
def test_a_plan_and_its_completion_are_two_states(repo: GitRepo, before: str) -> None:
    """A plan (or a draft) and the report that it is done say two states of one piece of
    work, in the same words: not a restatement."""
    plan = BURST["docs/WEBSOCKET_TIMEOUT_FIX_COMPLETE.md"].replace(
        "# WebSocket timeout fix complete", f"# WebSocket timeout fix {before}").replace(
        "## Result", "## Expected result")
    files = {f"docs/WEBSOCKET_TIMEOUT_FIX_{before.upper()}.md": plan,
             "docs/WEBSOCKET_TIMEOUT_FIX_DONE.md": BURST["docs/WEBSOCKET_FIX_SUMMARY.md"].replace(
                 "# Websocket fix summary", "# WebSocket timeout fix done")}
    repo.commit({**OTHERS, **files}, when=T0)
    scan = repo.scan()
    assert [_family_of(scan, p) for p in files] == [None, None]


@pytest.mark.parametrize("together", [True, False])
@pytest.mark.parametrize(("first", "second"), [
    ("WebSocket timeout fix complete", "Websocket fix guide"),  # the outcome and a guide
    ("WebSocket timeout fix complete", "Websocket fix status"),  # ... and a state on the way
    ("Websocket fix checklist", "Websocket fix guide"),  # two other facets
])
def test_one_commit_holds_facets_of_one_work_not_restatements(
        repo: GitRepo, first: str, second: str, together: bool) -> None:
    """Docs added in one commit are one author's batch: its guide, its status and its
    completion report are facets of one piece of work, not one state said again. The same
    two texts written an hour apart do restate each other."""
    texts = [BURST["docs/WEBSOCKET_TIMEOUT_FIX_COMPLETE.md"].replace(
                 "# WebSocket timeout fix complete", f"# {first}"),
             BURST["docs/WEBSOCKET_FIX_SUMMARY.md"].replace(
                 "# Websocket fix summary", f"# {second}")]
    paths = [f"docs/{t.upper().replace(' ', '_')}.md" for t in (first, second)]
    if together:
        repo.commit({**OTHERS, **dict(zip(paths, texts, strict=True))}, when=T0)
    else:
        repo.commit({**OTHERS, paths[0]: texts[0]}, when=T0)
        repo.commit({paths[1]: texts[1]}, when=T0 + 3600)
    scan = repo.scan()
    fams = [_family_of(scan, p) for p in paths]
    if together:
        assert fams == [None, None]
    else:
        assert fams[0] == fams[1] is not None


def test_two_outcomes_in_one_commit_still_restate(repo: GitRepo) -> None:
    """Within one commit, a completion report and a summary of the same fix both announce
    its outcome: one state said twice."""
    files = {p: BURST[p] for p in ("docs/WEBSOCKET_TIMEOUT_FIX_COMPLETE.md",
                                   "docs/WEBSOCKET_FIX_SUMMARY.md")}
    repo.commit({**OTHERS, **files}, when=T0)
    scan = repo.scan()
    fams = [_family_of(scan, p) for p in files]
    assert fams[0] == fams[1] is not None


@pytest.mark.parametrize("name", ["README.md", "index.md", "WEBSOCKET_FIX_OVERVIEW.md"])
def test_a_folders_entry_page_is_no_restatement(repo: GitRepo, name: str) -> None:
    """A folder's README.md or index.md is its standing entry page, which later reports
    in that folder are written against: a report that says what it says is no
    restatement of it. The same text under another name is."""
    entry = f"docs/ws/{name}"
    summary = "docs/ws/WEBSOCKET_FIX_SUMMARY.md"
    repo.commit({**OTHERS, entry: BURST["docs/WEBSOCKET_TIMEOUT_FIX_COMPLETE.md"]}, when=T0)
    repo.commit({summary: BURST["docs/WEBSOCKET_FIX_SUMMARY.md"]}, when=T0 + 3600)
    scan = repo.scan()
    fams = [_family_of(scan, p) for p in (entry, summary)]
    if name.startswith("WEBSOCKET"):
        assert fams[0] == fams[1] is not None
    else:
        assert fams == [None, None]


@pytest.mark.parametrize("beside", [None, "docs/ws-lap-2/notes.md"])
def test_a_readme_alone_in_its_folder_is_judged_like_any_doc(
        repo: GitRepo, beside: str | None) -> None:
    """A README.md that is the only doc of its folder is the entry to nothing: a loop that
    writes every other lap as a new folder's README.md (the rest under names of their own)
    keeps one run of restatements, not two half runs. With a one-line note beside it, it
    is that folder's entry page, but still none of a doc outside the folder."""
    alone = "docs/ws-lap-2/README.md"
    more = {beside: "# notes\n\nnothing yet\n"} if beside else {}
    repo.commit({**OTHERS, **more, alone: BURST["docs/WEBSOCKET_TIMEOUT_FIX_COMPLETE.md"]},
                when=T0)
    repo.commit({"docs/WEBSOCKET_FIX_SUMMARY.md": BURST["docs/WEBSOCKET_FIX_SUMMARY.md"]},
                when=T0 + 3600)
    scan = repo.scan()
    assert _family_of(scan, alone) == _family_of(scan, "docs/WEBSOCKET_FIX_SUMMARY.md") \
        is not None


def test_numbered_steps_that_reword_are_left_to_the_shape_leg(repo: GitRepo) -> None:
    """``Cycle 2`` and ``Cycle 3`` each name their own step: a reworded pair of them is
    not linked as a restatement (a copied pair would be, by the shape leg)."""
    a = BURST["docs/WEBSOCKET_TIMEOUT_FIX_COMPLETE.md"]
    b = BURST["docs/WEBSOCKET_FIX_SUMMARY.md"]
    files = {"docs/cycles/Cycle_2_websocket.md": a, "docs/cycles/Cycle_3_websocket.md": b}
    repo.commit({**OTHERS, **files}, when=T0)
    scan = repo.scan()
    assert [_family_of(scan, p) for p in files] == [None, None]
    # the same two texts under names that announce one state again are linked
    repo.commit({"docs/cycles/Cycle_2_websocket.md": "# gone\n",
                 "docs/cycles/Cycle_3_websocket.md": "# gone too\n",
                 "docs/WS_FIX_COMPLETE.md": a, "docs/WS_FIX_SUMMARY.md": b}, when=T0 + 60)
    scan = repo.scan()
    assert _family_of(scan, "docs/WS_FIX_COMPLETE.md") == _family_of(
        scan, "docs/WS_FIX_SUMMARY.md") is not None


def test_gist_round_trip_and_damaged_values() -> None:
    g = read_gist(gist(BURST["docs/WEBSOCKET_FIX_SUMMARY.md"]))
    assert g.heads and g.terms and max(g.terms.values()) >= 3  # "websocket", "reconnect"
    assert read_gist("zz").terms == {} and read_gist("00" * 5).heads == frozenset()


def test_names_and_steps() -> None:
    assert {"websocket", "timeout"} <= name_words("docs/WEBSOCKET_TIMEOUT_FIX.md", "")
    assert "kube" in name_words("KubeCPUOvercommit.md", "") or "cpu" in name_words(
        "KubeCPUOvercommit.md", "")
    assert steps("P07-A3_worklist.md", "") == {("p", 7), ("a", 3)}
    assert steps("Autonomous_Cycle_12_-_x.md", "") == {("cycle", 12), ("", 12)}
    assert steps("CI_TEST_ANALYSIS_24266d9.md", "") == frozenset()  # a hash is no step
    assert steps("DELIVERY_STATUS_6K_TESTS.md", "") == frozenset()  # a quantity, not a step
    a, b = steps("HANDOFF_2025-11-02_1227.md", ""), steps("HANDOFF_2025-11-02_1253.md", "")
    assert ("", 1227) in a and ("", 1253) in b


def test_cosines_from_the_matrix_and_from_the_index_agree() -> None:
    """The inverted-index path (taken when docs x shared stems would pass DENSE_CELLS)
    finds the same pairs with the same cosines as the one matrix product."""
    import random

    from compactor import restate

    rng = random.Random(5)
    vocab = [f"w{k}" for k in range(300)]
    docs = {}
    for i in range(60):
        base = rng.sample(vocab, 40) if i % 3 == 0 else docs[i - 1].gist.terms  # small loops
        terms = {restate._h32(w) if isinstance(w, str) else w: rng.randint(1, 5) for w in base}
        docs[i] = restate.Doc(restate.Gist(terms, frozenset()), frozenset(), frozenset(), None)
    dense = restate.Vectors(docs)
    assert dense.dense
    old = restate.DENSE_CELLS
    restate.DENSE_CELLS = 0
    try:
        sparse = restate.Vectors(docs)
    finally:
        restate.DENSE_CELLS = old
    assert not sparse.dense
    a = [(i, j, round(c, 4)) for i, j, c in dense.pairs(0.4)]
    b = [(i, j, round(c, 4)) for i, j, c in sparse.pairs(0.4)]
    assert a == b and len(a) >= 20


HEADINGS = ["Context", "What changed", "Numbers", "Root cause", "Next", "Verification",
            "Timeline", "Impact", "Open questions", "Checklist", "Owners", "Links"]
GENRES = ["Summary", "Quick reference", "Status report", "Final status", "Executive brief",
          "Overview", "Update", "Recap", "Results", "Delivery status", "Session summary",
          "Master index"]
# one state (the ledger export retry fix), each fact in several wordings
PHRASES = [
    ["The ledger export now retries a dropped upload 3 times before it gives up.",
     "A dropped upload of the ledger export is retried up to 3 times now.",
     "Three retries now guard each ledger export upload that drops.",
     "Ledger export uploads that drop get 3 more tries before failing."],
    ["Commit `f00dbee` moved the retry into `export/ledger_upload.py`.",
     "The change (`f00dbee`) lives in `export/ledger_upload.py`.",
     "See `export/ledger_upload.py`, changed by `f00dbee`, for the retry.",
     "`f00dbee` is the commit; `export/ledger_upload.py` holds the retry loop."],
    ["6,424 tests collected, 7 failures left, all sandbox bucket permissions.",
     "Of 6,424 tests collected only 7 failures remain: sandbox bucket permissions.",
     "Test run: 6,424 tests collected; the 7 failures are bucket permissions in the sandbox.",
     "Still 7 failures (sandbox bucket permissions) among 6,424 tests collected."],
    ["The nightly export no longer stalls the worker when the bucket answers slowly.",
     "A slow bucket does not stall the export worker overnight any more.",
     "Overnight, the export worker keeps going even when the bucket is slow.",
     "The worker stall during the nightly export is gone, slow bucket or not."],
    ["Retries wait 30 s apart, so a slow bucket costs minutes, not the night.",
     "With 30 s between retries a slow bucket delays the export by minutes only.",
     "Each retry waits 30 s; the worst case is a few minutes late.",
     "The wait between retries is 30 s, which bounds the delay to minutes."],
]


def reworded_status(k: int) -> tuple[str, str]:
    """The k-th announcement of one state: the ledger export retry fix, told again under
    another title and other headings, each fact in another wording."""
    heads = [HEADINGS[(3 * k + j) % len(HEADINGS)] for j in range(3)]
    lines = [p[(k + j) % len(p)] for j, p in enumerate(PHRASES)]
    body = [f"# Ledger export retry fix: {GENRES[k % len(GENRES)].lower()}", "",
            "In short: ledger export uploads are retried, the export worker no longer stalls,"
            " and only the sandbox bucket permissions are left.", ""]
    for h, part in zip(heads, (lines[:2], lines[2:4], lines[4:]), strict=True):
        body += [f"## {h}", "", *part, ""]
    name = "_".join(GENRES[k % len(GENRES)].upper().split())
    return f"docs/status/LEDGER_EXPORT_FIX_{name}.md", "\n".join(body)


def claimed(repo: GitRepo, path: str, text: str, now: str) -> None:
    """A claim lifts the block of a refused restatement only with a line of its own that
    it names; the warning then says what the lane would otherwise have been blocked by."""
    claim = '"the storage policy now grants the sandbox bucket permissions"'
    line = "\nThe storage policy now grants the sandbox bucket permissions (ticket closed).\n"
    repo.stage({path: f"---\nnew_truth: {claim}\n---\n{text}{line}"})
    r = run_compactor("check", "--now", now, cwd=repo.root)
    assert r.code == 0, r.out
    assert f"  passes on its new_truth claim: {claim}\n" in r.out
    assert "\n  it would otherwise be blocked by:\n" in r.out and "restated" in r.out
    repo.stage({path: text})


def test_a_reworded_loop_warns_then_is_refused_by_the_real_gate(repo: GitRepo) -> None:
    """No lane ids, no copies: one state re-announced under new titles and headings. The
    scan links the docs as restatements and the gate, asked before each commit, warns
    and then refuses once the run passes ``max_restated``."""
    repo.commit({".compactor.yaml": "max_restated: 2\n", **OTHERS}, when=T0)
    outcomes = []
    for k in range(5):  # the fifth is a copy of the first: it counts in the run too
        path, text = reworded_status(k)
        repo.stage({path: text})
        now = str(T0 + 600 * (k + 1))  # the hook's clock: written minutes after the last
        r = run_compactor("check", "--now", now, "--format", "json", cwd=repo.root)
        verdicts = json.loads(r.out)["verdicts"] if r.out.strip() else []
        outcomes.append(verdicts[0]["outcome"] if verdicts else "pass")
        assert r.code == (1 if outcomes[-1] == "block" else 0)
        if verdicts and verdicts[0]["outcome"] != "pass":
            assert verdicts[0]["link"] == ("copy" if k == 4 else "restatement")
            assert [c["name"] for c in verdicts[0]["conditions"]] == ["restated"]
        if k == 3:
            claimed(repo, path, text, now)
        repo.commit({}, when=T0 + 600 * (k + 1), message=f"status {k}")
    assert outcomes == ["pass", "warn", "warn", "block", "block"], outcomes
    scan = repo.scan()
    fam = {scan.decisions[scan.index(reworded_status(k)[0])].family for k in range(5)}
    assert len(fam) == 1 and None not in fam


def test_cosines_a_block_of_rows_at_a_time_agree_with_all_at_once() -> None:
    """Past DENSE_CELLS docs x docs, the matrix products come a block of rows at a time
    (no docs x docs matrix is kept): the same pairs, the same cosines."""
    import random

    from compactor import restate

    rng = random.Random(11)
    vocab = [f"w{k}" for k in range(60)]
    docs = {}
    for i in range(200):
        terms = {restate._h32(w): rng.randint(1, 4) for w in rng.sample(vocab, 25)}
        docs[i] = restate.Doc(restate.Gist(terms, frozenset()), frozenset(), frozenset(), None)
    whole = restate.Vectors(docs)
    assert whole.sims is not None
    old = restate.DENSE_CELLS, restate.BLOCK_CELLS
    restate.DENSE_CELLS = 200 * 60  # the rows fit, 200 x 200 does not
    restate.BLOCK_CELLS = 200 * 7  # blocks of 7 rows, the last one short
    try:
        blocks = restate.Vectors(docs)
        assert blocks.dense and blocks.sims is None
        b = [(i, j, round(c, 4)) for i, j, c in blocks.pairs(0.4)]
    finally:
        restate.DENSE_CELLS, restate.BLOCK_CELLS = old
    a = [(i, j, round(c, 4)) for i, j, c in whole.pairs(0.4)]
    assert a == b and len(a) >= 200  # each doc keeps its most similar (16) of many alike


def test_a_huge_title_is_read_for_its_name_from_its_start(repo: GitRepo) -> None:
    """A heading may be a whole file: its name words and steps come from its first
    NAME_CHARS characters (a set of every word per doc, asked about for every candidate
    pair, took minutes and gigabytes on 300 such docs)."""
    from compactor.restate import NAME_CHARS

    title = " ".join(f"word{chr(97 + k % 26)}{chr(97 + k // 26 % 26)}x" for k in range(5_000))
    assert len(name_words("docs/a.md", title)) <= NAME_CHARS // 4
    assert name_words("docs/a.md", title) == name_words("docs/a.md", title[:NAME_CHARS])
    assert steps("docs/a.md", "Cycle 12 " + title) == {("cycle", 12)}
    files = {f"docs/{k}-{name}": f"# {title[k:]}\n\n{text}" for k, (name, text) in
             enumerate((p.rsplit("/", 1)[1], t) for p, t in BURST.items())}
    repo.commit({**OTHERS, **files}, when=T0)
    scan = repo.scan()
    assert len(scan.briefs) == len(OTHERS) + len(BURST)


def test_the_leg_can_be_turned_off(repo: GitRepo) -> None:
    repo.commit({".compactor.yaml": "restatement: false\n", **OTHERS, **BURST}, when=T0)
    r = run_compactor("scan", "--format", "json", cwd=repo.root)
    assert r.code == 0
    assert {b["family"] for b in json.loads(r.out)["briefs"] if b["path"] in BURST} == {None}
    repo.commit({".compactor.yaml": "restatement: maybe\n"}, when=T0 + 60)
    bad = run_compactor("scan", cwd=repo.root)
    assert bad.code == 2 and "restatement" in bad.err and "true or false" in bad.err


def test_explain_names_the_nearest_docs_in_words_and_what_kept_each_apart(
        repo: GitRepo) -> None:
    """``scan --explain`` on a doc in no family names its nearest docs in words and the
    test that kept each apart, so a user can see why a restatement was not linked; on a
    linked doc it shows its family's docs as such."""
    a = BURST["docs/WEBSOCKET_TIMEOUT_FIX_COMPLETE.md"]
    b = BURST["docs/WEBSOCKET_FIX_SUMMARY.md"]
    files = {"docs/cycles/Cycle_2_websocket.md": a, "docs/cycles/Cycle_3_websocket.md": b}
    repo.commit({**OTHERS, **files}, when=T0)
    out = run_compactor("scan", "--explain", "docs/cycles/Cycle_2_websocket.md", cwd=repo.root)
    assert out.code == 0
    assert ("near in words: docs/cycles/Cycle_3_websocket.md (cosine "
            in out.out), out.out
    assert "their names number different steps" in out.out
    data = json.loads(run_compactor("scan", "--explain", "docs/cycles/Cycle_2_websocket.md",
                                    "--format", "json", cwd=repo.root).out)
    near = data["nearest"]
    assert near[0]["path"] == "docs/cycles/Cycle_3_websocket.md"
    assert near[0]["apart"] == "their names number different steps"
    assert near[0]["cosine"] >= 0.4 and all(n["apart"] for n in near)  # none linked
    # the same two texts under names that announce one state again: linked, shown as such
    repo.commit({"docs/cycles/Cycle_2_websocket.md": "# gone\n",
                 "docs/cycles/Cycle_3_websocket.md": "# gone too\n",
                 "docs/WS_FIX_COMPLETE.md": a, "docs/WS_FIX_SUMMARY.md": b}, when=T0 + 60)
    data = json.loads(run_compactor("scan", "--explain", "docs/WS_FIX_COMPLETE.md",
                                    "--format", "json", cwd=repo.root).out)
    assert data["nearest"][0] == {"path": "docs/WS_FIX_SUMMARY.md",
                                  "cosine": data["nearest"][0]["cosine"], "apart": None}
    assert data["link"]["leg"] == RESTATEMENT or data["family"] is not None


def test_the_first_restatement_after_a_consolidation_output_names_what_it_restates(
        repo: GitRepo) -> None:
    """After the inventory is written, the next restatement starts a new run: the warning
    names the earlier doc it restates and says it is the first since that output (it
    read "0 restatements of X in a row … ()" before)."""
    repo.commit({**OTHERS}, when=T0)
    for k in range(2):
        path, text = reworded_status(k)
        repo.commit({path: text}, when=T0 + 600 * (k + 1), message=f"status {k}")
    assert run_compactor("inventory", cwd=repo.root).code == 0
    repo.commit({"docs/INVENTORY.md": (repo.root / "docs/INVENTORY.md").read_text()},
                when=T0 + 1800, message="inventory")
    path, text = reworded_status(2)
    repo.stage({path: text})
    r = run_compactor("check", "--now", str(T0 + 2400), "--format", "json", cwd=repo.root)
    assert r.code == 0, r
    verdict = json.loads(r.out)["verdicts"][0]
    assert verdict["outcome"] == "warn" and verdict["link"] == "restatement"
    evidence = verdict["conditions"][0]["evidence"]
    assert "0 restatements" not in evidence and "()" not in evidence, evidence
    assert f"{stem_of(path)} restates " in evidence and "in other words: the first since its " \
        "last consolidation output docs/INVENTORY.md" in evidence, evidence


def test_explain_never_shows_a_cosine_rounded_up_past_the_threshold_it_failed() -> None:
    """A doc at cosine 0.3996 is below the leg's 0.4: shown as 0.39, never as 0.40
    beside "fewer content words in common than a restatement has (cosine 0.4)"."""
    from compactor.render import down, explain_text

    why = "fewer content words in common than a restatement has (cosine 0.4)"
    data = {"path": "docs/a.md", "kind": "other", "kind_why": "no lane id", "lane": None,
            "lane_why": "none", "family": None, "retention": "keep",
            "nearest": [{"path": "docs/b.md", "cosine": down(0.3996, 3), "apart": why}]}
    text = explain_text(data)
    assert f"near in words: docs/b.md (cosine 0.39): {why}" in text, text
    assert down(0.4, 2) == 0.4 and down(0.29, 2) == 0.29 and down(0.61, 3) == 0.61


def test_explain_calls_a_nearest_doc_of_the_same_family_so(repo: GitRepo) -> None:
    """Two numbered cycles that each restate one summary are one family through it; the
    explain of one names the other as in its family, not as kept apart by the step test
    that holds only between the two of them."""
    repo.commit({**OTHERS, "docs/WS_FIX_SUMMARY.md": BURST["docs/WEBSOCKET_FIX_SUMMARY.md"]},
                when=T0)
    for k, text in ((2, BURST["docs/WEBSOCKET_TIMEOUT_FIX_COMPLETE.md"]),
                    (3, BURST["docs/WS_FIX_QUICK_REFERENCE.md"])):
        repo.commit({f"docs/cycles/Cycle_{k}_websocket.md": text}, when=T0 + 600 * k)
    data = json.loads(run_compactor("scan", "--explain", "docs/cycles/Cycle_2_websocket.md",
                                    "--format", "json", cwd=repo.root).out)
    assert data["family"] is not None
    near = {n["path"]: n["apart"] for n in data["nearest"]}
    assert "docs/cycles/Cycle_3_websocket.md" in near, data["nearest"]
    assert near["docs/cycles/Cycle_3_websocket.md"] is None
    text = run_compactor("scan", "--explain", "docs/cycles/Cycle_2_websocket.md", cwd=repo.root).out
    assert "Cycle_3_websocket.md (cosine" in text and "number different steps" not in text, text
