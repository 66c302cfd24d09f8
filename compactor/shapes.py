"""Stage 3: the proof shape of a brief and its MinHash fingerprint.

The shape is the brief's words with its labels masked: every token holding a
digit (lane ids, numbers, dates, hashes) becomes ``#`` (runs collapse to one),
and the brief's own label words become ``@`` in all their spellings —
``approve_invoice``, ``approve-invoice``, ``approve invoice``, ``ApproveInvoice``,
``approved``. Two lanes that differ only by the action name give the same shape.

Fingerprints are MinHash signatures in datasketch's ``affine32`` scheme
(MurmurHash3 finalizer, then ``a*h + b mod 2**32`` with datasketch's seeded
permutations), computed for a whole document at once with numpy. They are
bit-identical to ``datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash)``
(``shingle_hash`` in tests/reference.py) fed the same shingles (tests/test_shapes.py), serialise as little-endian
uint32, and the similarity of two signatures estimates the Jaccard similarity
of the two shingle sets.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import accumulate, groupby
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

Signature = npt.NDArray[np.uint32]

# A word token ([^\W_]+) that also ends where a lowercase ASCII letter meets an
# uppercase one (camelCase splits: ApproveInvoice -> Approve, Invoice). Atomic
# quantifiers keep it linear.
_TOKEN = re.compile(r"(?=[^\W_])(?:[^\W_a-z]|[a-z]++(?![A-Z]))*+[a-z]*+")
MASK_NUMBER = "#"
MASK_LABEL = "@"
_SUFFIXES = ("ing", "ed", "es", "s", "d", "ion", "ions", "er", "ers")
MIN_SHINGLES = 4  # below this a text is too short to join a family

def tokens(text: str) -> list[str]:
    """Lowercased word tokens; camelCase split, underscores and punctuation separate."""
    raw = _TOKEN.findall(text)
    # one C-level lower() for the whole document instead of one per token
    return "\n".join(raw).lower().split("\n") if raw else []


def _variants(word: str) -> list[str]:
    """The word and what it may be inflected from (approved -> approve, invoices -> invoice)."""
    out = [word]
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            base = word[: -len(suffix)]
            out += (base, base + "e")
    return out


@lru_cache(maxsize=1 << 17)
def _variant_set(word: str) -> frozenset[str]:
    return frozenset(_variants(word))


@lru_cache(maxsize=1 << 17)
def _has_digit(tok: str) -> bool:
    return any(c.isdigit() for c in tok)


@lru_cache(maxsize=4096)
def _inflections(masks: frozenset[str]) -> frozenset[str]:
    """Every token that ``_hit`` could match for these masks (a superset)."""
    out = set(masks)
    for m in masks:
        for suffix in _SUFFIXES:
            out.add(m + suffix)
            if m.endswith("e"):
                out.add(m[:-1] + suffix)
    return frozenset(out)


def _hit(tok: str, masks: frozenset[str]) -> bool:
    # mask() asks this for every token: memoised variants and one C-level set test
    return not masks.isdisjoint(_variant_set(tok))


def label_masks(label_words: Sequence[str], keep: Iterable[str] = ()) -> frozenset[str]:
    """Tokens to mask for a label: its words, their stems, and joined spellings.

    Words in ``keep`` (the guardrail field names: the envelope, never the label)
    are masked only inside joined spellings.
    """
    words = [w.lower() for w in label_words if w]
    kept = {k.lower() for k in keep}
    masks: set[str] = set()
    for w in words:
        if len(w) >= 3 and w not in kept:
            masks.add(w)
    for i in range(len(words)):  # joined spellings of up to MAX_JOINED words: linear, not
        for j in range(i + 2, min(len(words), i + MAX_JOINED) + 1):  # cubic, in a long label
            masks.add("".join(words[i:j]))
    return frozenset(masks)


MAX_JOINED = 8  # "approveinvoicebatch": nobody joins more words than this into one token


def mask(text: str, label_words: Sequence[str], keep: Iterable[str] = ()) -> list[str]:
    """The proof shape: tokens with numbers and the brief's own label masked.

    A run of label words ("approve invoice", "invoice approved") becomes one
    ``@``, so spellings with different word counts give the same shape; a run
    of digit-bearing tokens (dates, ids) becomes one ``#``. A lone label word
    that is also a guardrail name (``keep``) stays as it is.
    """
    toks = tokens(text)
    masks = label_masks(label_words, keep)
    every = label_masks(label_words)
    # classify each distinct token once: L label word, D holds a digit, W plain word;
    # set operations find the few candidates, the exact tests confirm them
    distinct = set(toks)
    kind = dict.fromkeys(distinct, "W")
    for t in distinct:
        if not t.isalpha() and _has_digit(t):
            kind[t] = "D"
    if every:
        for t in distinct.intersection(_inflections(every)):
            if _hit(t, every):
                kind[t] = "L"
    out: list[str] = []
    for cls, group in groupby(toks, kind.__getitem__):
        if cls == "W":
            out.extend(group)
        elif cls == "D":
            out.append(MASK_NUMBER)
        else:
            run = list(group)
            if len(run) > 1 or _hit(run[0], masks):
                out.append(MASK_LABEL)
            else:
                out.extend(run)
    return out


# The fingerprint's fast path: the same shape as ``mask`` but as an array of token
# hashes, computed from UTF-8 bytes (C-level translate and split, numpy for the runs)
# instead of a str regex and a Python loop over the tokens; tests/test_shapes.py
# checks it against the token-by-token path (tests/reference.py) on fuzzed text.
_ASCII_WORDS = bytes(
    (c | 0x20 if 65 <= c <= 90 else c) if c >= 128 or chr(c).isalnum() else 32
    for c in range(256)
)  # ASCII letters lowered, every other ASCII byte but a digit becomes a space
_WIDE_SEPARATOR = re.compile(r"[^\w\x00-\x7f]")  # a non-ASCII character that is not a word character


def _hash_bytes(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


_NUMBER = _hash_bytes(MASK_NUMBER.encode())
_LABEL = _hash_bytes(MASK_LABEL.encode())


class _Codes(dict[bytes, int]):
    """Token -> its hash, or the hash of ``#`` for a token holding a digit; filled on lookup."""

    LIMIT = 1 << 18  # forget them all past this many distinct tokens (~25 MB: a memory bound)

    def __missing__(self, tok: bytes) -> int:
        if len(self) >= self.LIMIT:
            self.clear()
        if tok.isascii():  # letters and digits only: not all letters means a digit
            number = not tok.isalpha()
        else:
            word = tok.decode("utf-8", "surrogatepass")
            number = not word.isalpha() and _has_digit(word)
        code = _NUMBER if number else _hash_bytes(tok)
        self[tok] = code
        return code


