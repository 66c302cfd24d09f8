"""One frozen Config, read from ``.compactor.yaml`` or ``[tool.compactor]`` in ``pyproject.toml``.

Each option carries its documentation beside it (``OPTIONS``); the README's
configuration table is checked against it by the tests.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from compactor.errors import ConfigError
from compactor.files import glob_regex
from compactor.vocab import KINDS

# Markdown that is never a brief: installed packages' docs, repository templates and
# boilerplate files. Compaction folds family members, so vendored look-alikes (package
# changelogs, issue templates) must not join families. Setting ``exclude`` replaces it.
DEFAULT_EXCLUDE = (
    "**/node_modules/**", "**/.venv/**", "**/venv/**", "**/site-packages/**", ".github/**",
    "**/CHANGELOG.md", "**/LICENSE.md", "**/CODE_OF_CONDUCT.md",
)
# A bare ``S`` id is a token of its own (``S085``, ``S085-approve``, ``S085a``), not the
# head of a word that goes on (``S2IMS``, a product name, is no lane S2); a worded one may
# run on into the next word (``Sprint1Report``).
DEFAULT_LANE_PATTERN = (
    r"(?<![A-Za-z0-9])(?:S(?=[-_ ]?\d{1,6}(?![0-9]|[A-Za-z]{2}))|(?i:lane|sprint|wave|slice))"
    r"[-_ ]?(\d{1,6})(?![0-9])"
)


class KindRules(Mapping[str, tuple[str, ...]]):
    """kind -> regexes, read-only and hashable (a part of the frozen Config)."""

    __slots__ = ("_rules",)

    def __init__(self, rules: Mapping[str, Sequence[str]]) -> None:
        self._rules = {str(kind): tuple(patterns) for kind, patterns in rules.items()}

    def __getitem__(self, kind: str) -> tuple[str, ...]:
        return self._rules[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    def __hash__(self) -> int:
        return hash(tuple(self._rules.items()))

    def __repr__(self) -> str:
        return f"KindRules({self._rules!r})"


# The kind inference rules: kind -> regexes (case-insensitive). A consolidation kind,
# proof, hardening or postmortem needs a file name that *ends* with a match (digits
# dropped) or a folder named for it; ack may match the name or title of short text.
# See ``kinds.py``.
DEFAULT_KIND_RULES = KindRules({
    "postmortem": [r"post[-_ ]?mortem", r"retrospective"],
    "closeout": [r"close[-_ ]?out", r"closing[-_ ]report"],
    "coverage": [r"coverage[-_ ]matrix", r"\bcoverage\b", r"\binventory\b"],
    "gaps": [r"missing[-_ ]gaps?", r"gap[-_ ]list", r"\bgaps\b"],
    "redirect": [r"\bredirect\b", r"new[-_ ]frontier"],
    "hardening": [r"harden(ing|ed)?"],
    "proof": [r"\bproofs?\b", r"verification[-_ ]report"],
    "ack": [r"(^|[/_\-. ])acks?([/_\-. ]|$)", r"acknowledg"],
})

MODES = ("block", "warn", "off")


@dataclass(frozen=True)
class Config:
    """Settings for one repository. Build with :func:`load_config` or :func:`make_config`."""

    include: tuple[str, ...] = ("**/*.md",)
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    lane_pattern: str = DEFAULT_LANE_PATTERN
    threshold: float = 0.6
    shingle: int = 3
    num_perm: int = 128
    seed: int = 1
    max_adjacent: int = 3
    token_budget_per_hour: int | None = None
    guardrail_fields: tuple[str, ...] = ("route", "session", "tenant")
    inventory: str = "docs/INVENTORY.md"
    archive_dir: str = "docs/archive"
    template: str | None = None
    max_file_bytes: int = 2_000_000
    ack_max_words: int = 120
    kind_rules: KindRules = KindRules(DEFAULT_KIND_RULES)
    establish_novelty: float = 0.25
    churn_novelty: float = 0.08
    fold_restated: float = 0.6
    adjacent_mode: str = "block"
    rename_mode: str = "block"
    budget_mode: str = "block"
    unnumbered_mode: str = "block"
    max_restated: int = 8
    bookkeeping_mode: str = "block"
    max_bookkeeping: int = 1
    restatement: bool = True

    @property
    def lane_regex(self) -> re.Pattern[str]:
        return _compile(self.lane_pattern)


# name -> (type description, documentation). The README table mirrors this.
OPTIONS: dict[str, tuple[str, str]] = {
    "include": ("list of globs", "Files scanned as briefs (`**` spans directories)."),
    "exclude": ("list of globs", "Files never scanned, even when included. Setting it replaces "
                "the default (keep those entries you still want)."),
    "lane_pattern": (
        "regex",
        "Finds a lane id in front matter `lane:`, the file name or the title; "
        "group 1 is the lane number.",
    ),
    "threshold": ("float 0-1", "Similarity of proof shapes at which two briefs join a family."),
    "shingle": ("int >= 1", "Words per shingle when fingerprinting."),
    "num_perm": ("int 16-1024", "MinHash permutations (signature length)."),
    "seed": ("int", "MinHash seed; change it and every cached signature is rebuilt."),
    "max_adjacent": ("int >= 1", "The gate escalates when more adjacent lanes share one shape."),
    "token_budget_per_hour": (
        "int or null",
        "Tokens (front matter `tokens`) allowed in the trailing hour; off when null.",
    ),
    "guardrail_fields": (
        "list of names",
        "Front matter fields that form a lane's guardrails.",
    ),
    "inventory": ("path", "The authoritative inventory file, inside the repo."),
    "archive_dir": ("path", "Where compaction moves ACK chatter, inside the repo."),
    "template": ("path or null", "A Jinja2 template (inside the repo) replacing the inventory's."),
    "max_file_bytes": ("int", "Files larger than this are skipped with a warning."),
    "ack_max_words": ("int", "Longest text (in words) still read as ACK / next-step chatter."),
    "kind_rules": (
        "mapping kind -> list of regexes",
        "Kind inference: a name ending with a match (or a folder so named) makes closeout, "
        "coverage, gaps, redirect, proof, hardening, postmortem; a short ack also by title. "
        "Replaces the default rules for the kinds given.",
    ),
    "establish_novelty": (
        "float 0-1",
        "A family's leading lanes with at least this novelty are its establishing lanes.",
    ),
    "churn_novelty": ("float 0-1", "Later lanes below this novelty are near-identical churn."),
    "fold_restated": (
        "float 0-1",
        "A member the restatement leg linked is compressed (folded by `compact`) only when its "
        "link's cosine reaches this; below, it stays in place (`mostly-keep`).",
    ),
    "adjacent_mode": ("block | warn | off", "What the gate does when `max_adjacent` is exceeded."),
    "rename_mode": (
        "block | warn | off",
        "What the gate does when a lane name is a string substitution of an earlier one.",
    ),
    "budget_mode": (
        "block | warn | off",
        "What the gate does when the hourly token budget is exceeded.",
    ),
    "unnumbered_mode": (
        "block | warn | off",
        "What the gate does when a doc without a lane id (a launch prompt, a hand-off) would be "
        "blocked by an escalation: its run of near-copies past `max_adjacent`, or of reworded "
        "restatements past `max_restated`.",
    ),
    "max_restated": (
        "int >= 1",
        "A run of reworded restatements (no new fact) warns, and is refused past this many docs.",
    ),
    "bookkeeping_mode": (
        "block | warn | off",
        "What the gate does when more than `max_bookkeeping` docs of one numbered series in a "
        "row are each about another recent doc of the series (a merge log whose subject is the "
        "previous merge log).",
    ),
    "max_bookkeeping": (
        "int >= 1",
        "Docs about docs of their own series allowed in a row (a lone one is an ordinary log).",
    ),
    "restatement": (
        "true | false",
        "Whether the scan links docs that say one state again in other words (the "
        "restatement leg). A first check after a commit that changes the docs outside "
        "families recomputes it: ~0.2 s at 600 such docs, ~4 s at 5,000.",
    ),
}

_FIELDS = {f.name for f in dataclasses.fields(Config)}
assert set(OPTIONS) == _FIELDS, "every Config field is documented"


@lru_cache(maxsize=32)
def _compile(pattern: str) -> re.Pattern[str]:
    """The lane pattern: on ``re`` when it is the default, else time-bounded (patterns.py)."""
    from compactor.patterns import compile_user

    return compile_user(pattern, 0, "lane_pattern", trusted=pattern == DEFAULT_LANE_PATTERN)


def _value(value: Any) -> str:
    """A value for an error message: repr, but bounded (a YAML alias chain can make a few
    lines stand for a billion nested items) and on one line."""
    import reprlib

    shown = reprlib.Repr()
    shown.maxlevel, shown.maxlist, shown.maxdict, shown.maxtuple = 2, 4, 4, 4
    shown.maxstring = shown.maxother = 80
    return shown.repr(value)


def _fail(source: str, key: str, what: str) -> ConfigError:
    err = ConfigError(f"{source}: option '{key}' {what}")
    err.key = key
    return err


# A repository's config is untrusted: every glob, field and pattern costs each run (a hook
# run) time per file, so their number and length are capped far above any real config's.
MAX_LIST = 100  # globs of include / exclude
MAX_RULES = 100  # names of guardrail_fields, patterns of one kind in kind_rules
MAX_PATTERN_CHARS = 2_000  # one regex or glob
MAX_FILE_BYTES = 16 * 2**20  # the largest max_file_bytes: a 16 MiB doc scans in ~6 s, 0.3 GB


def _as_list(source: str, key: str, value: Any, limit: int = MAX_LIST) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _fail(source, key, "must be a list of strings")
    if len(value) > limit:
        raise _fail(source, key, f"has {len(value):,} entries; at most {limit:,} are allowed")
    for v in value:
        _short(source, key, v)
    return tuple(value)


def _short(source: str, key: str, value: str) -> str:
    if len(value) > MAX_PATTERN_CHARS:
        raise _fail(source, key, f"has an entry of {len(value):,} characters; at most "
                    f"{MAX_PATTERN_CHARS:,} are allowed")
    return value


def _as_number(source: str, key: str, value: Any, kind: type, lo: float, hi: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(source, key, f"must be a number, got {type(value).__name__} {_value(value)}")
    if kind is int and not isinstance(value, int):
        raise _fail(source, key, f"must be a whole number, got {_value(value)}")
    if not lo <= value <= hi:
        raise _fail(source, key, f"must be between {_show(lo)} and {_show(hi)}, got {_value(value)}")
    return kind(value)


def _show(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"


def repo_relative(value: str) -> str | None:
    """``value`` as a clean repo-relative posix path, or None when it leaves the repo."""
    p = PurePosixPath(value.replace("\\", "/"))
    if p.is_absolute() or re.match(r"^[A-Za-z]:", value):
        return None
    parts: list[str] = []
    for part in p.parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts) or None


def _inside_repo(source: str, key: str, value: Any) -> str:
    from compactor.paths import lexical  # the one containment rule (paths.py)

    if not isinstance(value, str) or not value.strip():
        raise _fail(source, key, "must be a non-empty path string")
    clean, problem = lexical(value)
    if clean is None:
        why = f" (it {problem})" if problem in ("reaches into .git", "holds a NUL byte") else ""
        raise _fail(source, key, f"must be a path inside the repository, got {_value(value)}{why}")
    return clean


def make_config(raw: Mapping[str, Any], source: str = "config") -> Config:
    """Validate a raw mapping into a Config; unknown keys get a "did you mean"."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _FIELDS:
            import difflib

            close = difflib.get_close_matches(str(key), sorted(_FIELDS), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known options: {', '.join(sorted(_FIELDS))}"
            err = ConfigError(f"{source}: unknown option {_value(key)}{hint}")
            err.key = str(key)
            raise err
        values[key] = _validate(source, key, value)
    return Config(**values)


def _validate(source: str, key: str, value: Any) -> Any:
    if key in ("include", "exclude"):
        from compactor.patterns import pattern_errors

        globs = _as_list(source, key, value)
        for glob in globs:
            try:
                re.compile(glob_regex(glob))
            except pattern_errors() as exc:
                raise _fail(source, key, f"has a bad glob {glob!r} ({exc})") from None
        return globs
    if key == "guardrail_fields":
        return _as_list(source, key, value, MAX_RULES)
    if key in ("threshold", "establish_novelty", "churn_novelty", "fold_restated"):
        return _as_number(source, key, value, float, 0.0, 1.0)
    if key == "shingle":
        return _as_number(source, key, value, int, 1, 16)
    if key == "num_perm":
        return _as_number(source, key, value, int, 16, 1024)
    if key == "seed":  # MinHash seeds numpy's RandomState, which takes 32 bits
        return _as_number(source, key, value, int, 0, 2**32 - 1)
    if key == "max_file_bytes":  # a doc is read whole: 48 MB took 31 s and 0.8 GB to scan
        return _as_number(source, key, value, int, 0, MAX_FILE_BYTES)
    if key in ("ack_max_words", "max_adjacent", "max_restated", "max_bookkeeping"):
        low = 1 if key in ("max_adjacent", "max_restated", "max_bookkeeping") else 0
        return _as_number(source, key, value, int, low, 2**40)
    if key == "token_budget_per_hour":
        return None if value is None else _as_number(source, key, value, int, 1, 10**15)
    if key == "inventory":
        path = _inside_repo(source, key, value)
        if not path.lower().endswith((".md", ".markdown")):
            # compactor adds its block to the file: into the config, a script or a workflow
            # it would break it, or put text from the briefs where something runs it
            raise _fail(source, key, f"must be a markdown file (.md), got {_value(value)}")
        return path
    if key == "archive_dir":
        return _inside_repo(source, key, value)
    if key == "template":
        return None if value is None else _inside_repo(source, key, value)
    if key == "lane_pattern":
        if not isinstance(value, str):
            raise _fail(source, key, "must be a regular expression string")
        _short(source, key, value)
        from compactor.patterns import pattern_errors

        try:
            re.compile(value)  # re's wording of a syntax error
            compiled = _compile(value)
        except pattern_errors() as exc:
            raise _fail(source, key, f"is not a valid regular expression ({exc})") from None
        if compiled.groups < 1:
            raise _fail(source, key, "needs a capturing group for the lane number")
        return value
    if key == "restatement":
        if not isinstance(value, bool):
            raise _fail(source, key, f"must be true or false, got {_value(value)}")
        return value
    if key in ("adjacent_mode", "rename_mode", "budget_mode", "unnumbered_mode", "bookkeeping_mode"):
        if value not in MODES:
            raise _fail(source, key, f"must be one of {', '.join(MODES)}, got {_value(value)}")
        return value
    if key == "kind_rules":
        if not isinstance(value, Mapping):
            raise _fail(source, key, "must be a mapping of kind -> list of regexes")
        rules: dict[str, Sequence[str]] = dict(DEFAULT_KIND_RULES)
        for kind, patterns in value.items():
            if kind not in KINDS:
                raise _fail(source, key, f"names unknown kind {_value(kind)} (kinds: {', '.join(KINDS)})")
            pats = _as_list(source, f"{key}.{kind}", patterns, MAX_RULES)
            from compactor.patterns import compile_user, pattern_errors

            for pat in pats:
                try:
                    re.compile(pat)  # re's wording of a syntax error
                    compile_user(pat, re.IGNORECASE, f"{key}.{kind}", trusted=False)
                except pattern_errors() as exc:
                    raise _fail(source, f"{key}.{kind}", f"has a bad regex {pat!r} ({exc})") from None
            rules[str(kind)] = pats
        return KindRules(rules)
    raise AssertionError(key)  # pragma: no cover - every field is handled above


def load_config(root: Path) -> tuple[Config, str | None]:
    """Read the repo's config; returns it and the file it came from (None: defaults)."""
    yaml_text = toml_text = None
    if os.path.lexists(root / ".compactor.yaml"):
        yaml_text = _config_text(root, ".compactor.yaml")
    if yaml_text is None and os.path.lexists(root / "pyproject.toml"):
        toml_text = _config_text(root, "pyproject.toml") or ""
    return config_from_texts(yaml_text, toml_text)


def config_from_texts(yaml_text: str | None, toml_text: str | None) -> tuple[Config, str | None]:
    """The config that a ``.compactor.yaml`` and a ``pyproject.toml`` with these texts give
    (None: no such file), and the file it came from (None: defaults). ``load_config`` reads
    the work tree's; ``compact`` compares them with HEAD's."""
    if yaml_text is not None:
        if len(yaml_text) > MAX_YAML_CONFIG_BYTES:  # HEAD's too (compact): no read of a bomb
            raise ConfigError(f".compactor.yaml: is over {MAX_YAML_CONFIG_BYTES:,} bytes; a "
                              "config is a few lines")
        raw = _read_yaml(Path(".compactor.yaml"), yaml_text)
        try:
            return make_config(raw, ".compactor.yaml"), ".compactor.yaml"
        except ConfigError as exc:
            line = _yaml_key_line(yaml_text, exc.key)
            if line is None:
                raise
            raise ConfigError(exc.message.replace(".compactor.yaml:", f".compactor.yaml:{line}:",
                                                  1)) from None
    if toml_text is not None:
        import tomllib  # only for a repo with a pyproject.toml (the hook's import budget)

        try:
            data = tomllib.loads(toml_text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"pyproject.toml: cannot parse ({exc}); fix the TOML syntax") from None
        except (ValueError, RecursionError) as exc:  # a 5,000-digit number; [[[[…]]]]
            first = "nested too deeply" if isinstance(exc, RecursionError) else \
                str(exc).split(";")[0]
            raise ConfigError(f"pyproject.toml: cannot read it ({first}); fix the TOML") from None
        tool = data.get("tool", {})
        section = tool.get("compactor") if isinstance(tool, dict) else None
        if section is not None:
            if not isinstance(section, dict):
                raise ConfigError("pyproject.toml: [tool.compactor] must be a table")
            return make_config(section, "pyproject.toml [tool.compactor]"), "pyproject.toml"
    return Config(), None


MAX_CONFIG_BYTES = 1_000_000
# ruamel's pure-Python YAML reads ~50 KB a second: a 1 MB .compactor.yaml held every
# command (every hook run) half a minute; tomllib reads a 1 MB pyproject.toml in 0.5 s
MAX_YAML_CONFIG_BYTES = 16_000


def _config_text(root: Path, name: str) -> str | None:
    """A config file's text through the containment rule (a symlink must stay inside the
    work tree); None when it is not a regular file."""
    from compactor.paths import contained

    path = contained(root, name, "the config file")
    if not path.is_file():
        return None
    limit = MAX_YAML_CONFIG_BYTES if name.endswith(".yaml") else MAX_CONFIG_BYTES
    if path.stat().st_size > limit:
        raise ConfigError(f"{name}: is over {limit:,} bytes; a config is a few lines")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: is not UTF-8 text; save it as UTF-8") from None


def _yaml_key_line(text: str, key: str | None) -> int | None:
    """The line (1-based) of top-level ``key`` (its first part: ``kind_rules.proof`` ->
    ``kind_rules``) in a YAML text that parsed, from the node tree (no objects built)."""
    if not key:
        return None
    from ruamel.yaml import YAML
    from ruamel.yaml.nodes import MappingNode

    top = key.split(".", 1)[0]
    try:
        node = YAML(typ="safe", pure=True).compose(text)
    except Exception:  # noqa: BLE001 - it parsed once; a line number is only a nicety
        return None
    if not isinstance(node, MappingNode):
        return None
    for k, _ in node.value:
        if getattr(k, "value", None) == top:
            return int(k.start_mark.line) + 1
    return None


MAX_YAML_DEPTH = 50  # nesting levels of a repository's YAML (config, front matter)


def yaml_loader() -> Any:
    """A safe, pure-Python YAML loader for a repository's YAML that refuses, while
    scanning, collections nested over ``MAX_YAML_DEPTH`` levels: ruamel's scanner spends
    time quadratic in the nesting depth (800 ``[`` took seconds, then a RecursionError),
    so a few bytes of ``[[[[…`` could hold up the hook."""
    from ruamel.yaml import YAML

    loader = YAML(typ="safe", pure=True)
    loader.Scanner = _bounded_scanner()
    return loader


def _bounded_scanner() -> Any:
    from ruamel.yaml.scanner import Scanner, ScannerError

    class BoundedScanner(Scanner):
        def _deep(self) -> None:
            if len(self.flow_context) + len(self.indents) >= MAX_YAML_DEPTH:
                raise ScannerError(None, None, f"nested over {MAX_YAML_DEPTH} levels",
                                   self.reader.get_mark())

        def fetch_flow_collection_start(self, token_class: Any, to_push: Any) -> None:
            self._deep()
            super().fetch_flow_collection_start(token_class, to_push)

        def add_indent(self, column: int) -> bool:
            if self.indent < column:
                self._deep()
            return bool(super().add_indent(column))

    return BoundedScanner


def _read_yaml(path: Path, text: str) -> Mapping[str, Any]:
    from ruamel.yaml.error import YAMLError

    try:
        data = yaml_loader().load(text)
    except RecursionError:
        raise ConfigError(f"{path.name}: cannot parse (nested too deeply); fix the YAML") from None
    except (YAMLError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        where = f"{path.name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else path.name
        problem = getattr(exc, "problem", None)
        if problem:
            reason = f"{reason}: {problem}" if reason != problem else reason
        raise ConfigError(f"{where}: cannot parse ({reason}); fix the YAML syntax") from None
    except (ValueError, TypeError) as exc:  # a 5,000-digit number; a list as a mapping key
        first = (str(exc).splitlines() or [type(exc).__name__])[0].split(";")[0]
        raise ConfigError(f"{path.name}: cannot read a value ({first}); fix the YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: must be a mapping of option: value")
    return data
