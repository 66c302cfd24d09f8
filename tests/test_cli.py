from __future__ import annotations

from pathlib import Path

import click
import pytest
from conftest import run_compactor

from compactor.cli import cli
from tests.conftest import GitRepo
from tests.test_check import small_lane

COMMANDS = sorted(cli.commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, tmp_path: Path) -> None:
    result = run_compactor(command, "--help", cwd=tmp_path)
    assert result.code == 0
    cmd = cli.commands[command]  # type: ignore[attr-defined]
    assert isinstance(cmd, click.Command) and cmd.help
    assert cmd.help.split("\n")[0].strip() in result.out


def test_not_a_repository_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_compactor("scan", cwd=tmp_path, fresh=True)  # `python -m compactor` itself
    assert result.code == 2
    assert result.err.strip().count("\n") == 0
    assert "not inside a git repository" in result.err and "-C/--repo" in result.err
    assert "Traceback" not in result.err


def test_dash_c_points_at_another_repo(tmp_path: Path) -> None:
    result = run_compactor("-C", str(tmp_path / "missing"), "scan", cwd=tmp_path)
    assert result.code == 2
    assert "no such directory" in result.err


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = run_compactor("scna", cwd=tmp_path)
    assert result.code == 2
    assert "No such command" in result.err




def test_every_option_has_help_text() -> None:
    for name, cmd in cli.commands.items():  # type: ignore[attr-defined]
        for param in cmd.params:
            if isinstance(param, click.Option):
                assert param.help, f"compactor {name} {param.opts[0]} has no help text"


# -- the same options in every command -----------------------------------------------------------

T0 = 1_778_400_000


def three_lanes(repo: GitRepo) -> None:
    repo.commit({f"docs/lanes/S00{k}.md": small_lane(k, a, status="proven") for k, a in
                 enumerate(["approve invoice", "cancel vendor", "flag invoice"], 1)}, when=T0)


def test_dash_c_is_accepted_after_the_command(repo: GitRepo, tmp_path: Path) -> None:
    three_lanes(repo)
    before = run_compactor("-C", str(repo.root), "scan", cwd=tmp_path)
    after = run_compactor("scan", "-C", str(repo.root), cwd=tmp_path)
    assert before.code == after.code == 0 and before.out == after.out
    assert after.out.startswith("3 briefs, 1 family; ")  # one family, not "1 families"
    # the later -C wins, as the one after the command is the one a user just typed
    late = run_compactor("-C", str(tmp_path / "missing"), "report", "--repo", str(repo.root),
                         cwd=tmp_path)
    assert late.code == 0 and "briefs:        3 in 1 family" in late.out
    for command in ("check", "inventory", "verify", "compact"):
        assert run_compactor(command, "-C", str(repo.root), cwd=tmp_path).code in (0, 1)


def test_rev_and_no_cache_wherever_a_scan_runs(repo: GitRepo) -> None:
    three_lanes(repo)
    first = repo.git("rev-parse", "HEAD").strip()
    repo.commit({"docs/lanes/S004-reopen-ticket.md": small_lane(4, "reopen ticket")},
                when=T0 + 60)
    old = run_compactor("report", "--rev", first, "--no-cache", cwd=repo.root)
    assert old.code == 0 and "lanes:         3 (S001 .. S003)" in old.out
    now = run_compactor("report", cwd=repo.root)
    assert "lanes:         4 (S001 .. S004)" in now.out
    # inventory --rev renders from that commit; --check --rev checks that commit's file
    assert run_compactor("inventory", "--rev", first, "--no-cache", cwd=repo.root).code == 0
    text = (repo.root / "docs/INVENTORY.md").read_text()
    assert "S003" in text and "S004" not in text
    repo.commit({"docs/INVENTORY.md": text}, when=T0 + 120)
    stale = run_compactor("inventory", "--check", "--rev", "HEAD", cwd=repo.root)
    assert stale.code == 1 and stale.err.startswith("docs/INVENTORY.md in HEAD is stale")
    missing = run_compactor("inventory", "--check", "--rev", first, cwd=repo.root)
    assert missing.code == 1 and "docs/INVENTORY.md in " in missing.err and "is missing" in missing.err
    # closeout: --rev, --no-cache, and -o - for stdout (nothing written)
    before = repo.state()
    out = run_compactor("closeout", "S001", "-o", "-", "--rev", first, "--no-cache",
                        cwd=repo.root)
    assert out.code == 0 and out.out.startswith("---\nkind: closeout\n")
    assert "S004" not in out.out and repo.state() == before


