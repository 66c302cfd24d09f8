from __future__ import annotations

import numpy as np
import pytest
import reference
from datasketch import LeanMinHash, MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from compactor import shapes

LANE = """# {lane} — {Title} operator action

Goal: prove that `{snake}` ({kebab}) runs under the authenticated operator envelope.
The {words} call goes through route /ops/actions/{kebab} with the operator session,
checked against tenant scope. Commit {hash} on {date}; {Camel}Handler returns 200.
- positive path: {words} succeeds for operator 41
- negative path: {words} without a session is refused
"""


def lane(lane: str, words: str, hash_: str, date: str) -> str:
    parts = words.split()
    return LANE.format(
        lane=lane, Title=words.capitalize(), snake="_".join(parts), kebab="-".join(parts),
        words=words, Camel="".join(p.capitalize() for p in parts), hash=hash_, date=date,
    )


def test_lanes_differing_only_by_action_name_have_the_same_shape() -> None:
    a = lane("S091", "approve invoice", "3f9a2c1d", "2026-05-09")
    b = lane("S140", "cancel vendor payout", "88e01b7f", "2026-05-10")
    shape_a = shapes.mask(a, ["approve", "invoice"])
    shape_b = shapes.mask(b, ["cancel", "vendor", "payout"])
    assert shape_a == shape_b
    assert "approve" not in shape_a and "invoice" not in shape_a
    sig_a, _ = shapes.fingerprint(a, ["approve", "invoice"], 3, 128, 1)
    sig_b, _ = shapes.fingerprint(b, ["cancel", "vendor", "payout"], 3, 128, 1)
    assert shapes.similarity(sig_a, sig_b) == 1.0


def test_all_spellings_of_the_label_are_masked() -> None:
    text = ("approve_invoice approve-invoice approve invoice ApproveInvoice approveInvoice "
            "APPROVE_INVOICE invoices approved")
    assert shapes.mask(text, ["approve", "invoice"]) == ["@"]


def test_guardrail_words_alone_stay_in_the_shape() -> None:
    text = "archive tenant then check tenant scope"
    assert shapes.mask(text, ["archive", "tenant"], keep=["tenant"]) == [
        "@", "then", "check", "tenant", "scope"
    ]


def test_different_documents_are_not_similar() -> None:
    a = "The parser now streams tokens and the cache keys on blob ids with a schema version."
    b = "Quarterly hiring plan: two designers join the mobile team, onboarding moves to May."
    sa, _ = shapes.fingerprint(a, [], 3, 128, 1)
    sb, _ = shapes.fingerprint(b, [], 3, 128, 1)
    assert shapes.similarity(sa, sb) < 0.1


def test_signatures_are_bit_identical_to_datasketch() -> None:
    text = lane("S100", "merge ledger", "abcdef12", "2026-01-01") * 3
    shape = shapes.mask(text, ["merge", "ledger"])
    shingles = reference.shingle_strings(shape, 3)
    ours, count = shapes.fingerprint(text, ["merge", "ledger"], 3, 128, 7)
    assert count == len(set(shingles))
    theirs = MinHash(num_perm=128, seed=7, hashfunc=reference.shingle_hash)
    theirs.update_batch([s for s in set(shingles)])
    assert np.array_equal(theirs.hashvalues, ours)
    lean = LeanMinHash(theirs)
    assert lean.jaccard(LeanMinHash(seed=7, hashvalues=ours, scheme="affine32")) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 7, 2**31, 2**32 - 1])
@pytest.mark.parametrize("num_perm", [16, 128, 1024])
def test_permutations_are_numpy_randomstates_draws(seed: int, num_perm: int) -> None:
    # drawn without numpy.random (import cost on the hook path): the same values
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    ours = shapes.permutations.__wrapped__(num_perm, seed)
    assert ours[0].dtype == ours[1].dtype == np.uint32
    assert np.array_equal(ours[0], a) and np.array_equal(ours[1], b)


def test_serialisation_is_little_endian_and_round_trips() -> None:
    sig, _ = shapes.fingerprint("some words here for a signature of a doc", [], 2, 64, 1)
    raw = shapes.to_bytes(sig)
    assert raw[:4] == int(sig[0]).to_bytes(4, "little")
    back = shapes.from_bytes(raw, 64)
    assert back is not None and np.array_equal(back, sig)
    assert shapes.from_bytes(raw[:-1], 64) is None


