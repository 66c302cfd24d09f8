"""What `compact` would fold on the labelled real corpora: docs labelled distinct and docs of
a labelled loop that get retention ``compress``, at two values of ``fold_restated``.

    python benchmarks/folds.py [--out /work/corpora] [--at 0.4,0.6] [NAME ...]

A distinct doc compressed is a doc `compact` would take out of the tree into the inventory
although it says something of its own; a loop doc compressed is the fold the tool is for.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import quality  # noqa: E402

from compactor.config import load_config  # noqa: E402
from compactor.git import Repo  # noqa: E402
from compactor.scan import run_scan  # noqa: E402


def folds(root: Path, groups: dict[str, str], at: float) -> tuple[int, int, int, int]:
    """(distinct compressed, distinct docs, loop docs compressed, loop docs)."""
    repo = Repo.discover(root)
    config = replace(load_config(repo.root)[0], fold_restated=at)
    scan = run_scan(repo, config, use_cache=False)
    size = Counter(g for g in groups.values() if g != "-")
    out = Counter()
    for b, d in zip(scan.briefs, scan.decisions, strict=True):
        g = groups.get(b.path, "-")
        kind = "loop" if g != "-" and size[g] > 1 else "distinct"
        out[kind] += 1
        out[kind, "compress"] += d.retention == "compress"
    return out["distinct", "compress"], out["distinct"], out["loop", "compress"], out["loop"]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=quality.DEFAULT_OUT,
                    help="where the replayed corpora are (default: quality.py's)")
    ap.add_argument("--at", default="0.4,0.6", help="values of fold_restated to compare")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args(argv)
    values = [float(v) for v in args.at.split(",")]
    names = args.names or sorted(p.name for p in args.out.iterdir() if p.is_dir())
    print("| corpus | " + " | ".join(f"distinct / loop compressed at {v}" for v in values) + " |")
    print("|---|" + "---|" * len(values))
    total = Counter()
    for name in names:
        labels = quality.load_labels(name)
        if labels is None or not (args.out / name).is_dir():
            continue
        cells = []
        for v in values:
            dc, dn, lc, ln = folds(args.out / name, labels[0], v)
            total[v, "d"] += dc
            total[v, "l"] += lc
            cells.append(f"{dc}/{dn} · {lc}/{ln}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print("| all | " + " | ".join(f"{total[v, 'd']} · {total[v, 'l']}" for v in values) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
