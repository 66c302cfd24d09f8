"""Does ``compactor inventory --check`` pass in a shallow clone of a repo whose inventory
is up to date?

    python benchmarks/shallow_check.py                          # every repo under /work/corpora
    python benchmarks/shallow_check.py REPO... --depths 1 2 10

For each repo: a full clone in a temp dir, ``compactor inventory`` committed there (the
inventory is now fresh: ``--check`` exits 0), then ``git clone --depth D`` of that clone
for each depth and ``compactor inventory --check`` in it. Prints one markdown row per repo
(the exit code per depth) and how many were called stale at each depth.

The inventory depends on when each doc was first committed (families, phases, episodes);
a shallow clone gives every doc older than it the oldest fetched commit's time, so a
fresh inventory can look stale there. This measures how often, on real histories, which
is why the README asks CI for the whole history (``fetch-depth: 0``). Nothing is timed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

CORPORA = Path("/work/corpora")


def run(cwd: Path, *args: str) -> int:
    return subprocess.run(list(args), cwd=cwd, capture_output=True).returncode


def compactor(cwd: Path, *args: str) -> int:
    return run(cwd, sys.executable, "-m", "compactor", *args)


def measure(repo: Path, depths: list[int], work: Path) -> tuple[int, list[int]] | None:
    full = work / f"{repo.name}-full"
    if run(work, "git", "clone", "-q", str(repo), str(full)) != 0:
        return None
    commits = int(subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=full,
                                 capture_output=True, text=True).stdout.strip() or 0)
    if compactor(full, "inventory") != 0:
        return None
    run(full, "git", "add", "-A")
    run(full, "git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid",
        "-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", "inventory")
    if compactor(full, "inventory", "--check") != 0:
        return None  # not fresh even with the whole history: nothing to learn here
    codes = []
    for depth in depths:
        shallow = work / f"{repo.name}-depth{depth}"
        run(work, "git", "clone", "-q", "--depth", str(depth), full.as_uri(), str(shallow))
        codes.append(compactor(shallow, "inventory", "--check"))
    return commits, codes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repos", nargs="*", type=Path,
                        help=f"git repos to measure (default: every repo under {CORPORA})")
    parser.add_argument("--depths", nargs="+", type=int, default=[1, 10, 100])
    args = parser.parse_args(argv)
    repos = args.repos or sorted(p for p in CORPORA.iterdir() if (p / ".git").exists())
    stale = [0] * len(args.depths)
    measured = 0
    print("| repo | commits | " + " | ".join(f"depth {d}" for d in args.depths) + " |")
    print("|---|---:|" + "---|" * len(args.depths))
    with tempfile.TemporaryDirectory() as tmp:
        for repo in repos:
            got = measure(repo, args.depths, Path(tmp))
            if got is None:
                print(f"| {repo.name} | - | " + " | ".join("-" for _ in args.depths) + " |")
                continue
            commits, codes = got
            measured += 1
            for k, code in enumerate(codes):
                stale[k] += code == 1
            shown = ["stale" if c == 1 else "fresh" if c == 0 else f"exit {c}" for c in codes]
            print(f"| {repo.name} | {commits} | " + " | ".join(shown) + " |")
    print()
    for depth, n in zip(args.depths, stale, strict=True):
        print(f"depth {depth}: {n} of {measured} fresh inventories called stale")
    return 0


if __name__ == "__main__":
    sys.exit(main())
