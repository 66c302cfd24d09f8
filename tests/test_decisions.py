"""Novelty and nearest lanes: the blocked numpy computation against a plain one."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from compactor import decisions
from compactor.briefs import Brief
from compactor.config import Config
from compactor.families import Family


def _family_rows(rng: np.random.Generator, n: int, width: int, values: int) -> npt.NDArray[np.uint32]:
    """Members sharing a base signature, each with some slots redrawn from a few values
    (few values: many ties, which the nearest-lane order must break by earliest lane)."""
    base = rng.integers(0, values, width, dtype=np.uint32)
    rows = np.tile(base, (n, 1))
    redraw = rng.random((n, width)) < rng.uniform(0.1, 0.9)
    rows[redraw] = rng.integers(0, values, int(redraw.sum()), dtype=np.uint32)
    return rows


def _plain(rows: npt.NDArray[np.uint32], k: int) -> list[tuple[int, int, list[tuple[int, int]]]]:
    out = []
    for i in range(1, len(rows)):
        shared = [int((rows[j] == rows[i]).sum()) for j in range(i)]
        recent = max(shared[max(0, i - k):])
        order = sorted(range(i), key=lambda j: (-shared[j], j))[:k]
        out.append((recent, max(shared), [(j, shared[j]) for j in order]))
    return out


@pytest.mark.parametrize("n, width, values", [
    (2, 16, 3), (4, 16, 2), (40, 64, 5), (150, 128, 4), (300, 128, 1000), (700, 128, 6),
])
def test_neighbours_match_a_plain_pairwise_count(n: int, width: int, values: int) -> None:
    # 150 x 128 and up take the slot-at-a-time branch; below, whole rows at once
    rows = _family_rows(np.random.default_rng(n), n, width, values)
    assert list(decisions._neighbours(rows)) == _plain(rows, decisions.LOOKBACK)


@pytest.mark.parametrize("n, values, share", [(600, 5, 0.03), (520, 1000, 0.08), (400, 3, 0.2)])
def test_neighbours_of_near_copies_counted_from_their_odd_slots(
    n: int, values: int, share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a family of near-copies (few slots off each column's mode: a real family's shape)
    # takes the sparse count; its answer is the plain pairwise count's
    rng = np.random.default_rng(n)
    base = rng.integers(0, values, 128, dtype=np.uint32)
    rows = np.tile(base, (n, 1))
    redraw = rng.random((n, 128)) < share
    rows[redraw] = rng.integers(0, values, int(redraw.sum()), dtype=np.uint32)
    calls = []
    shared = decisions._Odd.shared
    monkeypatch.setattr(decisions._Odd, "shared",
                        lambda self, lo, end: calls.append(lo) or shared(self, lo, end))
    assert list(decisions._neighbours(rows)) == _plain(rows, decisions.LOOKBACK)
    assert calls  # the sparse count ran (the blocks past the small ones)


def test_neighbours_from_a_later_start_are_the_tail() -> None:
    rows = _family_rows(np.random.default_rng(7), 300, 128, 8)
    assert list(decisions._neighbours(rows, start=170)) == _plain(rows, decisions.LOOKBACK)[169:]


def _families(seed: int, sizes: tuple[int, ...]) -> tuple[list[Brief], Any, list[Family]]:
    """Families of random signature rows of the given sizes, one after another."""
    rng = np.random.default_rng(seed)
    blocks = [_family_rows(rng, n, 128, 50) for n in sizes]
    briefs: list[Brief] = []
    families, start = [], 0
    for f, block in enumerate(blocks):
        members = tuple(range(start, start + len(block)))
        families.append(Family(f"F{f}", members))
        briefs += [Brief(f"docs/{i}.md", "0" * 40, None, None, f"t{i}", "", "brief", 500)
                   for i in members]
        start += len(block)
    return briefs, np.concatenate(blocks), families


def test_families_decided_side_by_side_equal_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Big families are decided on threads, the biggest work in forked processes (threads
    where there is no fork): the same decisions as one family after another."""
    briefs, sigs, families = _families(3, (400, 350, 5, 300))
    config = Config()
    serial = decisions.decide(config, briefs, sigs, families, threads=1)
    monkeypatch.setattr(decisions, "THREADED_WORK", 1)
    forked: list[int] = []
    real = decisions._in_processes

    def spy(*args: Any) -> Any:
        got = real(*args)
        forked.append(len(got or ()))
        return got

    monkeypatch.setattr(decisions, "_in_processes", spy)
    assert decisions.decide(config, briefs, sigs, families, threads=2) == serial
    assert forked == []  # too little work to fork for: threads
    monkeypatch.setattr(decisions, "FORKED_WORK", 1)
    assert decisions.decide(config, briefs, sigs, families, threads=2) == serial
    assert forked == [4]  # all four families came back from the processes
    monkeypatch.setattr(decisions, "_in_processes", lambda *args: None)  # no fork: threads
    assert decisions.decide(config, briefs, sigs, families, threads=2) == serial
    assert {d.family for d in serial} == {"F0", "F1", "F2", "F3"}


def test_a_worker_that_dies_leaves_no_scan_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """A forked worker killed mid-family (the OOM killer, a signal) loses its task: the
    families are then decided in this process, with the same decisions (multiprocessing's
    Pool waited for the lost task for ever: a hook that never returned)."""
    import os
    import signal
    import threading

    briefs, sigs, families = _families(5, (300, 200, 150))
    config = Config()
    serial = decisions.decide(config, briefs, sigs, families, threads=1)
    monkeypatch.setattr(decisions, "THREADED_WORK", 1)
    monkeypatch.setattr(decisions, "FORKED_WORK", 1)
    here, real = os.getpid(), decisions._family

    def dies_in_a_worker(config: Config, rows: Any, prior: Any, keep: int) -> Any:
        if os.getpid() != here and len(rows) == 300:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(config, rows, prior, keep)

    monkeypatch.setattr(decisions, "_family", dies_in_a_worker)
    got: list[Any] = []
    worker = threading.Thread(target=lambda: got.append(
        decisions.decide(config, briefs, sigs, families, threads=2)), daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "decide() still waits for the dead worker"
    assert got == [serial]
