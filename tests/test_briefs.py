from __future__ import annotations

import pytest

from compactor.briefs import parse_brief
from compactor.config import Config

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
