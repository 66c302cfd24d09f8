"""What the inventory's coverage says per replayed corpus: families, families with a coverage
matrix, matrix columns, "not proved by" gaps and open questions (over every family, not only
the ones the inventory gives a section).

    python benchmarks/coverage_noise.py [--out /work/corpora] [-v] [--demo] [NAME ...]

``-v`` prints each family's columns and its non-dimension gaps (questions, guardrails), to
read them; ``--demo`` adds the repo ``compactor demo`` builds (seed 0), whose lane loops must
keep their matrices. Reads with ``use_cache=False``: nothing is written into the corpora.

On 2026-11-30, main before and after the coverage-noise changes (families / with a matrix /
columns / dimension gaps / questions):

    erpdocs     17 / 9 -> 1 / 66 -> 1  / 65 -> 0  / 11 -> 3
    mutfix      13 / 12 -> 2 / 200 -> 5 / 196 -> 5 / 8 -> 6
    heartbeats   3 / 0 / 0 / 0 / 0 (three families of docs without proof, one line each)
    demo         3 / 2 / 25 / 14 / 0 (unchanged)
    all 28      139 / 66 -> 14 / 604 -> 50 / 557 -> 15 / 217 -> 71; mergelogs' matrices
                unchanged (its lanes share their Verification items)

(before: ``git archive 0fc8123`` of main, the same counts through its compactor package.)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from compactor.config import load_config  # noqa: E402
from compactor.coverage import family_coverage  # noqa: E402
from compactor.git import Repo  # noqa: E402
from compactor.inventory import inventory_scan, load_bodies  # noqa: E402


def measure(root: Path, verbose: bool) -> tuple[int, int, int, int, int]:
    repo = Repo.discover(root)
    config = load_config(repo.root)[0]
    scan = inventory_scan(repo, config, use_cache=False)
    members = sorted({i for f in scan.families for i in f.members})
    briefs = load_bodies(repo, scan, members)
    fams = matrices = columns = gaps = questions = 0
    for f in scan.families:
        cov = family_coverage(config, briefs, f.id, f.members)
        fams += 1
        matrices += bool(cov.columns)
        columns += len(cov.columns)
        gaps += sum(g.what in ("dimension", "never proved") for g in cov.gaps)
        questions += sum(g.what == "question" for g in cov.gaps)
        if verbose:
            print(f"  {f.id} ({len(f.members)}): {list(cov.columns) or cov.note}")
            for g in cov.gaps:
                if g.what not in ("dimension", "never proved"):
                    print(f"    {g.what}: {g.text[:200]}")
    return fams, matrices, columns, gaps, questions


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/work/corpora"))
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--demo", action="store_true")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args(argv)
    roots = ([args.out / n for n in args.names] if args.names
             else sorted(p for p in args.out.iterdir() if (p / ".git").exists()))
    print("corpus | families | with a matrix | columns | dimension gaps | questions")
    total = [0] * 5
    with tempfile.TemporaryDirectory() as tmp:
        if args.demo:
            from compactor.demo import run_demo

            demo = Path(tmp) / "demo"
            for _line in run_demo(demo, seed=0, command="compactor"):
                pass
            roots.append(demo)
        for root in roots:
            row = measure(root, args.verbose)
            total = [a + b for a, b in zip(total, row, strict=True)]
            print(f"{root.name} | " + " | ".join(str(n) for n in row))
    print("total | " + " | ".join(str(n) for n in total))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
