"""Large synthetic brief repos with git history, for the benchmarks.

``brief_repo(n, seed)`` returns a git repo of ``n`` committed briefs (one commit
per brief, author dates 30 s apart) built by ``compactor.demo.example.scale_corpus``
and ``write_repo``, plus one more brief of the same corpus that is *not*
committed (the benchmark stages it to time the pre-commit gate). Repos are
cached under ``benchmarks/out/`` (gitignored) and rebuilt when the generator's
source changes.

    python benchmarks/generate.py 10000 100000     # build (or reuse) the repos
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import compactor.demo.example as example

OUT = Path(__file__).resolve().parent / "out"


@dataclass(frozen=True)
class BriefRepo:
    root: Path
    n: int
    extra_path: str  # the uncommitted brief
    extra_text: str


def _generator_stamp(n: int, seed: int) -> str:
    source = Path(example.__file__).read_bytes()
    return f"{n}:{seed}:{hashlib.sha256(source).hexdigest()[:16]}"


def brief_repo(n: int, seed: int = 0, out: Path = OUT, log: bool = True) -> BriefRepo:
    """The cached repo of ``n`` briefs (built when missing or stale)."""
    root = out / f"briefs-{n}-s{seed}"
    stamp_file = root / ".git" / "benchmark-stamp.json"
    stamp = _generator_stamp(n, seed)
    if stamp_file.exists():
        data = json.loads(stamp_file.read_text())
        if data.get("stamp") == stamp:
            return BriefRepo(root, n, data["extra_path"], data["extra_text"])
    if root.exists():
        shutil.rmtree(root)
    started = time.perf_counter()
    docs = example.scale_corpus(n + 1, seed)
    extra = docs[-1]
    building = out / f".building-{n}-s{seed}"
    if building.exists():
        shutil.rmtree(building)
    building.mkdir(parents=True)
    example.write_repo(building, docs[:n])
    (building / ".git" / "benchmark-stamp.json").write_text(
        json.dumps({"stamp": stamp, "extra_path": extra.path, "extra_text": extra.text})
    )
    building.rename(root)
    if log:
        print(
            f"generated {n} briefs in {root} ({time.perf_counter() - started:.1f} s)",
            file=sys.stderr,
        )
    return BriefRepo(root, n, extra.path, extra.text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="+", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    for n in args.sizes:
        print(brief_repo(n, args.seed, args.out).root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
