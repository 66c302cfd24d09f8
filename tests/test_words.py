"""words.py: names for people."""

from __future__ import annotations

from compactor.words import shorten, telling_names


def test_docs_of_one_file_name_are_told_apart_by_the_folders_that_differ() -> None:
    paths = ["r/RUN_0354Z/A/RUN_REPORT.md", "r/RUN_0354Z/B/RUN_REPORT.md",
             "r/RUN_0512Z/A/RUN_REPORT.md", "r/RUN_0512Z/C/RUN_REPORT.md"]
    # every doc by the same folder levels: the one C is not just 'C/RUN_REPORT'
    assert telling_names(paths, "RUN_REPORT") == [
        "RUN_0354Z/A/RUN_REPORT", "RUN_0354Z/B/RUN_REPORT", "RUN_0512Z/A/RUN_REPORT",
        "RUN_0512Z/C/RUN_REPORT"]
    # a folder every doc shares is left out
    assert telling_names(["reports/T1/inbox/note.md", "reports/T2/inbox/note.md"], "note") == [
        "T1/note", "T2/note"]


def test_docs_no_folder_tells_apart_keep_their_paths() -> None:
    assert telling_names(["a/x.md", "a/x.markdown", "x.md"], "x") == ["a/x.md", "a/x.markdown",
                                                                       "x"]
    assert telling_names(["deep/x.md"], "x") == ["x"]


def test_docs_at_different_depths_are_told_apart_by_their_run_folders() -> None:
    paths = ["docs/T1/ground_truth/docs/manifest.md", "docs/T2/manifest.md",
             "docs/T3/check/files/manifest.md"]
    assert telling_names(paths, "manifest") == ["T1/manifest", "T2/manifest", "T3/manifest"]
    # counted from the file when that needs fewer levels
    assert telling_names(["a/run1/x.md", "a/b/run2/x.md", "c/run3/x.md"], "x") == [
        "run1/x", "run2/x", "run3/x"]


def test_a_long_folder_name_is_cut_in_its_file_name_not_in_the_folders_that_tell_it() -> None:
    one = "2026-01-23T024800Z/inbox_sla_watch/inbox_scan_summary"
    other = "2026-01-23T024800Z/inbox_history/inbox_scan_summary"
    assert shorten(one, 44) == "2026-01-23T024800Z/inbox_sla_watch/inbox…ary"
    assert shorten(other, 44) == "2026-01-23T024800Z/inbox_history/inbox_s…ary"
    # folders too long to keep with some of the file name: cut in the middle as any name
    assert shorten(one, 20) == "2026-01-23T02…ummary"
    assert shorten("CROSS_SECTIONAL_FUNDING_RATE_DUAL_LEG_SPREAD_V1") == \
        "CROSS_SECTIONAL_FUNDI…_SPREAD_V1"
