"""The synthetic corpus generator: deterministic, realistic enough, and with honest ground truth."""

from __future__ import annotations

import itertools
import re
import statistics
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from compactor.demo.example import (
    ACTIONS,
    ExampleDoc,
    label_spellings,
    loop_corpus,
    scale_corpus,
    write_repo,
)

KINDS = {
    "brief", "ack", "proof", "hardening", "closeout", "coverage", "gaps", "redirect",
    "postmortem", "other",
}
_SPELLINGS = sorted(
    {v for a in ACTIONS for v in label_spellings(a).values()}, key=len, reverse=True
)
_LABEL = re.compile("|".join(map(re.escape, _SPELLINGS)))


def shingles(text: str, *, unlabel: bool = False) -> set[tuple[str, ...]]:
    if unlabel:
        text = _LABEL.sub("LABEL", text)
    words = re.sub(r"\d+", "0", text.lower()).split()
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="module")
def corpus() -> list[ExampleDoc]:
    return loop_corpus(0)


def families(docs: list[ExampleDoc]) -> dict[str, list[ExampleDoc]]:
    out: dict[str, list[ExampleDoc]] = defaultdict(list)
    for d in docs:
        if d.family is not None:
            out[d.family].append(d)
    return out


def test_deterministic() -> None:
    assert loop_corpus(3) == loop_corpus(3)
    assert loop_corpus(3) != loop_corpus(4)
    assert scale_corpus(200, seed=5) == scale_corpus(200, seed=5)


def test_shape_of_a_loop(corpus: list[ExampleDoc]) -> None:
    assert all(d.kind in KINDS for d in corpus)
    assert len({d.path for d in corpus}) == len(corpus)
    steps = [b.created - a.created for a, b in itertools.pairwise(corpus)]
    assert corpus[0].created == 1778304756 and all(60 <= s <= 600 for s in steps)
    fams = families(corpus)
    assert len(fams) == 3 and all(len(v) >= 25 for v in fams.values())
    # lane numbers run S085, S086, ... across the whole loop, in commit order
    lanes = [
        re.search(r"^# (S\d+) ", d.text, re.M) for d in corpus
        if d.family and not d.family.endswith("launch")
    ]
    numbers = [int(m.group(1)[1:]) for m in lanes if m]
    assert numbers == list(range(85, 85 + 50))
    kinds = {d.kind for d in corpus}
    assert {"proof", "hardening", "postmortem", "closeout", "ack", "other"} <= kinds


def test_renamed_lanes_differ_by_label(corpus: list[ExampleDoc]) -> None:
    fams = families(corpus)
    with_front_matter = 0
    for fid, docs in fams.items():
        if fid.endswith("launch"):
            # launch prompts differ by nothing but the packet id
            masked = {re.sub(r"(?i)pkt-\d+", "PKT", d.text) for d in docs}
            assert len(masked) == 1
            assert len({d.text for d in docs}) == len(docs)
            continue
        labels = []
        for d in docs:
            name = d.path.rsplit("/", 1)[1]
            found = [a for a in ACTIONS
                     if any(label_spellings(a)[k] in name for k in ("kebab", "snake", "pascal"))]
            assert found, d.path
            labels.append(max(found, key=lambda a: len("_".join(a))))
        assert len(set(labels)) == len(docs)  # every lane a new action label
        for d, label in zip(docs, labels, strict=True):
            sp = label_spellings(label)
            for key in ("snake", "kebab", "words", "Sentence", "pascal"):  # every spelling
                assert sp[key] in d.text, (d.path, key)
            assert 250 <= len(d.text.split()) <= 600
        if docs[0].text.startswith("---\n"):
            with_front_matter += 1
            assert all(re.search(r"^tokens: \{codex: \d+, loom: \d+\}$", d.text, re.M)
                       for d in docs)
            assert all("\naction: " in d.text and "\nroute: " in d.text for d in docs)
        else:
            assert not any(d.text.startswith("---") for d in docs)
    assert with_front_matter == 1


