"""Docs about docs: series, what a doc's lead names, its subject, and the run it ends."""

from __future__ import annotations

import json

from compactor import subjects
from compactor.subjects import Ref, bookkeeping, chained, lead, references, step_of, subject
from tests.conftest import GitRepo, run_compactor


def test_a_series_is_the_names_alike_but_for_one_number() -> None:
    s = step_of("docs/ops/PR_980_MERGE_LOG.md")
    assert s is not None and s.number == 980
    assert (s.series.idword, s.series.noun, str(s.series)) == ("pr", ("merge", "log"), "PR_#_MERGE_LOG")
    assert step_of("docs/ops/PR_981_MERGE_LOG.md").series == s.series  # type: ignore[union-attr]
    assert step_of("docs/ops/PR_981_EVIDENCE.md").series != s.series  # type: ignore[union-attr]
    assert step_of("docs/PR_981_MERGE_LOG.md").series != s.series  # another folder  # type: ignore[union-attr]
    cycle = step_of("reports/cycle-3-report.md")
    assert cycle is not None and (cycle.series.idword, cycle.series.noun) == ("cycle", ("report",))
    wave = step_of("wave-031.md")
    assert wave is not None and (wave.number, wave.series.noun) == (31, ())
    lane = step_of("S101-cancel-vendor.md")
    assert lane is not None and (lane.number, str(lane.series)) == (101, "S#_CANCEL_VENDOR")
    # no step: no number, two numbers (a date and a counter), or a bare number
    assert step_of("README.md") is None
    assert step_of("2025-11-02_cycle-3.md") is None
    assert step_of("14171.md") is None


def refs(path: str, *lines: str) -> list[tuple[int, str]]:
    step = step_of(path)
    assert step is not None
    return [(r.number, r.by) for r in references(step, lines)]


def test_a_lead_names_an_earlier_doc_by_its_file_name_or_its_step_and_noun() -> None:
    log = "PR_982_MERGE_LOG.md"
    assert refs(log, "docs(ops): add PR #981 merge log") == [(981, "file name")]
    assert refs(log, "- Added `docs&#47;ops&#47;PR_980_MERGE_LOG.md`") == [(980, "file name")]
    assert refs(log, "Merge-Log für PR #979 ins Repo bringen") == [(979, "step and noun")]
    assert refs(log, "Adds the merge log documentation for PR #978.") == [(978, "step and noun")]
    # the step alone names the work, not its log; a later step or the doc itself is no subject
    assert refs(log, "Follows PR #981 (the export endpoint).") == []
    assert refs(log, "Prepares the merge log for PR #990.") == []
    assert refs(log, "PR_982_MERGE_LOG — rebuild PR #810 on top of main") == []
    # a noun nearer to the doc's own step describes the doc itself
    assert refs(log, "Ops-Merge-Log – PR #982: evidence entry for PR #979/#980") == []
    # too far from the noun, an HTML entity, a time of day: no step
    assert refs(log, "merge log: one two three four five six PR #970") == []
    assert refs(log, "merge log path docs&#47;ops") == []
    times = "GITHUB_CHECK_1218_AM.md"
    assert refs(times, "GitHub Issues Check - 12:18 AM") == []
    # a series without a noun is named by a file name with its extension only
    assert refs("wave-031.md", "Continues wave 30.", "See wave-030.md.") == [(30, "file name")]


def test_the_lead_is_the_title_and_the_opening_lines() -> None:
    body = "\n".join(["", "```", "code", "```", *[f"line {k}" for k in range(20)]])
    got = lead("Title", body)
    assert got[:3] == ["Title", "code", "line 0"] and len(got) == subjects.LEAD_LINES


def test_a_subject_is_a_recent_doc() -> None:
    step = step_of("PR_914_MERGE_LOG.md")
    assert step is not None
    named = [Ref(891, "merge log for PR #891", "step and noun")]
    assert subject(step, named, [909, 911, 912]) is None  # 23 steps back, not written lately
    assert subject(step, named, [911, 912, 891]) == named[0]  # written just before it
    assert subject(step, [Ref(913, "", "file name")], []) is not None  # one step back
    old = step_of("PR_909_MERGE_LOG.md")
    assert old is not None and subject(old, [Ref(706, "", "file name")], [906, 907]) is None


