"""The fast markdown reader equals markdown-it-py wherever it answers (fuzzed, like the
YAML fast path against ruamel), and titles come from real headings.

The suite runs a few hundred examples per property; before a change to
``compactor/markdown.py`` lands, run them with many more, e.g.
``MARKDOWN_EXAMPLES=20000`` (2 x 20,000 examples passed when the reader was written).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from compactor.markdown import fast_outline, markdown_it_outline, newlines, outline, title, title_of

EXAMPLES = int(os.environ.get("MARKDOWN_EXAMPLES", "400"))
PIECES = [
    "", " ", "  ", "# Title", "## Scope ##", "### x #", "#", "# #", "####### seven", "#tag",
    " # one", "   # three", "Title", "Some text: here", "  indented text", "===", "---", "-",
    "=", "= =", "- - -", "***", "* * *", "___", "- item: value", "* star", "+ plus",
    "1. first", "2. second", "2) paren", "0. zero", "10. ten", "1.", "- ", "-  two spaces",
    "-      far", "  - nested", "   - three", "    four", "1. a\n   - b", "```", "```py",
    "``` x ` y", "~~~", "````", "   ```", "  ~~~", "<!-- note -->", "<!--", "-->",
    "<div>", "> quote", "[ref]: /url", "- # item heading", "- > quote", "- ```",
    "- #tag", "- `code` x", "- **bold**: x", "- [link](u)", "- [r]: /u", "- 2. x", "- * x", "- ***", "- === x", "\tTab",
    "Setext\n---", "A\nB\n===", "text # not heading", "- a\n  ---", "- a\n---", "1. a\n2. b",
"> plain quote", ">no space", "> ", "> - q", "> # q", ">> q", "1. a\n\n   b\n2. c",
    "1. a\n\n b\n2. c", "- a\n\n  b\n- c", "> q\nlazy", "> q\n===", "> q\n---",
        "foo\n2. bar", "- a\nlazy", "\u00a0", "\x0c", "```\n\tcode", "```\t", "a\0b", "\t",
]


@st.composite
def documents(draw: st.DrawFn) -> str:
    lines = draw(st.lists(st.sampled_from(PIECES), max_size=14))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


def _check(doc: str) -> None:
    reference = markdown_it_outline(doc)
    fast = fast_outline(doc)
    assert fast is None or fast == reference
    assert outline(doc) == reference
    assert title(doc) == title_of(reference, doc)


@settings(max_examples=EXAMPLES, deadline=None)
@given(documents())
@example("# comment\n")
@example("Title\n=====\n")
def test_the_fast_reader_equals_markdown_it_on_fuzzed_documents(doc: str) -> None:
    _check(doc)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(alphabet="#-=*_`~ >1.)a\n<!\t", max_size=60))
def test_the_fast_reader_equals_markdown_it_on_random_text(doc: str) -> None:
    _check(doc)


def test_a_comment_in_a_fenced_block_is_not_the_title() -> None:
    doc = "```bash\n# install the tool\npip install x\n```\n\n## S085 guarded export\n"
    assert title(doc) == "S085 guarded export"


def test_a_setext_heading_is_a_title() -> None:
    assert title("Intro text\n\nS085 guarded export\n===================\n\n# Later\n") == \
        "S085 guarded export"
    assert title("Guarded export\n--------------\n") == "Guarded export"


def test_most_briefs_take_the_fast_path() -> None:
    doc = ("# S085 guarded export\n\n## Scope\n\n- route: /v2/export\n- tenant: alpha\n\n"
           "Proof of the envelope.\n\n```sh\n# run it\nmake proof\n```\n\n1. replay\n2. compare\n")
    assert fast_outline(doc) is not None


@pytest.mark.parametrize("text", ["\r---", "a\r---\rbody", "Title\r===\r\r- item\r"])
def test_a_lone_carriage_return_ends_a_line_as_markdown_it_reads_it(text: str) -> None:
    lines = outline(text)
    assert lines == markdown_it_outline(text)
    assert len(lines) == len(newlines(text).split("\n"))
    assert "\r" not in title(text)
