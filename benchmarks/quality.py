"""Detection quality on real corpora, in one run: compactor against a naive baseline.

    python benchmarks/quality.py                          # every corpus with a snapshot
    python benchmarks/quality.py waves launch             # some of them
    python benchmarks/quality.py --mirror DIR --write     # also rewrite benchmarks/QUALITY.md

Each corpus is a local git repo replayed from a public snapshot by a recipe (nothing of
its text is kept in this repository): ``make_real_repos.py`` of the shared corpora
(``--recipe``, default ``/work/shared/corpora/make_real_repos.py``) and every
``benchmarks/*.py`` that defines ``CORPORA`` and ``build(mirror_root, out_dir, name)``
the same way. Snapshots are read from ``--mirror`` (default ``/work/.mirror``, the
``OWNER+NAME`` folders); repos are built once under ``--out`` (default
``benchmarks/.corpora``, ignored by git) and reused (``--rebuild`` to rebuild).

Labels: ``benchmarks/labels/<corpus>.tsv``, lines ``path<TAB>group`` (path as in the
built repo; ``group`` names a set of docs a careful reader judges restatements or
copies of one another; ``-`` is a distinct doc). When that file is missing,
``benchmarks/labels/provisional/<corpus>.tsv`` is used (marked ``*`` in the table).
A doc of the corpus with no label line counts as distinct.

Per corpus and method it prints:

- ``P`` / ``R``: pairwise precision and recall of "same family" against "same group";
- ``loop``: the share of docs of a group (of two or more) that share a family with a groupmate;
- ``neg``: the share of distinct docs (``-``) placed in any family.

Methods: ``compactor`` (an in-process scan with the corpus's config, default when it
has none; no cache) and ``naive`` (unmasked word 3-shingle Jaccard >= 0.5 between
every two docs, connected components; ``include``/``exclude`` of the config apply).
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from compactor.config import load_config  # noqa: E402
from compactor.files import select  # noqa: E402
from compactor.git import Repo  # noqa: E402
from compactor.scan import run_scan  # noqa: E402

LABELS = HERE / "labels"
DEFAULT_RECIPE = Path("/work/shared/corpora/make_real_repos.py")
DEFAULT_MIRROR = Path("/work/.mirror")
DEFAULT_OUT = HERE / ".corpora"
NAIVE_SHINGLE = 3
NAIVE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Figures:
    precision: float | None  # None: no pair was predicted
    recall: float | None  # None: no labelled pair
    loop: float | None  # None: no labelled group
    neg: float | None  # None: no distinct doc
    families: int
    seconds: float


def load_labels(name: str) -> tuple[dict[str, str], bool] | None:
    """path -> group of a corpus, and whether the labels are provisional."""
    for path, provisional in ((LABELS / f"{name}.tsv", False),
                              (LABELS / "provisional" / f"{name}.tsv", True)):
        if path.is_file():
            out: dict[str, str] = {}
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line.strip() or line.startswith("#"):
                    continue
                doc, _, grp = line.partition("\t")
                out[doc.strip()] = grp.strip() or "-"
            return out, provisional
    return None


def score(groups: Mapping[str, str], family: Mapping[str, str | None]) -> tuple[
        float | None, float | None, float | None, float | None]:
    """(precision, recall, loop share, negative share) of predicted families vs groups."""
    docs = sorted(groups)
    both = found = true = 0
    for a, b in itertools.combinations(docs, 2):
        t = groups[a] != "-" and groups[a] == groups[b]
        fa = family.get(a)
        p = fa is not None and fa == family.get(b)
        true += t
        found += p
        both += t and p
    size: dict[str, int] = {}
    for g in groups.values():
        size[g] = size.get(g, 0) + 1
    loop_docs = [d for d in docs if groups[d] != "-" and size[groups[d]] > 1]
    hit = sum(1 for d in loop_docs if family.get(d) is not None and any(
        e != d and groups[e] == groups[d] and family.get(e) == family[d] for e in loop_docs))
    distinct = [d for d in docs if groups[d] == "-" or size[groups[d]] == 1]
    neg = sum(1 for d in distinct if family.get(d) is not None)
    return (both / found if found else None, both / true if true else None,
            hit / len(loop_docs) if loop_docs else None,
            neg / len(distinct) if distinct else None)


def compactor_families(root: Path) -> dict[str, str | None]:
    repo = Repo.discover(root)
    config = load_config(repo.root)[0]
    scan = run_scan(repo, config, use_cache=False)
    out: dict[str, str | None] = {b.path: None for b in scan.briefs}
    for f in scan.families:
        for i in f.members:
            out[scan.briefs[i].path] = f.id
    return out


_WORDS = re.compile(r"[^\W_]+")


def naive_families(root: Path) -> dict[str, str | None]:
    """Unmasked word 3-shingle Jaccard >= 0.5, connected components (exact, all pairs)."""
    repo = Repo.discover(root)
    config = load_config(repo.root)[0]
    entries = select(config, repo.index_entries()).entries
    sets: dict[str, frozenset[str]] = {}
    for e in entries:
        text = (root / e.path).read_text(encoding="utf-8", errors="replace")
        words = [w.lower() for w in _WORDS.findall(text)]
        k = min(NAIVE_SHINGLE, len(words))
        if k:
            sets[e.path] = frozenset(" ".join(words[i:i + k]) for i in range(len(words) - k + 1))
    paths = sorted(sets)
    parent = {p: p for p in paths}

    def find(p: str) -> str:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    linked: set[str] = set()
    for a, b in itertools.combinations(paths, 2):
        sa, sb = sets[a], sets[b]
        if len(sa) * NAIVE_THRESHOLD > len(sb) or len(sb) * NAIVE_THRESHOLD > len(sa):
            continue  # Jaccard <= min/max < threshold
        inter = len(sa & sb)
        if inter / (len(sa) + len(sb) - inter) >= NAIVE_THRESHOLD:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
            linked.update((a, b))
    return {p: (find(p) if p in linked else None) for p in paths}


METHODS: dict[str, Callable[[Path], dict[str, str | None]]] = {
    "compactor": compactor_families,
    "naive": naive_families,
}


def group_shares(groups: Mapping[str, str], family: Mapping[str, str | None],
                 least: int = 3) -> dict[str, float]:
    """Per labelled group of at least ``least`` docs: the share sharing a family with a groupmate."""
    members: dict[str, list[str]] = {}
    for d, g in groups.items():
        if g != "-":
            members.setdefault(g, []).append(d)
    out = {}
    for g, docs in sorted(members.items()):
        if len(docs) >= least:
            fams = [family.get(d) for d in docs]
            out[g] = sum(1 for f in fams if f is not None and fams.count(f) > 1) / len(docs)
    return out


SHOW_GROUPS = False


def measure(root: Path, groups: Mapping[str, str], method: str) -> Figures:
    start = time.perf_counter()
    family = METHODS[method](root)
    seconds = time.perf_counter() - start
    if SHOW_GROUPS:
        for g, share in group_shares(groups, family).items():
            print(f"    {method:<10} group {g}: {share:.2f}")
    every = dict(groups)
    for p in family:
        every.setdefault(p, "-")
    p, r, loop, neg = score(every, family)
    return Figures(p, r, loop, neg, len({f for f in family.values() if f is not None}), seconds)


def _load_recipe(path: Path) -> ModuleType | None:
    spec = importlib.util.spec_from_file_location(f"recipe_{path.stem}", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    if isinstance(getattr(module, "CORPORA", None), dict) and callable(getattr(module, "build", None)):
        return module
    return None


def recipes(shared: Path) -> dict[str, ModuleType]:
    """Corpus name -> the recipe module that builds it (benchmarks/ recipes win)."""
    out: dict[str, ModuleType] = {}
    candidates = [shared] if shared.is_file() else []
    for path in sorted(HERE.glob("*.py")):
        if path.name != Path(__file__).name and "CORPORA" in path.read_text(encoding="utf-8") \
                and "def build" in path.read_text(encoding="utf-8"):
            candidates.append(path)
    for path in candidates:
        module = _load_recipe(path)
        if module is not None:
            for name in module.CORPORA:
                out[name] = module
    return out


def build(module: ModuleType, mirror: Path, out: Path, name: str, rebuild: bool) -> Path | None:
    repo = out / name
    if (repo / ".git").is_dir() and not rebuild:
        return repo
    out.mkdir(parents=True, exist_ok=True)
    ok = module.build(str(mirror), str(out), name)
    return repo if ok is not False and (repo / ".git").is_dir() else None


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def table(rows: Iterable[tuple[str, int, bool, str, Figures]]) -> str:
    head = ("| corpus | docs | method | P | R | loop | neg | families | s |\n"
            "|---|---:|---|---:|---:|---:|---:|---:|---:|\n")
    return head + "".join(
        f"| {name}{'*' if prov else ''} | {n} | {m} | {_pct(f.precision)} | {_pct(f.recall)} | "
        f"{_pct(f.loop)} | {_pct(f.neg)} | {f.families} | {f.seconds:.1f} |\n"
        for name, n, prov, m, f in rows)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpora", nargs="*", help="corpus names (default: every one with a snapshot)")
    ap.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR, help="folder of OWNER+NAME snapshots")
    ap.add_argument("--recipe", type=Path, default=DEFAULT_RECIPE, help="the shared corpora recipe")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where corpus repos are built")
    ap.add_argument("--rebuild", action="store_true", help="rebuild corpus repos that exist")
    ap.add_argument("--methods", default="compactor,naive")
    ap.add_argument("--groups", action="store_true",
                    help="also print, per labelled group of 3+ docs, the share in a family with a groupmate")
    ap.add_argument("--write", action="store_true", help="write the table into benchmarks/QUALITY.md")
    args = ap.parse_args(argv)
    global SHOW_GROUPS
    SHOW_GROUPS = args.groups
    known = recipes(args.recipe)
    names = args.corpora or sorted(known)
    methods = [m for m in args.methods.split(",") if m]
    rows = []
    for name in names:
        if name not in known:
            print(f"{name}: no recipe defines it", file=sys.stderr)
            continue
        root = build(known[name], args.mirror, args.out, name, args.rebuild)
        if root is None:
            continue
        labelled = load_labels(name)
        if labelled is None:
            print(f"{name}: no labels (benchmarks/labels/{name}.tsv); skipped", file=sys.stderr)
            continue
        groups, provisional = labelled
        n = len(set(groups) | set(Repo.discover(root).text("ls-files").splitlines()))
        for m in methods:
            fig = measure(root, groups, m)
            rows.append((name, n, provisional, m, fig))
            print(f"{name:<12} {m:<10} P {_pct(fig.precision)} R {_pct(fig.recall)} "
                  f"loop {_pct(fig.loop)} neg {_pct(fig.neg)} families {fig.families} "
                  f"({fig.seconds:.1f} s)", flush=True)
    text = table(rows)
    print()
    print(text)
    if args.write:
        _write(text, " ".join(["python benchmarks/quality.py", *(argv or sys.argv[1:])]))
    return 0


_START = "<!-- quality:table -->"
_END = "<!-- /quality:table -->"


def _write(text: str, command: str) -> None:
    path = HERE / "QUALITY.md"
    old = path.read_text(encoding="utf-8") if path.is_file() else f"# Detection quality\n\n{_START}\n{_END}\n"
    block = f"{_START}\nCommand: `{command.replace(' --write', '')}`\n\n{text}{_END}"
    if _START in old and _END in old:
        new = old[: old.index(_START)] + block + old[old.index(_END) + len(_END):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
