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
