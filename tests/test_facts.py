"""Facts keep templated deliverables apart without splitting renamed lanes (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import GitRepo

from compactor.config import Config
from compactor.facts import facts, masked_fact_sketch, names_veto, sketch_jaccard, title_names

CARD = """# {id}: Stage 12 deep cleanup for module `{module}`

## Context
- Stage 12 switched to a deep per-module execution model.
- Module baseline from the audit matrix: `{module}` (`{items}` items).

## Goal
- Perform deep quality cleanup for this module without behaviour changes:
  typing completeness, accurate concise docstrings, readability and local structure
  cleanup, removal of obvious dead or misleading fragments.

## Plan
1. Analyse the module and identify the highest-impact readability and type debt.
2. Apply focused refactor patches preserving behaviour.
3. Run the relevant smoke checks.
4. Record the tracker evidence and close the task.

## Work log
- Task generated from the module queue and linked to module `{module}`.
- Completed the cleanup patch for `{module}` ({what}).
- Validation passed: `python -m compileall {package}`, `{smoke}`.
- Added the tracker evidence and moved the task to done.
"""

MODULES = [
    ("core.manager", 34, "core", "agent/render_adapter_smoke.py", "manager classes"),
    ("core.repository", 33, "core", "agent/read_model_builder_smoke.py", "parser interfaces"),
    ("utils.func", 12, "utils", "agent/reminder_retry_smoke.py", "helper signatures"),
    ("agent.notify_owner", 21, "agent", "agent/notify_payload_smoke.py", "payload typing"),
    ("web.prototype_loader", 18, "web", "agent/prototype_loader_smoke.py", "loader contracts"),
    ("core.people", 27, "core", "agent/people_lookup_smoke.py", "lookup helpers"),
]


def test_facts_are_code_quotes_numbers_with_units_and_names() -> None:
    found = facts('Coverage is 97.1% after 12 h; run `make proof` as "the canonical run" '
                  "on NodeFilesystemAlmostOutOfSpace and TELEGRAM.")
    assert found == ["c make proof", "q the canonical run", "n 97.1 %", "n 12 h",
                     "p NodeFilesystemAlmostOutOfSpace", "p TELEGRAM"]


def test_cards_of_one_template_ordering_different_deliverables_form_no_family(
    repo: GitRepo,
) -> None:
    files = {}
    for k, (module, items, package, smoke, what) in enumerate(MODULES):
        slug = module.replace(".", "-").replace("_", "-")
        files[f"docs/cards/DTM-{104 + k}_stage12-module-{slug}.md"] = CARD.format(
            id=f"DTM-{104 + k}", module=module, items=items, package=package, smoke=smoke,
            what=what)
    repo.commit(files)
    scan = repo.scan()
    assert [b.lane for b in scan.briefs] == [None] * len(MODULES)
    assert scan.families == ()


def test_renamed_lanes_of_a_numbered_run_still_form_their_family(repo: GitRepo) -> None:
    files = {}
    for k, (module, items, package, smoke, what) in enumerate(MODULES):
        files[f"docs/lanes/S{85 + k:03d}-cleanup.md"] = CARD.format(
            id=f"S{85 + k:03d}", module=module, items=items, package=package, smoke=smoke,
            what=what)
    repo.commit(files)
    scan = repo.scan()
    assert len(scan.families) == 1 and len(scan.families[0].members) == len(MODULES)


def test_a_lane_keeps_no_fact_sketch_and_a_card_keeps_its_masked_facts() -> None:
    a = CARD.format(id="T-1", module="core.manager", items=34, package="core",
                    smoke="agent/a_smoke.py", what="x")
    b = CARD.format(id="T-2", module="core.manager", items=35, package="core",
                    smoke="agent/a_smoke.py", what="x")
    assert masked_fact_sketch(a, True) == []
    # a counter that differs is masked (34 items -> # items): the same facts
    assert sketch_jaccard(masked_fact_sketch(a, False), masked_fact_sketch(b, False)) == 1.0


RUNBOOK = """# {alert}

## Meaning

This alert fires when the condition described by the alert name holds on a node for
longer than the configured pending period of the alerting rule.

## Impact

Workloads scheduled on the node may fail to start or may be evicted, and the services
they back can degrade until the node recovers or the workloads are moved elsewhere.

## Diagnosis

Check the node's conditions and recent events, then the kubelet and system logs for
the time window of the alert; compare with the node's resource usage dashboards.

## Mitigation

