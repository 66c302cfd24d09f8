"""The fast paths of a big scan give exactly the answers of the plain ones they replace."""

from __future__ import annotations

import random

import numpy as np
import pytest
import reference
from conftest import GitRepo

import compactor.fingerprints as fingerprints
from compactor import shapes
from compactor.briefs import looks_binary
from compactor.demo.example import loop_corpus, write_repo
from compactor.families import components
from compactor.render import scan_json


def test_a_scan_fingerprinted_by_worker_processes_equals_the_in_process_scan(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = loop_corpus(3, families=3, lanes_per_family=12)
    write_repo(repo.root, docs)
    repo.write("docs/binary.md", b"\0\1\2 not text")
    repo.git("add", "docs/binary.md")
    alone = scan_json(repo.scan(use_cache=False))
    monkeypatch.setattr(fingerprints, "PARALLEL_MIN", 10)
    monkeypatch.setattr(fingerprints, "_PART", 7)
    progress: list[tuple[str, int, int]] = []
    pooled = repo.scan(use_cache=False, progress=lambda *a: progress.append(a))
    assert scan_json(pooled) == alone
    assert '"family": "S' in alone and "docs/binary.md: looks binary" in alone
    done = [d for _, d, _ in progress]
    assert done == sorted(done) and len(done) > 2 and done[-1] == progress[-1][2] > 0


def _union_find_roots(n: int, pairs: list[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(n)]


def test_components_are_the_smallest_member_of_each_connected_group() -> None:
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randrange(1, 120)
        pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randrange(0, 2 * n))]
        got = components(n, np.array(pairs, dtype=np.int64).reshape(-1, 2)).tolist()
        assert got == _union_find_roots(n, pairs)
    chain = list(range(3000))
    rng.shuffle(chain)
    edges = list(zip(chain, chain[1:], strict=False))
    assert components(3000, np.array(edges, dtype=np.int64)).tolist() == [0] * 3000


def test_the_control_byte_precheck_never_hides_a_binary_file() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        data = bytes(rng.choice((rng.randrange(256), rng.randrange(32, 127), 10))
                     for _ in range(rng.randrange(0, 60))) * rng.choice((1, 200))
        if looks_binary(data):
            assert fingerprints._has_control_bytes(data)
    assert not fingerprints._has_control_bytes("plain text\twith tabs\r\n and ünïcode".encode())


def test_shingle_hashes_are_the_sorted_distinct_hashes() -> None:
    shape = shapes.mask("the same words and the same words again S101 2026-05-09 end " * 7, [])
    hashes = reference.shingle_hashes(shape, 3)
    expected = np.unique(np.array([reference.shingle_hash(s)
                                   for s in reference.shingle_strings(shape, 3)], dtype=np.uint32))
    assert np.array_equal(hashes, expected) and hashes.dtype == np.uint32
    assert reference.shingle_hashes(["one"], 3).tolist() == [reference.shingle_hash("one")]