_codes = _Codes()


def _token_bytes(text: str) -> list[bytes]:
    """``tokens(text)``, UTF-8 encoded."""
    data = text.encode("utf-8", "surrogatepass")
    raw = np.frombuffer(data, dtype=np.uint8)
    with np.errstate(over="ignore"):
        # a lowercase letter followed by an uppercase one ends a token (camelCase)
        camel = np.flatnonzero(((raw[:-1] - np.uint8(97)) < 26) & ((raw[1:] - np.uint8(65)) < 26))
    if camel.size:
        cuts = (camel + 1).tolist()
        data = b" ".join([data[i:j] for i, j in zip([0, *cuts], [*cuts, len(data)], strict=True)])
    data = data.translate(_ASCII_WORDS)
    if not data.isascii():
        # outside ASCII: other separators become spaces, then Unicode lowercasing
        wide = _WIDE_SEPARATOR.sub(" ", data.decode("utf-8", "surrogatepass")).lower()
        data = wide.encode("utf-8", "surrogatepass")
    return data.split()


@lru_cache(maxsize=4096)
def _encoded(words: frozenset[str]) -> frozenset[bytes]:
    return frozenset(w.encode("utf-8", "surrogatepass") for w in words)


class _Plan(NamedTuple):
    """What ``shape_codes`` masks for one label: the codes of the tokens that are label
    words (sorted), and what each becomes alone (``@``, or itself: a guardrail word)."""

    codes: npt.NDArray[np.uint64]
    lone: npt.NDArray[np.uint64]  # per code in ``codes``
    numbered: bool  # a label word holds a digit: its code is the number's


