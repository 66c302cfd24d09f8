"""Docs without lane ids (fix summaries, how-tos, status reports): their coverage matrix,
gaps and open questions come only from what a lane records as proved or asks."""

from __future__ import annotations

from conftest import GitRepo, run_compactor

from compactor.config import Config
from compactor.coverage import Coverage, family_coverage
from compactor.git import Repo
from compactor.inventory import inventory_scan, load_bodies


def coverage_of(repo: GitRepo, docs: dict[str, str]) -> Coverage:
    """Commit ``docs`` to a real repo and read the coverage of all of them as one family."""
    repo.commit(docs)
    config = Config()
    git_repo = Repo(repo.root)
    scan = inventory_scan(git_repo, config, use_cache=False)
    members = [i for i, b in enumerate(scan.briefs) if b.path in docs]
    assert len(members) == len(docs)
    briefs = load_bodies(git_repo, scan, members)
    return family_coverage(config, briefs, "F", members)


HOWTO = """# {title}

## Problem

The invoice list showed the wrong status after sending.

## Test Now

1. **Refresh browser** (hard reload)
2. **Go to**: Finance, then Invoices
3. **Find**: the draft invoice
4. **Click**: Send Email
5. **Verify**:
   - Status changes to sent
   - **Counter updates**: sent count grows by one

## Commands

- `npm run test`: runs the unit tests
- `make deploy`: ships it
"""


def test_the_steps_of_a_how_to_are_not_proof_dimensions(repo: GitRepo) -> None:
    cov = coverage_of(repo, {
        f"docs/{name}.md": HOWTO.format(title=name.replace("_", " ").title())
        for name in ("STATUS_FIX", "STATUS_FIX_FINAL", "STATUS_FIX_SUMMARY")
    })
    # numbered steps (click, go to, find), a nested detail (counter updates) and a
    # backticked command are no dimension: nothing to put in a matrix
    assert cov.columns == ()
    assert not [g for g in cov.gaps if g.what == "dimension"]
    assert cov.note.startswith("no coverage matrix: none of the 3 lanes records a proof dimension")


TESTED = """# {title}

## Fix Failing Tests In Mutation Testing

- Error: the mock returned nothing
- Line: 3055

## Step 3: Test Individual Files

- Result: all green

## Verification

- Before fixes: 12 failing
- After fixes: {after}

### Test 1: Status update

- Status: sent
"""


def test_only_a_proof_section_records_and_numbered_headings_are_steps(repo: GitRepo) -> None:
    cov = coverage_of(repo, {
        "docs/CHUNK_FIX.md": TESTED.format(title="Chunk fix", after="0 failing"),
        "docs/CHUNK_FIX_FINAL.md": TESTED.format(title="Chunk fix final", after="1 failing"),
    })
    # a heading that merely mentions tests opens no proof section ("error", "line" are
    # not dimensions); a numbered heading is a step ("test 1 status update", "result",
    # "status" are not either); the Verification section's items are
    assert cov.columns == ("after fixes", "before fixes")


QUESTIONS = """# {title}

## Reference

| Purpose | Example | Taxed? |
|---|---|---|
| payment | 100 | yes |

## Troubleshooting

**Need help?**

- **Migration error?**
- Set it to `value={{x === 0 ? '' : x}}` in the form

## Open

Did the customer deduct the tax?
"""

MENTIONED = """
## Navigation

- **Want the project status?** → [status](STATUS.md)
- Back: [index](/docs/todo/waves/README.md)
- [x] Is the ledger reconciled nightly?
- Added "Is CI green?" to the daily standup
- The scanner flags TODO comments and TODO/FIXME pairs

## Next

- [ ] Does the export keep the currency column?
- **Retries**: fixed or per request?
- Owner: TBD

Would you like me to proceed with the frontend now?
"""


def test_table_cells_bold_headings_and_code_ask_no_question(repo: GitRepo) -> None:
    cov = coverage_of(repo, {
        "docs/PAYMENT_GUIDE.md": QUESTIONS.format(title="Payment guide"),
        "docs/PAYMENT_GUIDE_QUICK.md": "# Payment guide quick\n\nShort notes only.\n",
    })
    questions = [g.text for g in cov.gaps if g.what == "question"]
    assert len(questions) == 1, questions
    assert "Did the customer deduct the tax?" in questions[0]


def test_a_question_mentioned_done_or_offered_is_not_open(repo: GitRepo) -> None:
    cov = coverage_of(repo, {
        "docs/EXPORT_STATUS.md": "# Export status\n" + MENTIONED,
        "docs/EXPORT_STATUS_FINAL.md": "# Export status final\n\nShort notes only.\n",
    })
    questions = [g.text.split(": ", 1)[1] for g in cov.gaps if g.what == "question"]
    # a bold label's question before a link, a link's target, a ticked task, a quoted
    # question, TODO as a word and an agent's offer ask nothing; the rest stay open
    assert questions == [
        "“[ ] Does the export keep the currency column?”",
        "“**Retries**: fixed or per request?”",
        "“Owner: TBD”",
    ]


