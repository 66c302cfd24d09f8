"""Bounded user patterns: no regex or glob from a repository can hang a check.

``lane_pattern``, ``kind_rules`` and the ``include`` / ``exclude`` globs come
from the repository's config, i.e. from whoever wrote the last pull request. A
backtracking engine can take exponential time on a pattern like ``(a|aa)+$``.

The choice (measured on this machine, see ``tests/test_security.py``):

- compactor's own default patterns run on Python's ``re`` (fast, reviewed);
- a pattern the config supplies runs on the ``regex`` package with its
  ``timeout``: each call may take ``PATTERN_SECONDS`` (0.25 s: ``regex``
  checks its clock coarsely, so it fires after ~0.9 s of wall time here), and
  all calls together get a budget that grows with the number of calls
  (``BUDGET_SECONDS`` plus ``PER_CALL_SECONDS`` each), so a pattern that is
  merely slow on every file cannot add up to hours either. Running out is a
  :class:`~compactor.errors.ConfigError` (exit 2) naming the option and the
  pattern. ``regex`` with a timeout costs ~10 µs a call instead of ~2 µs:
  paid only by repositories that set their own patterns, and only on cold
  briefs (the cache keeps the results per blob);
- a glob becomes a regex of ``[^/]*`` / ``.*`` runs; one with at most two
  wildcards in any path segment and at most three ``**`` can backtrack only
  polynomially in a segment's length and runs on ``re`` (the hook's warm path
  matches every index entry against them); any other glob goes to ``regex``
  as above. Runs of ``*`` and repeated ``**/`` collapse first.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any, cast

from compactor.errors import ConfigError

PATTERN_SECONDS = 0.25  # regex's own timeout per call (fires after ~0.9 s wall here)
BUDGET_SECONDS = 2.0  # all bounded calls of one process together, plus PER_CALL_SECONDS each
PER_CALL_SECONDS = 50e-6

_spent = [0.0, 0]  # seconds in bounded calls, number of calls


class Bounded:
    """A ``re.Pattern``-like object running a repository's pattern on ``regex`` with a
    time bound. Methods take the ``re`` arguments (text first)."""

    __slots__ = ("_p", "option", "pattern", "groups")

    def __init__(self, pattern: str, flags: int, option: str) -> None:
        import regex

        self._p: Any = regex.compile(pattern, flags | regex.VERSION0)
        self.option, self.pattern = option, pattern
        self.groups: int = self._p.groups

    def _call(self, method: str, text: str, *args: Any) -> Any:
        """``self._p.<method>(*args)`` with a time bound; ``text`` is the subject (for the
        message)."""
        return self._call_with(getattr(self._p, method), text, *args)

    def _call_with(self, func: Any, text: str, *args: Any) -> Any:
        spent, calls = _spent
        left = BUDGET_SECONDS + PER_CALL_SECONDS * calls - spent
        if left <= 0:
            raise self._slow(text)
        start = time.perf_counter()
        try:
            return func(*args, timeout=min(PATTERN_SECONDS, left))
        except TimeoutError:
            raise self._slow(text) from None
        finally:
            _spent[0] += time.perf_counter() - start
            _spent[1] += 1

    def _slow(self, text: str) -> ConfigError:
        shown = text if len(text) <= 60 else text[:57] + "..."
        return ConfigError(
            f"option '{self.option}': the pattern {self.pattern!r} took too long (over "
            f"{PATTERN_SECONDS:g} s on {shown!r}); simplify it — nested or overlapping repeats "
            "such as (a+)+ or (a|aa)+ backtrack without end"
        )

    def search(self, text: str, *args: Any) -> re.Match[str] | None:
        return cast("re.Match[str] | None", self._call("search", text, text, *args))

    def match(self, text: str, *args: Any) -> re.Match[str] | None:
        return cast("re.Match[str] | None", self._call("match", text, text, *args))

    def fullmatch(self, text: str, *args: Any) -> re.Match[str] | None:
        return cast("re.Match[str] | None", self._call("fullmatch", text, text, *args))

    def sub(self, repl: str, text: str, *args: Any) -> str:
        return cast(str, self._call("sub", text, repl, text, *args))

    def finditer(self, text: str, *args: Any) -> Iterator[re.Match[str]]:
        def every(*call: Any, timeout: float) -> list[Any]:
            return list(self._p.finditer(*call, timeout=timeout))

        return iter(cast("list[re.Match[str]]", self._call_with(every, text, text, *args)))

    def findall(self, text: str, *args: Any) -> list[Any]:
        return cast("list[Any]", self._call("findall", text, text, *args))


def compile_user(pattern: str, flags: int, option: str, trusted: bool) -> re.Pattern[str]:
    """``pattern`` compiled: on ``re`` when ``trusted`` (compactor's own defaults), else
    bounded (:class:`Bounded`, typed as a ``re.Pattern`` for the callers). Raises
    ``re.error`` / ``regex.error`` for a bad pattern."""
    if trusted:
        return re.compile(pattern, flags)
    return cast("re.Pattern[str]", Bounded(pattern, flags, option))


def pattern_errors() -> tuple[type[Exception], ...]:
    """The exceptions a bad pattern raises when compiled (``re`` and ``regex``)."""
    import regex

    return (re.error, regex.error)


def glob_is_tame(glob: str) -> bool:
    """Whether a glob's regex backtracks at most polynomially in one segment (<= 2
    wildcards in any segment, <= 3 ``**``): those run on ``re``."""
    if glob.count("**") > 3:
        return False
    return all(segment.replace("**", "*").count("*") <= 2 for segment in glob.split("/"))


def tidy_glob(glob: str) -> str:
    """Collapse what only multiplies backtracking: ``***`` -> ``**``, ``**/**/`` -> ``**/``."""
    glob = re.sub(r"\*{3,}", "**", glob)
    while "**/**/" in glob:
        glob = glob.replace("**/**/", "**/")
    return glob
