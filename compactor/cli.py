"""The click shell: parse options, call the core, print, return an exit code.

This is the only module that imports click, prints results or exits. Errors
from the core arrive as CompactorError and leave as one line on stderr with the
error's fixed exit code (see errors.py); anything else is a bug: exit 3.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from compactor.errors import EXIT_INTERNAL, EXIT_USAGE, CompactorError
from compactor.words import plural

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

    def from_root(self, path: str) -> tuple[str, str]:
        """A PATH argument and the directory it is read from (as a path from the repo root; ''
        at the root or outside it): the -C directory when given, else the current one. An
        absolute PATH inside the repo becomes a path from the root."""
        root = self.repo.root.resolve()
        start = Path.cwd() / (self.repo_path or ".")
        given = Path(path)
        if given.is_absolute():
            try:  # the folders resolved (a symlinked checkout), the file named as given
                return (given.parent.resolve() / given.name).relative_to(root).as_posix(), ""
            except (ValueError, OSError, RuntimeError):  # outside, or a symlink loop
                return path, ""
        try:
            here = start.resolve().relative_to(root).as_posix()
        except (ValueError, OSError, RuntimeError):
            return path, ""
        return path, "" if here == "." else here

    @property
    def config(self) -> Config:
        if self._config is None:
            from compactor.config import load_config

            self._config, self.config_file = load_config(self.repo.root)
        return self._config

    config_file: str | None = None  # the file the config came from (None: the defaults)

    def include_warnings(self, scanned: Iterable[str]) -> list[str]:
        """A configured ``include`` glob that selects none of the ``scanned`` paths (the
        briefs the scan read) is most likely a typo or a path not from the root: say so
        (the scan finding nothing would otherwise look like a clean repo)."""
        from compactor.config import Config
        from compactor.files import unmatched

        config = self.config
        if self.config_file is None or config.include == Config().include:
            return []
        paths = list(scanned)
        return [f"{self.config_file}: include {pattern!r} matches no file compactor reads (the "
                "index, or the tree of --rev, minus exclude); fix the glob: paths start at the "
                "repository root and `**/` spans folders"
                for pattern in unmatched(config.include, paths)]


_pass_context = click.make_pass_decorator(Context)
REPO_HELP = "Run as if started in PATH (like git -C). Default: the current directory's repo."


def _repo_after_command(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(Context).repo_path = value


def pass_ctx(f: F) -> F:
    """Pass the Context, and accept -C/--repo after the command name too (`compactor scan -C X`)."""
    option = click.option("-C", "--repo", metavar="PATH", default=None, expose_value=False,
                          callback=_repo_after_command, help=REPO_HELP)
    return option(_pass_context(f))  # type: ignore[return-value]


def color_choice() -> bool | None:
    """Colour on a terminal: NO_COLOR (any value) turns it off, FORCE_COLOR turns it on even
    when the output is not a terminal; otherwise None (click decides: a TTY gets colour)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return None


def paint_verdicts(text: str) -> str:
    """The gate's text with its BLOCKED / WARNING heads coloured (removed off a TTY)."""
    out = []
    for line in text.split("\n"):
        if line.startswith("BLOCKED "):
            line = click.style("BLOCKED", fg="red", bold=True) + line[7:]
        elif line.startswith("WARNING "):
            line = click.style("WARNING", fg="yellow", bold=True) + line[7:]
        out.append(line)
    return "\n".join(out)


def warn(message: str) -> None:
    click.echo(click.style("compactor: warning:", fg="yellow") + f" {message}", err=True)


def show_warnings(warnings: Iterable[object]) -> None:
    """Each warning (a ``Warning`` record or a message) on a line of stderr."""
    for w in warnings:
        warn(str(w))


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
    help=REPO_HELP + " Also accepted after the command.",
)
@click.version_option(package_name="lane-compactor", prog_name="compactor")
@click.pass_context
def cli(ctx: click.Context, repo_path: str | None) -> None:
    """Find renamed-but-similar agent lanes in a docs repo, gate repetition loops,
    and fold late lanes into one authoritative inventory.

    Exit codes: 0 ok, 1 blocked or stale, 2 usage or input error, 3 internal error.
    Colour on a terminal; NO_COLOR turns it off, FORCE_COLOR on.
    """
    ctx.obj = Context(repo_path)
    ctx.color = color_choice()


