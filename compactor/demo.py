"""``compactor demo``: replay a runaway lane loop into a fresh repo and show what compactor finds.

The story, in four commands a team would run: ``scan`` (the families), ``report``
(where the tokens went), ``check`` (the gate refusing the next renamed lane,
which the demo leaves staged) and ``compact`` (the dry-run plan).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from compactor.config import Config
from compactor.errors import InputError
from compactor.example import label_spellings, loop_corpus, write_repo
from compactor.git import Repo
from compactor.scan import Scan, run_scan

NEXT_ACTION = ("unfreeze", "payout")


def build_demo_repo(directory: Path | None, seed: int = 0) -> Path:
    """Create the example repo in ``directory`` (must be empty or missing) or a temp dir."""
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="compactor-demo-"))
    elif directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise InputError(f"{directory}: is not an empty directory; give a new or empty one")
    directory.mkdir(parents=True, exist_ok=True)
    write_repo(directory, loop_corpus(seed))
    return directory


def stage_renamed_lane(repo: Repo, scan: Scan) -> str | None:
    """Stage the next lane of the biggest family: its last lane with a new label. Returns its path."""
    families = [f for f in scan.families if scan.briefs[f.members[-1]].number is not None]
    if not families:
        return None
    fam = max(families, key=lambda f: len(f.members))
    last = scan.briefs[fam.members[-1]]
    assert last.number is not None and last.lane is not None
    top = max(b.number for b in scan.briefs if b.number is not None)
    raw = repo.read_blobs([last.blob])[last.blob]
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
    old = label_spellings(last.label.split())
    new = label_spellings(NEXT_ACTION)
    for key in sorted(old, key=lambda k: -len(old[k])):
        text = re.sub(re.escape(old[key]), new[key], text, flags=re.IGNORECASE)
    digits = re.search(r"\d+", last.lane)
    new_lane = last.lane.replace(digits.group(0), str(top + 1).zfill(len(digits.group(0)))) if digits else last.lane
    text = text.replace(last.lane, new_lane)
    folder, _, name = last.path.rpartition("/")
    name = name.replace(last.lane, new_lane)
    for key in sorted(old, key=lambda k: -len(old[k])):
        name = re.sub(re.escape(old[key]), new[key], name, flags=re.IGNORECASE)
    path = f"{folder}/{name}" if folder else name
    target = repo.root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    repo.run("add", "--", path)
    return path


def run_demo(directory: Path | None, seed: int = 0) -> Iterator[str]:
    from compactor.check import render_text, run_check
    from compactor.compact import plan_compaction, plan_text
    from compactor.render import scan_text
    from compactor.report import build_report, report_text

    root = build_demo_repo(directory, seed)
    repo = Repo(root)
    config = Config()
    yield f"An agent loop replayed into {root}: one commit per artifact."
    yield ""
    scan = run_scan(repo, config)
    yield "$ compactor scan"
    yield scan_text(scan)
    yield ""
    yield "$ compactor report"
    yield report_text(build_report(scan))
    yield ""
    staged = stage_renamed_lane(repo, scan)
    if staged is not None:
        yield f"The supervisor opens one more lane, {staged}: the last lane with a new label."
        yield "$ compactor check        (what the pre-commit hook runs)"
        result = run_check(repo, config)
        yield render_text(result) or "passed"
        yield f"(exit {result.exit_code}: the commit would be refused; the lane stays staged)"
        yield ""
    yield "$ compactor compact      (dry run: the compaction PR it would prepare)"
    plan = plan_compaction(repo, config)
    yield plan_text(plan, f"compactor/compact-{(scan.head or '')[:7]}")
    yield ""
    yield f"Try it yourself: cd {root} && compactor check && compactor inventory && compactor compact --apply"
