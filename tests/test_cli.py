from __future__ import annotations

from pathlib import Path

import click
import pytest
from conftest import run_compactor

from compactor.cli import cli

COMMANDS = sorted(cli.commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, tmp_path: Path) -> None:
    result = run_compactor(command, "--help", cwd=tmp_path)
    assert result.code == 0
    cmd = cli.commands[command]  # type: ignore[attr-defined]
    assert isinstance(cmd, click.Command) and cmd.help
    assert cmd.help.split("\n")[0].strip() in result.out


def test_not_a_repository_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_compactor("scan", cwd=tmp_path)
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