def test_the_run_passes_over_the_docs_it_is_about() -> None:
    steps = [909, 911, 912, 891, 914]  # in the order written
    about = {2: Ref(911, "", ""), 4: Ref(891, "", "")}
    run = bookkeeping(steps, about.get, 32)
    assert [link.at for link in run] == [4, 2]
    assert chained(steps, run) is None  # each is about an ordinary log
    chain = [100, 101, 102]
    about = {1: Ref(100, "", ""), 2: Ref(101, "", "")}
    run = bookkeeping(chain, about.get, 32)
    assert [link.at for link in run] == [2, 1]
    assert chained(chain, run) == run[0]  # 102 is about 101, itself about 100
    assert bookkeeping(chain, {1: Ref(100, "", "")}.get, 32) == []  # the last is about nothing
    assert len(bookkeeping(chain, about.get, 1)) == 1  # reads at most ``limit`` docs


def test_scan_explain_says_what_a_doc_is_about(repo: GitRepo) -> None:
    for n in (1, 2, 3):
        repo.commit({f"docs/PR_{n}_MERGE_LOG.md": f"# PR {n} — Merge Log\n\nShipped feature {n}.\n"},
                    when=1_778_400_000 + n)
    repo.commit({"docs/PR_4_MERGE_LOG.md": "# PR 4 — Merge Log\n\nAdds the merge log for PR #3.\n"},
                when=1_778_400_100)
    r = run_compactor("scan", "--explain", "docs/PR_4_MERGE_LOG.md", cwd=repo.root)
    assert r.code == 0
    assert ('  about docs/PR_3_MERGE_LOG.md: a doc about another doc of series PR_#_MERGE_LOG, named '
            'by step and noun in its lead ("Adds the merge log for PR #3."); the gate refuses more '
            "than max_bookkeeping such docs in a row\n") in r.out
    data = json.loads(run_compactor("scan", "--explain", "docs/PR_4_MERGE_LOG.md", "--format", "json",
                                    cwd=repo.root).out)
    assert data["about"] == {"series": "PR_#_MERGE_LOG", "step": 3, "path": "docs/PR_3_MERGE_LOG.md",
                             "by": "step and noun", "line": "Adds the merge log for PR #3."}
    r = run_compactor("scan", "--explain", "docs/PR_3_MERGE_LOG.md", cwd=repo.root)
    assert "about" not in r.out


def test_the_docs_of_a_series_are_found_as_step_of_reads_their_names() -> None:
    import random

    rng = random.Random(3)
    words = ["pr", "merge", "log", "s", "wave", "cycle", "report", "a"]
    seps = ["_", "-", ".", " ", "__"]
    paths = []
    for _ in range(1000):
        parts = [rng.choice(words) for _ in range(rng.randint(0, 3))]
        parts.insert(rng.randint(0, len(parts)), rng.choice(["", "s", "pr"]) + str(rng.randint(0, 99)))
        if rng.random() < 0.1:
            parts.append(str(rng.randint(0, 9)))  # two numbers: no step
        name = rng.choice(seps).join(parts) + rng.choice([".md", ".MD", "", ".x.md"])
        paths.append(rng.choice(["", "docs/", "a-1/b/"]) + (name.upper() if rng.random() < 0.2 else name))
    steps = {p: step_of(p) for p in paths}
    for series in {s.series for s in steps.values() if s is not None}:
        got = subjects.members(paths, [0] * len(paths), series)
        want = {j for j, p in enumerate(paths) if (s := steps[p]) is not None and s.series == series}
        assert set(got) == want, series
        assert all(got[j] == steps[paths[j]] for j in got)


def test_hostile_leads_and_names_are_read_in_linear_time() -> None:
    """A repo is untrusted: no lead or file name may make the gate's reading blow up
    (quadratic matching on these would take minutes; the bound is generous)."""
    import time

    step = step_of("docs/PR_9_MERGE_LOG.md")
    assert step is not None
    start = time.monotonic()
    body = "\n".join(["PR" + " " * 200_000 + "x", "merge log #1 " * 50_000,
                      "pr_" + "0" * 100_000 + "x merge log", "PR #" + "-" * 100_000])
    references(step, lead("merge log " * 10_000, body))
    assert references(step, ["PR" + " " * 200_000 + "x", "pr #" + " " * 200_000 + "0" * 100_000]) == []
    names = [f"docs/{'.' * 3000}x", f"docs/PR{' ' * 3000}1_merge_log.{'.' * 3000}/",
             f"docs/pr_1{'_' * 3000}merge{'.' * 3000}log{'.-' * 3000}md", "docs/PR_1_MERGE_LOG.md"]
    found = subjects.members(names * 200, [0] * 800, step.series)
    assert set(found) == {j for j, p in enumerate(names * 200)
                          if (s := step_of(p)) is not None and s.series == step.series}
    assert len(found) == 400  # the third name is one of the series too, as step_of reads it
    assert time.monotonic() - start < 5
