"""Property tests: whatever bytes a brief holds, scanning it never crashes."""

from __future__ import annotations

import json
import shutil
import string

from conftest import GitRepo
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from compactor import shapes
from compactor.briefs import parse_brief
from compactor.config import Config
from compactor.fingerprints import fingerprint_file
from compactor.git import IndexEntry
from compactor.render import scan_json, scan_text
from compactor.store import trusted_row
from compactor.vocab import KINDS

CONFIG = Config()
BLOB = "0" * 40
# custom lane patterns whose group 1 can be empty or missing
ODD_LANES = [Config(lane_pattern=r"S(\d+)?"), Config(lane_pattern=r"(x*)"),
             Config(lane_pattern=r"(?:lane|S)[-_ ]?(\d*)")]

# Text that looks like a brief often enough to reach every branch of the parser:
# front matter fences, YAML punctuation, headings, lane ids, tabs, odd unicode.
FRAGMENTS = st.sampled_from([
    "---\n", "...\n", "---", "lane: ", "action: ", "kind: ", "tokens: ", "S085", "lane-12",
    "# ", "## ", "\t", ": ", "- ", "[", "]", "{", "}", "'", '"', "&a", "*a", "!!python/object ",
    "\r\n", "\n", " ", "ack", "proceed", "next bounded slice", "²", "١٢", "\ufeff", "\u2028",
    "\x00", "\ud800", "99999999999999999999", "S" + "9" * 5000, "\x1b[31m", "é",
])
BRIEFISH = st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=30).map("".join)
TRICKY = st.sampled_from(["²", "S", "S085", "lane-", "9" * 5000, "١٢", "", "~", "null", "[1, 2]"])
SCALARS = st.one_of(TRICKY, st.text(max_size=12), st.integers(), st.floats(), st.booleans(),
                    st.none(), st.lists(st.one_of(TRICKY, st.integers()), max_size=3))
FIELDS = st.sampled_from(["lane", "action", "kind", "tokens", "status", "new_truth", "route",
                          "session", "tenant", "title"])
FRONT_MATTER = st.tuples(st.dictionaries(FIELDS, SCALARS, max_size=6), BRIEFISH).map(
    lambda fb: "---\n" + "".join(f"{k}: {json.dumps(v)}\n" for k, v in fb[0].items())
    + "---\n" + fb[1]
)
PATHS = st.one_of(
    st.sampled_from(["S085-deploy.md", "docs/lanes/S086 new\nline.md", "ack.md", "a/b/c.md",
                     "docs/proof/S1-proof.md", "ünï-文档.md", "-.md", ".md"]),
    st.text(alphabet=string.ascii_letters + string.digits + " _-./é文\n", min_size=1,
            max_size=40),
)


def check_fingerprint(path: str, data: bytes) -> None:
    meta, sig = fingerprint_file(CONFIG, IndexEntry("100644", BLOB, 0, path), data)
    json.dumps(meta)  # the cache stores it as JSON
    assert all(isinstance(w, str) and "\n" not in w for w in meta.get("warnings", []))
    if meta.get("skip"):
        assert meta["warnings"]
        return
    assert meta["kind"] in KINDS
    assert sig.shape == (CONFIG.num_perm,)
    # what this version writes to the cache, it trusts when it reads it back
    assert trusted_row(json.loads(json.dumps(meta)), shapes.to_bytes(sig), CONFIG.num_perm)


@settings(max_examples=150, deadline=None)
@given(path=PATHS, data=st.binary(max_size=2000))
def test_fingerprinting_arbitrary_bytes_never_crashes(path: str, data: bytes) -> None:
    check_fingerprint(path, data)


@settings(max_examples=150, deadline=None)
@given(path=PATHS, text=st.one_of(BRIEFISH, FRONT_MATTER))
@example(path="a.md", text='---\nlane: "²"\n---\n# x\n\nbody\n')  # int('²') raised
@example(path="a.md", text="---\na: &a [1, *a]\n---\nbody\n")  # expanded forever
@example(path="a.md", text="---\na: " + "[" * 600 + "]" * 600 + "\n---\n")  # RecursionError
def test_fingerprinting_brief_like_text_never_crashes(path: str, text: str) -> None:
    check_fingerprint(path, text.encode("utf-8", "surrogatepass"))


@settings(max_examples=150, deadline=None)
@given(path=PATHS, text=st.one_of(BRIEFISH, FRONT_MATTER, st.text(max_size=500)),
       config=st.sampled_from([CONFIG, *ODD_LANES]))
@example(path="S.md", text="---\nlane: S\n---\n", config=ODD_LANES[0])  # int(None) raised
def test_parse_brief_never_crashes(path: str, text: str, config: Config) -> None:
    brief, warnings = parse_brief(config, path, BLOB, text)
    assert brief.kind in KINDS
    assert brief.number is None or isinstance(brief.number, int)
    assert all(isinstance(w, str) for w in warnings)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files=st.dictionaries(
    st.text(alphabet=string.ascii_lowercase + "S0123456789-", min_size=1, max_size=12),
    st.one_of(st.binary(max_size=600),
              st.one_of(BRIEFISH, FRONT_MATTER).map(lambda t: t.encode("utf-8", "replace"))),
    min_size=1, max_size=6,
))
def test_scanning_random_files_in_a_repo_never_crashes(
    repo: GitRepo, files: dict[str, bytes]
) -> None:
    # the fixture's repo is shared by all examples: start each from an empty index
    repo.git("rm", "-q", "-r", "--cached", "--ignore-unmatch", ".")
    shutil.rmtree(repo.root / "docs", ignore_errors=True)
    named = {f"docs/{name}.md": data for name, data in files.items()}
    repo.stage(named)
    for use_cache in (False, True, True):  # fresh, filling the cache, from the cache
        scan = repo.scan(use_cache=use_cache)
        assert {b.path for b in scan.briefs} <= set(named)
        assert len(scan.decisions) == len(scan.briefs)
        scan_text(scan)
        json.loads(scan_json(scan))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**34), max_size=20))
def test_times_formatted_at_once_equal_one_by_one(stamps: list[int]) -> None:
    from compactor.render import iso, isos

    assert isos(stamps) == [iso(t) for t in stamps]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0ab-é", max_size=30))
def test_words_counted_fast_equal_str_split(text: str) -> None:
    from compactor.briefs import count_words

    assert count_words(text) == len(text.split())


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(alphabet="0123456789.,_~ eEkKmMbBnNgGtokens-", max_size=16),
                 st.floats(), st.integers()))
def test_token_counts_never_crash_and_are_never_negative(value: object) -> None:
    from compactor.briefs import parse_tokens

    assert all(type(n) is int and n >= 0 for n in parse_tokens(value).values())
