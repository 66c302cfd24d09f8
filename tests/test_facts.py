"""Facts keep templated deliverables apart without splitting renamed lanes (issue 13)."""

from __future__ import annotations

from conftest import GitRepo

from compactor.facts import facts, masked_fact_sketch, sketch_jaccard

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
