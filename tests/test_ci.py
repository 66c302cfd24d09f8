"""CI: `check --range` forms and shallow clones, `--format github` / `--format sarif`, and the
commands of `action.yml` and of the README's pull-request workflow, run against temp repos."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from compactor.annotations import github_commands, sarif_log, workflow_command
from compactor.check import TITLES, run_check
from compactor.config import Config
from compactor.git import Repo
from tests.conftest import GitRepo, git, run_compactor
from tests.test_check import NEW_TOPIC, small_lane, with_front

PROJECT = Path(__file__).resolve().parent.parent
# The published OASIS SARIF 2.1.0 schema (Errata 01, "$id" .../v2.1.0/errata01/os/schemas/...),
# byte for byte as the OASIS TC's repository (oasis-tcs/sarif-spec) ships it; a standard's
# schema, vendored so the test needs no network.
SCHEMA = Path(__file__).resolve().parent / "sarif-schema-2.1.0.json"
T0 = 1_778_400_000
ACTIONS = ["approve invoice", "cancel vendor", "flag invoice"]


def proven_family(repo: GitRepo) -> str:
    """Three proven lanes of one shape on main; returns the commit."""
    return repo.commit({f"docs/lanes/S00{k}.md": small_lane(k, a, status="proven")
                        for k, a in enumerate(ACTIONS, 1)}, when=T0, message="lanes")


RENAMED = {"docs/lanes/S004.md": small_lane(4, "reopen ticket", status="proven")}


# -- --range -----------------------------------------------------------------------------------


def test_range_forms(repo: GitRepo) -> None:
    base = proven_family(repo)
    repo.git("checkout", "-q", "-b", "topic")
    tip = repo.commit(RENAMED, when=T0 + 60, message="S004")
    # main moves on after the branch: A..B sees main's new lane as removed, not added;
    # A...B judges only what the branch adds (from the merge base)
    repo.git("checkout", "-q", "main")
    main = repo.commit({"docs/lanes/S010-webhook-retries.md": NEW_TOPIC.format(n=10)},
                       when=T0 + 120, message="S010")
    r = Repo(repo.root)
    assert r.resolve_range("main...topic") == (base, tip)
    assert r.resolve_range("main..topic") == (main, tip)
    assert r.resolve_range(f"{base}..") == (base, main)  # HEAD is main
    assert r.resolve_range("..topic") == (main, tip)
    assert r.resolve_range("topic...") == (base, main)

    three = run_compactor("check", "--range", "main...topic", cwd=repo.root)
    assert three.code == 1
    assert three.out.startswith("BLOCKED docs/lanes/S004.md (S004)")
    assert three.out.rstrip().endswith(
        "compactor check: the range main...topic adds 1 lane; 1 blocked")
    assert "the commit is refused" not in three.out
    # on main, the range from the base adds the new topic only: it passes in silence
    assert run_compactor("check", "--range", f"{base}..", cwd=repo.root).out == ""


def test_range_on_a_lane_that_warns_says_the_range_passes(repo: GitRepo) -> None:
    proven_family(repo)
    claim = '"Reopening re-runs the fraud checks the earlier actions skip"'
    fraud = "\n## Fraud checks\n\n- Reopening re-runs the fraud checks the earlier actions skip.\n"
    repo.commit({"docs/lanes/S004.md": with_front(small_lane(4, "reopen ticket"),
                                                  new_truth=claim) + fraud}, when=T0 + 60)
    r = run_compactor("check", "--range", "HEAD~1..HEAD", cwd=repo.root)
    assert r.code == 0
    assert r.out.rstrip().endswith(
        "compactor check: the range HEAD~1..HEAD adds 1 lane; it passes, with warnings")


def test_a_shallow_clone_names_itself(repo: GitRepo, tmp_path: Path) -> None:
    base = proven_family(repo)
    repo.commit(RENAMED, when=T0 + 60)
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone))
    for spec in ("HEAD~1..HEAD", f"{base}...HEAD"):
        r = run_compactor("check", "--range", spec, cwd=clone)
        assert r.code == 2 and r.out == ""
        assert r.err.startswith(f"compactor: error: --range {spec!r}: ")
        assert r.err.endswith(
            "the range reaches past this shallow clone: fetch the whole history or the base "
            "(git fetch --unshallow, or git fetch origin BASE; actions/checkout: fetch-depth: 0)\n")
        assert "--depth=0" not in r.err  # git refuses it: "depth 0 is not a positive number"
        assert len(r.err.splitlines()) == 1
    # fetching the history makes the same range work
    git(clone, "fetch", "-q", "--unshallow")
    assert run_compactor("check", "--range", "HEAD~1..HEAD", cwd=clone).code == 1


def test_unrelated_histories_have_no_merge_base(repo: GitRepo) -> None:
    proven_family(repo)
    repo.git("checkout", "-q", "--orphan", "other")
    repo.git("rm", "-rq", "--cached", ".")
    repo.commit({"x.md": "# x\n"})
    r = run_compactor("check", "--range", "main...other", cwd=repo.root)
    assert r.code == 2
    assert "main and other have no common history; use main..other" in r.err


# -- --format github -----------------------------------------------------------------------------


def test_workflow_commands_escape_what_would_break_them() -> None:
    line = workflow_command("error", "50% of it\nrest\r", file="docs/a, b: c.md", line="1",
                            title="t: x, y")
    assert line == "::error file=docs/a%2C b%3A c.md,line=1,title=t%3A x%2C y::50%25 of it%0Arest%0D"


def test_github_format_annotates_the_lane_file(repo: GitRepo) -> None:
    proven_family(repo)
    repo.stage(RENAMED)
    r = run_compactor("check", "--format", "github", cwd=repo.root)
    assert r.code == 1 and r.err == ""
    lines = r.out.splitlines()
    assert lines[-1] == "compactor check: 1 of 1 added lane blocked; the commit is refused"
    (error,) = lines[:-1]
    head, message = error.split("::", 2)[1:]
    assert head.startswith("error file=docs/lanes/S004.md,line=1,title=compactor%3A S004 "
                           "blocked (envelope proven%2C ")
    assert head.endswith("%2C renamed lane)") and "," not in head.split("title=")[1]
    text = message.replace("%0A", "\n").replace("%25", "%")
    assert "stop conditions (all three hold):" in text
    assert "What new truth does this lane buy that the last three did not (S001, S002, S003)?" in text
    assert "\n" not in message and "\r" not in message


def test_github_format_cannot_be_hijacked_by_a_file_name(repo: GitRepo) -> None:
    """A path is text from an untrusted repo: it must not start a command of its own."""
    proven_family(repo)
    evil = "docs/lanes/S004\n::stop-commands::x\n.md"
    repo.stage({evil: RENAMED["docs/lanes/S004.md"],
                "docs/lanes/S009,\n::error::y.md": "\xff\xfe binary-ish \x00 text"})
    result = run_check(Repo(repo.root), Config())
    assert result.outcome == "block"
    out = github_commands(result)
    assert len(out.splitlines()) == 3  # the scan warning, the error, the summary
    for line in out.splitlines():
        assert line.startswith(("::error ", "::warning ")) or line.startswith("compactor check:")
    assert "::error file=docs/lanes/S004%0A%3A%3Astop-commands%3A%3Ax%0A.md,line=1," in out
    assert "::warning file=docs/lanes/S009%2C%0A%3A%3Aerror%3A%3Ay.md,title=" in out


# -- --format sarif ------------------------------------------------------------------------------


def sarif_validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema", reason="pip install -e '.[test]'")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


def test_sarif_is_valid_2_1_0_with_one_rule_per_condition(repo: GitRepo) -> None:
    proven_family(repo)
    repo.stage(RENAMED)
    r = run_compactor("check", "--format", "sarif", cwd=repo.root)
    assert r.code == 1
    log = json.loads(r.out)
    errors = sorted(sarif_validator().iter_errors(log), key=str)
    assert not errors, "\n".join(e.message for e in errors[:5])
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(TITLES)
    results = run["results"]
    assert {res["ruleId"] for res in results} >= {"proven", "guardrails", "label-only", "rename"}
    for res in results:
        assert res["level"] == "error"
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "docs/lanes/S004.md"
        assert loc["region"]["startLine"] == 1
        assert res["message"]["text"].startswith(
            f"S004 (docs/lanes/S004.md): {TITLES[res['ruleId']]}: ")
    rename = next(res for res in results if res["ruleId"] == "rename")
    assert "S003's with 'flag invoice' → 'reopen ticket'" in rename["message"]["text"]
    assert run["invocations"][0]["exitCode"] == 1


def test_sarif_of_a_clean_pass_and_of_a_warning_is_valid(repo: GitRepo) -> None:
    proven_family(repo)
    validator = sarif_validator()
    repo.stage({"docs/lanes/S004-webhook-retries.md": NEW_TOPIC.format(n=4)})
    clean = sarif_log(run_check(Repo(repo.root), Config()))
    assert not list(validator.iter_errors(clean)) and clean["runs"][0]["results"] == []
    claim = '"Reopening re-runs the fraud checks the earlier actions skip"'
    fraud = "\n## Fraud checks\n\n- Reopening re-runs the fraud checks the earlier actions skip.\n"
    repo.stage({"docs/lanes/S005 reopen ticket.md": with_front(small_lane(5, "reopen ticket"),
                                                               new_truth=claim) + fraud})
    warned = sarif_log(run_check(Repo(repo.root), Config()))
    assert not list(validator.iter_errors(warned))
    results = warned["runs"][0]["results"]
    assert results and {res["level"] for res in results} == {"warning"}
    uri = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "docs/lanes/S005%20reopen%20ticket.md"
    assert "its new_truth claim is earned" in results[0]["message"]["text"]


# -- action.yml and the README workflow ------------------------------------------------------------

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def expand(text: str, context: dict[str, str]) -> str:
    """GitHub's ${{ name }} for plain context names (all the action uses in values)."""
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        assert re.fullmatch(r"[\w.-]+", name), f"unexpected expression {name!r}"
        return context.get(name, "")
    return EXPR.sub(one, text)