FORMAT = click.Choice(["text", "json"])


@cli.command()
@click.option("--format", "fmt", type=FORMAT, default="text", show_default=True,
              help="Output format.")
@click.option("--rev", default=None, metavar="REV",
              help="Scan the tree of a commit instead of the index.")
@click.option("--no-cache", is_flag=True, help="Recompute every signature.")
@click.option("--explain", "explain", default=None, metavar="PATH",
              help="Say why one doc got its kind, lane id and family (PATH from the current "
                   "directory, else from the repo root).")
@pass_ctx
def scan(ctx: Context, fmt: str, rev: str | None, no_cache: bool, explain: str | None) -> None:
    """List families, phases, novelty and retention of every brief."""
    from compactor.render import explain_data, explain_text, scan_json, scan_text
    from compactor.scan import run_scan, stray_closeouts

    result = run_scan(ctx.repo, ctx.config, rev=rev, progress=progress_printer(),
                      use_cache=not no_cache)
    show_warnings(result.warnings)
    show_warnings(ctx.include_warnings(b.path for b in result.briefs))
    show_warnings(s.warning for s in stray_closeouts(result))
    if explain is not None:
        import json

        data = explain_data(ctx.repo, result, *ctx.from_root(explain), use_cache=not no_cache)
        click.echo(json.dumps(data, ensure_ascii=False) if fmt == "json" else explain_text(data))
        return
    click.echo(scan_json(result) if fmt == "json" else scan_text(result))


DEMO_NO_REPO = ("demo builds a new repo and reads no other, so it takes no -C/--repo: "
                "give the directory to build as `compactor demo DIR`")


