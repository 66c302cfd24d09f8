"""The gate's result for CI: GitHub workflow commands and a SARIF 2.1.0 log.

``github_commands`` turns each blocked or warned lane into one ``::error`` /
``::warning`` workflow command located at the lane's file, so a pull request
shows it on the file; ``sarif_log`` gives code scanning one result per
condition that held, under one rule per condition. Both are pure functions of a
:class:`~compactor.check.CheckResult`; the CLI only prints them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from compactor import __version__
from compactor.check import TITLES, CheckResult, Condition, Verdict, render_text, verdict_text

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

# What each condition means, for the SARIF rule (the title is TITLES[name]).
DESCRIPTIONS = {
    "proven": "An earlier lane of the family is marked proven, or a proof or hardening "
              "artifact covers the family: the envelope this lane re-proves is already proven.",
    "guardrails": "The lane's guardrail fields (route, session, tenant by default) equal the "
                  "previous lane's once labels and numbers are masked.",
    "label-only": "The lane's proof shape matches its nearest earlier lane at or above the "
                  "threshold: only the label differs.",
    "adjacent": "More adjacent lanes of one shape than max_adjacent since the family's last "
                "consolidation output.",
    "rename": "The lane's title or file name is an earlier lane's with the label swapped.",
    "bookkeeping": "More docs of one numbered series than max_bookkeeping in a row are each about "
                   "another recent doc of the series (a merge log whose subject is the previous "
                   "merge log): self-referential bookkeeping.",
    "budget": "The tokens of the trailing hour exceed token_budget_per_hour.",
    "claim": "The lane's new_truth claim is empty or nearly the same as an earlier lane's.",
    "new-truth": "The lane's new_truth claim is earned: it adds lines its nearest earlier "
                 "lanes do not have and the claim names them. Review the claim.",
}
# A lane that passes on an earned claim and trips no condition still gets one result.
_CLAIMED = "new-truth"
_CLAIMED_TITLE = "its new_truth claim is earned"
HELP = ("A repetitive lane owes consolidation instead: `compactor inventory` (coverage matrix, "
        "missing gaps), `compactor closeout FAMILY`, or a redirect brief. If the lane does buy "
        "new truth, say so in its front matter: new_truth: \"...\".")


# -- GitHub workflow commands ----------------------------------------------------------------


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(level: str, message: str, **properties: str) -> str:
    """One ``::level key=value,...::message`` line; newlines and separators escaped, so
    nothing a repo's text holds can start a command of its own."""
    props = ",".join(f"{k}={_escape_property(v)}" for k, v in properties.items())
    return f"::{level}{' ' + props if props else ''}::{_escape_data(message)}"


def _title(v: Verdict) -> str:
    what = "blocked" if v.outcome == "block" else "passes with warnings"
    names = ", ".join(dict.fromkeys(TITLES.get(c.name, c.name) for c in v.conditions))
    return f"compactor: {v.lane} {what}" + (f" ({names})" if names else "")


def _body(v: Verdict) -> str:
    """The verdict's text without its first line (the title says it)."""
    lines = verdict_text(v).splitlines()[1:]
    return "\n".join(line[2:] if line.startswith("  ") else line for line in lines)


def github_commands(result: CheckResult, prefix: str = "") -> str:
    """Workflow commands for every warned or blocked lane and every scan warning, then the
    summary line ('' when the change adds no lane that needs a word). ``prefix`` is the
    repository's folder in the workflow's workspace (GitHub resolves ``file=`` from there)."""
    out = [workflow_command("warning", str(w), title="compactor: scan warning")
           if w.path is None else
           workflow_command("warning", w.text, file=prefix + w.path,
                            title="compactor: scan warning")
           for w in result.warnings]
    for v in result.verdicts:
        if v.outcome == "pass":
            continue
        level = "error" if v.outcome == "block" else "warning"
        out.append(workflow_command(level, _body(v), file=prefix + v.path, line="1",
                                    title=_title(v)))
    text = render_text(result)
    if text:
        out.append(text.rsplit("\n\n", 1)[-1])
    return "\n".join(out)


# -- SARIF 2.1.0 -----------------------------------------------------------------------------


def _rule_name(name: str) -> str:
    return "".join(part.capitalize() for part in TITLES.get(name, name).replace("_", " ").split())


def _conditions(v: Verdict) -> tuple[Condition | None, ...]:
    """The conditions a warned or blocked lane gets a result for (None: its earned claim)."""
    if v.outcome == "pass":
        return ()
    return tuple(v.conditions) or ((None,) if v.new_truth is not None else ())


def _result(v: Verdict, c: Condition | None, index: dict[str, int]) -> dict[str, Any]:
    name = c.name if c is not None else _CLAIMED
    level = "error" if v.outcome == "block" and c is not None and c.action == "block" else "warning"
    if c is None:
        text = f"{v.lane} ({v.path}): {_CLAIMED_TITLE}: {json.dumps(v.new_truth or '')}"
        if v.earned:
            text += "; the lines it adds: " + " | ".join(v.earned[:5])
    else:
        text = f"{v.lane} ({v.path}): {TITLES.get(c.name, c.name)}: {c.evidence}"
    if c is not None and c.action == "warn":
        text += " (warning only)"
    if c is not None and v.overridden:
        text += f". It passes on its new_truth claim: {json.dumps(v.new_truth or '')}"
    if v.question:
        text += f". {v.question}"
    return {
        "ruleId": name,
        "ruleIndex": index[name],
        "level": level,
        "message": {"text": text},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": quote(v.path), "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 1},
            },
        }],
        "partialFingerprints": {"compactorLaneCondition/v1": f"{v.path}:{name}"},
        "properties": {"lane": v.lane, "family": v.family, "outcome": v.outcome,
                       "group": c.group if c is not None else "override"},
    }


def sarif_log(result: CheckResult) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one rule per gate condition, one result per condition that held
    for a warned or blocked lane, located at the lane's file."""
    names = list(TITLES)
    names += sorted({c.name for v in result.verdicts for c in v.conditions} - set(names))
    if any(None in _conditions(v) for v in result.verdicts):
        names.append(_CLAIMED)
    index = {name: i for i, name in enumerate(names)}
    rules = [{
        "id": name,
        "name": _rule_name(name),
        "shortDescription": {"text": _CLAIMED_TITLE if name == _CLAIMED else TITLES.get(name, name)},
        "fullDescription": {"text": DESCRIPTIONS.get(name, TITLES.get(name, name))},
        "defaultConfiguration": {"level": "warning" if name == _CLAIMED else "error"},
        "help": {"text": HELP},
    } for name in names]
    results = [_result(v, c, index) for v in result.verdicts for c in _conditions(v)]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "compactor", "version": __version__,
                                "semanticVersion": __version__, "rules": rules}},
            "invocations": [{
                "executionSuccessful": True,
                "exitCode": result.exit_code,
                "toolExecutionNotifications": [
                    {"level": "warning", "message": {"text": str(w)}} for w in result.warnings
                ],
            }],
            "results": results,
            "properties": {"source": result.source, "outcome": result.outcome,
                           "added": list(result.added)},
        }],
    }


def render_sarif(result: CheckResult) -> str:
    return json.dumps(sarif_log(result), indent=2, ensure_ascii=False)
