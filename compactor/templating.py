"""Templates: the packaged ones and a repository's own, rendered in a sandbox.

A repository may replace the inventory's template (config ``template``). That
template comes from a stranger's pull request as much as any brief, so:

- it renders in Jinja2's ``ImmutableSandboxedEnvironment``: no attribute that
  reaches Python internals (``__class__``, ``__globals__``, …), no calling
  unsafe methods, no mutating the data; ``range`` is capped, and ``*`` / ``**``
  cannot build huge values;
- it is read only from a file git tracks, inside the work tree, never through
  a symlink (``paths.py``): an untracked or ignored local file (``.env``) is
  never copied into the inventory;
- it can include or import only the packaged templates (by bare name, e.g.
  ``{% include "inventory.md.j2" %}``), never another file;
- it must finish within ``TEMPLATE_SECONDS`` (on the main thread): a template
  that loops for ever is an error, not a hung hook.

Every failure is an :class:`~compactor.errors.InputError` naming the file (exit 2).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from compactor.errors import InputError

REPO_PREFIX = "repo:"
TEMPLATE_SECONDS = 30.0  # a repository template's rendering budget
_PACKAGED_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.j2")
_MAX_REPEAT = 1_000_000  # longest string or list a template may build with '*'
_MAX_WIDTH = 10_000  # widest field a template may pad to ('%9d', '{:>9}', center, ljust, indent)
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_PADDERS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


def _check_percent(fmt: str) -> None:
    """Refuse a %-format whose widths or precisions could build a huge string."""
    from jinja2.exceptions import SecurityError

    for width, precision in _PERCENT_SPEC.findall(fmt):
        for n in (width, precision):
            if n == "*" or (n and int(n) > _MAX_WIDTH):
                raise SecurityError(f"format width over {_MAX_WIDTH:,} in a template")


def _check_format(fmt: str) -> None:
    """Refuse a str.format pattern whose field widths could build a huge string."""
    import string

    from jinja2.exceptions import SecurityError

    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format raises the same error itself
    for _, _, spec, _ in fields:
        if spec and ("{" in spec or any(int(n) > _MAX_WIDTH for n in re.findall(r"\d+", spec))):
            raise SecurityError(f"format width over {_MAX_WIDTH:,} in a template")


def _check_width(*values: Any) -> None:
    from jinja2.exceptions import SecurityError

    for v in values:
        if isinstance(v, int) and not isinstance(v, bool) and v > _MAX_WIDTH:
            raise SecurityError(f"width over {_MAX_WIDTH:,} in a template")


def packaged_template_bytes(name: str) -> bytes | None:
    """The bytes of the packaged template ``name`` (a bare file name; None when none)."""
    if not _PACKAGED_NAME.fullmatch(name):
        return None
    from importlib import import_module

    package = import_module("compactor.templates")  # templates/ in the source tree
    path = Path(str(package.__file__)).parent / name
    return path.read_bytes() if path.is_file() else None


def packaged_template(name: str) -> str | None:
    data = packaged_template_bytes(name)
    return data.decode("utf-8") if data is not None else None


def repo_template_bytes(root: Path, rel: str) -> bytes | None:
    """The configured template's bytes (None when the file does not exist): tracked by git,
    inside the work tree, no symlink on the way; refused (exit 2) otherwise."""
    from compactor.git import Repo
    from compactor.paths import contained

    asked_by = "option 'template'"
    path = contained(root, rel, asked_by, links=False)
    if not path.exists():
        return None
    if not path.is_file():
        raise InputError(f"{rel}: template is not a regular file; fix option 'template'")
    if not Repo(root).is_tracked(rel):
        raise InputError(
            f"{rel}: template is not tracked by git; compactor renders only templates the "
            f"repository holds (git add {rel})"
        )
    return path.read_bytes()


def _sandbox() -> Any:
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Sandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset(["*", "**", "%"])

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            target = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
            owner = getattr(target, "__self__", None)
            if isinstance(owner, str):
                name = getattr(target, "__name__", "")
                if name in _PADDERS:
                    _check_width(*args, *kwargs.values())
                elif name in ("format", "format_map"):
                    _check_format(owner)
            return super().call(__context, __obj, *args, **kwargs)

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "%":
                if isinstance(left, str):
                    _check_percent(left)
                return left % right
            if operator == "**":
                if isinstance(right, int | float) and abs(right) > 64:
                    raise SecurityError("exponent too large for a template")
                return left**right
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and \
                        len(seq) * times > _MAX_REPEAT:
                    raise SecurityError("result too large for a template")
            return left * right

    return Sandbox


@lru_cache(maxsize=8)
def environment(repo_template: tuple[str, str] | None = None) -> Any:
    """A sandboxed Jinja2 environment: the packaged templates by bare name, plus the
    repository's template as ``repo:PATH`` when ``repo_template`` = (PATH, source).

    One per ``repo_template``, kept: it holds the templates it compiled (~70 ms for the
    inventory's), so rendering again in one process (close-outs, a compaction's
    inventory, a long-lived caller) compiles nothing. It keeps no state of a render."""
    import jinja2

    from compactor.files import path_for_humans
    from compactor.report import md_cell
    from compactor.words import shorten

    def load(name: str) -> str | None:
        if name.startswith(REPO_PREFIX):
            if repo_template is not None and name == REPO_PREFIX + repo_template[0]:
                return repo_template[1]
            shown = repo_template[0] if repo_template else "a template"
            raise InputError(
                f"{shown}: includes or imports {name!r}; a template can include only the "
                "packaged templates (e.g. \"inventory.md.j2\"); remove it"
            )
        found = packaged_template(name)
        if found is None and repo_template is not None:
            raise jinja2.TemplateNotFound(name)
        return found

    env = _sandbox()(
        loader=jinja2.FunctionLoader(load),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    center, indent, fmt = env.filters["center"], env.filters["indent"], env.filters["format"]

    def bounded_center(value: str, width: int = 80) -> str:
        _check_width(width)
        return str(center(value, width))

    def bounded_indent(value: str, width: int | str = 4, *args: Any, **kwargs: Any) -> str:
        _check_width(width)
        return str(indent(value, width, *args, **kwargs))

    def bounded_format(value: str, *args: Any, **kwargs: Any) -> str:
        _check_percent(str(value))
        return str(fmt(value, *args, **kwargs))

    env.filters["center"] = bounded_center
    env.filters["indent"] = bounded_indent
    env.filters["format"] = bounded_format
    env.filters["cell"] = lambda v: md_cell(str(v))
    env.filters["num"] = _num
    env.filters["mermaid"] = _mermaid
    env.filters["path"] = lambda v: path_for_humans(str(v))
    env.filters["short"] = lambda v: shorten(str(v))
    return env


def _num(value: Any) -> str:
    return f"{int(value):,}"


def _mermaid(value: Any) -> str:
    """A string safe inside Mermaid double quotes."""
    return str(value).replace('"', "'").replace("\n", " ")


def render(name: str, data: Mapping[str, Any], root: Path | None = None,
           shown: str | None = None) -> str:
    """Render template ``name``: a packaged one, or ``repo:PATH`` for the repository's
    template at ``root`` (tracked, contained, sandboxed, time-bounded)."""
    import jinja2
    from jinja2.exceptions import SecurityError

    where = shown or name
    repo_template: tuple[str, str] | None = None
    try:
        if name.startswith(REPO_PREFIX):
            rel = name[len(REPO_PREFIX):]
            raw = repo_template_bytes(root, rel) if root is not None else None
            if raw is None:
                raise jinja2.TemplateNotFound(name)
            repo_template = (rel, raw.decode("utf-8"))
        env = environment(repo_template)
        template = env.get_template(name)
        text: str = _bounded(lambda: template.render(**data), repo_template is not None, where)
        if repo_template is not None and len(text) > TEMPLATE_OUTPUT_CHARS:
            raise InputError(f"{where}: template wrote over {TEMPLATE_OUTPUT_CHARS:,} "
                             "characters; simplify it")
    except jinja2.TemplateNotFound as exc:
        if exc.name not in (name, None):
            raise InputError(
                f"{where}: includes or imports {exc.name!r}, which is not a packaged template; "
                "a template can include only those (e.g. \"inventory.md.j2\")"
            ) from None
        raise InputError(
            f"{where}: template not found; create it or fix option 'template' in the config"
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(
            f"{where}:{exc.lineno}: template syntax error ({exc.message}); fix the template"
        ) from None
    except SecurityError as exc:
        raise InputError(f"{where}: template refused by the sandbox ({exc}); fix the template") \
            from None
    except jinja2.TemplateError as exc:
        raise InputError(f"{where}: template failed ({exc}); fix the template") from None
    except UnicodeDecodeError:
        raise InputError(f"{where}: template is not UTF-8 text; save it as UTF-8") from None
    except (RecursionError, MemoryError, OverflowError, ArithmeticError, TypeError,
            ValueError) as exc:
        if repo_template is None:
            raise  # the packaged templates: a bug in compactor (exit 3)
        raise InputError(f"{where}: template failed ({type(exc).__name__}); fix the "
                         "template") from None
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


class _OutOfTime(Exception):
    pass


def _bounded(work: Callable[[], str], limit: bool, where: str) -> str:
    """``work()``, stopped after TEMPLATE_SECONDS when ``limit`` (main thread, Unix)."""
    import signal
    import threading

    if not limit or not hasattr(signal, "setitimer") or \
            threading.current_thread() is not threading.main_thread():
        return work()

    def expire(_signum: int, _frame: Any) -> None:
        raise _OutOfTime

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, TEMPLATE_SECONDS)
    limits = _cap_memory()
    try:
        return work()
    except _OutOfTime:
        raise InputError(
            f"{where}: template did not finish within {TEMPLATE_SECONDS:g} s; simplify it"
        ) from None
    except MemoryError:
        raise InputError(
            f"{where}: template needed over {TEMPLATE_BYTES >> 20} MB; simplify it"
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if limits is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, limits)


TEMPLATE_BYTES = 1 << 30  # a repository template may grow the process by this much
TEMPLATE_OUTPUT_CHARS = 64 << 20  # longest inventory a repository template may write


def _cap_memory() -> tuple[int, int] | None:
    """Lower the address-space limit to what the process uses now plus TEMPLATE_BYTES
    (Linux): a template doubling a string in a loop gets a MemoryError, not the machine's
    memory. Returns the limits to put back (None: not capped)."""
    try:
        import resource

        with open("/proc/self/statm") as fh:
            used = int(fh.read().split()[0]) * resource.getpagesize()
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = used + TEMPLATE_BYTES
        if soft != resource.RLIM_INFINITY and soft <= cap:
            return None
        if hard != resource.RLIM_INFINITY and cap > hard:
            return None
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        return soft, hard
    except (OSError, ValueError, ImportError):
        return None
