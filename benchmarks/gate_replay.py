"""The gate on real histories: replay each corpus commit by commit through ``check``.

    python benchmarks/gate_replay.py                      # every corpus found
    python benchmarks/gate_replay.py waves launch         # some of them
    python benchmarks/gate_replay.py --corpora DIR        # corpora somewhere else
    python benchmarks/gate_replay.py --verbose            # every refused or warned doc
    python benchmarks/gate_replay.py --write              # also rewrite QUALITY.md's gate block

A corpus is a local git repo (``/work/corpora/NAME``, built by the recipe in
``shared/corpora/make_real_repos.py``; more may sit under ``benchmarks/corpora``).
Each is replayed into a fresh repo: for every original commit, in order, the
index is set to that commit's tree, ``run_check`` judges it in-process at the
commit's time (default config), and the team commits anyway (HEAD moves to
the original commit). Nothing of a corpus is copied into this repository.

Printed per corpus: docs added, docs blocked and warned, and with a label file
(``benchmarks/labels/NAME.tsv``: ``path<TAB>group``, ``-`` = distinct) per
labelled run (group) its size, the position of its first refused doc, the
share of its docs after the 5th that were refused, the share of all its docs
refused, and the blocks on docs labelled distinct. Targets (issue 14) are
checked and a miss is printed as such.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from compactor.check import run_check  # noqa: E402
from compactor.config import Config  # noqa: E402
from compactor.git import Repo  # noqa: E402

DEFAULT_CORPORA = (Path("/work/corpora"), HERE / ".corpora", HERE / "corpora")
LABELS = HERE / "labels"
NEGATIVES = ("sprints", "slices", "news")  # corpora with no loop (see shared/corpora/README.md)
FIRST_BY = 5  # a near-copy run is first refused by its 5th doc
LATER_SHARE = 0.8  # ... and this share of the docs after it
REWORDED_SHARE = 1 / 3  # a reworded loop of 20+ docs is refused for a third of its docs
NEGATIVE_WARN_SHARE = 0.10
# The labelled runs of near-copies the issue names (the LAUNCH_P07_* prompts, wave-N plans);
# any other labelled run of 20+ docs is a reworded loop.
NEAR_COPY_RUNS = {"launch": ("launch-prompt",), "waves": ("wave-plan",)}
REWORDED_MIN = 20
QUALITY = HERE / "QUALITY.md"
BEGIN, END = "<!-- gate:replay -->", "<!-- /gate:replay -->"


@dataclass
class Replay:
    name: str
    docs: list[str] = field(default_factory=list)  # judged or not, in the order added
    outcome: dict[str, str] = field(default_factory=dict)  # path -> pass | warn | block
    reasons: dict[str, str] = field(default_factory=dict)  # path -> condition names
    seconds: float = 0.0


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True, env=env).stdout


def replay(source: Path, work: Path, config: Config | None = None) -> Replay:
    """Replay the repo at ``source`` commit by commit through the gate (in ``work``)."""
    config = config or Config()
    work.mkdir(parents=True)
    _git(work, "init", "-q", "-b", "main")
    _git(work, "fetch", "-q", str(source), "HEAD:refs/replay/source")
    commits = _git(work, "rev-list", "--reverse", "--topo-order", "refs/replay/source").split()
    repo = Repo(work)
    out = Replay(source.name)
    start = time.perf_counter()
    for c in commits:
        when = int(_git(work, "show", "-s", "--format=%ct", c))
        _git(work, "read-tree", c)
        result = run_check(repo, config, now=when)
        out.docs.extend(result.added)
        for v in result.verdicts:
            out.outcome[v.path] = v.outcome
            out.reasons[v.path] = v.link + " " + ",".join(f"{c.name}:{c.action}" for c in v.conditions)
        _git(work, "update-ref", "HEAD", c)  # the team commits anyway
    out.seconds = time.perf_counter() - start
    return out


def read_labels(name: str) -> dict[str, str] | None:
    path = LABELS / f"{name}.tsv"
    if not path.is_file():
        return None
    labels = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 2:
            labels[parts[0].strip()] = parts[1].strip()
    return labels


def _share(n: int, d: int) -> str:
    return f"{n}/{d} ({100 * n / d:.0f}%)" if d else "-"


def report(r: Replay, labels: dict[str, str] | None, verbose: bool = False) -> list[str]:
    """Lines describing one replay, and the targets it misses (prefixed 'MISS')."""
    docs = r.docs
    blocked = [p for p in docs if r.outcome.get(p) == "block"]
    warned = [p for p in docs if r.outcome.get(p) == "warn"]
    lines = [f"{r.name}: {len(docs)} docs, {len(blocked)} blocked, {len(warned)} warned, "
             f"{len(r.outcome)} judged ({r.seconds:.1f} s)"]
    misses = []
    negative = r.name in NEGATIVES or (labels is not None and set(labels.values()) <= {"-"})
    if negative:  # the shared negatives, and every labelled corpus without a loop group
        if blocked:
            misses.append(f"MISS {r.name}: negative corpus, {len(blocked)} blocked")
        if len(warned) > NEGATIVE_WARN_SHARE * len(docs):
            misses.append(f"MISS {r.name}: negative corpus, warnings on {_share(len(warned), len(docs))}")
    if labels is not None:
        unlabelled = [p for p in docs if p not in labels]
        distinct_blocked = [p for p in blocked if labels.get(p, "-") == "-"]
        lines.append(f"  blocks on docs labelled distinct: {len(distinct_blocked)}"
                     + (f" ({len(unlabelled)} docs unlabelled, counted distinct)" if unlabelled else ""))
        if distinct_blocked:
            misses.append(f"MISS {r.name}: {len(distinct_blocked)} distinct docs blocked: "
                          + ", ".join(distinct_blocked[:5]))
        groups: dict[str, list[str]] = {}
        for p in docs:
            g = labels.get(p, "-")
            if g != "-":
                groups.setdefault(g, []).append(p)
        chains = 0
        for g, members in sorted(groups.items()):
            refused = [r.outcome.get(p) == "block" for p in members]
            warned_n = sum(r.outcome.get(p) == "warn" for p in members)
            first = next((k + 1 for k, b in enumerate(refused) if b), None)
            later = refused[FIRST_BY:]
            lines.append(
                f"  run {g}: {len(members)} docs, first refused at "
                f"{first if first is not None else 'never'}, after the {FIRST_BY}th "
                f"{_share(sum(later), len(later))} refused, all {_share(sum(refused), len(refused))}"
                f", {warned_n} warned"
            )
            chains += any(refused)
            if g in NEAR_COPY_RUNS.get(r.name, ()):
                if first is None or first > FIRST_BY:
                    misses.append(f"MISS {r.name}: near-copy run {g} first refused at "
                                  f"{first or 'never'} (target: by doc {FIRST_BY})")
                if later and sum(later) < LATER_SHARE * len(later):
                    misses.append(f"MISS {r.name}: near-copy run {g}: {_share(sum(later), len(later))}"
                                  f" of the docs after the {FIRST_BY}th refused (target 80%)")
            elif len(members) >= REWORDED_MIN and sum(refused) < REWORDED_SHARE * len(members):
                misses.append(f"MISS {r.name}: loop {g} of {len(members)} docs: "
                              f"{_share(sum(refused), len(members))} refused (target a third)")
        if r.name == "mergelogs" and groups:
            lines.append(f"  logs about logs: {chains} of {len(groups)} bursts have a refused doc")
            if chains < len(groups):
                misses.append(f"MISS mergelogs: {len(groups) - chains} of {len(groups)} bursts of "
                              "logs about logs never refused")
    if verbose:
        for p in docs:
            if r.outcome.get(p) in ("block", "warn"):
                tag = labels.get(p, "?") if labels is not None else ""
                lines.append(f"    {r.outcome[p]:5} {p} [{tag}] {r.reasons.get(p, '')}")
    return lines + misses


def corpora(dirs: Sequence[Path], names: Sequence[str]) -> list[Path]:
    found: dict[str, Path] = {}
    for d in dirs:
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if (p / ".git").exists() and p.name not in found:
                found[p.name] = p
    if names:
        missing = [n for n in names if n not in found]
        if missing:
            sys.exit(f"gate_replay: no corpus named {', '.join(missing)} under "
                     f"{', '.join(map(str, dirs))}")
        return [found[n] for n in names]
    return list(found.values())


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*")
    ap.add_argument("--corpora", type=Path, action="append")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--write", action="store_true",
                    help=f"also write the output into {QUALITY.name} between {BEGIN} and {END}")
    args = ap.parse_args(argv)
    dirs = args.corpora or list(DEFAULT_CORPORA)
    misses = 0
    out: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gate-replay-") as tmp:
        for src in corpora(dirs, args.names):
            r = replay(src, Path(tmp) / src.name)
            for line in report(r, read_labels(src.name), args.verbose):
                misses += line.startswith("MISS")
                out.append(line)
                print(line, flush=True)
    tail = f"{misses} target(s) missed" if misses else "all targets met"
    print(tail)
    if args.write:
        text = QUALITY.read_text(encoding="utf-8")
        block = "\n".join([BEGIN, "```text", *out, tail, "```", END])
        if BEGIN in text and END in text:
            text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        QUALITY.write_text(text, encoding="utf-8")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