def _no_repo_for_demo(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        raise click.UsageError(DEMO_NO_REPO, ctx)


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", default=0, show_default=True, help="Seed of the generated loop.")
@click.option("-C", "--repo", metavar="PATH", default=None, expose_value=False, hidden=True,
              callback=_no_repo_for_demo, help="Refused: demo builds its own repo in DIRECTORY.")
@_pass_context
def demo(ctx: Context, directory: Path | None, seed: int) -> None:
    """Build an example docs repo replaying a runaway lane loop, and scan it.

    DIRECTORY (default: a new temporary directory) must be empty or missing.
    It takes no -C/--repo: it builds a new repo rather than reading one.
    """
    if ctx.repo_path is not None:  # `compactor -C PATH demo`: refused rather than ignored
        raise click.UsageError(DEMO_NO_REPO)
    from compactor.demo import run_demo

    for line in run_demo(directory, seed=seed, command=own_command()):
        click.echo(line)


def workspace_prefix(root: Path) -> str:
    """The repo's folder inside $GITHUB_WORKSPACE ('' at its top or outside a workflow):
    GitHub resolves an annotation's file from the workspace."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if not workspace:
        return ""
    try:
        rel = root.resolve().relative_to(Path(workspace).resolve()).as_posix()
    except ValueError:
        return ""
    return "" if rel == "." else rel + "/"


def own_command() -> str:
    """How to run this compactor again from any directory: the absolute path of the running
    executable, or ``python -m compactor`` with this interpreter."""
    import shlex
    import shutil

    exe = sys.argv[0] if sys.argv else ""
    if exe and not exe.endswith(".py"):
        found = exe if os.sep in exe else shutil.which(exe)
        if found and os.access(found, os.X_OK):
            return shlex.quote(str(Path(found).absolute()))
    return f"{shlex.quote(sys.executable)} -m compactor"


@cli.command()
@click.option("--apply", "do_apply", is_flag=True,
              help="Create the compaction commit on a new branch (default: dry run).")
@click.option("--branch", default=None, metavar="NAME",
              help="Branch to create.  [default: compactor/compact-<short HEAD>]")
@click.option("--force", is_flag=True, help="With --apply: replace an existing branch NAME.")
@click.option("--pr-body", "pr_body_to", default=None, metavar="FILE",
              help="Write the pull-request description to FILE ('-': stdout).")
@click.option("--no-cache", is_flag=True, help="Recompute every signature.")
@pass_ctx
def compact(ctx: Context, do_apply: bool, branch: str | None, force: bool,
            pr_body_to: str | None, no_cache: bool) -> int:
    """Fold late renamed lanes into the inventory, archive ACKs: ONE new commit.

    Works from HEAD: uncommitted changes are not included, and --apply refuses a
    config (.compactor.yaml, pyproject.toml) that differs from HEAD's: commit it
    first. The default is a dry run that prints the plan. --apply builds the commit with git plumbing on a
    new branch; your working tree, index and current branch are never touched.
    """
    from compactor import compact as core
    from compactor.config import load_config
    from compactor.errors import InputError
    from compactor.files import path_for_humans

    repo, config = ctx.repo, ctx.config
    if pr_body_to not in (None, "-"):  # refused before anything is planned or applied
        from compactor.paths import outside_git

        outside_git(pr_body_to, (repo.git_dir(), repo.common_dir()), "--pr-body")
    head = repo.head()
    if head is not None and repo.has_uncommitted_changes():
        warn(f"uncommitted changes are not included: compaction works from HEAD "
             f"({repo.text('rev-parse', '--short', 'HEAD')}); commit them first to include them")
    if head is not None:
        source = load_config(repo.root)[1]
        changed = core.uncommitted_config(repo, config, source, head)
        if changed is not None and do_apply:
            raise InputError(
                f"{changed}: uncommitted config (it differs from HEAD's): the compaction "
                f"branch is built on HEAD and would lack it; commit {changed} first, or stash "
                "the change to compact with HEAD's config")
        if changed is not None:
            warn(f"{changed}: uncommitted config (it differs from HEAD's): this dry run uses "
                 f"it; --apply refuses until it is committed")
    plan = core.plan_compaction(repo, config, use_cache=not no_cache)
    show_warnings(plan.warnings)
    name = branch or core.default_branch(repo, plan.head)
    out = click.echo if pr_body_to != "-" else (lambda s: click.echo(s, err=True))
    applied = None
    if do_apply and not plan.empty:
        applied = core.apply_compaction(repo, plan, name, force=force)
    elif not plan.empty:
        op = repo.operation_in_progress()
        if op is not None:
            warn(f"a {op} is in progress: --apply would refuse until it is finished")
        if repo.ref_value(f"refs/heads/{name}") is not None and not force:
            warn(f"branch {name} exists: --apply would refuse (pass --force or --branch NAME)")
    out(core.plan_text(plan, name, applied))
    if pr_body_to is not None and not plan.empty:
        body = core.pr_body(plan, name)
        if pr_body_to == "-":
            click.echo(body, nl=False)
        else:
            try:
                Path(pr_body_to).write_text(body, encoding="utf-8")
            except OSError as exc:  # checked above; a file it may not write, say
                made = f"; branch {name} was created" if applied is not None else ""
                raise InputError(f"{path_for_humans(pr_body_to)}: --pr-body cannot be written "
                                 f"({exc.strerror or exc}){made}") from None
            click.echo(f"wrote the pull-request description to {pr_body_to}", err=True)
    return 0


@cli.command()
@click.argument("targets", nargs=-1, metavar="PATH|LANE...")
@click.option("--all", "everything", is_flag=True, help="Restore every file of the manifest.")
@click.option("--force", is_flag=True, help="Overwrite a file that exists with other content.")
@click.option("--rev", default="HEAD", show_default=True, metavar="REV",
              help="Read the manifest from this commit.")
@click.option("--keep-manifest", is_flag=True,
              help="Only write the files back: leave the manifest, the folded block and "
                   "archived copies as they are.")
@pass_ctx
def restore(ctx: Context, targets: tuple[str, ...], everything: bool, force: bool,
            rev: str, keep_manifest: bool) -> int:
    """Write folded or archived files back to the working tree, byte-exact.

    Name files by original path, archived path or lane id, or pass --all. The
    bytes come from the blob ids in the compaction manifest. A restore is a clean
    undo: the files also leave the manifest and the inventory's folded block, and
    an archived copy with the same bytes is deleted (--keep-manifest: not).
    Stage and commit what it lists; the gate sees a restore, not a new lane.
    """
    from compactor.errors import InputError
    from compactor.files import path_for_humans
    from compactor.restore import restore as run_restore

    if bool(targets) == everything:
        raise InputError("restore: name PATH or LANE arguments, or pass --all (not both)")
    repo = ctx.repo
    try:
        prefix = Path.cwd().resolve().relative_to(repo.root.resolve()).as_posix()
    except ValueError:
        prefix = ""
    done = run_restore(repo, ctx.config, targets, everything=everything, force=force, rev=rev,
                       prefix="" if prefix == "." else prefix, keep_manifest=keep_manifest)
    for r in done.restored:
        what = "restored" if r.written else "unchanged"
        lane = f" ({r.lane})" if r.lane else ""
        click.echo(f"{what}  {path_for_humans(r.path)}{lane}")
    for path in done.removed:
        click.echo(f"removed   {path_for_humans(path)} (the archived copy)")
    for path in done.updated:
        click.echo(f"updated   {path_for_humans(path)}")
    written = sum(r.written for r in done.restored)
    click.echo(f"{written} file{'' if written == 1 else 's'} restored, "
               f"{len(done.restored) - written} already there", err=True)
    stage = done.to_stage()
    if not stage:
        return 0
    if len(stage) <= 8 and all(path_for_humans(p) == p for p in stage):
        how = "git add -A -- " + " ".join(_shell_quote(path_for_humans(p)) for p in stage)
    else:
        how = "git add -A (the paths above)"
    click.echo(f"to commit the undo, from the repository root: {how}", err=True)
    return 0


def _shell_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


@cli.command()
@click.option("--rev", default="HEAD", show_default=True, metavar="REV",
              help="Check the manifest of this commit.")
@click.option("--no-cache", is_flag=True, help="Recompute every signature.")
@pass_ctx
def verify(ctx: Context, rev: str, no_cache: bool) -> int:
    """Check that every file the compaction manifest names can still be restored.

    Exit 1 when a blob is missing from the repository, an archived file is not
    where the manifest says, the folded block and the manifest disagree, or a
    scan no longer sees a folded lane.
    """
    from compactor.restore import verify as run_verify

    result = run_verify(ctx.repo, ctx.config, rev, use_cache=not no_cache)
    if not result.manifest_found:
        click.echo(f"no compaction manifest in {rev}: nothing to verify")
        return 0
    for problem in result.problems:
        click.echo(problem)
    if result.problems:
        click.echo(f"manifest: {len(result.problems)} problem"
                   f"{'' if len(result.problems) == 1 else 's'} in {plural(result.entries, 'entry')}; "
                   "fetch the missing objects or restore the files, then verify again")
        return 1
    click.echo(f"manifest ok ({plural(result.entries, 'entry')})")
    return 0


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif"]),
              default="text", show_default=True,
              help="Output format: github prints workflow commands (annotations on the "
                   "lane files), sarif a SARIF 2.1.0 log for code scanning.")
@click.option("--range", "rev_range", default=None, metavar="A..B",
              help="Judge the briefs a commit range adds (for CI) instead of the index: "
                   "A..B, A...B (from their merge base: what a pull request adds), A.. or ..B.")
@click.option("--now", default=None, metavar="TIME",
              help="The commit's time (epoch seconds or ISO 8601). Default: GIT_COMMITTER_DATE "
                   "when set, else now.")
@click.option("--no-cache", is_flag=True, help="Recompute every signature.")
@pass_ctx
def check(ctx: Context, fmt: str, rev_range: str | None, now: str | None,
          no_cache: bool) -> int:
    """The pre-commit gate: refuse a commit that opens another repetitive lane.

    Judges the briefs the staged change adds (index vs HEAD), in lane order.
    Exit 1 when one is blocked (the output says why and what is due instead),
    0 when all pass (warnings print but do not block).
    """
    if rev_range is None:  # its first git reads run while the gate's modules load
        ctx.repo.start_staged_reads()
    from compactor.store import paused_gc

    with paused_gc():  # numpy and the gate: thousands of objects, no garbage
        from compactor.check import parse_now, render_json, render_text, run_check

    when = parse_now(now) if now is not None else None
    result = run_check(ctx.repo, ctx.config, rev_range=rev_range, now=when,
                       use_cache=not no_cache, progress=progress_printer())
    if fmt == "github":
        from compactor.annotations import github_commands

        text = github_commands(result, workspace_prefix(ctx.repo.root))  # warnings too
        if text:
            click.echo(text)
        return result.exit_code
    show_warnings(result.warnings)
    if fmt == "json":
        click.echo(render_json(result))
    elif fmt == "sarif":
        from compactor.annotations import render_sarif

        click.echo(render_sarif(result))
    else:
        text = render_text(result)
        if text:
            click.echo(paint_verdicts(text))
    return result.exit_code


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]),
              default="text", show_default=True, help="Output format.")
@click.option("--rev", default=None, metavar="REV",
              help="Report on the tree of a commit instead of the index.")
@click.option("--no-cache", is_flag=True, help="Recompute every signature.")
@click.option("--episode", "number", type=click.IntRange(min=1), default=None, metavar="N",
              help="Only episode N (numbers from `compactor report`).")
@click.option("--family", default=None, metavar="ID",
              help="Only the episodes of family ID (case-insensitive).")
@pass_ctx
def report(ctx: Context, fmt: str, rev: str | None, no_cache: bool, number: int | None,
           family: str | None) -> int:
    """The loop postmortem: the history, then each loop episode's window, lanes,
    tokens, burn per hour and phases.

    An episode is a burst of lanes of one family (or one run of lane ids) close
    together in time; the window of each runs from its first to its last lane
    (git creation times); tokens come from front matter `tokens`.
    """
    from compactor.report import build_report, narrow, report_json, report_markdown, report_text
    from compactor.scan import run_scan

    config = ctx.config
    result = run_scan(ctx.repo, config, rev=rev, progress=progress_printer(),
                      use_cache=not no_cache)
    show_warnings(result.warnings)
    show_warnings(ctx.include_warnings(b.path for b in result.briefs))
    data = build_report(result, skip=frozenset({config.inventory}))
    if number is not None or family is not None:
        # given the scan, narrow takes a family's short id (`cycle-15`) too
        data = narrow(data, number, family, result, frozenset({config.inventory}))
    render = {"json": report_json, "markdown": report_markdown}.get(fmt, report_text)
    click.echo(render(data))
    return 0


@cli.command()
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 1 when the inventory is stale or missing (CI).")
@click.option("--exit-non-zero-on-fix", "fail_on_fix", is_flag=True,
              help="Exit 1 when the file was rewritten (the pre-commit fixer hook).")
@click.option("--rev", default=None, metavar="REV",
              help="Render from the briefs of a commit instead of the index; with --check, "
                   "check the inventory file of that commit.")
@click.option("--no-cache", is_flag=True, help="Recompute every signature.")
@pass_ctx
def inventory(ctx: Context, check_only: bool, fail_on_fix: bool, rev: str | None,
              no_cache: bool) -> int:
    """Write the authoritative inventory (config `inventory`, docs/INVENTORY.md).

    Only the generated block between its `compactor:inventory` markers is
    rewritten, and only when its text changes. With --check (CI), write nothing:
    compare the file in the work tree with what the index's briefs give. With
    --exit-non-zero-on-fix (the pre-commit hook), fix a stale file and exit 1
    so the commit stops until the fixed file is added.
    """
    if check_only and fail_on_fix:
        from compactor.errors import InputError

        raise InputError("inventory: --check writes nothing, --exit-non-zero-on-fix writes; "
                         "pass one of them")
    from compactor.files import path_for_humans
    from compactor.inventory import (
        FORMAT,
        apply_inventory,
        block_format,
        has_conflict_markers,
        inventory_scan,
        plan_inventory,
        stale_cause,
    )

    repo, config = ctx.repo, ctx.config
    result = inventory_scan(repo, config, progress=progress_printer(), rev=rev,
                            use_cache=not no_cache)
    show_warnings(result.warnings)
    show_warnings(ctx.include_warnings([*(b.path for b in result.briefs), config.inventory]))
    plan = plan_inventory(repo, config, result, old_from=rev if check_only else None)
    shown = path_for_humans(plan.path) + (f" in {rev}" if rev and check_only else "")
    if has_conflict_markers(plan.new):  # outside the generated block: a human's to resolve
        warn(f"{shown} still holds merge conflict markers outside its generated block: resolve "
             f"them by hand, then `git add {path_for_humans(plan.path)}`")
    if check_only:
        if plan.old is None:
            click.echo(f"{shown} is missing; run `compactor inventory` and commit it", err=True)
            return 1
        if plan.stale:
            cause = stale_cause(repo, plan, rev)
            op = repo.operation_in_progress() if cause == "conflict" else None
            finish = f"`git {op} --continue`" if op and op != "merge" else "commit"
            click.echo(stale_message(shown, cause, finish, path_for_humans(plan.path)), err=True)
            return 1
        click.echo(f"{shown} is up to date", err=True)
        return 0
    if apply_inventory(repo.root, plan):
        if fail_on_fix:
            was = ("missing" if plan.old is None else
                   "written by an older compactor (expected once after an upgrade)"
                   if (block_format(plan.old) or FORMAT) < FORMAT else "stale")
            click.echo(f"fixed {shown}: it was {was}; `git add {shown}` and commit again",
                       err=True)
            return 1
        if has_conflict_markers(plan.old) and not has_conflict_markers(plan.new):
            click.echo(f"wrote {shown} (regenerated over the merge conflict); "
                       f"`git add {shown}` to mark it resolved", err=True)
        else:
            click.echo(f"wrote {shown}", err=True)
    else:
        click.echo(f"{shown} is up to date", err=True)
    return 0


def base_branch() -> str:
    """The pull request's base branch when the CI names it, else words for it."""
    for name in ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"):
        value = os.environ.get(name, "")
        if value and value.isprintable() and " " not in value:
            return value
    return "the base branch"


def stale_message(shown: str, cause: str | None, finish: str = "commit",
                  path: str | None = None) -> str:
    """What `inventory --check` says about a stale inventory (``shown``: the file, and the
    commit with --rev): what to do that works (``finish``: how the conflict's operation
    ends, a commit or `git rebase --continue`; ``path``: the file to `git add`)."""
    if cause == "conflict":
        return (f"{shown} holds merge conflict markers; run `compactor inventory` (it "
                f"regenerates its generated block over them), then `git add {path or shown}` "
                f"and {finish}")
    if cause == "upgrade":
        return (f"{shown} is stale: an older compactor wrote it, and this one writes the "
                "inventory in a newer format (it names docs and families differently); "
                "regenerating it once after an upgrade is expected: run `compactor inventory` "
                "and commit it")
    if cause == "shallow":
        # the block depends on when each doc was first committed (families, phases,
        # episodes): a shallow clone gives the docs older than it one time
        return (f"{shown} is stale in this shallow clone, maybe only because the history is "
                "cut (the inventory depends on when each doc was first committed); fetch the "
                "whole history (git fetch --unshallow; actions/checkout: fetch-depth: 0) and "
                "check again")
    if cause == "merge":
        # each side regenerated it for its own docs; on the branch alone it is fresh
        return (f"{shown} is stale in this merge commit (a pull request merged into its base?): "
                f"it lacks docs one side added; merge or rebase {base_branch()} into your "
                "branch, run `compactor inventory`, and commit it")
    return f"{shown} is stale; run `compactor inventory` and commit it"


@cli.command()
@click.argument("family")
@click.option("-o", "--output", default=None, metavar="PATH",
              help="Where to write it, relative to the repo root ('-': stdout).  "
                   "[default: docs/closeouts/FAMILY-closeout.md]")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--rev", default=None, metavar="REV",
              help="Read the family from the tree of a commit instead of the index.")
