"""files.py: which files of the index are briefs (real temp git repos)."""

from __future__ import annotations

from conftest import GitRepo

from compactor.config import Config


def test_every_exclude_glob_matches_the_whole_path(repo: GitRepo) -> None:
    # each glob of a list ends at the end of the path, not only the last one: a file whose
    # name merely starts like an excluded one is still read
    repo.commit({
        "docs/CHANGELOG.md": "# Changelog\n\nmany words here\n",
        "docs/CHANGELOG.md-notes.md": "# Notes on the changelog\n\nmany words here\n",
        "docs/drafts/x.md": "# Draft\n\nmany words here\n",
    })
    config = Config(exclude=("**/CHANGELOG.md", "docs/drafts/**"))
    paths = {b.path for b in repo.scan(config, use_cache=False).briefs}
    assert paths == {"docs/CHANGELOG.md-notes.md"}


def test_every_include_glob_matches_the_whole_path(repo: GitRepo) -> None:
    repo.commit({
        "docs/a.md": "# A\n\nmany words here\n",
        "docs/a.md.orig": "# A, a merge leftover\n\nmany words here\n",
        "notes/b.txt": "# B\n\nmany words here\n",
    })
    config = Config(include=("docs/*.md", "notes/*.txt"))
    paths = {b.path for b in repo.scan(config, use_cache=False).briefs}
    assert paths == {"docs/a.md", "notes/b.txt"}


def test_the_literal_prefilter_never_drops_a_path_a_glob_matches() -> None:
    # select asks the exclude globs only about paths holding one of their literal parts:
    # every path a glob matches holds that glob's part
    import random
    import warnings

    from compactor.files import _holding, _literals, _matcher

    warnings.simplefilter("ignore", FutureWarning)  # '[[' in a random glob: a nested set?

    rng = random.Random(11)
    glob_bits = ["**/", "**", "*", "?", "[ab]", "[!a]", "[", "a", "b", "/", ".", "x\\", "é"]
    path_bits = ["a", "b", "/", ".", "x", "\\", "é", "ab/", "[", "]"]
    for _ in range(3000):
        globs = tuple("".join(rng.choice(glob_bits) for _ in range(rng.randint(1, 6)))
                      for _ in range(rng.randint(1, 3)))
        try:
            matcher = _matcher(globs)
        except Exception:  # noqa: BLE001 - a glob re cannot compile is refused by config
            continue
        paths = sorted({"".join(rng.choice(path_bits) for _ in range(rng.randint(1, 8)))
                        for _ in range(30)})
        held = _holding(paths, _literals(globs))
        matched = {p for p in paths if matcher is not None and matcher.match(p)}
        assert held is None or matched <= held, (globs, matched - held)