def test_within_family_near_duplicates(corpus: list[ExampleDoc]) -> None:
    fams = {k: v for k, v in families(corpus).items() if not k.endswith("launch")}
    sets = {k: [shingles(d.text, unlabel=True) for d in v] for k, v in fams.items()}
    for fid, ss in sets.items():
        mean = statistics.mean(jaccard(a, b) for a, b in itertools.combinations(ss, 2))
        assert mean > 0.8, (fid, mean)
        late = statistics.mean(jaccard(a, b) for a, b in itertools.combinations(ss[5:], 2))
        early = statistics.mean(jaccard(a, b) for a, b in itertools.combinations(ss[:2], 2))
        assert early < late  # the establishing lanes differ more
        assert not any(a == b for a, b in itertools.combinations(ss, 2))  # never exact copies
    (a, sa), (b, sb) = sets.items()
    assert max(jaccard(x, y) for x in sa[:5] for y in sb[:5]) < 0.5  # families are distinct


def test_skeleton_and_other_docs_are_not_near_duplicates(corpus: list[ExampleDoc]) -> None:
    others = [d for d in corpus if d.family is None and d.kind != "ack"]
    skeleton = [d for d in others if d.path.startswith(("docs/merges/", "docs/reports/"))]
    assert len(skeleton) >= 10
    heads = {tuple(re.findall(r"^## .+$", d.text, re.M)) for d in skeleton}
    assert heads == {("## Summary", "## Changes", "## Risks", "## Follow-ups")}
    ss = [shingles(d.text) for d in others]
    assert max(jaccard(a, b) for a, b in itertools.combinations(ss, 2)) < 0.5


def test_acks_are_short_chatter(corpus: list[ExampleDoc]) -> None:
    acks = [d for d in corpus if d.kind == "ack"]
    assert len(acks) >= 10 and all(d.family is None for d in acks)
    assert all(20 <= len(d.text.split()) <= 80 for d in acks)
    assert any("ack" not in d.path for d in acks)
    signal = re.compile(r"(?i)\back|next (bounded )?(slice|step)|proceed|continue with|go ahead")
    assert all(signal.search(d.text) for d in acks)


def test_scale_corpus() -> None:
    docs = scale_corpus(600, seed=2)
    assert len(docs) == 600 and len({d.path for d in docs}) == 600
    assert all(b.created - a.created == 30 for a, b in itertools.pairwise(docs))
    assert all(400 <= len(d.text.split()) <= 800 for d in docs)
    assert len({d.family for d in docs if d.family}) == 50
    one_offs = sum(d.family is None for d in docs)
    assert 0.05 * len(docs) < one_offs < 0.15 * len(docs)


def test_write_repo(tmp_path: Path) -> None:
    docs = loop_corpus(1, families=2, lanes_per_family=4, skeleton_docs=3, one_offs=3)
    root = tmp_path / "repo"
    write_repo(root, docs)
    log = git(root, "log", "--reverse", "--format=%an <%ae>|%at|%ct|%s").splitlines()
    assert len(log) == len(docs)
    for line, doc in zip(log, docs, strict=True):
        who, at, ct, subject = line.split("|", 3)
        assert who == "Example Agent <agent@example.invalid>"
        assert int(at) == int(ct) == doc.created
        assert subject
    assert set(git(root, "ls-files").splitlines()) == {d.path for d in docs}
    assert git(root, "status", "--porcelain") == ""
    assert git(root, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    lane = next(d for d in docs if d.family == "F01")
    assert (root / lane.path).read_text() == lane.text
    assert re.match(r"S\d+: ", git(root, "log", "-1", "--format=%s", "--", lane.path))
    # one commit per doc, each adding exactly its own file
    counts = git(root, "log", "--format=", "--name-only").split()
    assert len(counts) == len(docs)

    # appending on top of an existing history
    head = git(root, "rev-parse", "HEAD").strip()
    more = [
        ExampleDoc("notes/extra one.md", "# Extra\n\nsome text\n", None, "other", 1778400000),
        ExampleDoc('notes/"quoted".md', "quoted\n", None, "other", 1778400060),
    ]
    write_repo(root, more)
    assert int(git(root, "rev-list", "--count", "HEAD")) == len(docs) + 2
    git(root, "merge-base", "--is-ancestor", head, "HEAD")
    assert (root / "notes/extra one.md").read_text() == "# Extra\n\nsome text\n"
    assert git(root, "log", "-1", "--format=%s").strip() == 'add notes/"quoted".md'


def test_write_repo_other_branch(tmp_path: Path) -> None:
    docs = loop_corpus(2, families=1, lanes_per_family=2, proofs=0, skeleton_docs=0, one_offs=0)
    write_repo(tmp_path, docs, branch="trunk")
    assert git(tmp_path, "branch", "--show-current").strip() == "trunk"
    assert int(git(tmp_path, "rev-list", "--count", "HEAD")) == len(docs)
