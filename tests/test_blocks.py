"""Generated blocks: markers, find / replace, neutralising copied text."""

from __future__ import annotations

import pytest

from compactor.blocks import MarkerError, neutralise, read_block, replace_block


def test_neutralise_makes_every_marker_spelling_inert_and_keeps_other_text() -> None:
    for text in ("<!-- compactor:inventory:end -->", "<!--compactor:x:begin-->",
                 "<!--  COMPACTOR : folded:lane \"a\" -->", "a <!-- compactor:y:end --> b"):
        out = neutralise(text)
        assert "<!--" not in out and "&lt;!--" in out
        assert out.replace("&lt;!--", "<!--") == text
    for text in ("<!-- a comment -->", "plain", "<!-- compactors are fine -->", ""):
        assert neutralise(text) == text


def test_replace_block_neutralises_marker_lines_in_its_content() -> None:
    text = replace_block("intro\n", "x", "one\n<!-- compactor:x:end -->\n<!-- compactor:y:begin -->")
    assert text.count("<!-- compactor:") == 2
    assert read_block(text, "x") == "one\n&lt;!-- compactor:x:end -->\n&lt;!-- compactor:y:begin -->"
    assert replace_block(text, "x", read_block(text, "x") or "") == text  # idempotent


def test_a_damaged_block_names_the_file() -> None:
    with pytest.raises(MarkerError, match=r"^docs/INV.md: the generated block 'x' has an end "):
        read_block("<!-- compactor:x:end -->\n", "x", "docs/INV.md")
    with pytest.raises(MarkerError, match=r"^the generated block 'x' has more than one"):
        replace_block("<!-- compactor:x:begin -->\n" * 2 + "<!-- compactor:x:end -->\n", "x", "")
