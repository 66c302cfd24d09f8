"""The one project exception and its fixed exit codes.

Every failure the user can act on is a :class:`CompactorError`; ``cli.py`` turns
it into one line on stderr and the exit code below. Nothing else in the package
calls ``sys.exit``.
"""

from __future__ import annotations

from typing import NamedTuple

EXIT_OK = 0
EXIT_BLOCKED = 1  # the gate blocked, or --check / verify found something stale or missing
EXIT_USAGE = 2  # usage or input error: bad config, not a repo, refused operation
EXIT_INTERNAL = 3  # a bug in compactor


class CompactorError(Exception):
    """An error with a message that says what is wrong and what to do next."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotARepoError(CompactorError):
    """The path is not inside a git work tree."""


class ConfigError(CompactorError):
    """The configuration is invalid; ``key`` names the option at fault, when one is."""

    key: str | None = None


class InputError(CompactorError):
    """A file or argument cannot be used."""


class RefusedError(CompactorError):
    """The operation would be unsafe in the repository's current state."""


class Warning(NamedTuple):  # noqa: A001 - the project's warning record, not the builtin class
    """A problem that did not stop the command: about the repo file ``path`` (None: the
    whole run), saying ``text``. Shown as ``path: text``."""

    path: str | None
    text: str

    def __str__(self) -> str:
        return self.text if self.path is None else f"{path_for_humans(self.path)}: {self.text}"


def path_for_humans(path: str) -> str:
    """A path safe to print on one line (newlines and undecodable bytes escaped)."""
    if path.isprintable():
        return path
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace").encode(
        "unicode_escape").decode("ascii")
