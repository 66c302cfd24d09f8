"""How the cache under ``.git/compactor`` grows in a long-lived docs repo.

    python benchmarks/cache_growth.py                       # 3000 briefs, 120 commits
    python benchmarks/cache_growth.py --briefs 1000 --commits 40

Builds a repo of ``--briefs`` synthetic briefs (``compactor.demo.example.scale_corpus``,
one commit each) in a temp dir, then replays what a team's clone goes through, each
command a fresh ``compactor`` process as the hook and CI run it:

- a cold ``compactor scan``;
- ``--commits`` commits, each a new lane (two in three) or an edit of an existing brief,
  with ``compactor check`` before the commit (the pre-commit gate) and ``compactor scan``
  after it (CI);
- a side branch with lanes of its own, checked out in turn with the main branch (a
  ``compactor scan`` after each switch: a warm scan must stay warm);
- a config edit (``max_adjacent``) and two upgrades of compactor (a copy of the package
  with one comment added: the code digest in every cache key changes), each followed by
  a tenth of the commits.

After each stage it records the cache's bytes on disk (database and WAL) and the rows
and bytes (pages, SQLite's ``dbstat``) of each table, and prints one markdown table.
Nothing here is timed against a target: the ``check`` and ``scan`` seconds are there to
show that a warm run stayed warm.

    python benchmarks/cache_growth.py --gate-replay > pruned.txt
    python benchmarks/gate_replay.py > plain.txt     # the same verdicts, line for line

replays the real corpora through the gate with the cache pruned on every run (see
``gate_replay_pruning_hard``): pruning must never change an answer.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import compactor.templates

import compactor
import compactor.demo.example as example

TABLES = ("briefs", "blobs", "created", "meta")


@dataclass
class Sample:
    stage: str
    commits: int
    db_bytes: int
    wal_bytes: int
    rows: dict[str, int]
    table_bytes: dict[str, int]
    free_bytes: int
    check_s: float
    scan_s: float
    runs: int | None  # the cache's clock: runs that wrote to it (None: a build without one)


def cache_files(root: Path) -> tuple[Path, Path]:
    d = root / ".git" / "compactor"
    return d / "cache-v1.sqlite", d / "cache-v1.sqlite-wal"


def measure(root: Path, stage: str, commits: int, check_s: float, scan_s: float) -> Sample:
    db, wal = cache_files(root)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        names = {t: [t] for t in TABLES}
        for idx, tbl in con.execute("SELECT name, tbl_name FROM sqlite_schema WHERE type='index'"):
            names.setdefault(tbl, []).append(idx)
        sizes = dict(con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
        table_bytes = {t: sum(sizes.get(n, 0) for n in names[t]) for t in TABLES}
        page = con.execute("PRAGMA page_size").fetchone()[0]
        free = con.execute("PRAGMA freelist_count").fetchone()[0] * page
        clock = con.execute("SELECT v FROM meta WHERE k = 'clock'").fetchone()
    finally:
        con.close()
    return Sample(stage, commits, db.stat().st_size, wal.stat().st_size if wal.exists() else 0,
                  rows, table_bytes, free, check_s, scan_s, int(clock[0]) if clock else None)


class Runner:
    """``compactor`` in a fresh process, from ``site`` (a copy of the package)."""

    def __init__(self, root: Path, site: Path) -> None:
        self.root = root
        self.site = site

    def __call__(self, *args: str, ok: tuple[int, ...] = (0,)) -> float:
        code = ("import sys, compactor; assert compactor.__file__.startswith(sys.argv[1]); "
                "from compactor.cli import main; sys.argv[1:2] = []; main()")
        env = {**os.environ, "PYTHONPATH": str(self.site)}
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code, str(self.site), "-C", str(self.root),
                               *args], capture_output=True, text=True, env=env, cwd=self.site)
        took = time.perf_counter() - started
        if proc.returncode not in ok:
            raise SystemExit(f"compactor {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
        return took


def copy_of_compactor(to: Path, edit: str | None = None, package: Path | None = None) -> Path:
    """A runnable copy of the installed package (or of ``package``, another build's
    ``compactor`` folder); ``edit`` appended to its ``vocab.py`` (a comment: the behaviour
    is the same, the code digest is not)."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(package or Path(compactor.__file__).parent, to / "compactor", ignore=ignore)
    shutil.copytree(Path(compactor.templates.__file__).parent, to / "compactor" / "templates",
                    ignore=ignore, dirs_exist_ok=True)
    if edit:
        vocab = to / "compactor" / "vocab.py"
        vocab.write_text(vocab.read_text(encoding="utf-8") + f"\n# {edit}\n", encoding="utf-8")
    return to


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-c", "maintenance.auto=false", *args], cwd=root,
                          capture_output=True, text=True, check=True)
    return proc.stdout


class Replay:
    def __init__(self, root: Path, docs: list[example.ExampleDoc], run: Runner) -> None:
        self.root = root
        self.docs = iter(docs)
        self.run = run
        self.commits = 0
        self.samples: list[Sample] = []
        self.check_s = 0.0
        self.scan_s = 0.0
        self.edits = 0

    def commit(self) -> None:
        """One commit: a new lane, or (every third) an edit of the last new lane; the gate
        before it, a scan after it."""
        self.commits += 1
        if self.commits % 3 == 0:
            tracked = git(self.root, "ls-files", "*.md").split()
            target = tracked[(self.commits * 7919) % len(tracked)]
            path = self.root / target
            self.edits += 1
            path.write_text(path.read_text(encoding="utf-8")
                            + f"\nFollow-up {self.edits}: re-checked the envelope.\n",
                            encoding="utf-8")
        else:
            doc = next(self.docs)
            target = doc.path
            path = self.root / target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(doc.text, encoding="utf-8")
        git(self.root, "add", "--", target)
        self.check_s = self.run("check", ok=(0, 1))  # a blocked lane is committed anyway
        git(self.root, "commit", "-q", "--no-verify", "-m", f"docs {self.commits}")
        self.scan_s = self.run("scan", "--format", "json")

    def sample(self, stage: str) -> None:
        s = measure(self.root, stage, self.commits, self.check_s, self.scan_s)
        self.samples.append(s)
        print(row(s), file=sys.stderr, flush=True)


