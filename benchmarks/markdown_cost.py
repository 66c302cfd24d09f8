"""What reading markdown structure costs per document: markdown-it-py's parse
against the fast reader (``compactor/markdown.py``), and how many documents the
fast reader leaves to markdown-it-py.

    python benchmarks/markdown_cost.py REPO [REPO...]     # every *.md in git's index
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from compactor.briefs import decode, split_front_matter
from compactor.markdown import fast_outline, markdown_it_outline, title


def bodies(repo: Path) -> list[str]:
    names = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "*.md"],
                           capture_output=True, check=True).stdout.decode().split("\0")
    return [split_front_matter(decode((repo / n).read_bytes())[0])[1]
            for n in names if n and (repo / n).is_file()]


def per_doc(fn: object, docs: list[str]) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for d in docs:
            fn(d)  # type: ignore[operator]
        best = min(best, time.perf_counter() - t)
    return best / max(1, len(docs)) * 1e3


def main(argv: list[str]) -> int:
    docs = [d for a in argv for d in bodies(Path(a))]
    declined = sum(1 for d in docs if fast_outline(d) is None)
    print(f"{len(docs)} documents; the fast reader declines {declined} "
          f"({declined / max(1, len(docs)):.1%}) to markdown-it-py")
    print(f"per document: markdown-it-py {per_doc(markdown_it_outline, docs):.3f} ms, "
          f"fast reader {per_doc(fast_outline, docs):.3f} ms, title only {per_doc(title, docs):.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
