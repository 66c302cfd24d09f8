"""The domain vocabulary: one definition of each kind, phase and retention, which the
stages ask instead of keeping their own lists."""

from __future__ import annotations

import pytest
from conftest import GitRepo

from compactor.config import Config, make_config
from compactor.vocab import KIND_INFO, KINDS, PHASES, RETENTIONS

T0 = 1_700_000_000
LANE = """# {lane} export envelope proof

## Scope

Prove the export envelope for tenant alpha under route /v2/export with session pinning.
The batch writer streams rows in pages of five hundred and checks every checksum.

## Evidence

- replayed the nightly export against the staging snapshot
- compared row counts and digests with the source tables
"""


def test_each_kind_is_defined_once_with_its_properties() -> None:
    assert set(KINDS) == set(KIND_INFO)
    assert {k for k in KINDS if KIND_INFO[k].joins_families} == {"brief", "other"}
    assert {k for k in KINDS if KIND_INFO[k].proof} == {"proof", "hardening"}
    assert {k for k in KINDS if KIND_INFO[k].consolidation} == {
        "closeout", "coverage", "gaps", "redirect"}
    assert {k: KIND_INFO[k].retention for k in KINDS if KIND_INFO[k].retention != "keep"} == {
        "ack": "archive"}
    assert PHASES == ("establishing", "repetition", "churn")
    assert RETENTIONS == ("keep", "mostly-keep", "compress", "archive")


@pytest.mark.parametrize("kind", KINDS)
def test_a_declared_kind_decides_family_membership_and_retention(repo: GitRepo, kind: str) -> None:
    """What a user sees for a doc of each kind follows its properties, nothing else."""
    files = {f"docs/S00{n}-export.md": LANE.format(lane=f"S00{n}") for n in (1, 2)}
    files["docs/S003-export.md"] = f"---\nkind: {kind}\n---\n\n" + LANE.format(lane="S003")
    repo.commit(files, when=T0)
    scan = repo.scan()
    third = scan.decisions[scan.index("docs/S003-export.md")]
    assert scan.briefs[scan.index("docs/S003-export.md")].kind == kind
    if KIND_INFO[kind].joins_families:  # type: ignore[index]
        assert third.family is not None and third.retention in ("mostly-keep", "compress")
    else:
        assert third.family is None and third.retention == KIND_INFO[kind].retention  # type: ignore[index]


def test_config_is_frozen_and_hashable() -> None:
    config = make_config({"kind_rules": {"proof": ["evidence pack"]}})
    assert hash(config) == hash(make_config({"kind_rules": {"proof": ["evidence pack"]}}))
    assert config != Config() and hash(Config()) == hash(Config())
    assert config.kind_rules["proof"] == ("evidence pack",)
    with pytest.raises(TypeError):
        config.kind_rules["proof"] = ("anything",)  # type: ignore[index]
    assert {config: 1}[make_config({"kind_rules": {"proof": ["evidence pack"]}})] == 1
