"""`compactor demo`: the story in at most 120 lines, and a closing hint that works when pasted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import git, run_compactor

EXE = Path(sys.executable).parent / "compactor"


def test_demo_tells_the_story_and_its_hint_works_when_pasted(tmp_path: Path) -> None:
    where = tmp_path / "demo"
    proc = subprocess.run([str(EXE), "demo", str(where)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    print(proc.stdout, proc.stderr)
    assert proc.returncode == 0 and proc.stderr == ""
    out = proc.stdout
    lines = out.splitlines()
    assert len(lines) <= 120
    assert (where / ".git").is_dir()
    # scan summary: one line per family with its phases
    assert "$ compactor scan" in out
    families = [line for line in lines if line.startswith("  family ") and "establishing" in line]
    assert len(families) == 3
    # members without a lane id are named by their run id, as `report` names them, not by path
    assert not any("docs/" in line for line in families), families
    # the gate refusing the renamed lane, with its message
    assert "BLOCKED docs/loop/lanes/lane-135_unfreeze_payout.md (lane-135)" in out
    assert "renamed lane: title = lane-118's with 'approve refund' → 'unfreeze payout'" in out
    assert "What new truth does this lane buy" in out
    # the report's table and the compaction's counts; each said once
    assert "phase           lanes          tokens   share" in out
    # the history and its episodes agree: the same lanes, and hours that add up past the
    # history's window are said to overlap
    history = re.search(r"^lanes: +(\d+) ", out, re.M)
    episodes = re.search(r"^episodes: +\d+ \([\d.]+ h in all, some at the same time, (\d+) lanes",
                         out, re.M)
    assert history and episodes and history[1] == episodes[1], (history, episodes)
    assert out.count("docs/acks/") == 0, "no file lists: the demo shows counts"
    assert re.search(r"; fold \d+ lanes into docs/INVENTORY\.md \(their unique lines kept\); "
                     r"archive \d+ ACK files under docs/archive/", out)
    # a family named by run ids says so, and the compaction counts it in the same lanes
    by_run = [re.match(r"  family (\S+): (\d+) lanes \(\S+ \.\. \S+: run ids read from file names, "
                       r"not lane ids\); establishing", line) for line in families]
    runs = [m for m in by_run if m]
    assert runs, families
    for m in runs:
        assert re.search(rf"^  family {re.escape(m[1])}: fold 0 of {m[2]} lanes: run ids, not lane "
                         r"ids; its \d+ repeats stay in place", out, re.M), m[0]
    assert "without a lane id" not in out

    # the hint: absolute path to this compactor, and a sequence that goes past the staged lane
    hint = lines[lines.index("See more (paste these lines):") + 1:]
    assert hint[0] == f"  cd {where.resolve()}"
    assert all(line.startswith(f"  {EXE} ") for line in hint[1:])
    pasted = subprocess.run(["bash", "-e", "-c", "\n".join(hint)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    print(pasted.stdout, pasted.stderr)
    assert pasted.returncode == 0
    assert "exit 1" in pasted.stdout
    assert "created branch compactor/compact-" in pasted.stdout
    assert git(where, "branch", "--list", "compactor/compact-*").strip()


def test_demo_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "keep.txt").write_text("mine\n")
    again = run_compactor("demo", str(tmp_path / "demo"), cwd=tmp_path)
    assert again.code == 2 and "is not an empty directory" in again.err
    assert [p.name for p in (tmp_path / "demo").iterdir()] == ["keep.txt"]


def test_demo_hint_without_a_console_script_uses_python_m(tmp_path: Path) -> None:
    result = run_compactor("demo", str(tmp_path / "demo"), cwd=tmp_path)  # python -m compactor
    assert result.code == 0
    assert f"  {sys.executable} -m compactor scan " in result.out


def test_demo_refuses_dash_c_rather_than_ignoring_it(tmp_path: Path) -> None:
    # demo builds a new repo and reads none: -C before or after the command is a usage error
    # (not silently ignored), and nothing is built
    for args in (("-C", str(tmp_path), "demo", "built"), ("demo", "built", "-C", str(tmp_path)),
                 ("demo", "--repo", str(tmp_path))):
        result = run_compactor(*args, cwd=tmp_path)
        assert result.code == 2, args
        assert "demo builds a new repo and reads no other, so it takes no -C/--repo" in result.err
        assert "Traceback" not in result.err
    assert list(tmp_path.iterdir()) == []