VERIFIED = """# {title}

## Problem

The numbering of quotations restarted at one after the fiscal year changed, so two
quotations carried the same number and the second could not be saved.

## Fix

Moved the counter to one row per company and fiscal year, and made the next number a
single atomic update of that row.

## Verification Results

### {subject}

- Next number: as expected
"""


def test_a_subject_one_lane_verifies_is_no_column_without_a_shared_vocabulary(
        repo: GitRepo) -> None:
    subjects = ("Shipping address", "Backend service status", "Teal header")
    docs = {
        f"docs/NUMBERING_FIX{suffix}.md": VERIFIED.format(title=f"Numbering fix {k}",
                                                          subject=subject)
        for k, (suffix, subject) in enumerate(zip(("", "_FINAL", "_SUMMARY"), subjects,
                                                  strict=True))
    }
    docs["docs/NUMBERING_FIX_SUMMARY.md"] = docs["docs/NUMBERING_FIX_SUMMARY.md"].replace(
        "- Next number: as expected\n", "Looked right.\n")
    cov = coverage_of(repo, docs)
    # "next number" is recorded by two lanes: a shared dimension, the one column; each
    # lane's own subject heading is no column and no "not proved by 2 of 3 lanes" gap
    assert cov.columns == ("next number",)
    assert [g.text for g in cov.gaps if g.what == "dimension"] == [
        "`next number` not proved by 1 of 3 lanes: NUMBERING_FIX_SUMMARY"]


def test_a_family_whose_lanes_share_no_dimension_says_so_in_one_line(repo: GitRepo) -> None:
    docs = {
        f"docs/NUMBERING_FIX{suffix}.md": VERIFIED.replace("- Next number: as expected\n", "")
        .format(title=f"Numbering fix {k}", subject=subject)
        for k, (suffix, subject) in enumerate(zip(
            ("", "_FINAL", "_SUMMARY"), ("Shipping address", "Backend status", "Teal header"),
            strict=True))
    }
    cov = coverage_of(repo, {**docs})
    assert cov.columns == () and not cov.gaps
    assert cov.note.startswith("no coverage matrix: the 3 of 3 lanes that record proof share "
                               "no dimension (3 names, each in one lane")
    result = run_compactor("inventory", cwd=repo.root)
    assert result.code == 0
    text = (repo.root / "docs/INVENTORY.md").read_text(encoding="utf-8")
    if "### Family" in text:  # the three formed a family with a section
        section = text.split("### Family", 1)[1].split("<details>", 1)[0]
        assert "; no coverage matrix: the 3 of 3 lanes that record proof share no" in section
        assert "| action | lanes |" not in section
        assert "#### Missing gaps" not in section  # nothing to list: no "None found."
        family = section.split("\n", 1)[0].strip()
        closeout = run_compactor("closeout", family, "-o", "-", cwd=repo.root)
        assert closeout.code == 0
        assert "; no coverage matrix: the 3 of 3 lanes that record proof share no" in closeout.out
        assert "None found." not in closeout.out  # no matrix: no gap it could have found


MERGED = """# PR {n} merge log

## Summary

Merged the change.

## Verification

- Required checks: all green
- Post-merge evidence:
  - state: merged
  - base: main
{extra}
## Risk

Low.
"""


def test_the_items_of_a_named_group_in_a_proof_section_are_dimensions(repo: GitRepo) -> None:
    cov = coverage_of(repo, {
        "docs/PR_101_MERGE_LOG.md": MERGED.format(n=101, extra="  - merged at: noon\n"),
        "docs/PR_102_MERGE_LOG.md": MERGED.format(n=102, extra="  - merged at: dusk\n"),
        "docs/PR_103_MERGE_LOG.md": MERGED.format(n=103, extra=""),
    })
    # "- Post-merge evidence:" only names a group: its sub-items are what was proved
    assert set(cov.columns) == {"required checks", "post evidence", "state", "base",
                                "merged at"}
    assert [g.text for g in cov.gaps if g.what == "dimension"] == [
        "`merged at` not proved by 1 of 3 lanes: PR_103_MERGE_LOG"]


def report(n: int, items: list[str]) -> str:
    lines = "\n".join(f"- {item}: {10 * n + k}" for k, item in enumerate(items))
    return f"# Progress report {n}\n\nWork went on.\n\n## Test results\n\n{lines}\n"


def test_one_lane_metric_is_no_column_where_most_lanes_share_no_vocabulary(
        repo: GitRepo) -> None:
    cov = coverage_of(repo, {
        "docs/PROGRESS_1.md": report(1, ["Total tests"]),
        "docs/PROGRESS_2.md": report(2, ["Total tests"]),
        "docs/PROGRESS_3.md": report(3, ["Total tests", "Baseline", "Improvement"]),
        "docs/PROGRESS_4.md": report(4, []),
        "docs/PROGRESS_5.md": report(5, []),
    })
    # "total tests" in 3 of 5 lanes is shared; one report's extra metrics are its own, not
    # a gap of the four others (a loop recording one dimension in most lanes would keep them)
    assert cov.columns == ("total tests",)