@lru_cache(maxsize=4096)
def _plan(label_words: tuple[str, ...], keep: tuple[str, ...]) -> _Plan | None:
    every = label_masks(label_words)
    if not every:
        return None
    masks = label_masks(label_words, keep)
    found: dict[int, int] = {}
    numbered = False
    for t in _encoded(_inflections(every)):
        word = t.decode("utf-8", "surrogatepass")
        if _hit(word, every):
            h = _codes[t]
            numbered = numbered or h == _NUMBER
            found[h] = _LABEL if _hit(word, masks) else h
    order = sorted(found)
    return _Plan(np.array(order, dtype=np.uint64),
                 np.array([found[h] for h in order], dtype=np.uint64), numbered)


def shape_codes(text: str, label_words: Sequence[str], keep: Iterable[str] = ()) -> npt.NDArray[np.uint64]:
    """The token hashes of ``mask(text, label_words, keep)``, in order.

    The label's words are found among the token hashes (``_plan``: every spelling the
    label masks, hashed once per label), not among the tokens, with a few array
    operations per document."""
    toks = _token_bytes(text)
    codes = np.fromiter(map(_codes.__getitem__, toks), dtype=np.uint64, count=len(toks))
    plan = _plan(tuple(label_words), tuple(keep)) if label_words and toks else None
    if plan is not None and plan.numbered:
        return _shape_codes_by_token(text, label_words, keep, toks, codes)
    is_number = codes == np.uint64(_NUMBER)
    keepers = np.ones(len(toks), dtype=bool)
    keepers[1:] = ~(is_number[1:] & is_number[:-1])  # a run of numbers is one #
    if plan is not None and plan.codes.size:
        at = np.searchsorted(plan.codes, codes)
        np.minimum(at, plan.codes.size - 1, out=at)
        is_label = plan.codes[at] == codes
        if is_label.any():
            first = is_label.copy()  # the first label word of each run
            first[1:] &= ~is_label[:-1]
            keepers &= ~is_label | first  # a run of label words is one @ ...
            alone = first.copy()
            alone[:-1] &= ~is_label[1:]
            codes[first & ~alone] = _LABEL
            codes[alone] = plan.lone[at[alone]]  # ... and a lone one @ unless a guardrail word
    return codes if keepers.all() else codes[keepers]


