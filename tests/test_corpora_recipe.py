"""benchmarks/corpora.py: the recipe replays a folder in birth order, and every corpus has sound labels."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import GitRepo

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "corpora.py"
_spec = importlib.util.spec_from_file_location("corpora", SCRIPT)
assert _spec is not None and _spec.loader is not None
corpora = importlib.util.module_from_spec(_spec)
sys.modules["corpora"] = corpora
_spec.loader.exec_module(corpora)


@pytest.mark.parametrize("name", sorted(corpora.CORPORA))
def test_every_corpus_has_labels_with_real_groups(name: str) -> None:
    labels = corpora.load_labels(name)
    assert labels, f"labels/{name}.tsv is empty"
    sizes = Counter(g for g in labels.values() if g != "-")
    assert all(n >= 2 for n in sizes.values()), f"{name}: a group with one member: {sizes}"
    assert all(p.startswith("docs/") for p in labels), "paths are the replayed repo's (docs/...)"


def test_malformed_label_line_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "x.tsv").write_text("docs/a.md\tg\ndocs/b.md g\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"x\.tsv:2: expected"):
        corpora.load_labels("x", tmp_path)
    (tmp_path / "y.tsv").write_text("docs/a.md\tg\ndocs/a.md\t-\n", encoding="utf-8")
    with pytest.raises(ValueError, match="labelled twice"):
        corpora.load_labels("y", tmp_path)


def test_build_replays_the_folder_in_birth_order(repo: GitRepo, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    repo.commit({"notes/b.md": "# B\n", "other/c.md": "# C\n"}, when=2_000_000_000)
    repo.commit({"notes/sub/a.md": "# A\n", "notes/skip.txt": "no\n"}, when=1_000_000_000)
    repo.commit({"notes/b.md": "# B, edited\n"}, when=2_100_000_000)
    mirror = tmp_path / "mirror"
    (mirror / "o+n").mkdir(parents=True)
    (mirror / "o+n" / "repo").symlink_to(repo.root / ".git")
    monkeypatch.setitem(corpora.CORPORA, "tiny", corpora.Corpus("o+n", "HEAD", "notes/", r"\.md$", "negative", "t"))
    out = tmp_path / "out"
    assert corpora.build(str(mirror), str(out), "tiny") is True
    git = ["git", "-C", str(out / "tiny")]
    files = subprocess.run([*git, "ls-files"], capture_output=True, text=True, check=True).stdout.split()
    assert files == ["docs/b.md", "docs/sub/a.md"]  # folder prefix dropped, other folder and .txt left out
    log = subprocess.run([*git, "log", "--reverse", "--name-only", "--format=@%at"], capture_output=True,
                         text=True, check=True).stdout.split()
    # one commit per birth date, in date order: a was committed after b but authored earlier;
    # the text is the revision's (b's edit), the date its first addition's
    assert log == ["@1000000000", "docs/sub/a.md", "@2000000000", "docs/b.md"]
    assert (out / "tiny" / "docs" / "b.md").read_text() == "# B, edited\n"
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "tiny.tsv").write_text("docs/b.md\t-\ndocs/sub/a.md\t-\n", encoding="utf-8")
    found = list(corpora.labelled_corpora(["tiny"], root=out, labels=tmp_path / "labels"))
    assert [(c.name, c.repo, c.labels["docs/b.md"]) for c in found] == [("tiny", out / "tiny", "-")]


def test_build_without_snapshot_says_what_to_fetch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert corpora.build(str(tmp_path), str(tmp_path / "out"), "cycles") is False
    assert "fetch github:Victor-Dixon/Dream.os" in capsys.readouterr().err


def test_labels_md_describes_every_corpus_with_its_counts() -> None:
    """benchmarks/LABELS.md has a section '## NAME (docs / groups / docs in groups)' per corpus that
    matches its label file, so the prose cannot drift from the labels."""
    text = (SCRIPT.parent / "LABELS.md").read_text(encoding="utf-8")
    found = {m[1]: (int(m[2]), int(m[3]), int(m[4]))
             for m in re.finditer(r"^## (\w+) \((\d+) / (\d+) / (\d+)\)", text, re.M)}
    for name in corpora.CORPORA:
        labels = corpora.load_labels(name)
        sizes = Counter(g for g in labels.values() if g != "-")
        assert found.get(name) == (len(labels), len(sizes), sum(sizes.values())), name


def test_split_replay_commits_each_doc_in_natural_order(repo: GitRepo, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    repo.commit({"p/LAUNCH_A10.md": "# ten\n", "p/LAUNCH_A3.md": "# three\n", "p/LAUNCH_A4.md": "# four\n"},
                when=1_000_000_000)
    mirror = tmp_path / "mirror"
    (mirror / "o+n").mkdir(parents=True)
    (mirror / "o+n" / "repo").symlink_to(repo.root / ".git")
    monkeypatch.setitem(corpora.CORPORA, "tiny", corpora.Corpus("o+n", "HEAD", "p/", r"\.md$", "positive", "t"))
    assert corpora.build(str(mirror), str(tmp_path / "out"), "tiny", split=True)
    log = subprocess.run(["git", "-C", str(tmp_path / "out" / "tiny"), "log", "--reverse", "--format=%s %at"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert log == ["add LAUNCH_A3.md 1000000000", "add LAUNCH_A4.md 1000000000", "add LAUNCH_A10.md 1000000000"]


def test_births_by_path_date_same_named_files_apart(repo: GitRepo, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder of runs that each write ``result.md``: keyed by basename every result would take
    the first one's birth and land in one batch; keyed by path each keeps its own date."""
    repo.commit({"out/run1/result.md": "# one\n"}, when=1_000_000_000)
    repo.commit({"out/run2/result.md": "# two\n"}, when=2_000_000_000)
    mirror = tmp_path / "mirror"
    (mirror / "o+n").mkdir(parents=True)
    (mirror / "o+n" / "repo").symlink_to(repo.root / ".git")

    def replay(by_path: bool) -> list[str]:
        monkeypatch.setitem(corpora.CORPORA, "runs",
                            corpora.Corpus("o+n", "HEAD", "out/", r"\.md$", "mixed", "t", by_path=by_path))
        assert corpora.build(str(mirror), str(tmp_path / "out"), "runs")
        return subprocess.run(["git", "-C", str(tmp_path / "out" / "runs"), "log", "--reverse", "--name-only",
                               "--format=@%at"], capture_output=True, text=True, check=True).stdout.split()

    assert replay(by_path=False) == ["@1000000000", "docs/run1/result.md", "docs/run2/result.md"]
    assert replay(by_path=True) == ["@1000000000", "docs/run1/result.md", "@2000000000", "docs/run2/result.md"]
