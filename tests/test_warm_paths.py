"""A warm scan (snapshot, cached family decisions, the fast grouping) answers exactly
like an uncached one, and a damaged cache value is recomputed, never trusted."""

from __future__ import annotations

import marshal
import random
import sqlite3
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import reference
from conftest import GitRepo, run_compactor

import compactor.decisions as decisions_mod
import compactor.families as families_mod
import compactor.scan as scan_mod
import compactor.store as store
from compactor.briefs import Brief
from compactor.config import Config
from compactor.demo.example import loop_corpus, write_repo
from compactor.render import scan_json
from compactor.scan import Scan

NOW = 1_800_000_000


def _same(warm: Scan, cold: Scan) -> None:
    assert warm.briefs == cold.briefs
    assert np.array_equal(warm.signatures, cold.signatures)
    assert warm.shingles == cold.shingles
    assert warm.families == cold.families
    assert warm.decisions == cold.decisions
    assert warm.warnings == cold.warnings
    assert scan_json(warm) == scan_json(cold)


class Spy:
    """Counts what a scan had to read per row and which family rows it decided."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rows: list[int] = []  # entries read from per-brief rows (not the snapshot)
        self.decided: list[tuple[int, int]] = []  # (family size, first position computed)
        self.grown: list[bool] = []  # per try to grow stored components: whether it could
        read_rows, neighbours = scan_mod._read_rows, decisions_mod._neighbours
        grown = families_mod._grown

        def spy_grown(*a: Any) -> Any:
            got = grown(*a)
            self.grown.append(got is not None)
            return got

        def spy_rows(repo: Any, config: Any, entries: Any, *a: Any, **k: Any) -> Any:
            self.rows.append(len(entries))
            return read_rows(repo, config, entries, *a, **k)

        def spy_neighbours(rows: npt.NDArray[np.uint32], *a: Any, **k: Any) -> Iterator[Any]:
            self.decided.append((rows.shape[0], k.get("start", 1)))
            return neighbours(rows, *a, **k)

        monkeypatch.setattr(scan_mod, "_read_rows", spy_rows)
        monkeypatch.setattr(decisions_mod, "_neighbours", spy_neighbours)
        monkeypatch.setattr(families_mod, "_grown", spy_grown)

    def reset(self) -> None:
        self.rows.clear()
        self.decided.clear()
        self.grown.clear()


@pytest.fixture
def corpus(repo: GitRepo) -> GitRepo:
    write_repo(repo.root, loop_corpus(5, families=3, lanes_per_family=10))
    repo.commit({"docs/binary.md": b"\0\1\2 not text", "docs/empty.md": ""}, when=NOW - 10)
    return repo


def _lane(repo: GitRepo, number: str, new: str) -> str:
    """A copy of lane S0<number> renamed to ``new`` (the same proof shape)."""
    [path] = list((repo.root / "docs" / "lanes").glob(f"S{number}-*.md"))
    return path.read_text(encoding="utf-8").replace(f"S{number}", new)


def test_warm_scans_equal_uncached_scans_as_briefs_come_and_go(
    corpus: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(monkeypatch)
    first = corpus.scan(now=NOW)  # fills the cache: every row, the snapshot, every family
    _same(first, corpus.scan(now=NOW, use_cache=False))
    assert any(f.id.startswith("S0") for f in first.families)
    lanes = len(first.briefs)

    spy.reset()
    warm = corpus.scan(now=NOW)
    assert spy.rows == [0] and spy.decided == []  # snapshot and every family's decisions
    _same(warm, corpus.scan(now=NOW, use_cache=False))

    # a renamed lane appended to a family: one row read, one family position decided
    corpus.stage({"docs/lanes/S099-renamed.md": _lane(corpus, "087", "S099")})
    spy.reset()
    staged = corpus.scan(now=NOW)
    assert spy.rows == [1]
    [(size, start)] = spy.decided
    assert start == size - 1
    _same(staged, corpus.scan(now=NOW, use_cache=False))
    assert len(staged.briefs) == lanes + 1
    new = staged.briefs[staged.index("docs/lanes/S099-renamed.md")]
    assert new.staged and new.created == NOW
    assert staged.decisions[staged.index(new.path)].family is not None

    assert spy.grown == [True]  # the scan's components grown by the new lane

    # a lane sorted into the middle of its family, and one whose text changed
    corpus.stage({"docs/lanes/S087-zz-again.md": _lane(corpus, "087", "S087"),
                  "docs/lanes/S086-reopen-ticket.md": _lane(corpus, "088", "S086")})
    spy.reset()
    _same(corpus.scan(now=NOW), corpus.scan(now=NOW, use_cache=False))
    _same(corpus.scan(now=NOW), corpus.scan(now=NOW, use_cache=False))
    # lanes sorted before old members of their buckets: the stored components cannot be
    # grown by them, everything is linked (twice: nothing is stored for a scan with new rows)
    assert spy.grown == [False, False]

    # removed from the index: gone from the scan, and from every family
    [first_lane] = (p.relative_to(corpus.root).as_posix()
                    for p in (corpus.root / "docs" / "lanes").glob("S085-*.md"))
    corpus.git("rm", "-q", "--cached", "docs/lanes/S099-renamed.md", first_lane)
    spy.reset()
    gone = corpus.scan(now=NOW)
    assert spy.grown == []  # the stored components hold a lane that is gone: not grown
    _same(gone, corpus.scan(now=NOW, use_cache=False))
    with pytest.raises(KeyError):
        gone.index(first_lane)

    # other decision settings never reuse these decisions
    config = Config(establish_novelty=0.6, churn_novelty=0.3)
    _same(corpus.scan(config, now=NOW), corpus.scan(config, now=NOW, use_cache=False))


def test_the_snapshot_is_rewritten_once_enough_has_changed(
    corpus: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(monkeypatch)
    corpus.scan(now=NOW)
    corpus.stage({"docs/lanes/S099-renamed.md": _lane(corpus, "087", "S099")})
    spy.reset()
    corpus.scan(now=NOW)
    corpus.scan(now=NOW)
    assert spy.rows == [1, 1]  # within the slack: the snapshot is kept, one row read
    monkeypatch.setattr(store, "SNAPSHOT_SLACK", 0)
    monkeypatch.setattr(store, "SNAPSHOT_SHARE", 10**9)
    spy.reset()
    corpus.scan(now=NOW)
    warm = corpus.scan(now=NOW)
    assert spy.rows == [1, 0]  # rewritten with the staged lane
    _same(warm, corpus.scan(now=NOW, use_cache=False))


def _cache(repo: GitRepo) -> sqlite3.Connection:
    return sqlite3.connect(repo.root / ".git" / "compactor" / "cache-v1.sqlite",
                           isolation_level=None)


def _put(repo: GitRepo, key: bytes, data: bytes, crc: int | None = None) -> None:
    with _cache(repo) as db:
        db.execute("UPDATE blobs SET data = ?, crc = ? WHERE key = ?",
                   (data, zlib.crc32(data) if crc is None else crc, key))
        assert db.total_changes == 1
    db.close()


def _get(repo: GitRepo, key: bytes) -> bytes:
    db = _cache(repo)
    [(data,)] = db.execute("SELECT data FROM blobs WHERE key = ?", (key,)).fetchall()
    db.close()
    return bytes(data)


def _snapshot_key() -> bytes:
    return store.snapshot_key(store.brief_settings(Config()))


def _rewrite_snapshot(data: bytes, change: Any) -> bytes:
    head, start = int.from_bytes(data[:8], "little"), store._TAGGED  # after the length and tag
    value = list(marshal.loads(data[start : start + head]))
    change(value)
    out = marshal.dumps(tuple(value))
    return len(out).to_bytes(8, "little") + data[8:start] + out + data[start + head :]


def _set_kind(value: list[Any]) -> None:
    value[9][3] = "bogus"  # kind column


def _set_title(value: list[Any]) -> None:
    value[7][0] = 7  # title column: not a string


def _cut_paths(value: list[Any]) -> None:
    value[1].pop()  # one path fewer than the other columns


@pytest.mark.parametrize(("damage", "keep_crc"), [
    (lambda data: b"\xff" * len(data), True),  # damaged bytes: the CRC no longer matches
    (lambda data: data[: len(data) // 2], False),  # truncated
    (lambda data: _rewrite_snapshot(data, _set_kind), False),  # a kind this version lacks
    (lambda data: _rewrite_snapshot(data, _set_title), False),
    (lambda data: _rewrite_snapshot(data, _cut_paths), False),
    (lambda data: data[:-4], False),  # signatures cut short
    (lambda data: marshal.dumps("not a snapshot"), False),
])
def test_a_damaged_snapshot_is_recomputed_not_trusted(
    corpus: GitRepo, monkeypatch: pytest.MonkeyPatch, damage: Any, keep_crc: bool
) -> None:
    cold = corpus.scan(now=NOW, use_cache=False)
    corpus.scan(now=NOW)
    key = _snapshot_key()
    data = _get(corpus, key)
    _put(corpus, key, damage(data), zlib.crc32(data) if keep_crc else None)
    spy = Spy(monkeypatch)
    _same(corpus.scan(now=NOW), cold)
    assert spy.rows[0] >= len(cold.briefs)  # every entry from its own row
    spy.reset()
    _same(corpus.scan(now=NOW), cold)
    assert spy.rows == [0]  # and the snapshot was rebuilt


@pytest.mark.parametrize(("damage", "keep_crc"), [
    (lambda data: data[:-1] + bytes([data[-1] ^ 1]), True),  # a flipped bit
    (lambda data: data[:-4], False),  # a row short
    (lambda data: data[:-4] + (10**6).to_bytes(4, "little"), False),  # no such row
    # rows 0 and 1 named by each other: a component is named by one of its own rows
    (lambda data: (1).to_bytes(4, "little") + (0).to_bytes(4, "little") + data[8:], False),
])
def test_damaged_stored_components_are_recomputed_not_trusted(
    corpus: GitRepo, monkeypatch: pytest.MonkeyPatch, damage: Any, keep_crc: bool
) -> None:
    written: list[bytes] = []  # the key the scan stores the snapshot's components under
    write = store.write_linked
    monkeypatch.setattr(store, "write_linked", lambda cache, key, labels: (
        written.append(key), write(cache, key, labels))[-1])
    corpus.scan(now=NOW)  # stores the snapshot's components
    [key] = written
    data = _get(corpus, key)
    _put(corpus, key, damage(data), zlib.crc32(data) if keep_crc else None)
    corpus.stage({"docs/lanes/S099-renamed.md": _lane(corpus, "087", "S099")})
    spy = Spy(monkeypatch)
    _same(corpus.scan(now=NOW), corpus.scan(now=NOW, use_cache=False))
    assert spy.grown == []  # not grown from the damaged value: everything linked


def _family_rows(scan: Scan) -> dict[str, bytes]:
    return {f.id: store.family_key(scan.config, scan.signatures[f.members[0]])
            for f in scan.families}


def _forge(data: bytes, change: Any) -> bytes:
    value = list(marshal.loads(data))
    change(value)
    return marshal.dumps(tuple(value))


def _future_neighbour(value: list[Any]) -> None:
    value[7][1] = ((5, 0.9),)  # position 1's nearest is position 5: not an earlier lane


def _bad_phase(value: list[Any]) -> None:
    value[3] = bytes([9]) * len(value[3])


def _short(value: list[Any]) -> None:
    value[5] = value[5][:-1]


@pytest.mark.parametrize(("damage", "keep_crc"), [
    (lambda data: data[:-1] + bytes([data[-1] ^ 1]), True),  # a flipped bit
    (lambda data: _forge(data, _future_neighbour), False),
    (lambda data: _forge(data, _bad_phase), False),
    (lambda data: _forge(data, _short), False),
    (lambda data: b"", False),
])
def test_a_damaged_family_row_is_recomputed_not_trusted(
    corpus: GitRepo, monkeypatch: pytest.MonkeyPatch, damage: Any, keep_crc: bool
) -> None:
    cold = corpus.scan(now=NOW, use_cache=False)
    corpus.scan(now=NOW)
    rows = _family_rows(cold)
    fid, key = next((fid, key) for fid, key in rows.items() if fid.startswith("S0"))
    data = _get(corpus, key)
    _put(corpus, key, damage(data), zlib.crc32(data) if keep_crc else None)
    spy = Spy(monkeypatch)
    _same(corpus.scan(now=NOW), cold)
    size = len(next(f for f in cold.families if f.id == fid).members)
    assert spy.decided == [(size, 1)]  # that family from scratch; the others reused
    spy.reset()
    _same(corpus.scan(now=NOW), cold)
    assert spy.decided == []  # and its row was rewritten


def test_the_gate_says_the_same_warm_and_uncached(corpus: GitRepo) -> None:
    corpus.stage({"docs/lanes/S099-renamed.md": _lane(corpus, "087", "S099")})
    runs = [run_compactor("check", "--now", str(NOW), "--format", "json", cwd=corpus.root)
            for _ in range(2)]
    fresh = run_compactor("check", "--now", str(NOW), "--format", "json", "--no-cache",
                          cwd=corpus.root)
    assert runs[0].code == runs[1].code == fresh.code == 1
    assert runs[0].out == runs[1].out == fresh.out
    assert '"outcome": "block"' in fresh.out


def test_the_gate_after_a_change_says_what_an_uncached_run_says(corpus: GitRepo) -> None:
    # the hook's fast path (index read ahead, snapshot, the gate scanning families only)
    # after the repo moved on: a lane committed, another staged, a committed brief edited
    def both() -> tuple[Any, Any]:
        warm = run_compactor("check", "--now", str(NOW), "--format", "json", cwd=corpus.root)
        fresh = run_compactor("check", "--now", str(NOW), "--format", "json", "--no-cache",
                              cwd=corpus.root)
        return warm, fresh

    corpus.stage({"docs/lanes/S099-renamed.md": _lane(corpus, "087", "S099")})
    warm, fresh = both()
    assert (warm.code, warm.out) == (fresh.code, fresh.out)
    corpus.git("commit", "-q", "--no-verify", "-m", "S099")
    [edited] = (corpus.root / "docs" / "lanes").glob("S086-*.md")
    corpus.stage({
        "docs/lanes/S100-renamed-again.md": _lane(corpus, "088", "S100"),
        edited.relative_to(corpus.root).as_posix():
            edited.read_text(encoding="utf-8") + "\nA new finding: the queue drains in 4 s.\n",
    })
    warm, fresh = both()
    assert (warm.code, warm.out) == (fresh.code, fresh.out)
    assert '"docs/lanes/S100-renamed-again.md"' in warm.out
    again, _ = both()  # and a second warm run, from what the first one stored
    assert (again.code, again.out) == (fresh.code, fresh.out)


# -- the grouping and deciding pieces, against the plain algorithms they replace -----------


def _candidate_pairs_by_bytes(
    sigs: npt.NDArray[np.uint32], rows: list[int], bands: int, r: int
) -> npt.NDArray[np.int64]:
    """The plain algorithm: sort each band's slots as byte strings."""
    idx = np.asarray(rows, dtype=np.int64)
    if idx.size < 2:
        return np.zeros((0, 2), dtype=np.int64)
    found = set()
    sub_all = sigs[idx]
    for band in range(bands):
        runs: dict[bytes, list[int]] = {}
        for pos in range(idx.size):
            runs.setdefault(sub_all[pos, band * r : (band + 1) * r].tobytes(), []).append(pos)
        for run in runs.values():
            for prev, cur in zip(run, run[1:], strict=False):
                found.add((prev, cur))
                found.add((run[0], cur))
    local = sorted(p for p in found if p[0] != p[1])
    return idx[np.array(local, dtype=np.int64).reshape(-1, 2)]


