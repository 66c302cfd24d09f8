from __future__ import annotations

import pytest

from compactor.briefs import parse_brief, parse_tokens
from compactor.config import Config, make_config

CFG = Config()


def brief(path: str, text: str):  # type: ignore[no-untyped-def]
    return parse_brief(CFG, path, "0" * 40, text)[0]


@pytest.mark.parametrize(
    ("path", "text", "lane", "number"),
    [
        ("docs/S085-approve-invoice.md", "# Approve invoice\n", "S085", 85),
        ("docs/lane-12_cancel.md", "# Cancel\n", "lane-12", 12),
        ("docs/sprint_7.md", "# Sprint work\n", "sprint_7", 7),
        ("docs/wave-022-Export.md", "# Export\n", "wave-022", 22),
        ("docs/notes.md", "# Wave 9: retry queue\n", "Wave 9", 9),
        ("docs/x.md", "---\nlane: S140\n---\n# Something\n", "S140", 140),
        ("docs/readme.md", "# Project notes\n", None, None),
        ("docs/s3-bucket-policy.md", "# Bucket policy\n", None, None),
    ],
)
def test_lane_ids_from_front_matter_name_or_title(
    path: str, text: str, lane: str | None, number: int | None
) -> None:
    b = brief(path, text)
    assert (b.lane, b.number) == (lane, number)


def test_label_is_the_action_part_of_the_name() -> None:
    assert brief("docs/S091-approve-invoice.md", "# S091 — Approve invoice\n").label == (
        "approve invoice")
    assert brief("docs/wave-12-ApproveInvoice.md", "x\n").label == "approve invoice"
    assert brief("docs/S091.md", "# S091 — Cancel vendor payout lane\n").label == (
        "cancel vendor payout")
    fm = "---\naction: unflag_invoice\n---\n# S140\n"
    assert brief("docs/S140-whatever.md", fm).label == "unflag invoice"


@pytest.mark.parametrize(
    ("path", "text", "kind"),
    [
        ("docs/S091-ack.md", "ACK S091. Next bounded slice: S092 cancel vendor. Proceed.", "ack"),
        ("notes/S093.md", "Got it: S093 is in. Queueing S094 next; same guardrails.", "ack"),
        ("docs/proofs/envelope.md", "# Operator envelope proof\n\nlong text", "proof"),
        ("docs/tenant-hardening.md", "# Tenant scope hardening\n", "hardening"),
        ("docs/S120-closeout.md", "# Closeout: operator actions\n", "closeout"),
        ("docs/coverage-matrix.md", "# Coverage matrix\n", "coverage"),
        ("docs/gaps.md", "# Missing gap list\n", "gaps"),
        ("docs/postmortem.md", "# Postmortem of the loop\n", "postmortem"),
        ("docs/S091-approve-invoice-proof.md", "# S091 approve invoice proof\n\n## Goal\n"
         "text\n\n## Next\nnext bounded slice after this lands\n", "brief"),
        ("docs/design.md", "# Design of the cache\n\nWe store signatures.\n", "other"),
        ("docs/S099.md", "---\nkind: redirect\n---\n# S099\n", "redirect"),
    ],
)
def test_kind_inference(path: str, text: str, kind: str) -> None:
    assert brief(path, text).kind == kind


def test_tokens_as_int_or_mapping() -> None:
    assert brief("a.md", "---\ntokens: 1200\n---\nx").tokens == {"total": 1200}
    b = brief("a.md", "---\ntokens: {codex: 100, loom: 20}\n---\nx")
    assert b.tokens == {"codex": 100, "loom": 20}


@pytest.mark.parametrize(
    "text",
    ["---\nlane: [S1\n---\nbody words here", "---\n\tlane: S1\n---\nbody", "---\n- a\n- b\n---\nbody"],
)
def test_broken_front_matter_is_a_warning_and_the_body_still_counts(text: str) -> None:
    b, warnings = parse_brief(CFG, "docs/S001-x.md", "0" * 40, text)
    assert b.body is not None and "body" in b.body
    assert len(warnings) == 1 and "front matter" in warnings[0]


