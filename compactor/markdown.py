"""The structure of a markdown document, line by line: headings (ATX and setext),
list items, code (fenced or indented) and the rest — as markdown-it-py reads it.

``outline(text)`` gives one :class:`Line` per line of ``text.split("\\n")``. It is
markdown-it-py's answer (CommonMark), read from its block tokens. Building those
tokens for every brief of a cold scan costs more than the scan may spend, so a fast
line reader answers first for the documents it can model exactly — flat CommonMark
without block quotes, HTML other than comments, tabs, indented code, link reference
definitions or nested blocks opening a list item — and declines (None) anything
else, which markdown-it-py then reads. ``tests/test_markdown.py`` fuzzes documents
to prove the fast reader equal to markdown-it-py wherever it answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal, NamedTuple

Role = Literal["blank", "text", "heading", "item", "code", "markup"]


class Line(NamedTuple):
    """One source line: its role, a heading's level (else 0) and its text — a heading's
    or a list item's content (stripped; a setext heading's lines joined by newlines),
    else the stripped line itself."""

    role: Role
    level: int
    text: str


BLANK = Line("blank", 0, "")
CODE = Line("code", 0, "")
MARKUP = Line("markup", 0, "")  # a thematic break, a setext underline, a heading's later lines


def _plain(line: str) -> Line:
    return BLANK if not line.strip(" \t") else Line("text", 0, line.strip())


def outline(text: str) -> tuple[Line, ...]:
    """Every line's role in ``text``: the fast reader's answer, else markdown-it-py's."""
    fast = fast_outline(text)
    return fast if fast is not None else markdown_it_outline(text)


def title(text: str) -> str:
    """The text of the first heading with any text (a multi-line setext heading on one
    line), else the first line of text or a list item (stripped, up to 120
    characters), else ''. Reads no further than it must."""
    text = newlines(text)
    lines = _fast_lines(text, until_title=True)
    if lines is None:  # the fast reader declined: markdown-it-py reads the document
        return title_of(markdown_it_outline(text), text)
    return title_of(lines, text)


def title_of(lines: Sequence[Line], text: str) -> str:
    """``title`` from an outline of ``text``."""
    fallback = -1
    for i, line in enumerate(lines):
        if line.role == "heading" and line.text:
            return _one_line(line.text)
        if fallback < 0 and line.role in ("text", "item") and line.text:
            fallback = i
    return text.split("\n", fallback + 1)[fallback].strip()[:120] if fallback >= 0 else ""


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text else text


# -- markdown-it-py --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def newlines(text: str) -> str:
    """Line breaks as markdown-it-py splits lines (CR LF and a lone CR end a line too), so
    its token line numbers index ``text.split("\\n")``."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def markdown_it_outline(text: str) -> tuple[Line, ...]:
    """``outline`` as markdown-it-py's block tokens give it (the reference)."""
    text = newlines(text)
    raw = text.split("\n")
    out = [_plain(line) for line in raw]
    tokens = _parser().parse(text)
    for i, tok in enumerate(tokens):
        if tok.map is None:
            continue
        start, end = tok.map
        if tok.type in ("fence", "code_block"):
            out[start:end] = [CODE] * (end - start)
        elif tok.type == "hr":
            out[start] = MARKUP
        elif tok.type == "heading_open":
            out[start] = Line("heading", int(tok.tag[1]), tokens[i + 1].content.strip())
            out[start + 1 : end] = [MARKUP] * (end - start - 1)
        elif tok.type == "list_item_open":
            nxt = tokens[i + 1]
            first = ""
            if nxt.type == "paragraph_open" and nxt.map is not None and nxt.map[0] == start:
                first = tokens[i + 2].content.split("\n", 1)[0].strip()
            out[start] = Line("item", 0, first)
    return tuple(out)


# -- the fast reader ---------------------------------------------------------------------------


class _Declined(Exception):
    pass


def fast_outline(text: str) -> tuple[Line, ...] | None:
    """``outline`` for the documents the fast reader models exactly, else None."""
    lines = _fast_lines(text)
    return tuple(lines) if lines is not None else None


def _hr(body: str) -> bool:
    """A thematic break: three or more of one of - * _, spaces allowed between."""
    c = body[0]
    if c not in "-*_":
        return False
    squeezed = body.replace(" ", "")
    return len(squeezed) >= 3 and squeezed == c * len(squeezed)


def _marker(body: str) -> tuple[str, int, int] | None:
    """A list item marker at the start of ``body``: (kind, number, width), where kind
    is the bullet or the ordered delimiter; None when there is none."""
    c = body[0]
    if c in "-*+":
        return (c, -1, 1) if len(body) == 1 or body[1] == " " else None
    if not c.isdigit():
        return None
    k = 0
    while k < len(body) and k < 10 and "0" <= body[k] <= "9":
        k += 1
    if k > 9 or k >= len(body) or body[k] not in ".)":
        return None
    if k + 1 < len(body) and body[k + 1] != " ":
        return None
    return body[k], int(body[:k]), k + 1


def _opens_block(content: str) -> bool:
    """Whether a list item's content opens a block other than a paragraph (or might)."""
    c = content[0]
    if c in "><":
        return True
    if c == "#":
        level = len(content) - len(content.lstrip("#"))
        return level <= 6 and (level == len(content) or content[level] == " ")
    if c in "`~":
        return len(content) - len(content.lstrip(c)) >= 3
    if c == "[":
        return "]:" in content
    return _hr(content) or _marker(content) is not None


_SPECIAL = frozenset("#`~<>[-*_=+0123456789")  # what a line must start with to be no plain text
_NOT_PLAIN = _SPECIAL | {" ", ""}  # an item's content starting so may open a block


