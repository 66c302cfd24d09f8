"""Reading many files: worker processes give exactly the in-process answers, and the
control-byte precheck never hides a binary file."""

from __future__ import annotations

import random

import pytest
from conftest import GitRepo

import compactor.fingerprints as fingerprints
from compactor.briefs import looks_binary
from compactor.demo.example import loop_corpus, write_repo
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


def test_the_control_byte_precheck_never_hides_a_binary_file() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        data = bytes(rng.choice((rng.randrange(256), rng.randrange(32, 127), 10))
                     for _ in range(rng.randrange(0, 60))) * rng.choice((1, 200))
        if looks_binary(data):
            assert fingerprints._has_control_bytes(data)
    assert not fingerprints._has_control_bytes("plain text\twith tabs\r\n and ünïcode".encode())
