"""How docs that share one file name are named, per replayed corpus: docs without a lane or run
id whose file name other such docs share (named by the folders that tell them apart,
``Scan.doc_names``), families whose short id is such a name, the longest name; and the time
``words.telling_names`` takes for 10k docs of one name.

    python benchmarks/names.py [--out /work/corpora] [NAME ...]

Reads with ``use_cache=False``: nothing is written into the corpora.

On 2026-11-30 (34 corpora): 452 docs of 8 corpora named by their folders, 65 of 238 families
named so (runreports 36/36, devinruns 15/15, ackwait 10/10, launch 3/13, heartbeats 1/3),
where each was `RUN_REPORT`, `RUN_REPORT~7`, `README~3`, `escalation_note`; longest name 58
characters (ackwait: `2026-01-23T014011Z/inbox_sla_watch_fail/inbox_scan_summary`); 10k
docs of one name (`docs/RUN_<n>/<A|B|C>/RUN_REPORT.md`) named in 0.02-0.05 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from compactor.config import load_config  # noqa: E402
from compactor.git import Repo  # noqa: E402
from compactor.scan import run_scan  # noqa: E402
from compactor.words import telling_names  # noqa: E402


def measure(root: Path) -> tuple[int, int, int, int, str]:
    """(briefs, docs named by folders, families with such a short id, families, longest)."""
    scan = run_scan(Repo(root), load_config(root)[0], use_cache=False)
    names = scan.doc_names
    by_folders = set(names.values())
    fams = sum(1 for f in scan.families if scan.short_ids.get(f.id) in by_folders)
    return (len(scan.briefs), len(names), fams, len(scan.families),
            max(names.values(), key=len, default=""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/work/corpora"))
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    roots = [args.out / n for n in args.names] or sorted(
        p for p in args.out.iterdir() if (p / ".git").exists())
    total = [0, 0, 0]
    for root in roots:
        briefs, named, fams, families, longest = measure(root)
        total = [total[0] + named, total[1] + fams, total[2] + families]
        print(f"{root.name:14} briefs {briefs:5}  named by folders {named:4}  "
              f"families {fams:3}/{families:3}  longest {longest}")
    print(f"{'all':14} named by folders {total[0]}, families {total[1]}/{total[2]}")
    paths = [f"docs/RUN_{i // 3:05d}/{'ABC'[i % 3]}/RUN_REPORT.md" for i in range(10_000)]
    start = time.perf_counter()
    telling_names(paths, "RUN_REPORT")
    print(f"telling_names, 10k docs of one name: {time.perf_counter() - start:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
