"""The real corpora: where each one lives, how to replay it, and its labels.

    python benchmarks/corpora.py MIRROR_ROOT OUT_DIR [NAME ...]    # replay (default: all)
    python benchmarks/corpora.py --split MIRROR_ROOT OUT_DIR [NAME ...]   # one commit per doc
    python benchmarks/corpora.py --list                             # the table

A corpus is the set of markdown docs under one folder of one public repository at one
revision that match one pattern. Nothing from those repositories is kept here, only this
recipe and the labels (``benchmarks/labels/<name>.tsv``, see ``benchmarks/LABELS.md``).
Bring a snapshot onto the machine with the search tool's ``fetch`` (source
``github:OWNER/NAME``). It lands in ``MIRROR_ROOT/OWNER+NAME/repo``, a bare git dir.

Replay works the same way as ``make_real_repos.py`` of the shared corpora, so the paths
match: each doc is written to ``OUT_DIR/NAME/docs/<path below the folder>``. Docs are
committed in batches, ordered by the author date at which the original history first added
a file of that basename (``git log REV --diff-filter=A``). A doc whose birth is unknown
gets the revision's date.

Other benchmark scripts import it:

    from corpora import labelled_corpora
    for name, repo, labels in labelled_corpora():     # built corpora that have labels
        ...                                           # labels: path -> group, "-" = distinct

``CORPORA`` and ``build(mirror_root, out_dir, name)`` are also the interface that
``benchmarks/quality.py`` looks for in a recipe.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
LABELS = HERE / "labels"
ENV_ROOT = "COMPACTOR_CORPORA"  # where replayed corpora live, if not the default


@dataclass(frozen=True)
class Corpus:
    snapshot: str  # OWNER+NAME: the folder under MIRROR_ROOT (fetch github:OWNER/NAME)
    revision: str  # a commit, tag or HEAD of the snapshot
    folder: str  # path prefix inside the repository ("" = whole tree)
    pattern: str  # regular expression searched in each path
    kind: str  # what a careful reader found: positive, negative or mixed
    about: str  # one line: what it holds
    history: str = ""  # pathspec that limits the search for births ("" = all history)
    by_path: bool = False  # births keyed by full path, not basename (folders of same-named files)


CORPORA: dict[str, Corpus] = {
    # the seven shared corpora (recipe of ../shared/corpora/make_real_repos.py, same paths)
    "waves": Corpus("lkjsxc+kjxlkj", "6562afb3", "docs/todo/waves/", r"wave-\d+\.md$", "positive",
                    "72 wave plans from one generator, only ids and links differ"),
    "dtm": Corpus("yrsolo+DTM", "HEAD", "archive/work/agile_legacy/legacy_2026-03-03/task_cards_legacy/",
                  r"DTM-\d+.*\.md$", "negative", "236 task cards, incl. 53 per-module cards of one template"),
    "launch": Corpus("bozertron+Orchestr8_jr", "pre-factor-savepoint", ".planning/orchestr8_next/execution/",
                     r"\.md$", "mixed", "148 planning docs; 17 launch prompts differ only by packet id"),
    "sprints": Corpus("oviney+economist-agents", "HEAD", "", r"(SPRINT_|STORY_|_COMPLETE|RETROSPECTIVE).*\.md$",
                      "negative", "86 sprint/story reports; seven completions announced twice"),
    "mergelogs": Corpus("rauterfrank-ui+Peak_Trade", "HEAD", "docs/ops/merge_logs/", r"PR_\d+_MERGE_LOG\.md$",
                        "mixed", "146 per-PR merge logs; chains of logs about logs"),
    "slices": Corpus("barhaughogda+zenthea-platform", "HEAD", "docs/04-execution/slices/", r"\.md$", "negative",
                     "83 templated governance slices, distinct work"),
    "news": Corpus("pypa+pip", "HEAD", "news/",
                   r"\.(feature|bugfix|removal|doc|trivial|vendor|process)(\.rst|\.md)?$", "negative",
                   "16 changelog fragments"),
    # found and labelled for issues 13/14
    "cycles": Corpus("Victor-Dixon+Dream.os", "735293d2f19ea0af6d6cd5c4791080e52f865fbb",
                     "devlogs/autonomous_cycles/", r"\.md$", "positive",
                     "autonomous agents' cycle devlogs: the same state reported every cycle", history="devlogs"),
    "devlogs": Corpus("Dadudekc+AutoDream.Os", "c44131f1433cb24d3d626120615fc6cc2d97229d", "devlogs/",
                      r"^devlogs/2025-01-1[57]_Agent-\d_", "positive",
                      "agent swarm devlogs of 15-17 Jan 2025: one status re-announced under new titles",
                      history="devlogs"),
    "statusdocs": Corpus("whoiscaerus+NewTeleBotFinal", "9290d18ac2fa8c1967f42786e26c44f18e567a84", "",
                         r"^[^/]+\.md$", "positive",
                         "a coding agent's status docs at the repository root: the same CI/test state re-reported",
                         history=":(glob)*.md"),
    "journal": Corpus("TimeToBuildBob+alice", "04dd82e1511a9fd3e15bacb1a251e83dbcdb2664", "journal/",
                      r"^journal/\d{4}-\d\d-\d\d-[^/]+\.md$", "negative",
                      "an autonomous agent's session journal (gptme): work logs and blocked-session reports"),
    "runbooks": Corpus("prometheus-operator+runbooks", "a685d14cf5128bb30e2bf935c3983decd772d885",
                       "content/runbooks/", r"/[A-Za-z]\w*\.md$", "negative",
                       "per-alert runbooks from one template (Meaning/Impact/Diagnosis/Mitigation)"),
    # found and labelled as a held-out set for the restatement leg (corpora2)
    "handoffs": Corpus("inmanityus+Gaming-System-AI-Core", "96bbe96c155d7f19f65578db422054cc26bab9d5",
                       "Project-Management/Documentation/Sessions/", r"\.md$", "mixed",
                       "a coding agent's session handoffs and summaries: some sessions handed off again and again",
                       history="*.md"),
    "finstatus": Corpus("Financbase+financbase-admin-dashboard", "a7efaf20d070d085effb718b930692960e643b31", "docs/",
                        r"^docs/(status|testing)/[^/]+\.md$", "mixed",
                        "a coding agent's status and test reports: the same tier, page or test state reported again"),
    "milestones": Corpus("inmanityus+Gaming-System-AI-Core", "96bbe96c155d7f19f65578db422054cc26bab9d5",
                         "Project-Management/Documentation/Milestones/", r"\.md$", "negative",
                         "a coding agent's 45-minute milestone plans, one template, each its own feature",
                         history="*.md"),
    "audits": Corpus("inmanityus+Gaming-System-AI-Core", "96bbe96c155d7f19f65578db422054cc26bab9d5",
                     ".cursor/audit/code/", r"-audit\.md$", "negative",
                     "per-file code audit trails an agent generated in one batch, each names its own file",
                     history="*.md"),
    # found and labelled by a scout, unseen while the legs were built (corpora3)
    "ghchecks": Corpus("semantest+workspace", "1361f95e5cec95a4b9e192be52805b126acc05a5", "",
                       r"^GITHUB_CHECK_[^/]*\.md$", "positive",
                       "an orchestrator agent's GitHub check every 15 minutes: the same unchanged state re-announced",
                       history=":(glob)GITHUB_CHECK_*.md"),
    "autopr": Corpus("cseek11+VeroSuite", "e56cceeab88d55216bcf913652dc6a022ee24c6f", "docs/Auto-PR/",
                     r"\.md$", "mixed",
                     "a coding agent's fix, status and completion reports on one subsystem",
                     history="*.md"),
    "rulereports": Corpus("cseek11+VeroSuite", "e56cceeab88d55216bcf913652dc6a022ee24c6f", "docs/compliance-reports/",
                          r"/(TASK5-R\d+|R\d+|HANDOFF-TO-NEXT-AGENT|NEXT-AGENT-HANDOFF)[-.][^/]*\.md$", "negative",
                          "a coding agent's per-rule drafts, completions and handoffs (R01..R25), one template each",
                          history="*.md"),
    "phases": Corpus("anthonyadame+DeepResearchAgent", "f52a27b2c81c4f6831f60c8623ac455f19c1fabb", "BuildDoc/",
                     r"^BuildDoc/PHASE[^/]*\.md$", "mixed",
                     "a coding agent's phase docs: kickoffs, guides, and each phase's completion told many times"),
    "relnotes": Corpus("opensearch-project+reporting", "2085329cdfed9262723d79401b54b7ce545d0910", "release-notes/",
                       r"\.md$", "negative", "per-release notes from one template, many of them a version bump only"),
    # found and labelled by a second scout after the legs were tuned on the 21 above (corpora4)
    "mutfix": Corpus("rshoemake-grid+cursor-test", "5cfa2d6ea52cd6a40ce46ff8a29af6b368c40d3d", "frontend/",
                     r"^frontend/(PHASE10|CHUNK|TASK)[^/]*\.md$", "positive",
                     "a coding agent's mutation-testing fix docs: each step's state announced in several reworded docs",
                     history=":(glob)frontend/*.md"),
    "swarmruns": Corpus("BatthewZ+terminal-img-paste", "28ee3737985a31959762acf5bf6e8831b495a3b5", "swarm/outputs/",
                        r"\.md$", "negative",
                        "an agent swarm's per-stage reports (finder, worker, bug and refactor reviews, commit)",
                        history="swarm/outputs", by_path=True),
    "epiccards": Corpus("mj1618+inkbinders", "418e8c70ea1b4011a01d17296e72b5c42a80712b", "swarm/epics/",
                        r"^swarm/epics/[^/]+/done/[^/]+\.reviewed\.md$", "negative",
                        "an agent swarm's reviewed task cards, one per feature, from one template",
                        history="swarm"),
    "agentreports": Corpus("teoat+reconciliation-platform-378", "a91a246df4613d876e90529e7630c3e7a7e228c1",
                           "archive/agent_reports/", r"\.md$", "mixed",
                           "agents' completion, status and final reports, each completion announced several times",
                           history="*.md"),
    # found and labelled by a third scout, unseen while detection was tuned on the 25 above (corpora5)
    "heartbeats": Corpus("microchipgnu+microtonomous", "d5196752b1a2b34f704738c03ea797966b455c10", "output/",
                         r"^output/([^/]+|\.prose/runs/[^/]+/bindings/(autonomous|heartbeat))\.md$", "positive",
                         "an autonomous agent's heartbeat outputs: one quiet 'awaiting directive' state every cycle",
                         history="output", by_path=True),
    "erpdocs": Corpus("Bharath-Thiravium+ERP", "f5fb645fd7d2f0e3482ac5c573bb13612fdf6047", "", r"^[^/]+\.md$", "mixed",
                      "coding agents' fix, status and guide docs at an ERP's root: each fix told again as summary, "
                      "quick reference, deployed", history=":(glob)*.md"),
    "taskreports": Corpus("NotA-Company+gromozeka", "40685ba21899bf52726286708e46ec64d0e07f10", "docs/archive/reports/",
                          r"\.md$", "negative",
                          "a coding agent's per-task, per-phase and per-PR completion reports, one template, each "
                          "its own work"),
    # found and labelled by a fourth scout, unseen while detection was tuned on the 28 above (corpora6)
    "chained": Corpus("enufacas+Chained", "ad8fe2cd85182da64e88bcd8ee8d81e5c4a11073", "docs/implementation-summaries/",
                      r"^docs/implementation-summaries/[^/]+/[^/]+\.md$", "mixed",
                      "coding agents' implementation, fix and mission-complete summaries of an autonomous-agent "
                      "repo: each feature told again as summary, complete, comment"),
    "ackwait": Corpus("hoidn+PtychoPINN", "2b1f432210ff9fa0c75a96729764bbdd2b2ad7ed",
                      "plans/active/DEBUG-SIM-LINES-DOSE-001/reports/", r"\.md$", "positive",
                      "a supervisor/engineer agent loop awaiting one maintainer's acknowledgement for a day: the "
                      "same wait state re-reported every iteration", history="plans/active/DEBUG-SIM-LINES-DOSE-001",
                      by_path=True),
    "adrs": Corpus("oaknational+oak-open-curriculum-ecosystem", "5405f57631fda28ed1c22246cc881be764f0697b",
                   "docs/architecture/architectural-decisions/", r"/0\d\d-[^/]+\.md$", "negative",
                   "architectural decision records 001-099 of an agent-assisted repo, one template, each its own "
                   "decision (several superseding others)", history="*.md"),
    # found and labelled by a fifth scout, unseen while detection was tuned on the 31 above (corpora7)
    "runreports": Corpus("KevinSGarrett+RichPanel", "6c8c7923edad82b49b5eeb55b16345668e1458bc",
                         "REHYDRATION_PACK/RUNS/", r"/RUN_REPORT\.md$", "mixed",
                         "three agent tracks' run reports per numbered run (RUN_<stamp>/A|B|C, B<NN>/A|B|C): idle "
                         "and unfilled-template reports every run, the order-status proof run again",
                         history="REHYDRATION_PACK/RUNS", by_path=True),
    "devinruns": Corpus("jzone3+solving-math-problems", "4daf2214773f71daefc2c81770a64a3190b87ebd", "",
                        r"^(?!problems/)[^/]+/.*\.md$|^README\.md$", "mixed",
                        "Devin sessions' run notes, reviews, proofs, hand-offs and tweets on numbered open math "
                        "problems (P02..P17, variants v1..v5): results copied into hand-offs and announced again",
                        by_path=True),
    "mcslices": Corpus("Knpod65+s2ims", "1aac6c6735ffebc9934c37beaf4feedaff05ecc7", "docs/",
                       r"^docs/(daily-reports/2026-05-17-[^/]*-mc\d+"
                       r"|architecture/S2IMS_[^/]*_MC(1[3-9]|2\d|30)(_[A-Z_]+)?)\.md$", "mixed",
                       "a coding agent's numbered slices MC13-MC30 of one day: each slice's report, QA, merge "
                       "and post-merge QA, summaries, and the slice's own deliverables", history="docs"),
}


class LabelledCorpus(NamedTuple):
    name: str
    repo: Path  # the replayed git repo
    labels: dict[str, str]  # path (as git ls-files shows it) -> group; "-" = distinct


def _git(gitdir: str, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={gitdir}", *args], check=True, capture_output=True).stdout


def docs_of(gitdir: str, corpus: Corpus) -> list[str]:
    """Paths of the corpus's docs in the snapshot, in ls-tree order."""
    rx = re.compile(corpus.pattern)
    listing = _git(gitdir, "ls-tree", "-r", "--name-only", corpus.revision, "--", corpus.folder or ".")
    return [p for p in listing.decode().splitlines()
            if rx.search(p) and (not corpus.folder or p.startswith(corpus.folder))]