# The fingerprint takes a fast path (bytes, numpy) to the shape that ``mask`` spells out
# token by token; both must agree on any text, labels, guardrail words and shingle size.
_PIECES = st.one_of(
    st.sampled_from([
        "approve", "invoice", "approved", "invoices", "ApproveInvoice", "approveInvoice",
        "APPROVE_INVOICE", "tenant", "route", "S085", "v2", "2026-05-09", "naïve", "Straße",
        "İstanbul", "ΣΟΦΟΣ", "ǅemal", "١٢", "x", " ", "-", "_", "—", "→", "✅", "\n", "\t",
        "\u00a0", "\u2028", "\u0307", "\x1c", "'", ".", "#", "@",
    ]),
    st.text(max_size=4),
)
_LABELS = st.lists(st.sampled_from(["approve", "invoice", "v2", "naïve", "tenant", "s085", "ab"]),
                   max_size=3)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=24).map("".join), _LABELS,
       st.lists(st.sampled_from(["tenant", "route"]), max_size=2), st.integers(1, 4))
def test_the_fast_shape_equals_the_spelled_out_one(
    text: str, labels: list[str], keep: list[str], k: int
) -> None:
    assert shapes._token_bytes(text) == [t.encode("utf-8", "surrogatepass") for t in shapes.tokens(text)]
    spelled = reference.shingle_hashes(shapes.mask(text, labels, keep), k)
    assert np.array_equal(shapes._combine(shapes.shape_codes(text, labels, keep), k), spelled)


def test_the_fast_shape_masks_labels_numbers_and_camel_case() -> None:
    text = "Commit 3f9a2c1d 2026-05-09: ApproveInvoice — approve invoice naïve tenant"
    shape = shapes.mask(text, ["approve", "invoice"], keep=["tenant"])
    assert shape == ["commit", "#", "@", "naïve", "tenant"]  # runs of numbers, of label words
    codes = shapes.shape_codes(text, ["approve", "invoice"], keep=["tenant"])
    assert codes.tolist() == [shapes._token_hash(t) for t in shape]


def test_the_token_cache_forgets_past_its_bound_and_answers_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = lane("S100", "merge ledger", "abcdef12", "2026-01-01")
    before = shapes.shape_codes(text, ["merge", "ledger"])
    monkeypatch.setattr(shapes._Codes, "LIMIT", 8)
    shapes._codes.clear()
    after = shapes.shape_codes(text, ["merge", "ledger"])
    assert len(shapes._codes) <= 8
    assert np.array_equal(before, after)


def test_shingle_hashes_are_the_sorted_distinct_hashes() -> None:
    shape = shapes.mask("the same words and the same words again S101 2026-05-09 end " * 7, [])
    hashes = reference.shingle_hashes(shape, 3)
    expected = np.unique(np.array([reference.shingle_hash(s)
                                   for s in reference.shingle_strings(shape, 3)], dtype=np.uint32))
    assert np.array_equal(hashes, expected) and hashes.dtype == np.uint32
    assert reference.shingle_hashes(["one"], 3).tolist() == [reference.shingle_hash("one")]


def test_many_signatures_at_once_are_each_documents_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # a cold scan signs a part's documents in shared blocks; each row must be the
    # document's own signature: small ones sharing a block, an empty one, and one
    # bigger than a block (the block made small here so the test stays small)
    monkeypatch.setattr(shapes, "_BLOCK", 64 * 130)
    letters = "abcdefghijklmnopqrstuvwxyz"
    big = " ".join(f"{a}{b}q" for a in letters for b in letters[:8])
    texts = [lane("S1", "merge ledger", "0a0b0c0d", "2026-01-01"),
             lane("S2", "approve invoice", "1a0b0c0d", "2026-01-02"), "x", "",
             lane("S3", "cancel vendor payout", "2a0b0c0d", "2026-01-03"), big,
             lane("S4", "close books", "3a0b0c0d", "2026-01-04"), "one two"]
    sets = [shapes.shingle_hashes(t, [], 3) for t in texts]
    sizes = [len(s) for s in sets]
    assert 0 in sizes and max(sizes) > 130 and sizes[0] + sizes[1] + sizes[2] <= 130
    many = shapes.signatures(sets, 64, 7)
    assert many.shape == (len(texts), 64) and many.dtype == np.uint32
    for row, hashes in zip(many, sets, strict=True):
        assert np.array_equal(row, shapes.signature(hashes, 64, 7))