def run_steps(steps: list[dict[str, Any]], context: dict[str, str], cwd: Path,
              tmp: Path) -> list[subprocess.CompletedProcess[str]]:
    """Each `run:` step as the runner runs it (bash -eo pipefail), compactor from this venv."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "RUNNER_TEMP": str(tmp), "GITHUB_PATH": str(tmp / "github_path"),
           "GITHUB_WORKSPACE": str(cwd),  # steps run in the workspace
           "GITHUB_ACTION_PATH": str(PROJECT)}
    done = []
    for step in steps:
        step_env = {k: expand(str(v), context) for k, v in (step.get("env") or {}).items()}
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                               expand(step["run"], context)], cwd=cwd, env={**env, **step_env},
                              capture_output=True, text=True, timeout=300)
        print(f"--- {step.get('name', step['run'])}: exit {proc.returncode}\n{proc.stdout}"
              f"{proc.stderr}")
        done.append(proc)
    return done


def pull_request(repo: GitRepo) -> tuple[str, str]:
    """main with three proven lanes and a fresh inventory; a branch adding a renamed lane
    (with its inventory regenerated); main moved on after the branch point."""
    proven_family(repo)
    assert run_compactor("inventory", cwd=repo.root).code == 0
    repo.commit({"docs/INVENTORY.md": (repo.root / "docs/INVENTORY.md").read_text()})
    repo.git("checkout", "-q", "-b", "pr")
    repo.stage(RENAMED)
    # regenerated at the time of the commit it goes into, as the fixer hook does (a staged
    # lane's time decides which loop episode it joins)
    assert run_compactor("inventory", cwd=repo.root,
                         env={"GIT_COMMITTER_DATE": f"{T0 + 60} +0000"}).code == 0
    head = repo.commit({"docs/INVENTORY.md": (repo.root / "docs/INVENTORY.md").read_text(),
                        **RENAMED}, when=T0 + 60)
    repo.git("checkout", "-q", "main")
    base = repo.commit({"notes/readme.md": "# notes\n"}, when=T0 + 120)
    repo.git("checkout", "-q", "pr")
    return base, head


def test_action_yml_commands_against_a_pull_request(repo: GitRepo, tmp_path: Path) -> None:
    action = YAML(typ="safe").load((PROJECT / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) >= {"range", "path"}
    install, *steps = action["runs"]["steps"]
    assert '"${COMPACTOR_PACKAGE:-$GITHUB_ACTION_PATH}"' in install["run"]
    assert "$GITHUB_PATH" in install["run"]
    runs = [s["run"] for s in steps]
    assert any("check --range" in r and "--format github" in r for r in runs)
    assert any(r.endswith(" verify") for r in runs)
    assert any(r.endswith(" inventory --check") for r in runs)

    base, head = pull_request(repo)
    assert repo.root == tmp_path / "repo"  # the docs repo checked out into a workspace folder
    context = {"inputs.path": "repo", "inputs.range": "",
               "github.event.pull_request.base.sha": base,
               "github.event.pull_request.head.sha": head}
    check, verify, inventory = run_steps(steps, context, tmp_path, tmp_path)
    assert check.returncode == 1
    assert check.stdout.startswith("::error file=repo/docs/lanes/S004.md,line=1,title=compactor%3A "
                                   "S004 blocked")
    assert check.stdout.rstrip().endswith(f"the range {base}...{head} adds 1 lane; 1 blocked")
    assert verify.returncode == 0 and "no compaction manifest" in verify.stdout
    assert inventory.returncode == 0 and "docs/INVENTORY.md is up to date" in inventory.stderr

    # an explicit range input wins; outside a pull request, no range is a clear error
    context.update({"inputs.range": "main...pr"})
    assert run_steps(steps[:1], context, tmp_path, tmp_path)[0].returncode == 1
    context = {"inputs.path": "repo", "inputs.range": ""}
    (none,) = run_steps(steps[:1], context, tmp_path, tmp_path)
    assert none.returncode == 2 and none.stdout.startswith("::error title=compactor::no range")


def test_readme_workflow_commands_against_a_pull_request(repo: GitRepo, tmp_path: Path) -> None:
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"^```yaml\n(.*?)^```$", text, re.S | re.M)
                if "on: pull_request" in b]
    workflow = YAML(typ="safe").load(block)
    (job,) = workflow["jobs"].values()
    steps = [s for s in job["steps"] if "run" in s]
    assert [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout")][0][
        "with"]["fetch-depth"] == 0
    install, *commands = steps
    # compactor is not on the package index: the workflow installs the team's copy (placeholders)
    assert re.fullmatch(r'pip install "git\+https://GIT-HOST/YOUR-ORG/compactor\.git@v[\d.]+"',
                        install["run"].strip())
    base, head = pull_request(repo)
    context = {"github.event.pull_request.base.sha": base,
               "github.event.pull_request.head.sha": head}
    check, verify, inventory = run_steps(commands, context, repo.root, tmp_path)
    assert check.returncode == 1 and check.stdout.startswith("::error file=docs/lanes/S004.md,")
    assert verify.returncode == 0 and inventory.returncode == 0
