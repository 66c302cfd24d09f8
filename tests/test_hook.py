"""The `compactor-check` hook through the real pre-commit framework and real `git commit`.

The project sources (as they are in this checkout, committed or not) are copied into a
temporary git repo that plays the hook repository; a docs repo's `.pre-commit-config.yaml`
points at it by path and commit, exactly as a user's would point at a tag. pre-commit then
builds the hook's own virtualenv (from PyPI: the first run takes a while) in a
PRE_COMMIT_HOME shared by the tests of this file.
"""

from __future__ import annotations

import os
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
SOURCES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "compactor", "templates")
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


def commit(repo: GitRepo, env: dict[str, str], message: str) -> subprocess.CompletedProcess[str]:
    """A real `git commit`, which runs the installed pre-commit hook."""
    proc = subprocess.run(["git", "commit", "-m", message], cwd=repo.root, env=env,
                          capture_output=True, text=True, timeout=900)
    print(f"git commit -m {message!r}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_hook_refuses_a_renamed_lane_and_commits_a_novel_one(
    repo: GitRepo, hook_env: dict[str, str]
) -> None:
    env = hook_env
    repo.write(".pre-commit-config.yaml", (
        "repos:\n"
        f"-   repo: {env['HOOK_REPO']}\n"
        f"    rev: {env['HOOK_REV']}\n"
        "    hooks:\n"
        "    -   id: compactor-check\n"
    ))
    repo.commit({f"docs/lanes/S00{k}.md": small_lane(k, a, status="proven") for k, a in
                 enumerate(["approve invoice", "cancel vendor", "flag invoice"], 1)},
                when=1_778_400_000)
    repo.commit({".pre-commit-config.yaml": (repo.root / ".pre-commit-config.yaml").read_text()})
    install = subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo.root,
                             env=env, capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    hooks = subprocess.run([sys.executable, "-m", "pre_commit", "install-hooks"], cwd=repo.root,
                           env=env, capture_output=True, text=True, timeout=900)
    assert hooks.returncode == 0, f"pre-commit could not build the hook env:\n{hooks.stdout}"
    head = repo.git("rev-parse", "HEAD")

    # a renamed lane: refused, and the reason is shown
    repo.stage({"docs/lanes/S004.md": small_lane(4, "reopen ticket", status="proven")})
    proc = commit(repo, env, "S004 reopen ticket")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "compactor check (repetition gate)" in out and "Failed" in out
    assert "BLOCKED docs/lanes/S004.md (S004)" in out
    assert "    - renamed lane: title = S003's with 'flag invoice' → 'reopen ticket'" in out
    assert "What new truth does this lane buy that the last three did not (S001, S002, S003)?" in out
    assert repo.git("rev-parse", "HEAD") == head

    # the same lane with a claim of new truth: committed, with the warning shown
    claim = '"Reopening re-runs the fraud checks the earlier actions skip"'
    repo.stage({"docs/lanes/S004.md": with_front(small_lane(4, "reopen ticket"), new_truth=claim)})
    proc = commit(repo, env, "S004 with a claim")
    assert proc.returncode == 0
    out = proc.stdout + proc.stderr  # git shows hook output on stderr
    assert "WARNING docs/lanes/S004.md (S004)" in out
    assert "passes on its new_truth claim" in out

    # a lane on a genuinely new topic: committed
    repo.stage({"docs/lanes/S005-webhook-retries.md": NEW_TOPIC.format(n=5)})
    proc = commit(repo, env, "S005 webhook retries")
    assert proc.returncode == 0
    out = proc.stdout + proc.stderr
    assert "compactor check (repetition gate)" in out and "Passed" in out
    assert "BLOCKED" not in out and "WARNING" not in out
    assert repo.git("log", "-1", "--format=%s").strip() == "S005 webhook retries"