def births(gitdir: str, revision: str, history: str = "", by_path: bool = False) -> dict[str, str]:
    """Basename -> author date (ISO) of the first commit that added a file of that name
    (under the pathspec HISTORY if given: some snapshots lack objects elsewhere). With BY_PATH
    the key is the whole path: for folders where many files share one name (``run-1/result.md``)."""
    spec = ["--", history] if history else []
    log = _git(gitdir, "log", revision, "--reverse", "--diff-filter=A", "--name-only", "--format=@%aI",
               *spec).decode()
    born: dict[str, str] = {}
    when = ""
    for line in log.splitlines():
        if line.startswith("@"):
            when = line[1:]
        elif line and when:
            born.setdefault(line if by_path else os.path.basename(line), when)
    return born


def natural_key(path: str) -> list[tuple[int, int | str]]:
    """Sort key that puts ``A3`` before ``A10`` (numbers compare as numbers)."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", path) if part]


def build(mirror_root: str, out_dir: str, name: str, split: bool = False) -> bool:
    """Replay corpus NAME from MIRROR_ROOT into OUT_DIR/NAME; False if its snapshot is missing.

    With SPLIT every doc gets its own commit (birth date order, then natural path order), so a
    gate replay sees docs that the original history added together one at a time. Inside one
    original commit that order is an assumption (``LAUNCH_P07_A3`` before ``A4``), not history."""
    corpus = CORPORA[name]
    gitdir = os.path.join(mirror_root, corpus.snapshot, "repo")
    if not os.path.isdir(gitdir):
        print(f"skip {name}: no snapshot at {gitdir} (fetch github:{corpus.snapshot.replace('+', '/')})",
              file=sys.stderr)
        return False
    paths = docs_of(gitdir, corpus)
    try:
        born = births(gitdir, corpus.revision, corpus.history, corpus.by_path)
    except subprocess.CalledProcessError:  # objects missing elsewhere in the snapshot's history
        print(f"{name}: full history unreadable; births searched under {corpus.folder or '.'} only",
              file=sys.stderr)
        born = births(gitdir, corpus.revision, corpus.folder, corpus.by_path)
    fallback = _git(gitdir, "log", "-1", "--format=%aI", corpus.revision).decode().strip()
    batches: dict[str, list[str]] = defaultdict(list)
    for p in paths:
        batches[born.get(p if corpus.by_path else os.path.basename(p), fallback)].append(p)
    repo = Path(out_dir) / name
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)

    def run(*args: str, env: dict[str, str] | None = None) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, env=env, stdout=subprocess.DEVNULL)

    run("init", "-q", "-b", "main")
    commits = 0
    for stamp in sorted(batches):
        groups = [[p] for p in sorted(batches[stamp], key=natural_key)] if split else [batches[stamp]]
        for group in groups:
            for p in group:
                dst = repo / "docs" / p[len(corpus.folder):]
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_bytes(_git(gitdir, "show", f"{corpus.revision}:{p}"))
            who = {"GIT_AUTHOR_NAME": "replay", "GIT_AUTHOR_EMAIL": "replay@example.invalid",
                   "GIT_COMMITTER_NAME": "replay", "GIT_COMMITTER_EMAIL": "replay@example.invalid",
                   "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
            run("add", "-A")
            message = f"add {group[0][len(corpus.folder):]}" if split else f"add {len(group)} docs"
            run("commit", "-q", "--no-gpg-sign", "-m", message, env={**os.environ, **who})
            commits += 1
    print(f"{name}: {len(paths)} docs in {commits} commits -> {repo}")
    return True


def load_labels(name: str, directory: Path = LABELS) -> dict[str, str]:
    """path -> group from ``labels/NAME.tsv``; raises ValueError on a malformed line."""
    labels: dict[str, str] = {}
    path = directory / f"{name}.tsv"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        doc, sep, group = line.partition("\t")
        if not sep or not doc or not group or "\t" in group:
            raise ValueError(f"{path}:{number}: expected 'path<TAB>group'")
        if doc in labels:
            raise ValueError(f"{path}:{number}: {doc} labelled twice")
        labels[doc] = group
    return labels


def default_root() -> Path:
    """Where replayed corpora live: $COMPACTOR_CORPORA, else the nearest ``corpora/`` above
    this checkout that holds a replayed corpus (``/work/corpora`` on the team machine)."""
    if os.environ.get(ENV_ROOT):
        return Path(os.environ[ENV_ROOT])
    for parent in HERE.parents:
        candidate = parent / "corpora"
        if any((candidate / name / ".git").exists() for name in CORPORA):
            return candidate
    return HERE / ".corpora"


def labelled_corpora(names: Sequence[str] | None = None, root: Path | None = None,
                     labels: Path = LABELS) -> Iterator[LabelledCorpus]:
    """(name, repo, labels) of every replayed corpus under ROOT that has labels, in table order."""
    base = default_root() if root is None else root
    for name in names or list(CORPORA):
        repo = base / name
        if (repo / ".git").exists() and (labels / f"{name}.tsv").is_file():
            yield LabelledCorpus(name, repo, load_labels(name, labels))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("mirror_root", nargs="?", help="folder holding the OWNER+NAME snapshots")
    ap.add_argument("out_dir", nargs="?", help="where to replay (one git repo per corpus)")
    ap.add_argument("names", nargs="*", help=f"corpora to replay (default: all of {', '.join(CORPORA)})")
    ap.add_argument("--list", action="store_true", help="print the table of corpora and exit")
    ap.add_argument("--split", action="store_true",
                    help="one commit per doc (birth order, then natural path order), for gate replays")
    args = ap.parse_args(argv)
    if args.list:
        for name, c in CORPORA.items():
            print(f"{name}\t{c.kind}\tgithub:{c.snapshot.replace('+', '/')}@{c.revision}\t{c.folder or '.'}\t"
                  f"{c.pattern}\t{c.about}")
        return 0
    if not args.mirror_root or not args.out_dir:
        ap.error("MIRROR_ROOT and OUT_DIR are required (or --list)")
    unknown = [n for n in args.names if n not in CORPORA]
    if unknown:
        ap.error(f"unknown corpus {', '.join(unknown)}; known: {', '.join(CORPORA)}")
    built = [build(args.mirror_root, args.out_dir, n, split=args.split) for n in args.names or CORPORA]
    return 0 if all(built) else 1


if __name__ == "__main__":
    sys.exit(main())