def _random_case(rng: random.Random) -> tuple[npt.NDArray[np.uint32], list[int], int, int, float]:
    r, bands = rng.randrange(1, 6), rng.randrange(1, 6)
    n = rng.randrange(2, 120)
    width = r * bands + rng.randrange(0, 4)
    values = rng.randrange(2, 4)  # few distinct values: many shared buckets
    sigs = np.array([[rng.randrange(values) for _ in range(width)] for _ in range(n)],
                    dtype=np.uint32)
    rows = sorted(rng.sample(range(n), rng.randrange(0, n + 1)))
    return sigs, rows, bands, r, rng.choice([0.3, 0.5, 0.6, 0.8])


def test_grouping_finds_exactly_the_pairs_and_components_of_the_plain_algorithm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(3)
    for case in range(300):
        sigs, rows, bands, r, threshold = _random_case(rng)
        plain = _candidate_pairs_by_bytes(sigs, rows, bands, r)
        assert np.array_equal(reference.candidate_pairs(sigs, rows, bands, r), plain)
        expected = families_mod.components(
            sigs.shape[0], families_mod.verified_pairs(sigs, plain, threshold))
        assert np.array_equal(families_mod.linked(sigs, rows, bands, r, threshold), expected)
        if case == 150:  # from here every band folds to one key: the bytes sort must take over
            monkeypatch.setattr(families_mod, "_FOLD", np.zeros(8, dtype=np.uint64))


