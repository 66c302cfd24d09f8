"""``compactor closeout FAMILY``: one family's close-out document.

A close-out is kind ``closeout`` (front matter), names its ``family``, and holds
the family's coverage matrix, its missing-gap list and a redirect section for
people to fill in — so the gate sees the family consolidated. Never overwrites
an existing file unless asked to.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from compactor.config import Config
from compactor.coverage import family_coverage
from compactor.errors import InputError, RefusedError
from compactor.files import path_for_humans
from compactor.git import Repo
from compactor.inventory import (
    family_data,
    inventory_scan,
    load_bodies,
    read_text,
    write_text,
)
from compactor.paths import PathRefused, contained, lexical
from compactor.scan import Scan
from compactor.templating import render

CLOSEOUT_DIR = "docs/closeouts"


@dataclass(frozen=True)
class Closeout:
    family: str
    path: str  # repo-relative
    text: str


def default_path(family: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", family).strip("-.") or "family"
    return f"{CLOSEOUT_DIR}/{safe}-closeout.md"


def repo_path(root: Path, value: str) -> str:
    """``value`` (relative to the repo root) as a clean repo-relative posix path, checked by
    the containment rule (``paths.py``) before anything is planned."""
    clean, problem = lexical(value)
    if clean is None:
        raise PathRefused(
            f"{path_for_humans(value)}: --output must be a path inside the repository, relative "
            f"to its root ({root}), outside .git (it {problem})"
        )
    contained(root, clean, "--output", write=True)
    return clean


def find_family(scan: Scan, name: str) -> str:
    """The family id for ``name`` (its id or short id, exact, else case-insensitive);
    InputError listing the ids."""
    ids = [f.id for f in scan.families]
    found = scan.find_family(name)
    if found is not None:
        return found
    if not ids:
        raise InputError(f"{name}: no such family, and this repo has none yet; "
                         "run 'compactor scan' to see what was found")
    raise InputError(f"{name}: no such family; known families: "
                     f"{', '.join(scan.shown_family(i) for i in ids)}")


def plan_closeout(repo: Repo, config: Config, name: str, output: str | None = None, *,
                  rev: str | None = None, use_cache: bool = True) -> Closeout:
    scan = inventory_scan(repo, config, rev=rev, use_cache=use_cache)
    fid = find_family(scan, name)
    family = scan.family(fid)
    assert family is not None
    briefs = load_bodies(repo, scan, family.members)
    cov = family_coverage(config, briefs, fid, family.members, scan.doc_names)
    data = family_data(scan, briefs, fid, family.members, cov)
    path = repo_path(repo.root, output) if output else default_path(fid)
    text = render(
        "closeout.md.j2",
        {"family": data, "family_yaml": json.dumps(fid), "lanes_yaml": json.dumps(data["lanes"],
                                                                                ensure_ascii=False)},
    )
    return Closeout(fid, path, text)


def write_closeout(root: Path, closeout: Closeout, force: bool = False) -> None:
    asked_by = ("the default closeout path" if closeout.path == default_path(closeout.family)
                else "--output")
    existing = read_text(root, closeout.path, asked_by)
    if existing is not None and not force:
        raise RefusedError(
            f"{path_for_humans(closeout.path)}: already exists; pass --force to overwrite it, "
            "or --output to write elsewhere"
        )
    write_text(root, closeout.path, closeout.text, asked_by)
