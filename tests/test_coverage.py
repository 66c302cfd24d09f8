"""What each lane proved: gap dimensions come from the family's own lanes."""

from __future__ import annotations

from compactor.briefs import Brief, parse_brief
from compactor.config import Config
from compactor.coverage import family_coverage


def _briefs(texts: list[str]) -> list[Brief]:
    config = Config()
    out = []
    for k, text in enumerate(texts):
        b, _warnings = parse_brief(config, f"docs/merge/PR_{101 + k}_MERGE_LOG.md", f"{k:040x}",
                                   text)
        out.append(b._replace(body=text))
    return out


def merge_log(n: int, checks: list[str]) -> str:
    items = "\n".join(f"- {c}: green on the merge commit" for c in checks)
    return f"# PR {n} merge log\n\n## Summary\n\nMerged the change.\n\n## Verification\n\n{items}\n"


def test_a_family_without_the_envelope_vocabulary_gets_gaps_from_its_own_lanes() -> None:
    briefs = _briefs([
        merge_log(101, ["CI", "Docs gates", "Lint"]),
        merge_log(102, ["CI", "Docs gates"]),
        merge_log(103, ["CI", "Lint", "Audit"]),
    ])
    cov = family_coverage(Config(), briefs, "PR_101", [0, 1, 2])
    gaps = [g.text for g in cov.gaps]
    assert cov.columns == ("audit", "ci", "docs gates", "lint")
    # one standard dimension is not the envelope vocabulary: nothing is "never proved"
    assert not [g for g in cov.gaps if g.what == "never proved"]
    assert not any("positive path" in g or "replay" in g for g in gaps)
    # what some lanes prove and others do not
    assert "`docs gates` not proved by 1 of 3 lanes: PR_103_MERGE_LOG" in gaps
    assert "`lint` not proved by 1 of 3 lanes: PR_102_MERGE_LOG" in gaps
    assert not any(g.startswith("`ci`") for g in gaps)  # every lane proved it


def test_a_family_proving_envelopes_is_told_which_standard_dimensions_it_never_proved() -> None:
    briefs = _briefs([
        merge_log(101, ["Positive path", "Negative path"]),
        merge_log(102, ["Positive path", "Negative path"]),
    ])
    cov = family_coverage(Config(), briefs, "PR_101", [0, 1])
    never = [g.text for g in cov.gaps if g.what == "never proved"]
    assert never == ["`replay` is never proved in any lane", "`audit` is never proved in any lane"]
