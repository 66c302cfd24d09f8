"""Cheap ways a loop's author fools the gate, measured on tiny generated repos.

    python benchmarks/evasions.py [DIR]     (DIR: where the repos are built; a temp dir)

Each row replays one loop twice or more — as written, and with one cheap trick — and
prints what the real gate (``compactor check``, a subprocess, as the hook and CI run it)
said to each lap, or how many of a range it blocked, and the biggest family ``compactor
scan`` finds afterwards. Rows marked OPEN are evasions that need a design change (see
the attack review in CHANGELOG/issue notes); the others are controls or were fixed.

- A: the shape leg's pause veto (``families.pause_veto``) reads a doc's creation time. It
  read author dates, which ``git commit --date`` sets freely (renamed copies without lane
  ids passed: A4, A5); it now reads committer dates, as the hook stamps a staged doc. A
  loop that forges both dates a day apart (A2) is, by the rule, laps a day apart.
- A6-A8: the label masked in a doc's lines (the action it covers) comes from its file
  name, else its title (``briefs.find_label``). A name every lap shares (``README.md``,
  ``lap-3.md``, ``<action>/status.md``) made the label that name: each lap's action in
  its body was a fact of its own, a lap whose action used new words was "distinct" and
  broke the run of near-copies. Fixed: an entry page's label comes from its title (A6),
  and a label two members of a family share masks the title's words too in the gate's
  fact lines (``check._Context.mask_words``; A7, A8). Gate replay of 34 corpora unchanged.
- B: the restatement leg's entry-page rule (``restate.entry_pages``): a README.md is an
  entry page only of a folder that holds another doc (B3), and it is kept apart only from
  the docs under its folder (B4: a one-line notes.md beside each lap's README made it an
  entry page kept apart from every named lap). B5: nesting each next lap under the last
  README's folder keeps every second link apart: refused from lap 5, a lap after B1 (never,
  before an entry page's label came from its title).
- D: a consolidation output resets the run of every family it names (a close-out: a file
  named ``*-closeout.md`` whose text names any lane of the family) or of all families (a
  file at the configured inventory path). Staged with each lap, one line per lap turned
  every block of A3 into a warning (D1, D2); fixed: an output resets only runs of lanes
  written after it (``check._Context.window_outputs``), and only the lap's first output
  counts (``check._since_output``). Still cheap: one plausible close-out per lap (a pause
  of more than a day) — a person reviewing close-outs is the only stop for that. OPEN
  (D3, D3e): "the lap's first output" is the first the tree holds *now* that names the
  family: deleting the previous lap's close-out, or editing it to name nothing, makes the
  next one first again, and every block of A3 a warning. A fix needs the outputs as
  they were added: one ``git log --since=<lap start> --diff-filter=A --raw`` lists every
  path the lap added with its first blob, deleted or edited since.
- E: the gate judges a lane against the docs the tree holds: a loop that deletes its
  previous lap with each new one (E1) is never more than one lap long. OPEN: both D3 and
  E1 need the docs the lap deleted (the creation-time log lists every path ever added;
  their last blobs are one ``git log --diff-filter=D`` away) — a design change.
- C: the restatement leg's batch/facet rule keys a batch by the creation time alone, so
  laps committed at one forged author date were "one batch" (C2; fixed with committer
  dates).

Texts are generated here (an invented deploy loop) and by the project's own restatement
test generator (``tests/test_restate.reworded_status``); nothing from any corpus.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

from test_restate import OTHERS, reworded_status  # noqa: E402

T0 = 1_790_000_000
DAY = 86_400
ACTIONS = ["deploy widget", "rotate keys", "migrate ledger", "replay harness", "tune cache",
           "audit tenant", "pin session", "drain queue", "seal envelope", "sweep routes"]
FACETS = ["guide", "status", "plan", "checklist"]


def copy_lap(action: str) -> str:
    """A lap of a renamed-copy loop without a lane id: one proof shape, a new action name."""
    return (f"# {action.title()} status\n\n"
            "## Scope\n\nCheck the route, verify the session and record the tenant for the "
            "envelope. Re-run the replay harness against the staging cluster and compare the "
            f"ledger totals with the audited baseline before closing the slice of {action}.\n\n"
            "## Proof\n\nThe harness printed matching totals; the audit trail shows no drift.\n")


class Repo:
    def __init__(self, root: Path) -> None:
        subprocess.run(["rm", "-rf", str(root)], check=True)
        root.mkdir(parents=True)
        self.root = root
        self.git("init", "-q", "-b", "main")
        for key, value in (("user.email", "loop@example.invalid"), ("user.name", "loop"),
                           ("commit.gpgsign", "false")):
            self.git("config", key, value)

    def git(self, *args: str, author: int | None = None, committer: int | None = None) -> str:
        env = dict(os.environ)
        if author is not None:
            env["GIT_AUTHOR_DATE"] = f"{author} +0000"
        if committer is not None:
            env["GIT_COMMITTER_DATE"] = f"{committer} +0000"
        return subprocess.run(["git", "-C", str(self.root), *args], check=True,
                              capture_output=True, env=env, text=True).stdout

    def stage(self, files: dict[str, str | None]) -> None:
        """Write each file (None: delete it) and stage everything."""
        for path, text in files.items():
            if text is None:
                (self.root / path).unlink()
                continue
            (self.root / path).parent.mkdir(parents=True, exist_ok=True)
            (self.root / path).write_text(text, encoding="utf-8")
        self.git("add", "-A")

    def commit(self, files: dict[str, str | None], author: int,
               committer: int | None = None) -> None:
        self.stage(files)
        self.git("commit", "-q", "--no-verify", "-m", "docs", author=author,
                 committer=author if committer is None else committer)

    def compactor(self, *args: str) -> tuple[int, str]:
        p = subprocess.run([sys.executable, "-m", "compactor", "-C", str(self.root), *args],
                           capture_output=True, text=True)
        return p.returncode, p.stdout

    def hook(self, now: int) -> str:
        """What the pre-commit hook says to the staged lap at ``now``."""
        code, out = self.compactor("check", "--now", str(now), "--format", "json")
        verdicts = json.loads(out)["verdicts"] if out.strip() else []
        return str(verdicts[0]["outcome"]) if verdicts else "pass"

    def biggest_family(self) -> int:
        _, out = self.compactor("scan", "--format", "json")
        return max((len(f["members"]) for f in json.loads(out)["families"]), default=0)


def hook_row(top: Path, name: str, base: dict[str, str],
             laps: dict[str, str] | list[dict[str, str | None]], author: list[int] | None = None,
             before: list[dict[str, str | None]] | None = None) -> None:
    """Each lap (one file, or the files of one commit; None deletes a file) staged, judged
    by the hook at its time (10 minutes apart) and committed — with its true time, or with
    the forged author date ``author[k]``. ``before[k]``: files committed in a commit of
    their own 5 minutes before lap k (not judged: no lane in it)."""
    repo = Repo(top / name.split()[0].lower())
    repo.commit(base, T0 - 10)
    outcomes = []
    commits: list[dict[str, str | None]] = (
        [{p: t} for p, t in laps.items()] if isinstance(laps, dict) else laps)
    for k, files in enumerate(commits):
        now = T0 + 600 * (k + 1)
        if before is not None and before[k]:
            repo.commit(before[k], now - 300)
        repo.stage(files)
        outcomes.append(repo.hook(now))
        repo.git("commit", "-q", "--no-verify", "-m", "lap",
                 author=now if author is None else author[k], committer=now)
    print(f"{name:64s} {' '.join(outcomes):44s} family {repo.biggest_family()}", flush=True)


def range_row(top: Path, name: str, laps: dict[str, str], gap: int) -> None:
    """Each lap its own commit, ``gap`` seconds apart; CI's ``check --range`` over them."""
    repo = Repo(top / name.split()[0].lower())
    repo.commit({"docs/README.md": "# Docs\n\nWhere the status notes live.\n"}, T0 - 10)
    for k, (path, text) in enumerate(laps.items()):
        repo.commit({path: text}, T0 + k * gap)
    _, out = repo.compactor("check", "--range", f"HEAD~{len(laps)}..HEAD")
    blocked = sum(line.startswith("BLOCKED") for line in out.splitlines())
    print(f"{name:64s} {f'{blocked}/{len(laps)} blocked':44s} family {repo.biggest_family()}",
          flush=True)


