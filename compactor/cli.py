"""The click shell: parse options, call the core, print, return an exit code.

This is the only module that imports click, prints results or exits. Errors
from the core arrive as CompactorError and leave as one line on stderr with the
error's fixed exit code (see errors.py); anything else is a bug: exit 3.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from compactor.errors import EXIT_INTERNAL, EXIT_USAGE, CompactorError

if TYPE_CHECKING:
    from compactor.config import Config
    from compactor.git import Repo
    from compactor.scan import Progress

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """What every command gets: the -C path, resolved lazily."""

    def __init__(self, repo_path: str | None) -> None:
        self.repo_path = repo_path
        self._repo: Repo | None = None
        self._config: Config | None = None

    @property
    def repo(self) -> Repo:
        if self._repo is None:
            from compactor.git import Repo

            self._repo = Repo.discover(self.repo_path)
        return self._repo

    @property
    def config(self) -> Config:
        if self._config is None:
            from compactor.config import load_config

            self._config = load_config(self.repo.root)[0]
        return self._config


pass_ctx = click.make_pass_decorator(Context)


def warn(message: str) -> None:
    click.echo(f"compactor: warning: {message}", err=True)


def show_warnings(warnings: Any) -> None:
    for w in warnings:
        warn(w)


def progress_printer() -> Progress | None:
    """A progress line on stderr, only when stderr is a terminal and the work is long."""
    if not sys.stderr.isatty():
        return None

    def show(stage: str, done: int, total: int) -> None:
        if total >= 2000:
            end = "\n" if done >= total else ""
            sys.stderr.write(f"\r{stage}: {done}/{total} files{end}")
            sys.stderr.flush()

    return show


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-C",
    "--repo",
    "repo_path",
    metavar="PATH",
    default=None,
    help="Run as if started in PATH (like git -C). Default: the current directory's repo.",
)
@click.version_option(package_name="compactor", prog_name="compactor")
@click.pass_context
def cli(ctx: click.Context, repo_path: str | None) -> None:
    """Find renamed-but-similar agent lanes in a docs repo, gate repetition loops,
    and fold late lanes into one authoritative inventory.

    Exit codes: 0 ok, 1 blocked or stale, 2 usage or input error, 3 internal error.
    """
    ctx.obj = Context(repo_path)


FORMAT = click.Choice(["text", "json"])


@cli.command()
@click.option("--format", "fmt", type=FORMAT, default="text", show_default=True,
              help="Output format.")
@click.option("--rev", default=None, metavar="REV",
              help="Scan the tree of a commit instead of the index.")
@click.option("--no-cache", is_flag=True, help="Recompute every signature.")
@pass_ctx
def scan(ctx: Context, fmt: str, rev: str | None, no_cache: bool) -> None:
    """List families, phases, novelty and retention of every brief."""
    from compactor.render import scan_json, scan_text
    from compactor.scan import run_scan

    result = run_scan(ctx.repo, ctx.config, rev=rev, progress=progress_printer(),
                      use_cache=not no_cache)
    show_warnings(result.warnings)
    click.echo(scan_json(result) if fmt == "json" else scan_text(result))


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", default=0, show_default=True, help="Seed of the generated loop.")
def demo(directory: Path | None, seed: int) -> None:
    """Build an example docs repo replaying a runaway lane loop, and scan it.

    DIRECTORY (default: a new temporary directory) must be empty or missing.
    """
    from compactor.demo import run_demo

    for line in run_demo(directory, seed=seed):
        click.echo(line)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI with the project's error handling."""
    try:
        code = cli.main(args=argv, prog_name="compactor", standalone_mode=False)
    except CompactorError as exc:
        click.echo(f"compactor: error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("compactor: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code if exc.exit_code else EXIT_USAGE)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
    except KeyboardInterrupt:
        click.echo("compactor: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the one place bugs become exit 3
        if os.environ.get("COMPACTOR_DEBUG"):
            raise
        where = ""
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            where = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
        click.echo(
            f"compactor: internal error: {type(exc).__name__}: {exc}{where}; this is a bug, "
            "please report it (set COMPACTOR_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)
