"""Shared fixtures: real temporary git repos and a real `compactor` process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from compactor.config import Config
from compactor.git import Repo
from compactor.scan import Scan, run_scan

# CI replays a fixed set of examples (a red build must mean a change broke
# something, not that a new random input turned up); locally every run explores.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Without pytest-xdist (a venv made before it joined the test extras, or
    ``-p no:xdist``) the ``-n auto --dist worksteal`` of pyproject's addopts are accepted
    and ignored: the tests run in this one process instead of stopping at a usage error."""
    if not pluginmanager.has_plugin("xdist"):
        group = parser.getgroup("xdist", "without pytest-xdist: ignored")
        group._addoption("-n", "--numprocesses", dest="numprocesses", default=None,
                         help="ignored: pytest-xdist is not installed")
        group.addoption("--dist", dest="dist", default="no",
                        help="ignored: pytest-xdist is not installed")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (pyproject's addopts) is one worker per CPU for the whole suite or a
    folder, and this one process for named files or tests (`pytest tests/test_x.py`):
    starting the workers costs seconds that a small selection does not win back."""
    named = config.args_source == pytest.Config.ArgsSource.ARGS and not any(
        Path(arg.split("::")[0]).is_dir() for arg in config.args)
    return 0 if named else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The few tests marked ``slow`` (each several seconds: real pip installs, a hundred
    commits, a benchmark run) go first, so that the workers of ``-n auto`` start them
    early and share out the short ones after, instead of one worker meeting a slow test
    at the end while the others wait. The order of the rest is kept."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _git_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")
    for key, value in {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test Agent",
        "GIT_AUTHOR_EMAIL": "agent@example.invalid",
        "GIT_COMMITTER_NAME": "Test Agent",
        "GIT_COMMITTER_EMAIL": "agent@example.invalid",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMITTER_DATE",
                "GIT_AUTHOR_DATE", "SOURCE_DATE_EPOCH", "COMPACTOR_DEBUG", "NO_COLOR",
                "FORCE_COLOR"):
        monkeypatch.delenv(key, raising=False)


def git(root: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, f"git {' '.join(args)} failed: {proc.stderr}"
    return proc.stdout


@dataclass
class GitRepo:
    root: Path

    def write(self, path: str, text: str | bytes) -> Path:
        p = self.root / path
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")
        return p

    def git(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        return git(self.root, *args, env=env)

    def commit(self, files: Mapping[str, str | bytes], when: int | None = None,
               message: str = "docs") -> str:
        if files:
            self.stage(files)
        env = {}
        if when is not None:
            env = {"GIT_AUTHOR_DATE": f"{when} +0000", "GIT_COMMITTER_DATE": f"{when} +0000"}
        # maintenance.auto=false: no `git maintenance run --auto` child process per commit
        self.git("-c", "maintenance.auto=false", "commit", "-q", "--no-verify", "-m", message, env=env)
        return self.head_commit()

    def head_commit(self) -> str:
        """HEAD's commit id: read from the ref file git just wrote (one process fewer per
        commit); ``git rev-parse HEAD`` when the ref is not a plain loose file."""
        dot_git = self.root / ".git"
        try:
            ref = (dot_git / "HEAD").read_text(encoding="utf-8").strip()
            if ref.startswith("ref: refs/"):
                ref = (dot_git / ref[len("ref: "):]).read_text(encoding="utf-8").strip()
        except OSError:
            ref = ""
        if len(ref) in (40, 64) and all(c in "0123456789abcdef" for c in ref):
            return ref
        return self.git("rev-parse", "HEAD").strip()

    def stage(self, files: Mapping[str, str | bytes]) -> None:
        for path, text in files.items():
            self.write(path, text)
        self.git("add", "--", *files)

    def scan(self, config: Config | None = None, **kw: object) -> Scan:
        return run_scan(Repo(self.root), config or Config(), **kw)  # type: ignore[arg-type]

    def state(self) -> tuple[str, str, str]:
        """Refs, index and working tree, to prove a command changed nothing."""
        refs = self.git("for-each-ref", "--format=%(refname) %(objectname)")
        head = self.git("rev-parse", "-q", "--verify", "HEAD") if self.has_commits() else ""
        index = self.git("ls-files", "-s")
        files = []
        for p in sorted(self.root.rglob("*")):
            if ".git" in p.relative_to(self.root).parts or p.is_dir():
                continue
            files.append(f"{p.relative_to(self.root)}:{p.read_bytes().hex()[:64]}:{p.stat().st_size}")
        return refs + head, index, "\n".join(files)

    def has_commits(self) -> bool:
        return subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD"], cwd=self.root,
                              capture_output=True).returncode == 0


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    # what `git config commit.gpgsign false` writes, without a second process per test
    with open(root / ".git" / "config", "a", encoding="utf-8") as config:
        config.write("[commit]\n\tgpgsign = false\n")
    return GitRepo(root)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def run_compactor(*args: str, cwd: Path, env: Mapping[str, str] | None = None,
                  input: str | None = None, fresh: bool = False) -> Result:
    """Run the real CLI entry point (``compactor.cli.main``) and capture its exit code,
    stdout and stderr; print them if an assertion fails.

    In this process by default — a fresh interpreter costs ~0.3 s and adds nothing
    to most tests; ``fresh=True`` (or ``COMPACTOR_TEST_FRESH=1`` for the whole suite)
    runs ``python -m compactor`` instead."""
    if fresh or os.environ.get("COMPACTOR_TEST_FRESH"):
        proc = subprocess.run(
            [sys.executable, "-m", "compactor", *args], cwd=cwd, capture_output=True, text=True,
            env={**os.environ, **(env or {})}, input=input,
        )
        result = Result(proc.returncode, proc.stdout, proc.stderr)
    else:
        result = _in_process(list(args), cwd, env, input)
    print(result)
    return result


def _in_process(args: list[str], cwd: Path, env: Mapping[str, str] | None,
                input: str | None) -> Result:
    import traceback

    from click.testing import CliRunner

    from compactor.cli import main

    here = os.getcwd()
    os.chdir(cwd)
    try:
        with CliRunner().isolation(input=input or "", env=dict(env or {})) as (out, err, _):
            try:
                main(args)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:  # noqa: BLE001 - what an uncaught exception does to a process
                sys.stderr.write(traceback.format_exc())
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            stdout, stderr = out.getvalue(), err.getvalue()
    finally:
        os.chdir(here)
    return Result(code, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"))