FRONT_MATTER_CASES = [
    "lane: S085\nkind: brief\naction: approve_invoice\nroute: /ops/actions/approve-invoice",
    "tokens: {codex: 8900000, loom: 2700000}\nstatus: proven",
    "tokens: 1200\nsession: operator-session\ntenant: 'tenant scoped'",
    'new_truth: "adds the refund reversal path"',
    "a: yes", "a: No", "a: 1.5", "a: 0x1F", "a: 085", "a: 2026-05-09", "a: ~", "a: null",
    "a: foo: bar", "a: foo #c", "a: [1, 2]", "a: 1_000", "a: on", "a: 1e3", "a: *x",
    "a: x\na: y", "a: .inf", "a: 007", "a: 12:30", "a: y", "a: True", "a: -",
    "a:\n  b: 1", "a:", "a: |\n  text", "a: >\n  folded",
]


@pytest.mark.parametrize("source", FRONT_MATTER_CASES)
def test_front_matter_fast_path_agrees_with_yaml(source: str) -> None:
    from ruamel.yaml import YAML

    from compactor.briefs import FrontMatterError, fast_front_matter, load_front_matter

    fast = fast_front_matter(source)
    try:
        slow = YAML(typ="safe", pure=True).load(source)
    except Exception:  # noqa: BLE001 - YAML refuses it: the fast path must not accept it
        assert fast is None
        with pytest.raises(FrontMatterError):
            load_front_matter(source)
        return
    if fast is not None:
        plain = {str(k): (str(v) if not isinstance(v, str | int | float | bool | dict) else v)
                 for k, v in slow.items()}
        assert fast == plain
    assert load_front_matter(source) == load_front_matter(source)


@pytest.mark.parametrize(("value", "expected"), [
    ('"1,200"', {"total": 1200}), ('"\\u00b2"', {}), ('"12x"', {}), ("-5", {}), ("true", {}),
])
def test_odd_token_values_are_ignored_not_fatal(value: str, expected: dict[str, int]) -> None:
    assert brief("a.md", f"---\ntokens: {value}\n---\nx").tokens == expected


@pytest.mark.parametrize("value, total", [
    (1191000000, 1191000000), ("1,191,000,000", 1191000000), ("1.191e9", 1191000000),
    ("850k", 850000), ("1.2M", 1200000), ("~1.19B", 1190000000), ("2.5bn", 2500000000),
    ("12000 tokens", 12000), ("10_000", 10000), (1.5e6, 1500000),
    ("abc", None), ("1.2.3", None), ("-5", None), (-1, None), ("", None), ("1e400", None),
    (float("nan"), None), (float("inf"), None), (True, None), ("１２", None), ("9" * 5000, None),
])
def test_token_counts_read_the_way_people_write_them(value: object, total: int | None) -> None:
    assert parse_tokens(value) == ({} if total is None else {"total": total})
    assert parse_tokens({"codex": value}) == ({} if total is None else {"codex": total})


# -- kinds and lane ids from evidence, not from incidental words (issue 13) ---------------

LONG_LOOP_BODY = "\n".join(
    f"## Cycle {k}\n\nThe worker re-ran the suite and the status is unchanged; nothing new was "
    f"found in the ledger, the queue or the dashboards on pass {k}." for k in range(12))