Cordon and drain the node if the condition persists, then investigate the root cause
before returning the node to service.
"""


def test_runbooks_of_one_template_for_different_alerts_form_no_family(repo: GitRepo) -> None:
    alerts = ["NodeFilesystemAlmostOutOfFiles", "NodeFilesystemAlmostOutOfSpace",
              "NodeNetworkReceiveErrs", "NodeNetworkTransmitErrs", "NodeClockNotSynchronising"]
    repo.commit({f"docs/runbooks/{a}.md": RUNBOOK.format(alert=a) for a in alerts})
    assert repo.scan().families == ()


# Runbooks and audit trails of one template that share nearly all their facts (levels,
# thresholds, commands); only the thing the title names differs.
SHARED_RUNBOOK = """# {alert}

## Meaning

The alert fires at a `warning` level at 5% left and at a `critical` level with 3% left,
as measured by `node_exporter` on the node; see the `KubeletDown` runbook first when the
exporter is missing. It waits 30 min before firing and resolves after 15 min.

## Diagnosis

Run `kubectl describe node` and `kubectl top node`, then read the `journalctl -u kubelet`
output for the alert's window; compare with the `NodeExporter` dashboard in Grafana.

## Mitigation

Cordon and drain the node with `kubectl drain --ignore-daemonsets` if the condition
persists, then investigate the root cause before returning the node to service.
"""

AUDIT = """# Code Audit Trail: {path}
**File**: {path}
**Reviewed**: 2025-11-05 08:{minute:02d}:39
**Coder Model**: `anthropic/claude-sonnet-4.5`
**Reviewer Model**: `openai/gpt-5-pro`

## FAKE/MOCK CODE DETECTION

**Status**: PASS - No fake/mock code detected. The `pytest` suite ran 42 tests in 3 s;
`mypy --strict` reported 0 errors and `ruff` found 0 issues.

## VERDICT

APPROVED for merge into `main` with no follow-up items; coverage stays at 91%.
"""

PATHS = ["models/base.py", "models/association.py", "services/state_manager/cache_layer.py",
         "services/npc_behavior/behavior_engine.py", "schemas/__init__.py"]


@pytest.mark.parametrize(
    ("title", "names"),
    [
        ("NodeFilesystemAlmostOutOfFiles", {"nodefilesystemalmostoutoffiles"}),
        ("KubeAggregatedAPIDown", {"kubeaggregatedapidown"}),
        ("DTM-104: Stage 12 deep cleanup for module `core.manager`", {"core.manager"}),
        ("Code Audit Trail: schemas/__init__.py", {"schemas/__init__.py"}),
        ("Launch Prompt - P07-B2 (a_codex_plan)", {"a_codex_plan"}),
        ('Report on "the canonical run" of wave 12', {"the canonical run"}),
        ("PR_895_MERGE_LOG — add PR #895 merge log", {"pr_#_merge_log"}),  # digits masked
        ("Autonomous Cycle 15: CRISIS RESPONSE - Rapid Success!", set()),  # capitals: emphasis
        ("Agent-2 V2 Compliance Simplification Continuing", set()),
        ("Wave 012: Boundary and Error Semantics", set()),
    ],
)
def test_a_title_names_its_identifiers(title: str, names: set[str]) -> None:
    assert title_names(title) == names


def test_names_veto_parts_titles_that_each_name_their_own_thing() -> None:
    titles = ["Runbook: NodeFilesystemAlmostOutOfFiles", "Runbook: NodeFilesystemAlmostOutOfSpace",
              "Runbook: NodeFilesystemAlmostOutOfSpace (again)", "Runbook status",
              "Audit of `core.manager` and `core.adapters`", "Audit of `core.manager`", None]
    pairs = np.array([[0, 1], [1, 2], [0, 3], [4, 5], [0, 6]], dtype=np.int64)
    assert names_veto(titles.__getitem__, pairs).tolist() == [True, False, False, False, False]


def test_runbooks_sharing_their_facts_but_titled_by_their_own_alert_form_no_family(
        repo: GitRepo) -> None:
    alerts = ["NodeFilesystemAlmostOutOfFiles", "NodeFilesystemAlmostOutOfSpace",
              "NodeNetworkReceiveErrs", "NodeNetworkTransmitErrs"]
    repo.commit({f"docs/runbooks/{a}.md": SHARED_RUNBOOK.format(alert=a) for a in alerts})
    scan = repo.scan()
    assert scan.similarity(0, 1) >= Config().threshold  # the shapes alone would link them
    assert scan.families == ()


def test_audit_trails_of_different_files_form_no_family(repo: GitRepo) -> None:
    repo.commit({f"docs/audits/{p.replace('/', '_')}-audit.md": AUDIT.format(path=p, minute=k)
                 for k, p in enumerate(PATHS)})
    assert repo.scan().families == ()


def test_audit_trails_re_filed_for_one_file_are_still_one_family(repo: GitRepo) -> None:
    repo.commit({f"docs/audits/base-audit-{k}.md": AUDIT.format(path="models/base.py", minute=k)
                 for k in range(4)})
    [family] = repo.scan().families
    assert len(family.members) == 4