@click.option("--no-cache", is_flag=True, help="Recompute every signature.")
@pass_ctx
def closeout(ctx: Context, family: str, output: str | None, force: bool, rev: str | None,
             no_cache: bool) -> int:
    """Write a close-out document for one FAMILY (an id from `compactor scan`).

    It holds the family's coverage matrix, its missing gaps and a redirect
    section to fill in, as kind `closeout`. An existing file is never
    overwritten without --force.
    """
    from compactor.closeout import plan_closeout, write_closeout
    from compactor.files import path_for_humans

    to_stdout = output == "-"
    plan = plan_closeout(ctx.repo, ctx.config, family, None if to_stdout else output, rev=rev,
                         use_cache=not no_cache)
    if to_stdout:
        click.echo(plan.text, nl=False)
        return 0
    write_closeout(ctx.repo.root, plan, force=force)
    click.echo(f"wrote {path_for_humans(plan.path)}", err=True)
    click.echo("fill in its Redirect section (Next frontier, Owner), then commit it: left "
               "empty, the gate does not count it as a consolidation output", err=True)
    return 0


@cli.command(name="cache")
@click.option("--clean", is_flag=True,
              help="Empty the cache: the next run recomputes everything (like `ruff clean`).")
@pass_ctx
def cache_command(ctx: Context, clean: bool) -> int:
    """Show what compactor's cache holds, or empty it with --clean.

    The cache (.git/compactor/cache-v1.sqlite) only makes runs faster: every answer is the
    same without it (--no-cache). It prunes itself as runs go by: what no recent run read
    (values of an older compactor or config, files no longer in any checkout) is deleted.
    """
    from compactor.errors import path_for_humans
    from compactor.store import OTHER_VERSION, CacheState, cache_state, clean_cache

    repo = ctx.repo

    def shown(state: CacheState) -> str:
        try:
            return path_for_humans(state.path.relative_to(repo.root.resolve()).as_posix())
        except ValueError:
            return path_for_humans(str(state.path))

    def mb(n: int) -> str:
        return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"

    if clean:
        before, after = clean_cache(repo)
        if not before.present:
            click.echo(f"no cache at {shown(before)}: nothing to clean")
        elif before.problem is not None:
            click.echo(f"deleted {shown(before)} ({mb(before.size)}; unreadable: "
                       f"{before.problem})")
        else:
            click.echo(f"emptied {shown(before)}: {mb(before.size)} -> {mb(after.size)}")
        return 0
    state = cache_state(repo)
    if not state.present:
        click.echo(f"no cache at {shown(state)}: the next scan or check creates it")
    elif state.problem is not None:
        what = ("in use by another run" if state.busy else "unreadable")
        what = (f"{what} ({state.problem})" if state.problem != OTHER_VERSION
                else "written by another compactor version")
        click.echo(f"{shown(state)}: {mb(state.size)}, {what}; "
                   + ("try again" if state.busy else "the next run rebuilds it"))
    else:
        click.echo(f"{shown(state)}: {mb(state.size)} ({mb(state.free)} of it free), "
                   f"{plural(state.briefs, 'brief row')}, {plural(state.values, 'value')}, "
                   f"written by {plural(state.runs, 'run')}")
    return 0


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI with the project's error handling."""
    try:
        code = cli.main(args=argv, prog_name="compactor", standalone_mode=False)
    except CompactorError as exc:
        click.echo(click.style("compactor: error:", fg="red", bold=True) + f" {exc.message}",
                   err=True, color=color_choice())
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
