"""``compactor demo``: replay a runaway lane loop into a fresh repo and show what compactor finds."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from compactor.config import Config
from compactor.errors import InputError
from compactor.example import loop_corpus, write_repo
from compactor.git import Repo
from compactor.render import scan_text
from compactor.scan import run_scan


def build_demo_repo(directory: Path | None, seed: int = 0) -> Path:
    """Create the example repo in ``directory`` (must be empty or missing) or a temp dir."""
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="compactor-demo-"))
    elif directory.exists() and any(directory.iterdir()):
        raise InputError(f"{directory}: is not empty; give a new or empty directory for the demo")
    directory.mkdir(parents=True, exist_ok=True)
    write_repo(directory, loop_corpus(seed))
    return directory


def run_demo(directory: Path | None, seed: int = 0) -> Iterator[str]:
    root = build_demo_repo(directory, seed)
    yield f"example loop repo written to {root}"
    yield ""
    repo = Repo(root)
    scan = run_scan(repo, Config())
    yield "$ compactor scan"
    yield scan_text(scan)
    yield ""
    yield f"Try: compactor -C {root} scan --format json"
