"""Where a cold scan's CPU goes: one ``compactor scan --format json`` in this process, the
repo's cache removed first, with wall time, this process's CPU and its children's CPU
(fingerprint and gist workers, git) around each stage of ``scan.py``.

    python benchmarks/cold_cpu.py REPO                  # the compactor this venv imports
    python benchmarks/cold_cpu.py REPO --package DIR    # DIR/compactor instead (an A/B:
                                                        # e.g. a `git worktree` of an older build)

CPU seconds, not wall time, are what to compare on a shared machine: wall time follows
the load. The output's digest says whether two builds printed the same scan.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import resource
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STAGES = ("read_briefs", "_read_rows", "_build", "group", "_apart", "restated", "join_runs",
          "decide", "infer_runs")


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--package", type=Path, help="import compactor from DIR/compactor")
    args = parser.parse_args()
    if args.package:
        sys.path.insert(0, str(args.package.resolve()))
    root = args.repo.resolve()
    shutil.rmtree(root / ".git" / "compactor", ignore_errors=True)
    import compactor
    import compactor.scan as scan
    from compactor.cli import main as cli

    spent: dict[str, list[float]] = {}

    def timed(name: str) -> None:
        f: Callable[..., Any] = getattr(scan, name)

        def g(*a: Any, **k: Any) -> Any:
            w, c, cc = time.perf_counter(), time.process_time(), children_cpu()
            try:
                return f(*a, **k)
            finally:
                s = spent.setdefault(name, [0.0, 0.0, 0.0])
                s[0] += time.perf_counter() - w
                s[1] += time.process_time() - c
                s[2] += children_cpu() - cc

        setattr(scan, name, g)

    for name in STAGES:
        timed(name)
    out = io.StringIO()
    w0, c0, cc0 = time.perf_counter(), time.process_time(), children_cpu()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        cli(["-C", str(root), "scan", "--format", "json"])
    w, c, cc = time.perf_counter() - w0, time.process_time() - c0, children_cpu() - cc0
    print(f"compactor from {Path(compactor.__file__).parent}")
    print(f"cold scan of {root.name}: wall {w:.2f} s, CPU {c + cc:.2f} s "
          f"(this process {c:.2f} s, children {cc:.2f} s)")
    for name in STAGES:
        if name in spent:
            sw, sc, scc = spent[name]
            print(f"  {name:12s} wall {sw:7.2f} s  CPU {sc:7.2f} s  children {scc:7.2f} s")
    text = out.getvalue()
    print(f"output: {len(text):,} characters, sha256 {hashlib.sha256(text.encode()).hexdigest()[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