@pytest.mark.parametrize(
    ("path", "text", "kind"),
    [
        # a long loop doc whose title says it was acknowledged is no ACK chatter
        ("docs/loop/cycle-acknowledged-status.md",
         f"# Status acknowledged, proceeding\n\n{LONG_LOOP_BODY}\n", "other"),
        # titles that mention an inventory, a coverage check, hardening or a wave
        ("docs/loop/run-042.md", f"# Inventory check and coverage review\n\n{LONG_LOOP_BODY}\n",
         "other"),
        ("docs/loop/run-043.md", f"# Hardening pass, wave two\n\n{LONG_LOOP_BODY}\n", "other"),
        ("docs/loop/run-044.md", f"# Close-out of the gaps\n\n{LONG_LOOP_BODY}\n", "other"),
        # names that contain, but are not, a kind
        ("docs/ops/PR_822_evidence-snapshot-merge-log.md", "# Evidence entry\n\nlong text\n",
         "other"),
        ("docs/tasks/T-30_stage3-closeout-coverage-adapter-smoke.md", "# T-30\n\ntext\n", "other"),
        ("docs/stage-07-technical-hardening/wave-061.md", "# Wave 061: Plan\n\ntext\n", "brief"),
        ("docs/evidence/2026/run.md", "# Run\n\ntext\n", "other"),
        # names that are a kind
        ("docs/ops/S120-closeout.md", "# Operator actions\n\ntext\n", "closeout"),
        ("docs/ops/closeout-S093.md", "# Operator actions\n\ntext\n", "closeout"),
        ("docs/ops/operator-actions-coverage-3.md", "# Matrix\n\ntext\n", "coverage"),
        ("docs/closeouts/operator-actions.md", "# Operator actions\n\ntext\n", "closeout"),
        ("docs/INVENTORY.md", "# Everything\n\ntext\n", "coverage"),
        ("docs/SPRINT_4_POSTMORTEM.md", "# Sprint 4\n\ntext\n", "postmortem"),
        # a short generated table whose column is headed "Ack" (or a code block that says
        # "next step") is data, not chatter
        ("docs/watch/inbox_sla_watch.md", "# Inbox scan history\n\n| Generated | Ack | Hours |\n"
         "|---|---|---|\n| 2026-01-23T03:57 | No | 4.57 |\n", "other"),
        ("docs/watch/runner.md", "# Runner\n\n```\nqueue: next step pending\n```\n", "other"),
        # a short report of work done that ends on the wait for an acknowledgement, or
        # whose work is an acknowledgement tool, is no chatter
        ("docs/reports/turn-14.md", "### Turn Summary\nImplemented the `--history` flag for "
         "the inbox acknowledgement CLI.\nAdded two tests; all pass.\nNext: await the "
         "maintainer's acknowledgement.\n", "other"),
        ("docs/reports/turn-15.md", "### Turn Summary\nAdded the --ack-actor flag.\nRan the "
         "scan with both ack actors; 11 tests pass.\nUpdated the parser.\nNext: watch the "
         "ack-actor log.\nArtifacts: reports/turn-15/\n", "other"),
        # short chatter is still an ACK, in prose beside a table too, and when it says little
        # else than the push
        ("docs/S093-note.md", "Good. Next bounded slice: S094 export. Proceed.", "ack"),
        ("docs/run-7/summary.md", "Done. All green, proceed with the next slice.", "ack"),
        ("docs/S091-ack.md", "ACK S091. Next bounded slice: S092 cancel vendor. Proceed.", "ack"),
        ("docs/S092-note.md", "Acknowledged, moving on to S093.\n\n| lane | state |\n|---|---|\n"
         "| S092 | done |\n", "ack"),
    ],
)
def test_kinds_come_from_evidence_not_incidental_words(path: str, text: str, kind: str) -> None:
    assert brief(path, text).kind == kind


def test_the_configured_inventory_is_coverage_whatever_its_name() -> None:
    config = make_config({"inventory": "docs/STATE.md"})
    b, _ = parse_brief(config, "docs/STATE.md", "0" * 40, "# State of things\n\ntext\n")
    assert b.kind == "coverage"


@pytest.mark.parametrize(
    ("path", "title", "lane"),
    [
        ("docs/DTM-86_cloud-keys-gate.md", "DTM-86: Stage 9 cloud shadow-run required S3 keys gate",
         None),
        ("docs/PR_716_MERGE_LOG.md", "PR 716 — docs(ops): Phase 9C Wave 5 docs graph remediation",
         None),
        ("docs/notes.md", "S8 — retry queue", "S8"),
        ("docs/notes.md", "Lane S085: approve invoice", "S085"),
        # a product name that starts like a lane id is none, in a file name or a title
        ("docs/architecture/S2IMS_REVIEW_COPY_MATRIX_MC14.md", "Review copy matrix", None),
        ("docs/notes.md", "S2IMS review copy matrix", None),
        ("docs/S085a-approve-invoice.md", "Approve invoice", "S085"),
        ("docs/Sprint1Report.md", "Report", "Sprint1"),
    ],
)
def test_a_lane_id_is_not_taken_from_an_incidental_title_token(
    path: str, title: str, lane: str | None
) -> None:
    assert brief(path, f"# {title}\n\ntext\n").lane == lane
