"""Generated blocks: the parts of a human file that compactor owns.

A generated block sits between two HTML comments, each alone on its line::

    <!-- compactor:NAME:begin -->
    …generated…
    <!-- compactor:NAME:end -->

``inventory`` owns the block ``inventory``, compaction the block ``folded``.
Every byte outside a block is kept (:func:`replace_block` is pure).

Text copied into a block from briefs (titles, labels, ``new_truth`` claims,
a folded lane's lines) could hold marker-like text that closes the block from
inside, opens a second one, or forges a folded lane's entry mark. Such text is
neutralised (:func:`neutralise`: ``<!--`` before ``compactor:`` becomes
``&lt;!--``, which a markdown viewer shows as the same characters), and
:func:`replace_block` neutralises any begin/end marker line in the content it
is given, whoever built it. A damaged block (a marker missing, doubled or out
of order) is a :class:`MarkerError` naming the file.
"""

from __future__ import annotations

import re

from compactor.errors import InputError


class MarkerError(InputError):
    """A generated block's markers are broken (missing end, duplicated, out of order)."""


def markers(name: str) -> tuple[str, str]:
    return f"<!-- compactor:{name}:begin -->", f"<!-- compactor:{name}:end -->"


# '<!--', optional blanks, 'compactor', optional blanks, ':' — any case. Linear: no nesting.
_MARKISH = re.compile(r"<!--(?=[ \t]*compactor[ \t]*:)", re.IGNORECASE)
# a line that a reader (or a later version) could take for a begin/end marker
_MARKER_LINE = re.compile(
    r"^[ \t]*<!--[ \t]*compactor[ \t]*:[^\n]*?:[ \t]*(?:begin|end)[ \t]*-->", re.IGNORECASE | re.M
)


def neutralise(text: str) -> str:
    """``text`` with every marker-like ``<!-- compactor:`` made inert (``&lt;!--``)."""
    if "<!--" not in text:
        return text
    return _MARKISH.sub("&lt;!--", text)


def _neutralise_marker_lines(content: str) -> str:
    if "<!--" not in content:
        return content
    return _MARKER_LINE.sub(lambda m: neutralise(m.group(0)), content)


def _marker_lines(text: str, marker: str) -> list[re.Match[str]]:
    return list(re.finditer(rf"^{re.escape(marker)}[ \t]*\r?$", text, re.MULTILINE))


def _where(where: str | None) -> str:
    return f"{where}: " if where else ""


def find_span(text: str, name: str, where: str | None = None) -> tuple[int, int, int, int] | None:
    """(begin marker start, begin marker end, end marker start, end marker end) or None.

    ``where`` (the file) opens the error message of a damaged block.
    """
    begin, end = markers(name)
    if begin not in text and end not in text:
        return None
    b, e = _marker_lines(text, begin), _marker_lines(text, end)
    if not b and not e:
        return None
    if len(b) != 1 or len(e) != 1 or e[0].start() < b[0].end():
        problem = (
            "has a begin marker but no end marker" if b and not e
            else "has an end marker but no begin marker" if e and not b
            else "has more than one begin or end marker" if len(b) > 1 or len(e) > 1
            else "has its end marker before its begin marker"
        )
        raise MarkerError(
            f"{_where(where)}the generated block '{name}' {problem}; restore '{begin}' … '{end}' "
            "(or delete both and the text between them) and run again"
        )
    stop = e[0].end()
    if text[stop - 1 : stop] == "\r":  # the marker's line ended in CRLF: keep the \r outside
        stop -= 1
    return b[0].start(), b[0].end(), e[0].start(), stop


def read_block(text: str, name: str, where: str | None = None) -> str | None:
    """The content of block ``name`` (without markers), or None when the text has none."""
    span = find_span(text, name, where)
    if span is None:
        return None
    return text[span[1] : span[2]].strip("\r\n")


def replace_block(text: str, name: str, content: str, where: str | None = None) -> str:
    """``text`` with block ``name`` holding ``content``; appended at the end when absent.

    Every byte outside the block is kept; marker lines inside ``content`` are
    neutralised. Pure: raises :class:`MarkerError` (naming ``where``) when the
    block's markers are broken.
    """
    begin, end = markers(name)
    inner = _neutralise_marker_lines(content.strip("\n"))
    block = f"{begin}\n{inner}\n{end}" if inner.strip() else f"{begin}\n{end}"
    span = find_span(text, name, where)
    if span is not None:
        return text[: span[0]] + block + text[span[3] :]
    if not text:
        return block + "\n"
    if text.endswith("\n\n"):
        return f"{text}{block}\n"
    if text.endswith("\n"):
        return f"{text}\n{block}\n"
    return f"{text}\n\n{block}\n"