def _fast_lines(text: str, until_title: bool = False) -> list[Line] | None:
    """Each line's role, in order, or None when declining; with ``until_title``, only
    up to the first heading with text (what ``title`` needs).

    A paragraph's lines are held back until it ends: a setext underline may still
    turn them into a heading.
    """
    if "\r" in text:  # markdown-it splits lines at a lone CR too
        return None
    out: list[Line] = []
    raw = text.split("\n")
    tail = not raw[-1].strip(" \t")
    if tail:
        raw.pop()  # a blank last piece is no line to markdown-it (the reference has it blank)
    controls = "\t" in text or "\0" in text
    fence: tuple[str, int] | None = None  # (marker char, run length) of the open fence
    comment = False  # inside an HTML comment block
    para: list[Line] = []  # the open paragraph's lines, held back
    para_start = 0
    para_in_list = False
    in_list = False
    item_at: tuple[str, int] | None = None  # (marker kind, indent) of the last item line
    item_offset = 0  # where the last item's content starts
    para_indent = 0
    blank_before = True
    for i, line in enumerate(raw):
        if fence is not None:
            body = line.lstrip(" ")
            if len(line) - len(body) < 4 and body[:1] == fence[0]:
                if "\t" in body:  # tabs may pad a closing fence
                    return None
                run = len(body) - len(body.lstrip(fence[0]))
                if run >= fence[1] and not body[run:].strip(" "):
                    fence = None
            out.append(CODE)
            continue
        if comment:
            if "-->" in line:
                comment = False
            out.append(_plain(line))
            continue
        if controls and ("\t" in line or "\0" in line):  # tab stops; NUL read as U+FFFD
            return None
        body = line.lstrip(" ")
        indent = len(line) - len(body)
        if not body:
            out.extend(para)
            para = []
            out.append(BLANK)
            blank_before = True
            continue
        if indent >= 4:
            return None
        c = body[0]
        if c in "-*+" and body[1:2] == " " and body[2:3] not in _NOT_PLAIN:
            # the common list item: a bullet, one space, content that opens no block
            out.extend(para)
            para = [Line("item", 0, body[2:].strip())]
            para_start = i
            para_in_list = in_list = True
            item_at = (c, indent)
            item_offset = indent + 2
            blank_before = False
            continue
        if c not in _SPECIAL:  # most lines: text, in a paragraph or starting one
            if not para:
                para_start, para_indent = i, indent
                if in_list and (indent > 0 or not blank_before):
                    para_in_list = True
                else:
                    para_in_list = in_list = False
            para.append(Line("text", 0, line.strip()))
            blank_before = False
            continue
        ends_list = indent == 0 and (blank_before or c in "#`~<-*_=")
        if c == ">":
            # a block quote of plain text: its lines are text (a setext underline or a
            # list around it is left to markdown-it)
            quoted = body[2:] if body[1:2] == " " else body[1:]
            if in_list or not quoted.strip(" ") or quoted[0] in _NOT_PLAIN:
                return None
            out.extend(para)
            para = [Line("text", 0, line.strip())]
            para_start = i
            para_in_list = True  # not a paragraph a setext underline may take
            blank_before = False
            continue
        if c == "[" and "]:" in body:
            return None
        if c == "<":
            if not body.startswith("<!--") or in_list:
                return None
            out.extend(para)
            para = []
            comment = "-->" not in body
            out.append(_plain(line))
            blank_before = False
            continue
        if c in "`~":
            run = len(body) - len(body.lstrip(c))
            if run >= 3 and not (c == "`" and "`" in body[run:]):
                if in_list and indent > 0:
                    return None
                out.extend(para)
                para = []
                fence = (c, run)
                in_list = in_list and not ends_list
                out.append(CODE)
                blank_before = False
                continue
        if c == "#":
            level = len(body) - len(body.lstrip("#"))
            rest = body[level:]
            if level <= 6 and (not rest or rest[0] == " "):
                core = rest[: len(rest.rstrip(" "))]
                t = len(core.rstrip("#"))
                if t > 0 and core[t - 1] == " ":
                    core = core[:t]
                out.extend(para)
                para = []
                in_list = in_list and not ends_list
                out.append(Line("heading", level, core.strip()))
                if until_title and out[-1].text:
                    return out
                blank_before = False
                continue
        if para and c in "=-" and body.rstrip(" ") == c * len(body.rstrip(" ")):
            if para_in_list or in_list:
                return None
            content = "\n".join(raw[para_start:i]).strip()
            out.append(Line("heading", 1 if c == "=" else 2, content))
            if until_title and content:
                return out
            out.extend([MARKUP] * (len(para) - 1))
            para = []
            out.append(MARKUP)
            blank_before = False
            continue
        if _hr(body):
            out.extend(para)
            para = []
            in_list = in_list and not ends_list
            out.append(MARKUP)
            blank_before = False
            continue
        mark = _marker(body)
        if mark is not None:
            kind, number, width = mark
            rest = body[width:]
            content = rest.lstrip(" ")
            gap = len(rest) - len(content)
            if not content.strip(" ") or gap >= 5 or _opens_block(content):
                return None
            sibling = bool(para) and item_at == (kind, indent) and (
                para[0].role == "item" or (para_in_list and para_indent >= item_offset))
            if para and number >= 0 and number != 1 and not sibling:
                return None
            out.extend(para)
            para = [Line("item", 0, content.strip())]
            para_start = i
            para_in_list = in_list = True
            item_at = (kind, indent)
            item_offset = indent + width + gap
            blank_before = False
            continue
        if not para:
            para_start, para_indent = i, indent
            if in_list and (indent > 0 or not blank_before):
                para_in_list = True
            else:
                para_in_list = in_list = False
        para.append(_plain(line))
        blank_before = False
    out.extend(para)
    if tail:
        out.append(BLANK)
    return out
