"""Why the restatement leg computes cosines instead of sketching: exact cosines against
datasketch's weighted MinHash (``WeightedMinHashGenerator`` + ``MinHashLSH``), in one run.

For each repo given (default: every replayed corpus, and the benchmark repos if they
exist) the docs the leg would compare — every doc, to make the sets large — are gisted as
the scan does; then, timed apart:

- exact: ``restate.Vectors`` (IDF from these docs) and every pair at cosine >= COSINE,
  at most MAX_PARTNERS a doc (what the leg judges);
- sketch: each doc's tf-idf vector (the same weights) as a dense row over the set's
  stems, ``WeightedMinHashGenerator(dim, 128).minhash(row)`` for every doc, then one
  ``MinHashLSH`` (threshold 0.3 on weighted Jaccard, 128 samples) fed and queried.

It prints per repo: docs, stems, the exact pairs, the exact time, the sketch time, the
sketch's candidate pairs and its recall of the exact pairs. Gisting (shared by both) is
not timed.

Usage: python benchmarks/restate_sketch.py [REPO ...] [--sample N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compactor import restate  # noqa: E402
from compactor.config import Config  # noqa: E402
from compactor.git import Repo  # noqa: E402
from compactor.scan import _bodies, run_scan  # noqa: E402

SAMPLES = 128
LSH_THRESHOLD = 0.3


def docs_of(root: Path, sample: int | None) -> dict[int, restate.Doc]:
    repo = Repo.discover(str(root))
    scan = run_scan(repo, Config())
    idx = list(range(len(scan.briefs)))
    if sample is not None and len(idx) > sample:
        idx = idx[:: max(1, len(idx) // sample)][:sample]
    gists = restate.gists(_bodies(repo, scan.briefs, idx))
    out = {}
    for i, g in zip(idx, gists, strict=True):
        b = scan.briefs[i]
        terms = restate.name_terms(b.path, b.title)
        out[i] = restate.Doc(restate.read_gist(g), frozenset(terms),
                             restate.steps(b.path, b.title), restate.series(b.lane), terms)
    return out


def exact(docs: dict[int, restate.Doc]) -> tuple[set[tuple[int, int]], float,
                                                  restate.Vectors]:
    t = time.perf_counter()
    vectors = restate.Vectors(docs)
    pairs = {(i, j) for i, j, _ in vectors.pairs(restate.COSINE)}
    return pairs, time.perf_counter() - t, vectors


def sketched(docs: dict[int, restate.Doc], vectors: restate.Vectors
             ) -> tuple[set[tuple[int, int]], float, int]:
    from datasketch import MinHashLSH, WeightedMinHashGenerator

    rows = {i: vectors.vec(i) for i in docs}
    stems = sorted({t for v in rows.values() for t in v})
    col = {t: k for k, t in enumerate(stems)}
    t = time.perf_counter()
    gen = WeightedMinHashGenerator(len(stems), sample_size=SAMPLES, seed=1)
    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=SAMPLES)
    sketches = {}
    for i, v in rows.items():
        if not v:
            continue
        row = np.zeros(len(stems))
        for term, w in v.items():
            row[col[term]] = w
        sketches[i] = gen.minhash(row)
        lsh.insert(i, sketches[i])
    found = {(min(i, j), max(i, j)) for i, m in sketches.items() for j in lsh.query(m) if j != i}
    return found, time.perf_counter() - t, len(stems)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repos", nargs="*", type=Path)
    ap.add_argument("--sample", type=int, default=None,
                    help="at most this many docs of each repo (every k-th)")
    args = ap.parse_args(argv)
    repos = args.repos or sorted(p for p in Path("/work/corpora").iterdir()
                                 if (p / ".git").exists())
    print("| repo | docs | stems | exact pairs | exact s | sketch s | sketch/exact | "
          "candidates | recall |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for root in repos:
        docs = docs_of(root, args.sample)
        if len(docs) < 2:
            continue
        pairs, t_exact, vectors = exact(docs)
        found, t_sketch, dim = sketched(docs, vectors)
        recall = f"{len(pairs & found) / len(pairs):.2f}" if pairs else "-"
        print(f"| {root.name} | {len(docs)} | {dim} | {len(pairs)} | {t_exact:.3f} | "
              f"{t_sketch:.2f} | {t_sketch / max(t_exact, 1e-6):.0f}x | {len(found)} | "
              f"{recall} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