def main() -> None:
    top = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="evasions-"))
    copies = {f"docs/status/{a.replace(' ', '-')}-status.md": copy_lap(a) for a in ACTIONS}
    readme = {"docs/README.md": "# Docs\n\nWhere the status notes live.\n"}
    print("-- A: renamed copies without lane ids (the shape leg)")
    range_row(top, "A1 CI range, commits 10 min apart (control)", copies, 600)
    range_row(top, "A2 CI range, author and committer dates 25 h apart (OPEN)", copies, 25 * 3600)
    hook_row(top, "A3 hook, committed as written (control)", readme, copies)
    hook_row(top, "A4 hook, every lap `git commit --date` 2 days back (fixed)", readme,
             copies, [T0 - 2 * DAY] * len(copies))
    hook_row(top, "A5 hook, every lap `git commit --date` 1 day later each (fixed)", readme,
             copies, [T0 + DAY * (k + 1) + 3600 * k for k in range(len(copies))])
    # the label masked in a doc's lines (its action) is read from its file name: a name
    # that every lap shares hid it, each lap's action in its body was a fact of its own
    hook_row(top, "A6 each lap docs/status/lap-K/README.md (fixed)", readme,
             {f"docs/status/lap-{k}/README.md": copy_lap(a) for k, a in enumerate(ACTIONS)})
    hook_row(top, "A7 each lap docs/status/lap-K.md (fixed)", readme,
             {f"docs/status/lap-{k}.md": copy_lap(a) for k, a in enumerate(ACTIONS)})
    hook_row(top, "A8 each lap docs/status/<action>/status.md (fixed)", readme,
             {f"docs/status/{a.replace(' ', '-')}/status.md": copy_lap(a) for a in ACTIONS})
    print("-- B/C: one state reworded in four laps, max_restated 2 (the restatement leg)")
    base = {".compactor.yaml": "max_restated: 2\n", **OTHERS}
    laps = dict(reworded_status(k) for k in range(4))
    hook_row(top, "B1 as written (control)", base, laps)
    hook_row(top, "B2 each lap a folder's README.md / index.md (fixed)", base,
             {f"docs/status/lap-{k}/{'README' if k % 2 else 'index'}.md": t
              for k, t in enumerate(laps.values())})
    hook_row(top, "B3 README.md and a named doc in turn (fixed)", base,
             {(f"docs/status/lap-{k}/README.md" if k % 2 == 0 else p): t
              for k, (p, t) in enumerate(laps.items())})
    # a README.md is an entry page once its folder holds any other doc: one line next to it
    # is enough, and an entry page is never linked to a doc that is not one (anywhere)
    hook_row(top, "B4 B3 + a one-line notes.md beside each README.md (fixed)", base,
             [{f"docs/status/lap-{k}/README.md": t,
               f"docs/status/lap-{k}/notes.md": "# Notes\n\nSee the README.\n"}
              if k % 2 == 0 else {p: t} for k, (p, t) in enumerate(laps.items())])
    # an entry page is kept apart from the docs under its folder: nest each next lap under
    # the last README's folder, and every second link is one kept apart (B5)
    nested: list[dict[str, str | None]] = []
    folder = "docs/status"
    for k, t in enumerate(dict(reworded_status(k) for k in range(6)).values()):
        if k % 2 == 0:
            folder += f"/t{k}" if k else ""
            nested.append({f"{folder}/README.md": t,
                           **({f"{folder}/notes.md": "# Notes\n\nSee the README.\n"} if k else {})})
        else:
            nested.append({f"{folder}/n{k}.md": t})
    hook_row(top, "B5 six laps, each README's folder holding every later lap (one lap late)",
             base, nested)
    facets = {f"docs/status/LEDGER_EXPORT_FIX_{f.upper()}.md":
              f"# Ledger export retry fix {f}\n" + t.split("\n", 1)[1]
              for f, t in zip(FACETS, laps.values(), strict=True)}
    hook_row(top, "C1 titles end in a facet word (control)", base, facets)
    hook_row(top, "C2 same, every lap committed at one forged author date (fixed)", base, facets,
             [T0] * len(facets))
    print("-- D: consolidation outputs that reset a run (check._since_output)")
    laps_d1: list[dict[str, str]] = []
    laps_d2: list[dict[str, str]] = []
    for k, (path, text) in enumerate(copies.items()):
        laps_d1.append({path: text})
        laps_d2.append({path: text})
        if k:  # the previous lap's file name is a name of the family (check._Names)
            previous = Path(list(copies)[k - 1]).stem
            laps_d1[-1][f"docs/closeouts/lap-{k}-closeout.md"] = f"{previous}\n"
            laps_d2[-1][".compactor.yaml"] = f"inventory: docs/inventory/lap-{k}.md\n"
            laps_d2[-1][f"docs/inventory/lap-{k}.md"] = "x\n"
    hook_row(top, "D1 A3 + a one-line closeout naming the last lap, same commit (fixed)",
             readme, laps_d1)
    hook_row(top, "D2 A3 + `inventory:` set to a new one-line file, same commit (fixed)",
             readme, laps_d2)
    # the lap's first output resets, later ones do not: unless the first is gone. Each lap
    # a close-out naming the last lap, committed on its own before the lap, and the
    # previous lap's close-out deleted with it (D3; kept: D3a, the control)
    outs: list[dict[str, str | None]] = [{}]
    for k in range(1, len(copies)):
        previous = Path(list(copies)[k - 1]).stem
        outs.append({f"docs/closeouts/lap-{k}-closeout.md":
                     f"# Close-out\n\n{previous} is closed.\n"})
    hook_row(top, "D3a A3 + a closeout naming the last lap, own commit before it (control)",
             readme, copies, before=outs)
    for k in range(2, len(copies)):
        outs[k][f"docs/closeouts/lap-{k - 1}-closeout.md"] = None
    hook_row(top, "D3 D3a + the previous lap's closeout deleted with it (OPEN)",
             readme, copies, before=outs)
    for k in range(2, len(copies)):  # kept, but edited to name no lap any more
        outs[k][f"docs/closeouts/lap-{k - 1}-closeout.md"] = "# Close-out\n\nClosed.\n"
    hook_row(top, "D3e D3a + the previous lap's closeout edited to name nothing (OPEN)",
             readme, copies, before=outs)
    print("-- E: the gate judges the docs in the tree (deleted docs are not seen)")
    paths = list(copies)
    hook_row(top, "E1 A3 + each lap deletes the previous lap's file (OPEN)", readme,
             [{p: t, **({paths[k - 1]: None} if k else {})}
              for k, (p, t) in enumerate(copies.items())])


if __name__ == "__main__":
    main()