def test_colour_on_request_and_never_in_machine_formats(repo: GitRepo) -> None:
    three_lanes(repo)
    repo.stage({"docs/lanes/S004.md": small_lane(4, "reopen ticket", status="proven")})
    plain = run_compactor("check", cwd=repo.root)  # not a terminal: no colour
    assert plain.code == 1 and "\x1b[" not in plain.out + plain.err
    forced = run_compactor("check", cwd=repo.root, env={"FORCE_COLOR": "1"})
    assert forced.out.startswith("\x1b[31m\x1b[1mBLOCKED\x1b[0m docs/lanes/S004.md (S004)")
    assert click.unstyle(forced.out) == plain.out
    off = run_compactor("check", cwd=repo.root, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert off.out == plain.out
    for fmt in ("json", "github", "sarif"):
        assert "\x1b[" not in run_compactor("check", "--format", fmt, cwd=repo.root,
                                            env={"FORCE_COLOR": "1"}).out
    err = run_compactor("-C", "/nonexistent-dir", "scan", cwd=repo.root, env={"FORCE_COLOR": "1"})
    assert err.err.startswith("\x1b[31m\x1b[1mcompactor: error:\x1b[0m ")


def test_json_outputs_carry_a_schema_version(repo: GitRepo) -> None:
    import json

    from compactor import SCHEMA_VERSION

    three_lanes(repo)
    repo.stage({"docs/lanes/S004.md": small_lane(4, "reopen ticket", status="proven")})
    for args in (("scan", "--format", "json"), ("check", "--format", "json"),
                 ("report", "--format", "json"),
                 ("scan", "--format", "json", "--explain", "docs/lanes/S001.md")):
        data = json.loads(run_compactor(*args, cwd=repo.root).out)
        assert next(iter(data)) == "schema_version" and data["schema_version"] == SCHEMA_VERSION


def test_an_include_glob_that_matches_nothing_is_named(repo: GitRepo) -> None:
    repo.commit({"docs/lanes/S001.md": small_lane(1, "approve invoice"),
                 ".compactor.yaml": "include: ['notes/*.md', 'docs/**/*.md']\n"})
    warning = ("compactor: warning: .compactor.yaml: include 'notes/*.md' matches no file "
               "compactor reads (the index, or the tree of --rev, minus exclude); fix the glob: "
               "paths start at the repository root and `**/` spans folders")
    for command in (["scan"], ["report"], ["inventory", "--check"]):
        r = run_compactor(*command, cwd=repo.root)
        assert r.code == (1 if command[0] == "inventory" else 0)
        assert r.err.splitlines()[0] == warning and r.err.count("matches no file") == 1
    # every glob matching: quiet; the default include is never warned about
    repo.commit({".compactor.yaml": "include: ['docs/**/*.md']\n"})
    assert "matches no file" not in run_compactor("scan", cwd=repo.root).err
    repo.commit({".compactor.yaml": "threshold: 0.6\n", "docs/lanes/S001.md": "# x\n"})
    repo.git("rm", "-q", "docs/lanes/S001.md")
    assert "matches no file" not in run_compactor("scan", cwd=repo.root).err
    # pyproject.toml names itself
    repo.git("rm", "-q", ".compactor.yaml")
    repo.commit({"pyproject.toml": "[tool.compactor]\ninclude = ['notes/**/*.md']\n"})
    r = run_compactor("scan", cwd=repo.root)
    assert r.code == 0 and r.err.startswith(
        "compactor: warning: pyproject.toml: include 'notes/**/*.md' matches no file")
