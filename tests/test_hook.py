"""Both hooks through the real pre-commit framework and real `git commit`, configured
with the README's own snippets.

The project sources (as they are in this checkout, committed or not) are copied into a
temporary git repo that plays the user's clone of compactor; the README's `printf` line,
run in it, writes the docs repo's `.pre-commit-config.yaml` (path and commit). The README's
`repo: local` snippet installs the distribution from the package index: here a wheel built
from the same sources stands in for the index (PIP_FIND_LINKS). pre-commit builds each
hook's own virtualenv in a PRE_COMMIT_HOME shared by the tests of this file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GitRepo, git
from tests.test_check import NEW_TOPIC, small_lane, with_front

pytest.importorskip("pre_commit", reason="pre-commit is not installed (pip install -e '.[test]')")

PROJECT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml", "compactor", "templates")
# Read before the autouse fixture points HOME at a temp dir: reuse the user's wheel cache.
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")


@pytest.fixture(scope="module")
def hook_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A hook repo holding this checkout's sources, and the environment pre-commit runs in."""
    base = tmp_path_factory.mktemp("hook")
    src = base / "compactor-hooks"
    src.mkdir()
    for name in SOURCES:
        if (PROJECT / name).is_dir():
            shutil.copytree(PROJECT / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(PROJECT / name, src / name)
    env = {
        **os.environ,
        "HOME": str(base),
        "GIT_CONFIG_GLOBAL": str(base / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test Agent",
        "GIT_AUTHOR_EMAIL": "agent@example.invalid",
        "GIT_COMMITTER_NAME": "Test Agent",
        "GIT_COMMITTER_EMAIL": "agent@example.invalid",
        "PRE_COMMIT_HOME": str(base / "pre-commit-home"),
        "PIP_CACHE_DIR": PIP_CACHE,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMITTER_DATE",
                "GIT_AUTHOR_DATE", "COMPACTOR_DEBUG", "VIRTUAL_ENV"):
        env.pop(key, None)
    git(src, "init", "-q", "-b", "main", env=env)
    git(src, "add", "-A", env=env)
    git(src, "-c", "commit.gpgsign=false", "commit", "-q", "-m", "hooks", env=env)
    env["HOOK_REPO"] = str(src)
    env["HOOK_REV"] = git(src, "rev-parse", "HEAD", env=env).strip()
    yield env


def readme_block(lang: str, needle: str) -> str:
    """The README's fenced ``lang`` block that contains ``needle``."""
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(rf"^```{lang}\n(.*?)^```$", text, re.S | re.M) if needle in b]
    assert len(blocks) == 1, f"README.md should have one ```{lang} block with {needle!r}"
    return blocks[0]


def commit(repo: GitRepo, env: dict[str, str], message: str) -> subprocess.CompletedProcess[str]:
    """A real `git commit`, which runs the installed pre-commit hook."""
    proc = subprocess.run(["git", "commit", "-m", message], cwd=repo.root, env=env,
                          capture_output=True, text=True, timeout=900)
    print(f"git commit -m {message!r}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def install(repo: GitRepo, env: dict[str, str], config: str) -> None:
    """Lanes S001-S003 (proven) committed, the config committed, pre-commit installed."""
    repo.write(".pre-commit-config.yaml", config)
    repo.commit({f"docs/lanes/S00{k}.md": small_lane(k, a, status="proven") for k, a in
                 enumerate(["approve invoice", "cancel vendor", "flag invoice"], 1)},
                when=1_778_400_000)
    repo.commit({".pre-commit-config.yaml": config})
    proc = subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo.root,
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    hooks = subprocess.run([sys.executable, "-m", "pre_commit", "install-hooks"], cwd=repo.root,
                           env=env, capture_output=True, text=True, timeout=900)
    assert hooks.returncode == 0, f"pre-commit could not build the hook env:\n{hooks.stdout}"


def fixer_round(repo: GitRepo, env: dict[str, str], files: dict[str, str], message: str) -> str:
    """Stage ``files`` and commit: the inventory hook fixes the inventory and fails; add it and
    commit again: it passes. Returns the second commit's output."""
    head = repo.git("rev-parse", "HEAD")
    repo.stage(files)
    proc = commit(repo, env, message)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, "the first commit should stop at the fixed inventory"
    assert "compactor inventory is fresh" in out and "Failed" in out
    assert "fixed docs/INVENTORY.md: it was " in out
    assert "`git add docs/INVENTORY.md` and commit again" in out
    assert repo.git("rev-parse", "HEAD") == head
    assert "compactor:inventory:begin" in (repo.root / "docs/INVENTORY.md").read_text()
    repo.git("add", "docs/INVENTORY.md")
    proc = commit(repo, env, message)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, "the second commit, with the fixed inventory, should pass"
    assert repo.git("log", "-1", "--format=%s").strip() == message
    assert "fixed docs/" not in out
    return out


@pytest.mark.slow  # started first: see tests/conftest.py
def test_readme_local_clone_snippet_runs_both_hooks(
    repo: GitRepo, hook_env: dict[str, str]
) -> None:
    env = hook_env
    printf = readme_block("sh", "printf 'repos:").strip()
    made = subprocess.run(["bash", "-c", printf], cwd=env["HOOK_REPO"], env=env,
                          capture_output=True, text=True, check=True)
    config = made.stdout
    assert f"repo: {env['HOOK_REPO']}\n" in config and f"rev: {env['HOOK_REV']}\n" in config
    install(repo, env, config)

    # a lane on a genuinely new topic: the gate is quiet, the inventory is fixed, then it passes
    out = fixer_round(repo, env, {"docs/lanes/S004-webhook-retries.md": NEW_TOPIC.format(n=4)},
                      "S004 webhook retries")
    assert re.search(r"compactor check \(repetition gate\)\.+Passed", out)
    assert re.search(r"compactor inventory is fresh\.+Passed", out)
    assert "BLOCKED" not in out and "WARNING" not in out and "compactor:" not in out

    # a renamed lane: refused, and the reason is shown
    head = repo.git("rev-parse", "HEAD")
    repo.stage({"docs/lanes/S005.md": small_lane(5, "reopen ticket", status="proven")})
    proc = commit(repo, env, "S005 reopen ticket")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert re.search(r"compactor check \(repetition gate\)\.+Failed", out)
    assert "BLOCKED docs/lanes/S005.md (S005)" in out
    assert "renamed lane: title = S003's with 'flag invoice' → 'reopen ticket'" in out
    assert "What new truth does this lane buy that the last three did not (S001, S002, S003)?" in out
    assert repo.git("rev-parse", "HEAD") == head

    # the same lane with a claim of new truth that the lane holds (a claim must point to
    # lines the lane adds): it passes, the claim is in the inventory
    claim = "Reopening re-runs the fraud checks the earlier actions skip"
    fraud = "\n## Fraud checks\n\n- Reopening re-runs the fraud checks the earlier actions skip.\n"
    repo.git("checkout", "--", "docs/INVENTORY.md")
    out = fixer_round(repo, env, {"docs/lanes/S005.md": with_front(
        small_lane(5, "reopen ticket"), new_truth=f'"{claim}"') + fraud}, "S005 with a claim")
    assert re.search(r"compactor check \(repetition gate\)\.+Passed", out)
    assert "BLOCKED" not in out
    assert claim in (repo.root / "docs/INVENTORY.md").read_text()


@pytest.mark.slow  # started first: see tests/conftest.py
def test_readme_package_index_snippet_runs_both_hooks(
    repo: GitRepo, hook_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(hook_env)
    wheels = tmp_path / "index"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                            str(wheels), env["HOOK_REPO"]], env=env, capture_output=True,
                           text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    env["PIP_FIND_LINKS"] = str(wheels)
    config = readme_block("yaml", "repo: local")
    version = re.search(r'^version = "(.+)"$', (PROJECT / "pyproject.toml").read_text(), re.M)
    assert version and f"lane-compactor=={version[1]}" in config, "pin the current version"
    install(repo, env, config)

    out = fixer_round(repo, env, {"docs/lanes/S004-webhook-retries.md": NEW_TOPIC.format(n=4)},
                      "S004 webhook retries")
    assert re.search(r"compactor check \(repetition gate\)\.+Passed", out)
    assert re.search(r"compactor inventory is fresh\.+Passed", out)


def test_readme_team_snippet_names_the_local_clone_snippets_hooks(tmp_path: Path) -> None:
    # the team's config is the local-clone one (which runs above under pre-commit) with the
    # URL and tag of the team's copy in place of a path on one machine; both clearly marked
    from ruamel.yaml import YAML

    team = YAML(typ="safe").load(readme_block("yaml", "-   repo: https://GIT-HOST/"))
    assert "placeholder" in readme_block("yaml", "-   repo: https://GIT-HOST/")
    printf = readme_block("sh", "printf 'repos:").strip()
    made = subprocess.run(["bash", "-c", printf.replace('"$(git rev-parse HEAD)"', "v0.1.0")],
                          cwd=tmp_path, capture_output=True, text=True, check=True)
    clone = YAML(typ="safe").load(made.stdout)
    assert clone["repos"][0]["repo"] == str(tmp_path)
    (repo,) = team["repos"]
    assert repo["repo"] == "https://GIT-HOST/YOUR-ORG/compactor.git" and repo["rev"] == "v0.1.0"
    assert repo["hooks"] == clone["repos"][0]["hooks"]
    shipped = YAML(typ="safe").load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in repo["hooks"]] == [h["id"] for h in shipped]


def test_readme_local_snippet_matches_the_shipped_hooks() -> None:
    # the `repo: local` snippet is the shipped manifest plus the package to install
    from ruamel.yaml import YAML

    (local,) = YAML(typ="safe").load(readme_block("yaml", "repo: local"))["repos"]
    shipped = YAML(typ="safe").load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in local["hooks"]] == [h["id"] for h in shipped]
    for mine, theirs in zip(local["hooks"], shipped, strict=True):
        assert {k: v for k, v in mine.items() if k != "additional_dependencies"} == {
            k: v for k, v in theirs.items() if k != "description"}, mine["id"]