HEADER = ("| stage | commits | runs | cache on disk (db + WAL) | free pages | brief rows (bytes) "
          "| values (bytes) | check s | scan s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")


def mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def row(s: Sample) -> str:
    return (f"| {s.stage} | {s.commits} | {'-' if s.runs is None else s.runs} "
            f"| {mb(s.db_bytes + s.wal_bytes)} "
            f"({mb(s.db_bytes)} + {mb(s.wal_bytes)}) | {mb(s.free_bytes)} "
            f"| {s.rows['briefs']} ({mb(s.table_bytes['briefs'])}) "
            f"| {s.rows['blobs']} ({mb(s.table_bytes['blobs'])}) "
            f"| {s.check_s:.2f} | {s.scan_s:.2f} |")


def gate_replay_pruning_hard(corpora: list[str]) -> int:
    """gate_replay.py in this process, every run that writes to the cache pruning it down
    to what the last 2 such runs wrote or read (pruning must never change a verdict)."""
    import runpy

    from compactor import store

    store.KEEP, store.TOUCH, store.PRUNE_EVERY = 2, 1, 1
    sys.argv = ["gate_replay.py", *corpora]
    runpy.run_path(str(Path(__file__).resolve().parent / "gate_replay.py"), run_name="__main__")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--briefs", type=int, default=3000)
    parser.add_argument("--commits", type=int, default=120)
    parser.add_argument("--every", type=int, default=20, help="commits between samples")
    parser.add_argument("--switches", type=int, default=10, help="branch switches")
    parser.add_argument("--settle", type=int, default=60,
                        help="commits after the last upgrade (pruning needs runs to go by)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--package", type=Path, default=None,
                        help="the compactor folder of another build to run (default: this one)")
    parser.add_argument("--gate-replay", nargs="*", metavar="CORPUS", default=None,
                        help="instead: run benchmarks/gate_replay.py (on CORPUS..., default "
                             "all) with the cache pruned on every run that writes, keeping "
                             "only the last 2 runs' rows; its output must equal a plain run's")
    args = parser.parse_args(argv)
    if args.gate_replay is not None:
        return gate_replay_pruning_hard(args.gate_replay)
    tenth = max(1, args.commits // 10)
    with tempfile.TemporaryDirectory(prefix="compactor-cache-growth-") as tmp:
        base = Path(tmp)
        root = base / "repo"
        docs = example.scale_corpus(args.briefs + args.commits + args.settle + 5 * tenth + 10,
                                    args.seed)
        example.write_repo(root, docs[: args.briefs])
        rest = docs[args.briefs:]
        side_docs, rest = rest[:5], rest[5:]
        run = Runner(root, copy_of_compactor(base / "site", None, args.package))
        replay = Replay(root, rest, run)
        print(HEADER, file=sys.stderr)
        replay.scan_s = run("scan", "--format", "json")
        replay.sample("cold scan")
        for _ in range(args.commits // args.every):
            for _ in range(args.every):
                replay.commit()
            replay.sample("commits")
        # a side branch with lanes of its own, switched to and from
        git(root, "checkout", "-q", "-b", "side", "HEAD~5")
        for doc in side_docs:
            (root / doc.path).parent.mkdir(parents=True, exist_ok=True)
            (root / doc.path).write_text(doc.text, encoding="utf-8")
            git(root, "add", "--", doc.path)
        git(root, "commit", "-q", "--no-verify", "-m", "side lanes")
        times = []
        for i in range(args.switches):
            git(root, "checkout", "-q", "side" if i % 2 else "main")
            times.append(run("scan", "--format", "json"))
        git(root, "checkout", "-q", "main")
        replay.scan_s = max(times[2:] or times)
        print("scan after each branch switch: " + ", ".join(f"{t:.2f}" for t in times) + " s",
              file=sys.stderr)
        replay.sample(f"{args.switches} branch switches (slowest scan after the 2nd)")
        # a config edit
        (root / ".compactor.yaml").write_text("max_adjacent: 4\n", encoding="utf-8")
        git(root, "add", ".compactor.yaml")
        git(root, "commit", "-q", "--no-verify", "-m", "config")
        replay.scan_s = run("scan", "--format", "json")
        for _ in range(tenth):
            replay.commit()
        replay.sample("config edit")
        for n in (1, 2):
            replay.run = run = Runner(root, copy_of_compactor(base / f"site-up{n}", f"upgrade {n}",
                                                          args.package))
            replay.scan_s = run("scan", "--format", "json")
            for _ in range(tenth):
                replay.commit()
            replay.sample(f"upgrade {n}")
        for _ in range(args.settle // args.every):
            for _ in range(args.every):
                replay.commit()
            replay.sample("commits after the upgrades")
        print()
        print(f"{args.briefs} briefs, `python benchmarks/cache_growth.py --briefs {args.briefs} "
              f"--commits {args.commits} --settle {args.settle}`\n")
        print(HEADER)
        for s in replay.samples:
            print(row(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
