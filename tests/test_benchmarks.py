"""The benchmark script runs end to end at a tiny size (no timing is asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


@pytest.mark.slow  # started first: see tests/conftest.py
def test_benchmark_runs_at_a_tiny_size_and_writes_its_results(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--sizes", "120", "--out-dir", str(tmp_path / "repos"),
         "--results", str(results), "--naive-sample", "10", "--per-file-sample", "4",
         "--stage-sample", "200"],
        capture_output=True, text=True, timeout=300,
    )
    print(proc.stdout, proc.stderr)
    assert proc.returncode in (0, 1), proc.stderr  # 1: a speed target missed on a busy box
    out = proc.stdout
    for expected in (
        "== 120 briefs",
        "floor (read from git + split words)",
        "naive datasketch update() per shingle",
        "compactor scan cold",
        "(PSS ",  # the tree's proportional set sizes beside its RSS
        "same output as cold: yes",
        "where a cold scan's CPU goes, per brief, one process, 120 briefs",
        "where it goes: imports",
        "one git log per file",
        "same answers 4/4",
        "compactor check (warm, 1 brief staged, ",
        "compactor inventory: rendered ",
        "targets:",
        "compactor --help <= 0.25 s",
    ):
        assert expected in out
    text = results.read_text()
    assert text.startswith("# Benchmark results")
    assert "--sizes 120" in text and "nproc" in text and "== 120 briefs" in text
    # the generated repo is reused, and the staged brief was taken back out of its index
    repo = tmp_path / "repos" / "briefs-120-s0"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True,
                            text=True, check=True).stdout
    assert status == ""


def test_gate_replay_replays_a_history_commit_by_commit_and_scores_its_labels(
    tmp_path: Path,
) -> None:
    """benchmarks/gate_replay.py on a tiny labelled history: six launch prompts that differ
    by their packet id, one commit each, and one distinct doc."""
    sys.path.insert(0, str(SCRIPT.parent))
    import gate_replay

    from tests.conftest import git

    src = tmp_path / "launch"
    src.mkdir()
    git(src, "init", "-q", "-b", "main")
    git(src, "config", "commit.gpgsign", "false")
    prompt = ("# Launch prompt - packet P07-A{n}\n\nRead the resume prompt "
              "`prompts/RESUME_POST_A{m}.md` first, then the boundary file.\n\n"
              "Execute only packet `P07-A{n}` per those instructions; report to "
              "`artifacts/P07/A{n}_REPORT.md` and ask for further direction.\n")
    labels = {}
    for n in range(1, 7):
        path = f"docs/LAUNCH_P07_A{n}.md"
        (src / "docs").mkdir(exist_ok=True)
        (src / path).write_text(prompt.format(n=n, m=n - 1), encoding="utf-8")
        labels[path] = "launch-prompt"
        git(src, "add", path)
        git(src, "commit", "-q", "-m", path, env={"GIT_COMMITTER_DATE": f"{1_778_400_000 + n * 60} +0000",
                                                   "GIT_AUTHOR_DATE": f"{1_778_400_000 + n * 60} +0000"})
    r = gate_replay.replay(src, tmp_path / "work")
    assert r.docs == list(labels)
    # the second copy passes (without a lane id, a title that differs only in its number
    # numbers a series: no rename); from the third doc on the rising packet id is the run's
    # lane id (scan.runs) and a renamed copy is refused
    assert [r.outcome.get(p, "pass") for p in labels] == ["pass", "pass", "block", "block",
                                                         "block", "block"]
    lines = gate_replay.report(r, labels)
    assert lines[0].startswith("launch: 6 docs, 4 blocked, 0 warned, 5 judged (")
    assert ("  run launch-prompt: 6 docs, first refused at 3, after the 5th 1/1 (100%) refused, "
            "all 4/6 (67%), 0 warned") in lines
    assert not [line for line in lines if line.startswith("MISS")]
