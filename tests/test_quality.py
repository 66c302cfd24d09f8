"""benchmarks/quality.py scores families against labels (figures are asserted on a tiny corpus)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from conftest import GitRepo

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "quality.py"
_spec = importlib.util.spec_from_file_location("quality", SCRIPT)
assert _spec is not None and _spec.loader is not None
quality = importlib.util.module_from_spec(_spec)
sys.modules["quality"] = quality
_spec.loader.exec_module(quality)


def test_score_counts_pairs_loop_docs_and_strays() -> None:
    groups = {"a": "g", "b": "g", "c": "g", "d": "-", "e": "-"}
    family = {"a": "F", "b": "F", "c": None, "d": "F", "e": None}
    p, r, loop, neg = quality.score(groups, family)
    # predicted pairs: ab, ad, bd -> one true (ab); true pairs ab, ac, bc
    assert (p, r) == (1 / 3, 1 / 3)
    assert loop == 2 / 3  # a and b share a family with a groupmate, c does not
    assert neg == 1 / 2  # d is distinct and in a family


def test_naive_baseline_links_copies_and_leaves_distinct_docs(repo: GitRepo) -> None:
    body = " ".join(f"word{i} alpha beta gamma" for i in range(40))
    repo.commit({
        "docs/a.md": f"# A\n\n{body}\n",
        "docs/b.md": f"# B\n\n{body} extra\n",
        "docs/c.md": "# C\n\n" + " ".join(f"other{i} delta" for i in range(60)) + "\n",
    })
    fams = quality.naive_families(repo.root)
    assert fams["docs/a.md"] is not None and fams["docs/a.md"] == fams["docs/b.md"]
    assert fams["docs/c.md"] is None
    fig = quality.measure(repo.root, {"docs/a.md": "x", "docs/b.md": "x", "docs/c.md": "-"},
                          "compactor")
    assert fig.recall == 1.0 and fig.neg == 0.0