def _shape_codes_by_token(text: str, label_words: Sequence[str], keep: Iterable[str],
                          toks: list[bytes], codes: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """``shape_codes`` for a label with a word holding a digit, token by token."""
    is_number = codes == np.uint64(_NUMBER)
    drop = np.zeros(len(toks), dtype=bool)
    drop[1:] = is_number[1:] & is_number[:-1]  # a run of numbers is one #
    every = label_masks(label_words)
    found = _encoded(_inflections(every)).intersection(toks) if every and toks else ()
    label = [t for t in found if _hit(t.decode("utf-8", "surrogatepass"), every)]
    if label:
        if any(_codes[t] == _NUMBER for t in label):
            # a label word holding a digit has the number's code here: take the exact path
            return np.fromiter(map(_token_hash, mask(text, label_words, keep)), dtype=np.uint64)
        masks = label_masks(label_words, keep)
        is_label = np.zeros(len(toks), dtype=bool)
        lone: dict[int, int] = {}  # what a label word alone becomes
        for t in label:
            h = _codes[t]
            is_label |= codes == np.uint64(h)
            lone[h] = _LABEL if _hit(t.decode("utf-8", "surrogatepass"), masks) else h
        before = np.zeros_like(is_label)
        before[1:] = is_label[:-1]
        after = np.zeros_like(is_label)
        after[:-1] = is_label[1:]
        drop |= is_label & before
        codes[is_label & ~before & after] = _LABEL  # a run of label words is one @
        for i in np.flatnonzero(is_label & ~before & ~after).tolist():
            codes[i] = lone[int(codes[i])]
    return codes[~drop] if drop.any() else codes


def content_codes(text: str, label_words: Sequence[str], keep: Iterable[str] = ()) -> npt.NDArray[np.uint64]:
    """The distinct words of a text's proof shape, as sorted token hashes: ``shape_codes``
    without the masks (ids, numbers and the label are no content)."""
    codes: npt.NDArray[np.uint64] = np.unique(shape_codes(text, label_words, keep))
    content: npt.NDArray[np.bool_] = (codes != np.uint64(_NUMBER)) & (codes != np.uint64(_LABEL))
    return codes[content]


@lru_cache(maxsize=1 << 16)  # a bound: a long-lived process meets ever more tokens
def _token_hash(tok: str) -> int:
    return _hash_bytes(tok.encode("utf-8", "surrogatepass"))


_MUL = np.uint64(0x9E3779B97F4A7C15)


def _combine(th: npt.NDArray[np.uint64], k: int) -> npt.NDArray[np.uint32]:
    """Distinct 32-bit hashes of the k-token shingles of a sequence of token hashes."""
    if not th.size:
        return np.zeros(0, dtype=np.uint32)
    k = max(1, min(k, len(th)))
    n = len(th) - k + 1
    acc = th[:n].copy()
    with np.errstate(over="ignore"):
        for i in range(1, k):
            acc = acc * _MUL + th[i : i + n]
        folded = (acc ^ (acc >> np.uint64(32))).astype(np.uint32)
    # np.unique's result, by sorting (numpy 2's hash-based unique is ~5x slower here)
    folded.sort()
    first = np.empty(folded.size, dtype=bool)
    first[0] = True
    np.not_equal(folded[1:], folded[:-1], out=first[1:])
    return folded[first]


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """datasketch's affine32 permutation parameters for (num_perm, seed): what
    ``np.random.RandomState(seed).randint(0, 2**31, num_perm, np.uint32) * 2 + 1`` and then
    ``.randint(0, 2**32, num_perm, np.uint32)`` give, drawn from the same Mersenne
    Twister in Python's ``random`` (importing ``numpy.random`` would cost a hook that
    fingerprints one staged brief ~15 ms; tests/test_shapes.py holds them equal)."""
    import random

    key = [seed & 0xFFFFFFFF]  # RandomState's seeding of MT19937 from a 32-bit int
    for pos in range(1, 624):
        prev = key[-1]
        key.append((1812433253 * (prev ^ (prev >> 30)) + pos) & 0xFFFFFFFF)
    gen = random.Random()
    gen.setstate((3, (*key, 624), None))
    # randint below 2**31 masks one 32-bit draw (never rejected); below 2**32 takes it
    a = [(gen.getrandbits(32) & 0x7FFFFFFF) * 2 + 1 for _ in range(num_perm)]
    b = [gen.getrandbits(32) for _ in range(num_perm)]
    return np.array(a, dtype=np.uint32), np.array(b, dtype=np.uint32)


def _fmix32(h: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    with np.errstate(over="ignore"):
        h = h ^ (h >> np.uint32(16))
        h = h * np.uint32(0x85EBCA6B)
        h = h ^ (h >> np.uint32(13))
        h = h * np.uint32(0xC2B2AE35)
        return h ^ (h >> np.uint32(16))


def signature(hashes: npt.NDArray[np.uint32], num_perm: int, seed: int) -> Signature:
    """MinHash signature of a set of 32-bit shingle hashes (empty set: all 0xFFFFFFFF)."""
    if hashes.size == 0:
        return np.full(num_perm, 0xFFFFFFFF, dtype=np.uint32)
    a, b = permutations(num_perm, seed)
    hv = _fmix32(hashes.astype(np.uint32))
    out = np.full(num_perm, 0xFFFFFFFF, dtype=np.uint32)
    step = max(1, (1 << 21) // num_perm)  # bounds the (shingles x num_perm) scratch to 8 MB
    column = b[:, None]
    for i in range(0, hv.shape[0], step):
        # the outer product and an in-place add: no broadcast temporaries (5x faster);
        # one row per permutation, so each minimum runs over contiguous memory
        phv = np.multiply.outer(a, hv[i : i + step])
        phv += column
        np.minimum(out, phv.min(axis=1), out=out)
    return out


_BLOCK = 1 << 19  # hashes x permutations per block of ``signatures`` (2 MB of uint32)


def signatures(sets: Sequence[npt.NDArray[np.uint32]], num_perm: int, seed: int) -> Signature:
    """``signature`` of each set of shingle hashes, one row each, for many documents at
    once: consecutive documents share one outer product and one ``minimum.reduceat``, so
    a part of a cold scan pays numpy's per-call cost once per block of documents, not
    once per document (~40 us a brief). A document too big for a block alone, and an
    empty one, take ``signature``; the rows are the same either way."""
    out = np.empty((len(sets), num_perm), dtype=np.uint32)
    a, b = permutations(num_perm, seed)
    column = b[:, None]
    step = max(1, _BLOCK // num_perm)
    group: list[int] = []  # consecutive documents sharing a block
    size = 0

    def flush(group: list[int]) -> None:
        starts = np.fromiter(accumulate((len(sets[i]) for i in group[:-1]), initial=0),
                             dtype=np.int64, count=len(group))
        hv = _fmix32(np.concatenate([sets[i] for i in group]).astype(np.uint32, copy=False))
        phv = np.multiply.outer(a, hv)
        phv += column
        out[group[0] : group[-1] + 1] = np.minimum.reduceat(phv, starts, axis=1).T

    for i, hashes in enumerate(sets):
        n = len(hashes)
        if group and (n == 0 or n > step or size + n > step):
            flush(group)
            group, size = [], 0
        if n == 0 or n > step:
            out[i] = signature(hashes, num_perm, seed)
        else:
            group.append(i)
            size += n
    if group:
        flush(group)
    return out


def fingerprint(
    text: str,
    label_words: Sequence[str],
    shingle: int,
    num_perm: int,
    seed: int,
    keep: Iterable[str] = (),
) -> tuple[Signature, int]:
    """Signature of a text's proof shape and its number of distinct shingles."""
    hashes = shingle_hashes(text, label_words, shingle, keep)
    return signature(hashes, num_perm, seed), int(hashes.size)


def shingle_hashes(
    text: str, label_words: Sequence[str], shingle: int, keep: Iterable[str] = ()
) -> npt.NDArray[np.uint32]:
    """The distinct 32-bit hashes of a text's proof-shape shingles (what ``signature`` takes)."""
    return _combine(shape_codes(text, label_words, keep), shingle)


def to_bytes(sig: Signature) -> bytes:
    return sig.astype("<u4").tobytes()


def from_bytes(data: bytes, num_perm: int) -> Signature | None:
    if len(data) != num_perm * 4:
        return None
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def similarity(a: Signature, b: Signature) -> float:
    return float(np.count_nonzero(a == b)) / int(a.shape[0])


def similarities(sigs: npt.NDArray[np.uint32], rows: Iterable[int], other: Signature) -> npt.NDArray[np.float64]:
    idx = np.fromiter(rows, dtype=np.int64)
    if idx.size == 0:
        return np.zeros(0)
    return (sigs[idx] == other).mean(axis=1)  # type: ignore[no-any-return]
