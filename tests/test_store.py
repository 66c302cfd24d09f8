"""Cache keys follow the code: a copy of compactor whose rule or packaged template was
edited answers differently on the next run, with the cache still on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import compactor.templates
import pytest
from conftest import GitRepo, Result

import compactor

LANE = """# {lane} guarded export proof

## Scope

Prove the export envelope for tenant alpha under route /v2/export with session pinning.
The batch writer streams rows in pages of five hundred and checks every checksum.

## Evidence

- replayed the nightly export against the staging snapshot
- compared row counts and digests with the source tables
- confirmed the retry path re-reads only the failed page

## Next

Carry the same envelope to the archive job once the export is green.
"""
ACK = "Acknowledged. Proceed with the next bounded slice.\n"


def _copy_of_compactor(tmp_path: Path) -> Path:
    """A runnable copy of the installed compactor package (templates included)."""
    site = tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(Path(compactor.__file__).parent, site / "compactor", ignore=ignore)
    shutil.copytree(Path(compactor.templates.__file__).parent, site / "compactor" / "templates",
                    ignore=ignore, dirs_exist_ok=True)
    return site


def _run(site: Path, repo: GitRepo, *args: str) -> Result:
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = ("import sys, compactor; assert compactor.__file__.startswith(sys.argv[1]); "
            "from compactor.cli import main; sys.argv[1:2] = []; main()")
    proc = subprocess.run([sys.executable, "-c", code, str(site), "-C", str(repo.root), *args],
                          capture_output=True, text=True, env=env, cwd=site)
    result = Result(proc.returncode, proc.stdout, proc.stderr)
    print(result)
    return result


@pytest.fixture
def loop(repo: GitRepo) -> GitRepo:
    repo.commit({
        **{f"docs/lanes/S{n:03d}-export.md": LANE.format(lane=f"S{n:03d}") for n in (1, 2, 3)},
        "docs/acks/ack-S003.md": ACK,
    }, when=1_700_000_000)
    return repo


def test_an_edited_rule_changes_the_next_answer_without_no_cache(
    loop: GitRepo, tmp_path: Path
) -> None:
    site = _copy_of_compactor(tmp_path)
    before = _run(site, loop, "scan")
    assert before.code == 0 and "archive 1" in before.out
    assert _run(site, loop, "scan").out == before.out  # warm: answered from the cache
    kinds = site / "compactor" / "kinds.py"
    # the edit a tuner makes: ACK chatter is no longer recognised
    kinds.write_text(kinds.read_text(encoding="utf-8") + (
        "\n\n_before = infer_kind\n\n\n"
        "def infer_kind(*args, **kw):  # type: ignore[no-untyped-def]\n"
        "    kind = _before(*args, **kw)\n"
        "    return 'other' if kind == 'ack' else kind\n"
    ), encoding="utf-8")
    after = _run(site, loop, "scan")
    assert after.code == 0 and "archive" not in after.out
    assert after.out == _run(site, loop, "scan", "--no-cache").out


def test_an_edited_packaged_template_makes_the_inventory_stale(
    loop: GitRepo, tmp_path: Path
) -> None:
    site = _copy_of_compactor(tmp_path)
    assert _run(site, loop, "inventory").code == 0
    assert _run(site, loop, "inventory", "--check").code == 0  # fresh, and now cached
    template = site / "compactor" / "templates" / "inventory.md.j2"
    template.write_text(template.read_text(encoding="utf-8") + "\nEdited by hand.\n",
                        encoding="utf-8")
    stale = _run(site, loop, "inventory", "--check")
    assert stale.code == 1
    assert _run(site, loop, "inventory").code == 0
    assert "Edited by hand." in (loop.root / "docs" / "INVENTORY.md").read_text(encoding="utf-8")
