"""How far two careful readers agree on "the same state re-stated", and what compactor's
pairwise precision is against each of them.

    python benchmarks/second_reader.py [--out /work/corpora]

``benchmarks/second_reader.tsv`` holds 100 pairs of docs from ten labelled corpora, judged
blind by a second reader (two engineers, 50 pairs each, who saw neither the first labels nor
compactor's output): ``same`` when one doc re-announces the other's state, ``different`` when
they are other work, other stages of one work, or one adds substantial new findings. The
pairs were drawn from compactor's restatement links at the time (37 the first labels call
wrong, 30 they call right), 20 labelled same-group pairs compactor did not join and 13
candidate pairs that failed its tests: the hard cases, not a random sample. No text of the
docs is kept, only their paths. The first reader's labels are ``benchmarks/labels/*.tsv``.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import quality  # noqa: E402

PAIRS = HERE / "second_reader.tsv"


def load(path: Path = PAIRS) -> list[tuple[str, str, str, bool]]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 4 or parts[3] not in ("same", "different"):
            raise ValueError(f"{path.name}:{n}: expected corpus, path, path, same|different")
        out.append((parts[0], parts[1], parts[2], parts[3] == "same"))
    return out


def kappa(table: Counter[tuple[bool, bool]]) -> tuple[float, float]:
    """Observed agreement and Cohen's kappa of two readers' yes/no answers."""
    n = sum(table.values())
    agree = (table[True, True] + table[False, False]) / n
    first = (table[True, True] + table[True, False]) / n
    second = (table[True, True] + table[False, True]) / n
    chance = first * second + (1 - first) * (1 - second)
    return agree, (agree - chance) / (1 - chance) if chance < 1 else 1.0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=quality.DEFAULT_OUT,
                    help="where the replayed corpora are (default: quality.py's)")
    args = ap.parse_args(argv)
    pairs = load()
    names = sorted({c for c, *_ in pairs})
    first: dict[str, dict[str, str]] = {}
    family: dict[str, dict[str, str | None]] = {}
    for name in names:
        labels = quality.load_labels(name)
        first[name] = labels[0] if labels else {}
        family[name] = quality.compactor_families(args.out / name) \
            if (args.out / name).is_dir() else {}
    table: Counter[tuple[bool, bool]] = Counter()
    linked: Counter[tuple[str, bool]] = Counter()
    for c, a, b, second in pairs:
        ga, gb = first[c].get(a, "-"), first[c].get(b, "-")
        one = ga == gb != "-"
        table[one, second] += 1
        fa = family[c].get(a)
        if fa is not None and fa == family[c].get(b):
            linked["first", one] += 1
            linked["second", second] += 1
    agree, k = kappa(table)
    print(f"{len(pairs)} pairs from {len(names)} corpora: readers agree on {agree:.2f} "
          f"(Cohen's kappa {k:.2f})")
    print(f"  first same, second same {table[True, True]}, second different "
          f"{table[True, False]}; first different, second same {table[False, True]}, "
          f"second different {table[False, False]}")
    for who, other in (("first", table[True, True] + table[True, False]),
                       ("second", table[True, True] + table[False, True])):
        print(f"  the {who} reader's 'same' pairs the other also calls same: "
              f"{table[True, True] / other:.2f} of {other}")
    n = linked["first", True] + linked["first", False]
    if n:
        print(f"pairs compactor now puts in one family: {n}; its precision against the first "
              f"reader {linked['first', True] / n:.2f}, against the second "
              f"{linked['second', True] / n:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
