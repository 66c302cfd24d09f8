"""compactor.manifest: the one reader, writer and validator of the compaction manifest."""

from __future__ import annotations

import json
import marshal

import pytest
from conftest import GitRepo

from compactor import manifest
from compactor.config import Config
from compactor.errors import InputError
from compactor.git import Repo
from compactor.manifest import Compaction, Entry, Manifest
from compactor.store import Cache

BLOB = "0123456789abcdef0123456789abcdef01234567"
HEAD = "89abcdef0123456789abcdef0123456789abcdef"
WHERE = "docs/archive/compactor-manifest.json"


def sample() -> Manifest:
    return Manifest(
        (
            Entry("docs/acks/S088-ack.md", BLOB, "archived", "docs/archive/docs/acks/S088-ack.md",
                  source_commit=HEAD, created=1_778_300_000),
            Entry("docs/lanes/S090-approve-payout.md", BLOB, "folded", "inventory", "100755",
                  "S090", "approve payout", "S085", HEAD, 1_778_304_000),
        ),
        (Compaction(HEAD, 1, 1),),
    )


def test_dump_then_parse_gives_the_same_records_and_the_same_bytes() -> None:
    data = manifest.dump(sample())
    assert manifest.parse(data, WHERE) == sample()
    assert manifest.dump(manifest.parse(data, WHERE)) == data
    raw = json.loads(data)
    assert raw["entries"]["docs/lanes/S090-approve-payout.md"] == {
        "action": "folded", "blob": BLOB, "family": "S085", "label": "approve payout",
        "lane": "S090", "location": "inventory", "mode": "100755", "source_commit": HEAD,
        "created": "2026-05-09T05:20:00Z",
    }
    assert raw["compactions"] == [{"archived": 1, "folded": 1, "source_commit": HEAD}]


def test_an_older_manifest_without_creation_times_still_reads() -> None:
    data = json.dumps({"version": 1, "compactions": [], "entries": {
        "docs/a.md": {"action": "folded", "blob": BLOB, "location": "inventory",
                      "lane": "S001", "source_commit": HEAD},
    }}).encode()
    (entry,) = manifest.parse(data, WHERE).entries
    assert (entry.path, entry.created, entry.mode, entry.lane) == ("docs/a.md", None, "100644",
                                                                   "S001")


@pytest.mark.parametrize(("data", "message"), [
    (b"{not json", "is not valid JSON"),
    (b"[]", "is not a compactor manifest (no 'entries' mapping)"),
    (b'{"version": 7, "entries": {}}', "manifest version 7 is not 1; upgrade compactor"),
    (b'{"entries": {"a.md": {"blob": "xyz", "action": "folded", "location": "inventory"}}}',
     "entry 'a.md' needs blob, action and location"),
    (json.dumps({"entries": {"a.md": {"blob": BLOB, "action": "moved", "location": "x"}}}).encode(),
     "entry 'a.md' needs blob, action and location"),
    (json.dumps({"entries": {"a.md": {"blob": BLOB, "action": "folded", "location": "inventory",
                                      "mode": "120000"}}}).encode(),
     "entry 'a.md': mode '120000' is not a regular file's"),
    (json.dumps({"entries": {"a.md": {"blob": BLOB, "action": "folded", "location": "inventory",
                                      "created": "yesterday"}}}).encode(),
     "entry 'a.md': created must be an ISO-8601 time"),
    (json.dumps({"entries": {}, "compactions": [{"folded": 1}]}).encode(),
     "a compaction needs source_commit, folded and archived"),
])
def test_a_malformed_manifest_is_one_line_naming_the_file(data: bytes, message: str) -> None:
    with pytest.raises(InputError) as err:
        manifest.parse(data, WHERE)
    assert err.value.message.startswith(f"{WHERE}: ")
    assert message in err.value.message
    assert "\n" not in err.value.message


def test_merged_and_without_keep_entries_sorted_and_replace_by_path() -> None:
    m = sample()
    again = Entry("docs/lanes/S090-approve-payout.md", HEAD, "folded", "inventory", lane="S090")
    new = Entry("docs/lanes/S050-x.md", BLOB, "folded", "inventory", lane="S050")
    merged = m.merged([again, new], Compaction(BLOB, 2, 0))
    assert [e.path for e in merged.entries] == sorted(e.path for e in merged.entries)
    assert merged.get("docs/lanes/S090-approve-payout.md") == again
    assert len(merged.compactions) == 2
    rest = merged.without(["docs/lanes/S050-x.md", "docs/acks/S088-ack.md"])
    assert [e.path for e in rest.entries] == ["docs/lanes/S090-approve-payout.md"]
    assert rest.compactions == merged.compactions


