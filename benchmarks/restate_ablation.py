"""What each test of the restatement leg buys, on every labelled real corpus.

    python benchmarks/restate_ablation.py [--out /work/corpora] [--grid] [NAME ...]

Each row switches tests of ``compactor/restate.py`` off (module constants and functions
patched in this process only) and scores the scan with ``quality.measure``. Cells are
``loop/P/neg`` for corpora with labelled groups (``--grid``: instead of the tests, each
row sets ``COSINE`` and ``FACTS_SHARED``, the leg's two thresholds), ``neg`` for negatives (see
``benchmarks/quality.py`` for the columns). The corpora must have been replayed already
(``python benchmarks/quality.py`` does it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import quality  # noqa: E402

from compactor import restate  # noqa: E402

NAMES = ["statusdocs", "devlogs", "cycles", "sprints", "finstatus", "handoffs", "milestones",
         "autopr", "phases", "rulereports", "ghchecks", "launch", "mergelogs", "waves",
         "journal", "runbooks", "dtm", "slices", "audits", "news", "relnotes"]
_NEVER: Callable[..., bool] = lambda *_: False  # noqa: E731 - a test switched off
TESTS = ("_own_name_word", "_stage_conflict", "_steps_differ", "_facets_differ")
BATCH = TESTS[3:]  # the batch test: not two facets of one commit's batch
VARIANTS: list[tuple[str, dict[str, float], tuple[str, ...]]] = [
    ("shape leg only (no restatement leg)", {"COSINE": 9.0}, ()),
    ("cosine >= 0.4 only", {"SKELETON": 9.0, "FACTS_SHARED": 0.0, "LINKAGE": 0.0}, TESTS),
    ("+ different skeleton", {"FACTS_SHARED": 0.0, "LINKAGE": 0.0}, TESTS),
    ("+ no name word of its own", {"FACTS_SHARED": 0.0, "LINKAGE": 0.0}, TESTS[1:]),
    ("+ one state, one step", {"FACTS_SHARED": 0.0, "LINKAGE": 0.0}, BATCH),
    ("+ shared facts", {"LINKAGE": 0.0}, BATCH),
    ("+ complete linkage", {}, BATCH),
    ("+ not two facets of one batch (default)", {}, ()),
]
GRID: list[tuple[str, dict[str, float], tuple[str, ...]]] = [
    (f"cosine {c} / facts {f}", {"COSINE": c, "FACTS_SHARED": f}, ())
    for c in (0.4, 0.5, 0.6) for f in (0.4, 0.6)
]


def _cell(root: Path, name: str) -> str:
    labels = quality.load_labels(name)
    f = quality.measure(root / name, labels[0] if labels else {}, "compactor")

    def fm(x: float | None) -> str:
        return "—" if x is None else f"{x:.2f}"

    return f"{fm(f.loop)}/{fm(f.precision)}/{fm(f.neg)}" if f.loop is not None else fm(f.neg)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=quality.DEFAULT_OUT,
                    help="where the replayed corpora are (default: quality.py's)")
    ap.add_argument("--grid", action="store_true",
                    help="rows of the two thresholds instead of the tests")
    ap.add_argument("names", nargs="*", default=NAMES)
    args = ap.parse_args(argv)
    names = [n for n in args.names if (args.out / n).is_dir()]
    saved: dict[str, Any] = {k: getattr(restate, k) for k in
                             ("COSINE", "SKELETON", "FACTS_SHARED", "LINKAGE", *TESTS)}
    print("| variant | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    try:
        for label, constants, off in GRID if args.grid else VARIANTS:
            for k, v in saved.items():
                setattr(restate, k, v)
            for k, v in constants.items():
                setattr(restate, k, v)
            for k in off:
                setattr(restate, k, _NEVER)
            print(f"| {label} | " + " | ".join(_cell(args.out, n) for n in names) + " |",
                  flush=True)
    finally:
        for k, v in saved.items():
            setattr(restate, k, v)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