def test_components_grown_by_new_rows_equal_linking_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # linked(known=...) adds new rows to the components an earlier call found among the
    # others: the same answer as linking everything, whether it can grow them (every new
    # row after the old members of its buckets) or has to link everything after all
    rng = random.Random(11)
    grown: list[bool] = []
    real = families_mod._grown
    monkeypatch.setattr(families_mod, "_grown",
                        lambda *a: grown.append((got := real(*a)) is not None) or got)
    for _ in range(300):
        sigs, rows, bands, r, threshold = _random_case(rng)
        if len(rows) < 3:
            continue
        veto = None
        if rng.random() < 0.5:  # a veto: some pairs are no link after all
            banned = {(a, b) for a in rows for b in rows if rng.random() < 0.2}

            def veto(pairs: npt.NDArray[np.int64], banned: Any = banned) -> npt.NDArray[np.bool_]:
                return np.array([(int(a), int(b)) in banned for a, b in pairs], dtype=bool)
        # the old rows: all but a few, the new ones mostly at the end (the gate's case)
        k = rng.randrange(1, min(4, len(rows) - 1) + 1)
        new = set(rows[-k:]) if rng.random() < 0.7 else set(rng.sample(rows, k))
        old = [i for i in rows if i not in new]
        before = families_mod.linked(sigs, old, bands, r, threshold, veto)
        known = np.full(sigs.shape[0], -1, dtype=np.int64)
        known[old] = before[old]
        assert np.array_equal(families_mod.linked(sigs, rows, bands, r, threshold, veto, known),
                              families_mod.linked(sigs, rows, bands, r, threshold, veto))
    assert grown.count(True) > 50 and grown.count(False) > 10  # both ways were taken