def test_load_caches_by_blob_id_and_never_trusts_a_damaged_value(repo: GitRepo) -> None:
    data = manifest.dump(sample())
    repo.commit({WHERE: data.decode(), "docs/a.md": "# a\n"})
    git = Repo(repo.root)
    config = Config()
    blob = git.tree_entry("HEAD", WHERE)
    assert blob is not None
    cache = Cache(repo.root / ".git" / "compactor")
    try:
        assert manifest.load(git, blob.blob, WHERE, cache) == sample()
        key = manifest._cache_key(blob.blob)
        assert cache.get_blobs([key]).get(key) is not None  # cached: the next read is one row
        cache.put_blobs({key: b"\x00garbage"})
        assert manifest.load(git, blob.blob, WHERE, cache) == sample()
    finally:
        cache.close()
    assert manifest.read(git, config, "HEAD") == sample()
    assert git.tree_entry("HEAD", "docs/missing.json") is None


def test_the_folded_block_splits_into_entries_by_their_marks() -> None:
    a = manifest.entry_mark("docs/a b.md") + "\n### S001: a\n"
    b = manifest.entry_mark('docs/"q".md') + "\n### S002: b\n"
    block = manifest.folded_block([a, b])
    assert block.startswith(manifest.FOLDED_HEAD)
    assert manifest.split_folded(block) == {"docs/a b.md": a, 'docs/"q".md': b}
    assert manifest.split_folded(None) == {}
    assert manifest.split_folded(manifest.folded_block([])) == {}


def test_scan_members_from_cached_columns_never_trust_a_damaged_value(repo: GitRepo) -> None:
    repo.commit({"docs/a.md": "# a\n"})
    git = Repo(repo.root)
    blob = git.tree_entry("HEAD", "docs/a.md")
    assert blob is not None
    m = Manifest((
        Entry("docs/lanes/S002-x.md", blob.blob, "folded", "inventory", lane="S002",
              created=1_778_304_000),
        Entry("docs/acks/S003-ack.md", blob.blob, "archived", "docs/archive/docs/acks/S003-ack.md"),
        Entry("docs/a.md", blob.blob, "folded", "inventory", lane="S001"),  # restored: in the tree
    ))
    repo.commit({WHERE: manifest.dump(m).decode()})
    entries = git.index_entries()
    expect = (
        {"docs/lanes/S002-x.md": "folded", "docs/acks/S003-ack.md": "archived"},
        {"docs/lanes/S002-x.md": 1_778_304_000},
    )
    cache = Cache(repo.root / ".git" / "compactor")
    try:
        for damage in (None, b"\x00garbage", marshal.dumps(([1], [], [], [], []))):
            if damage is not None:
                found = manifest.find(entries, Config())
                assert found is not None
                cache.put_blobs({manifest._cache_key(found.blob, "manifest-scan"): damage})
            got = manifest.scan_members(git, Config(), entries, cache)
            assert got is not None and (dict(got.states), dict(got.times)) == expect
            assert sorted(e.path for e in got.entries) == sorted(expect[0])
            assert got.warnings == ()
    finally:
        cache.close()


def test_kept_paths_round_trip_and_a_bad_one_is_refused() -> None:
    pinned = Manifest(sample().entries, (), ("docs/lanes/S091-cancel-vendor.md",))
    data = manifest.dump(pinned)
    assert json.loads(data)["kept"] == ["docs/lanes/S091-cancel-vendor.md"]
    assert manifest.parse(data, WHERE) == pinned
    # a restore moves an entry to kept; compacting it again on purpose takes it out of kept
    back = sample().keeping(["docs/lanes/S090-approve-payout.md"])
    assert back.kept == ("docs/lanes/S090-approve-payout.md",) and len(back.entries) == 1
    assert back.merged(sample().entries).kept == ()
    for bad in ('["../outside.md"]', '"docs/a.md"', '[".git/hooks/pre-commit"]'):
        raw = b'{"version": 1, "entries": {}, "kept": ' + bad.encode() + b"}"
        with pytest.raises(InputError) as err:
            manifest.parse(raw, WHERE)
        assert err.value.message.startswith(f"{WHERE}: ") and "kept" in err.value.message
