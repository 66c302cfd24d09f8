"""Families: connected components of verified pairs."""

from __future__ import annotations

import random

import numpy as np

from compactor.families import components


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