def test_decisions_reused_from_a_shorter_or_different_family_equal_fresh_ones() -> None:
    rng = np.random.default_rng(5)
    config = Config()
    base = rng.integers(0, 50, size=(1, 32), dtype=np.uint32)
    sigs = np.repeat(base, 40, axis=0)
    noise = rng.random(sigs.shape) < np.linspace(0.0, 0.5, 40)[:, None]
    sigs[noise] = rng.integers(50, 10**6, size=int(noise.sum()), dtype=np.uint32)
    fam = families_mod.Family("F", tuple(range(40)))
    briefs = [Brief(f"docs/b{i}.md", f"{i:040x}", None, None, "t", "", "brief", 9)
              for i in range(40)]
    fresh = decisions_mod.decide(config, briefs, sigs, [fam])
    for members in (range(20), range(39), list(range(10)) + list(range(11, 40)), range(40)):
        learned: dict[bytes, bytes] = {}
        part = families_mod.Family("F", tuple(members))
        decisions_mod.decide(config, briefs, sigs, [part], {}, learned)
        again: dict[bytes, bytes] = {}
        warm = decisions_mod.decide(config, briefs, sigs, [fam], learned, again)
        assert warm == fresh
        assert bool(again) == (list(members) != list(range(40)))


def test_a_doc_staged_beside_copies_is_linked_by_their_times_when_grown(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # copies without a lane id: one a month before the others, two within hours
    from test_families import DAY, T0, _note

    for when, n in ((T0, 8), (T0 + 30 * DAY, 9), (T0 + 30 * DAY + 7200, 10)):
        repo.commit(dict([_note(n)]), when=when)
    first = repo.scan(now=T0 + 31 * DAY)
    assert [[first.briefs[i].path for i in f.members] for f in first.families] == [
        [_note(9)[0], _note(10)[0]]]
    spy = Spy(monkeypatch)
    path, text = _note(11)
    repo.stage({f"docs/zz-{path.rsplit('/', 1)[1]}": text})  # sorts after them: grown
    for now, size in ((T0 + 30 * DAY + 5 * 3600, 3), (T0 + 90 * DAY, 2)):
        spy.reset()
        warm = repo.scan(now=now)
        assert spy.grown == [True]
        _same(warm, repo.scan(now=now, use_cache=False))
        assert [len(f.members) for f in warm.families] == [size]
