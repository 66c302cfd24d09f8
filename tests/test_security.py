"""Hostile repositories: what a stranger's docs pull request must not be able to do.

Each attack is a repository built here, run through the real CLI (in process, for
speed), and checked for the documented exit code, the one-line message, and that
nothing outside the expected place changed: the work tree, ``.git`` outside its
object store and compactor's cache, and a canary directory outside the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import GitRepo, run_compactor

from compactor.cli import main
from compactor.paths import PathRefused, contained, is_dotgit, lexical
from tests.test_robustness import lane

T0 = 1_778_304_756
MANIFEST = "docs/archive/compactor-manifest.json"
PAYLOAD = b"#!/bin/sh\necho pwned > /tmp/compactor-pwned\n"



def loop(repo: GitRepo, *numbers: int) -> None:
    repo.commit({f"docs/lanes/S{n:03d}-deploy-widget.md": lane(n)
                 for n in (numbers or (1, 2, 3, 4, 5))}, when=T0)


def run(root: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The CLI in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    try:
        main(["-C", str(root), *args])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    else:  # pragma: no cover - main always exits
        code = 0
    out, err = capsys.readouterr()
    print(f"exit {code}\n--- stdout\n{out}\n--- stderr\n{err}")
    return code, out, err


def error_line(err: str) -> str:
    """The one error line (no traceback, no second error)."""
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("compactor: error: ")]
    assert len(errors) == 1, err
    return errors[0]


def _walk(top: Path, skip: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    for dirpath, dirnames, filenames in os.walk(top):
        rel_dir = os.path.relpath(dirpath, top)
        dirnames[:] = sorted(d for d in dirnames
                             if os.path.normpath(os.path.join(rel_dir, d)) not in skip)
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if rel in skip:
                continue
            st = os.lstat(full)
            if os.path.islink(full):
                yield rel, f"link {os.readlink(full)}"
            elif os.path.isdir(full):
                yield rel, f"dir {st.st_mode:o}"
            else:
                with open(full, "rb") as fh:
                    yield rel, f"file {st.st_mode:o} {hashlib.sha1(fh.read()).hexdigest()}"


class Watch:
    """Everything an attack could touch: the work tree, .git outside objects and
    compactor's cache, and a canary directory outside the repository."""

    def __init__(self, repo: GitRepo, canary: Path) -> None:
        self.repo, self.canary = repo, canary
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, str]:
        root = self.repo.root
        work = {f"work/{k}": v for k, v in _walk(root, skip=(".git",))}
        git = {f"git/{k}": v for k, v in _walk(root / ".git", skip=("objects", "compactor"))}
        canary = {f"canary/{k}": v for k, v in _walk(self.canary)}
        return {**work, **git, **canary}

    def unchanged(self) -> None:
        after = self.snapshot()
        changed = sorted(k for k in set(self.before) | set(after)
                         if self.before.get(k) != after.get(k))
        assert changed == []


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    c = tmp_path / "canary"
    c.mkdir()
    (c / "secret.md").write_text("# S900 secret\n\nnever read, never written\n")
    return c


def blob(repo: GitRepo, data: bytes) -> str:
    return subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.root, input=data,
                          capture_output=True, check=True).stdout.decode().strip()


def commit_link(repo: GitRepo, path: str, target: str) -> None:
    p = repo.root / path
    p.parent.mkdir(parents=True, exist_ok=True)
    p.symlink_to(target)
    repo.git("add", path)
    repo.git("commit", "-q", "--no-verify", "-m", f"link {path}")


def manifest(entries: dict[str, dict[str, str]]) -> str:
    return json.dumps({"version": 1, "compactions": [], "entries": entries})


# -- the containment rule itself ------------------------------------------------------------


@pytest.mark.parametrize("name", [".git", ".GIT", ".Git", ".git.", ".git ", ".git. . ", "git~1",
                                  "GIT~1", ".git::$INDEX_ALLOCATION", ".g\u200cit", "\ufeff.git"])
def test_every_spelling_of_dotgit_is_dotgit(name: str) -> None:
    assert is_dotgit(name)
    clean, problem = lexical(f"docs/{name}/hooks/pre-commit")
    assert clean is None and problem == "reaches into .git"


@pytest.mark.parametrize("name", [".github", ".gitignore", "git", "x.git", ".gitx", "git~2"])
def test_names_that_only_look_like_dotgit_are_fine(name: str) -> None:
    assert not is_dotgit(name)
    assert lexical(f"docs/{name}/a.md") == (f"docs/{name}/a.md", "")


@pytest.mark.parametrize("value, problem", [
    ("/etc/passwd", "is an absolute path"), ("C:/x.md", "is an absolute path"),
    ("../x.md", "leaves the work tree"), ("docs/../../x.md", "leaves the work tree"),
    ("a\0b.md", "holds a NUL byte"), ("./", "is the work tree itself, not a file in it"),
    ("docs\\..\\..\\x.md", "leaves the work tree"),
])
def test_lexical_refusals(value: str, problem: str) -> None:
    assert lexical(value) == (None, problem)


def test_contained_follows_links_for_reads_only_inside(repo: GitRepo, canary: Path) -> None:
    (repo.root / "docs").mkdir()
    (repo.root / "docs/real.md").write_text("x")
    (repo.root / "inside").symlink_to("docs")
    (repo.root / "out").symlink_to(canary)
    (repo.root / "g").symlink_to(".git")
    assert contained(repo.root, "inside/real.md", "test") == repo.root / "inside/real.md"
    with pytest.raises(PathRefused, match="goes through the symlink 'inside'; refusing to write"):
        contained(repo.root, "inside/real.md", "test", write=True)
    with pytest.raises(PathRefused, match="'inside'; refusing to read"):
        contained(repo.root, "inside/real.md", "test", links=False)
    with pytest.raises(PathRefused, match="symlink 'out' to outside the work tree"):
        contained(repo.root, "out/secret.md", "test")
    with pytest.raises(PathRefused, match="symlink 'g' into .git"):
        contained(repo.root, "g/config", "test")


# -- restore --------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ["x/.git/hooks/pre-commit", ".GIT/hooks/pre-commit",
                                   "docs/.git./hooks/pre-commit", "git~1/hooks/pre-commit",
                                   "docs/../.git/hooks/pre-commit", "a\0b.md", "/tmp/abs.md"])
def test_restore_refuses_a_manifest_naming_dotgit(repo: GitRepo, canary: Path, entry: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo, 1, 2)
    commit_link(repo, "x", ".")  # a committed symlink to the work tree root
    evil = blob(repo, PAYLOAD)
    repo.commit({MANIFEST: manifest({entry: {"action": "archived", "blob": evil,
                                            "location": "docs/archive/a.md", "mode": "100755"}})})
    watch = Watch(repo, canary)
    for args in (("restore", "--all"), ("restore", "--force", "--all"), ("verify",)):
        code, _out, err = run(repo.root, *args, capsys=capsys)
        assert code == 2
        line = error_line(err)
        assert line.startswith(f"compactor: error: {MANIFEST}: entry {json.dumps(entry)} ")
        assert "refusing to use this manifest" in line
    assert not (repo.root / ".git/hooks/pre-commit").exists()
    watch.unchanged()


def test_restore_refuses_a_path_through_a_committed_symlink_into_dotgit(
        repo: GitRepo, canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo, 1, 2)
    commit_link(repo, "g", ".git")
    commit_link(repo, "out", str(canary))
    evil = blob(repo, PAYLOAD)
    repo.commit({MANIFEST: manifest({
        "g/hooks/pre-commit": {"action": "folded", "blob": evil, "location": "inventory",
                               "mode": "100755"},
        "out/planted.md": {"action": "folded", "blob": evil, "location": "inventory"},
    })})
    watch = Watch(repo, canary)
    code, _out, err = run(repo.root, "restore", "--all", "--force", capsys=capsys)
    assert code == 2
    assert error_line(err) == (
        "compactor: error: g/hooks/pre-commit: goes through the symlink 'g'; refusing to write "
        f"there (named by manifest entry \"g/hooks/pre-commit\" in {MANIFEST}; compactor only "
        "uses paths inside the work tree, outside .git, with no symlink on the way)")
    code, _out, err = run(repo.root, "restore", "out/planted.md", capsys=capsys)
    assert code == 2 and "goes through the symlink 'out'" in error_line(err)
    watch.unchanged()
    # verify no longer says ok: it lists both entries (and the missing inventory)
    code, out, _err = run(repo.root, "verify", capsys=capsys)
    assert code == 1
    assert "g/hooks/pre-commit: goes through the symlink 'g' committed in HEAD; restore would " \
        "refuse to write it" in out
    assert "out/planted.md: goes through the symlink 'out' committed in HEAD" in out
    watch.unchanged()


# -- inventory, closeout, compact: the config's paths -----------------------------------------


@pytest.mark.parametrize("option, value", [
    ("inventory", ".git/config"), ("inventory", ".Git/hooks/pre-commit"),
    ("inventory", "docs/../.git/config"), ("archive_dir", "docs/.GIT/archive"),
    ("archive_dir", ".git"), ("template", ".git/HEAD"), ("inventory", "git~1/config"),
])
def test_config_paths_into_dotgit_are_refused(repo: GitRepo, canary: Path, option: str,
                                              value: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo)
    repo.commit({".compactor.yaml": f"{option}: {json.dumps(value)}\n"})
    watch = Watch(repo, canary)
    for args in (("inventory",), ("inventory", "--check"), ("compact", "--apply"),
                 ("closeout", "S001")):
        code, _out, err = run(repo.root, *args, capsys=capsys)
        assert code == 2
        assert error_line(err) == (
            f"compactor: error: .compactor.yaml:1: option '{option}' must be a path inside the "
            f"repository, got {value!r} (it reaches into .git)")
    watch.unchanged()
    assert (repo.root / ".git/config").read_text().startswith("[core]")


def test_inventory_through_a_committed_symlinked_directory(
        repo: GitRepo, canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo)
    commit_link(repo, "out", str(canary))
    commit_link(repo, "inner", "docs")
    for value, link in (("out/INVENTORY.md", "out"), ("inner/INVENTORY.md", "inner")):
        repo.commit({".compactor.yaml": f"inventory: {value}\n"})
        watch = Watch(repo, canary)
        for args in (("inventory",), ("inventory", "--check")):
            code, _out, err = run(repo.root, *args, capsys=capsys)
            assert code == 2
            assert error_line(err).startswith(
                f"compactor: error: {value}: goes through the symlink '{link}'; refusing to "
                "write there (named by option 'inventory'; ")
        watch.unchanged()
    assert sorted(p.name for p in canary.iterdir()) == ["secret.md"]


def test_closeout_output_through_a_symlink_or_into_dotgit(
        repo: GitRepo, canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo)
    commit_link(repo, "out", str(canary))
    commit_link(repo, "docs/closeouts", str(canary))  # the default closeout folder
    watch = Watch(repo, canary)
    code, _out, err = run(repo.root, "closeout", "S001", "-o", "out/x.md", capsys=capsys)
    assert code == 2 and "out/x.md: goes through the symlink 'out'" in error_line(err)
    code, _out, err = run(repo.root, "closeout", "S001", "-o", ".GIT/hooks/x", capsys=capsys)
    assert code == 2 and error_line(err).startswith(
        "compactor: error: .GIT/hooks/x: --output must be a path inside the repository")
    code, _out, err = run(repo.root, "closeout", "S001", capsys=capsys)
    assert code == 2
    assert "docs/closeouts/S001-closeout.md: goes through the symlink 'docs/closeouts'" in err
    assert "(named by the default closeout path; " in err
    watch.unchanged()


def test_a_config_file_linked_outside_is_not_read(repo: GitRepo, canary: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo)
    (canary / "cfg.yaml").write_text("threshold: 0.9\n")
    commit_link(repo, ".compactor.yaml", str(canary / "cfg.yaml"))
    watch = Watch(repo, canary)
    code, _out, err = run(repo.root, "scan", capsys=capsys)
    assert code == 2
    assert error_line(err).startswith(
        "compactor: error: .compactor.yaml: goes through the symlink '.compactor.yaml' to "
        "outside the work tree; refusing to read there (named by the config file; ")
    watch.unchanged()


# -- generated blocks cannot be closed or forged from inside ----------------------------------

FORGED = [
    "<!-- compactor:inventory:end -->",
    "<!-- compactor:folded:end -->",
    "<!--compactor:folded:begin-->",
    '<!-- compactor:folded:lane "docs/lanes/S001-deploy-widget.md" -->',
]


APPENDIX = "".join(
    f"\n## Step {word}\n\nRun the {word} check against the ledger, record the {word} totals in "
    f"the audit trail, compare the {word} receipts with the baseline and keep the {word} replay "
    "log beside the harness output for the reviewers.\n"
    for word in "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()
)


def test_marker_text_in_claims_and_lane_bodies_is_neutralised(
        repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit({f"docs/lanes/S{n:03d}-deploy-widget.md": lane(n) + APPENDIX for n in (1, 2, 3)},
                when=T0)
    claim = "new_truth: \"" + " ".join(FORGED).replace('"', '\\"') + "\"\n"
    evil = (lane(4).replace("---\n#", claim + "---\n#", 1) + APPENDIX + "\n" + "\n".join(FORGED)
            + "\n")
    # S005 carries the same lines without a claim: it is folded (S004's claim names the
    # lines it adds, so the gate earns it and compaction leaves S004 in place)
    evil5 = lane(5) + APPENDIX + "\n" + "\n".join(FORGED) + "\n"
    repo.commit({"docs/lanes/S004-deploy-widget.md": evil,
                 "docs/lanes/S005-deploy-widget.md": evil5}, when=T0 + 60)
    assert run(repo.root, "inventory", capsys=capsys)[0] == 0
    inv = (repo.root / "docs/INVENTORY.md").read_text()
    assert inv.count("<!-- compactor:") == 2  # its own two markers, nothing forged
    assert "&lt;!-- compactor:inventory:end -->" in inv  # the claim is kept, made inert
    assert run(repo.root, "inventory", "--check", capsys=capsys)[0] == 0
    repo.commit({"docs/INVENTORY.md": inv}, when=T0 + 120)
    code, out, _err = run(repo.root, "compact", "--apply", "--branch", "tidy", capsys=capsys)
    assert code == 0 and "fold " in out
    repo.git("checkout", "-q", "tidy")
    text = (repo.root / "docs/INVENTORY.md").read_text()
    assert text.count("<!-- compactor:folded:begin -->") == 1
    assert text.count("<!-- compactor:folded:end -->") == 1
    folded = [line for line in text.splitlines() if line.startswith("<!-- compactor:folded:lane")]
    assert "docs/lanes/S005-deploy-widget.md" in "".join(folded)
    assert (repo.root / "docs/lanes/S004-deploy-widget.md").read_text() == evil  # new truth
    assert not any("S001" in line for line in folded)  # the forged mark is no entry
    assert "&lt;!-- compactor:folded:end -->" in text  # the lane's line is kept, inert
    code, out, _err = run(repo.root, "verify", capsys=capsys)
    assert code == 0 and out.startswith("manifest ok")
    assert run(repo.root, "inventory", "--check", capsys=capsys)[0] == 0
    code, out, _err = run(repo.root, "compact", capsys=capsys)
    assert code == 0 and "nothing to compact" in out
    code, out, _err = run(repo.root, "restore", "S005", capsys=capsys)
    assert code == 0
    assert (repo.root / "docs/lanes/S005-deploy-widget.md").read_text() == evil5  # byte-exact


def test_a_damaged_folded_block_names_the_file(repo: GitRepo, canary: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo)
    assert run(repo.root, "compact", "--apply", "--branch", "tidy", capsys=capsys)[0] == 0
    repo.git("checkout", "-q", "tidy")
    inv = repo.root / "docs/INVENTORY.md"
    repo.commit({"docs/INVENTORY.md": inv.read_text().replace("<!-- compactor:folded:end -->\n",
                                                              "")})
    watch = Watch(repo, canary)
    code, _out, err = run(repo.root, "verify", capsys=capsys)
    assert code == 2
    assert error_line(err).startswith(
        "compactor: error: docs/INVENTORY.md: the generated block 'folded' has a begin "
        "marker but no end marker; restore")
    watch.unchanged()


# -- templates: sandboxed, tracked, inside the work tree, bounded -----------------------------

ESCAPES = [
    "{{ cycler.__init__.__globals__.os.popen('touch CANARY/pwned').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.system('touch CANARY/pwned') }}",
    "{{ lipsum.__globals__['os'].popen('touch CANARY/pwned').read() }}",
    "{% set x = families.append(1) %}{{ x }}",
    "{{ 'a' * 1000000000 }}",
    "{{ 10 ** 1000000000 }}",
    "{% set ns = namespace(x='a') %}{% for i in range(60) %}{% set ns.x = ns.x ~ ns.x %}"
    "{% endfor %}{{ ns.x|length }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_a_repo_template_cannot_run_code(repo: GitRepo, canary: Path, source: str,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from compactor import templating

    monkeypatch.setattr(templating, "TEMPLATE_BYTES", 256 << 20)  # the test's memory, not 1 GB
    loop(repo)
    repo.commit({".compactor.yaml": "template: docs/inventory.j2\n",
                 "docs/inventory.j2": source.replace("CANARY", str(canary))})
    watch = Watch(repo, canary)
    for args in (("inventory", "--check"), ("inventory",)):
        code, _out, err = run(repo.root, *args, capsys=capsys)
        assert code == 2
        assert error_line(err).startswith("compactor: error: docs/inventory.j2: template ")
    watch.unchanged()
    assert not (canary / "pwned").exists()


@pytest.mark.parametrize("include", [
    "{% include 'repo:../canary/secret.md' %}", "{% include 'repo:docs/lanes/S001-deploy-widget.md' %}",
    "{% include '../../../../../../../../CANARY/secret.md' %}", "{% include 'CANARY/secret.md' %}",
    "{% import 'repo:.git/config' as x %}", "{% extends 'repo:/etc/passwd' %}",
])
def test_a_repo_template_includes_only_packaged_templates(
        repo: GitRepo, canary: Path, include: str, capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo)
    repo.commit({".compactor.yaml": "template: docs/inventory.j2\n",
                 "docs/inventory.j2": "head\n" + include.replace("CANARY", str(canary))})
    watch = Watch(repo, canary)
    code, _out, err = run(repo.root, "inventory", capsys=capsys)
    assert code == 2
    line = error_line(err)
    assert line.startswith("compactor: error: docs/inventory.j2")
    assert "includes or imports" in line or "template not found" in line
    watch.unchanged()
    # the packaged template by its bare name still works
    repo.commit({"docs/inventory.j2": "Ours.\n{% include 'inventory.md.j2' %}"})
    assert run(repo.root, "inventory", capsys=capsys)[0] == 0
    assert "Ours.\n" in (repo.root / "docs/INVENTORY.md").read_text()


def test_a_template_through_a_symlink_or_untracked_is_not_read(
        repo: GitRepo, canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo)
    commit_link(repo, "docs/inventory.j2", str(canary / "secret.md"))
    commit_link(repo, "docs/inner.j2", "lanes/S001-deploy-widget.md")
    for name, problem in (("docs/inventory.j2", "is a symlink"), ("docs/inner.j2", "is a symlink"),
                          (".env", "template is not tracked by git")):
        repo.commit({".compactor.yaml": f"template: {name}\n"})
        (repo.root / ".env").write_text("API_TOKEN=hunter2\n")  # a local, untracked secret
        watch = Watch(repo, canary)
        for args in (("inventory",), ("inventory", "--check")):
            code, _out, err = run(repo.root, *args, capsys=capsys)
            assert code == 2
            assert error_line(err).startswith(f"compactor: error: {name}: {problem}")
        watch.unchanged()
    assert not (repo.root / "docs/INVENTORY.md").exists()


def test_a_template_that_never_ends_is_stopped(repo: GitRepo, canary: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import time

    from compactor import templating

    monkeypatch.setattr(templating, "TEMPLATE_SECONDS", 0.5)
    loop(repo)
    repo.commit({".compactor.yaml": "template: docs/inventory.j2\n",
                 "docs/inventory.j2": "{% for a in range(99999) %}{% for b in range(99999) %}"
                                      "{% endfor %}{% endfor %}"})
    watch = Watch(repo, canary)
    start = time.monotonic()
    code, _out, err = run(repo.root, "inventory", "--check", capsys=capsys)
    assert time.monotonic() - start < 10
    assert code == 2 and error_line(err) == (
        "compactor: error: docs/inventory.j2: template did not finish within 0.5 s; simplify it")
    watch.unchanged()


# -- bounded patterns, linear labels, capped front matter ------------------------------------


@pytest.fixture
def fresh_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from compactor import patterns

    monkeypatch.setattr(patterns, "_spent", [0.0, 0])  # one command per process in real use


@pytest.mark.parametrize("config", [
    "lane_pattern: '(a|aa)+$'\n",
    "kind_rules:\n  proof: ['(a|aa)+$']\n",
    "lane_pattern: '(\\w|\\w\\w)+$'\n",
])
def test_a_catastrophic_pattern_cannot_hang_the_hook(
        repo: GitRepo, canary: Path, config: str, fresh_budget: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    import time

    loop(repo, 1, 2)
    repo.commit({".compactor.yaml": config, f"docs/{'a' * 48}b-note.md": "# note\n\nhello\n"})
    repo.stage({"docs/lanes/S003-deploy-widget.md": lane(3)})
    watch = Watch(repo, canary)
    for args in [("check", "--no-cache")]:  # the hook; scan and the rest share the code
        start = time.monotonic()
        code, _out, err = run(repo.root, *args, capsys=capsys)
        took = time.monotonic() - start
        assert took < 6, took  # ~1 s of pattern time, then the error
        assert code == 2
        line = error_line(err)
        assert line.startswith("compactor: error: option '")
        assert "took too long" in line and "simplify it" in line
    watch.unchanged()


def test_globs_match_without_backtracking_blow_up(repo: GitRepo, fresh_budget: None,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import time

    loop(repo, 1, 2)
    star = "*a" * 16 + "*c"
    repo.commit({".compactor.yaml": f"exclude: ['{star}', '{'**/' * 20}zz/**']\n",
                 "docs/" + "a" * 200 + ".md": "# long\n\nname\n"})
    start = time.monotonic()
    code, out, _err = run(repo.root, "scan", "--no-cache", capsys=capsys)
    assert code == 0 and time.monotonic() - start < 6
    assert "3 briefs" in out


def test_a_thousand_word_action_is_linear(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    import time

    loop(repo, 1, 2, 3)
    words = " ".join(f"step{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(1000))
    repo.stage({"docs/lanes/S004-deploy-widget.md": lane(4, action=words)})
    start = time.monotonic()
    code, out, _err = run(repo.root, "scan", "--format", "json", "--no-cache", capsys=capsys)
    assert code == 0 and time.monotonic() - start < 10
    brief = next(b for b in json.loads(out)["briefs"] if b["lane"] == "S004")
    assert brief["label"].split() == words.split()[:12]
    code, _out, _err = run(repo.root, "check", "--no-cache", capsys=capsys)
    assert code in (0, 1)


def test_front_matter_amplification_under_the_value_cap_is_a_warning(
        repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo, 1)
    big = "x" * 20_000
    refs = ", ".join(["*s"] * 2_000)  # 2,000 values, 40 MB of text once expanded
    repo.stage({"docs/S050-amp.md": f"---\ns: &s {big}\nl: [{refs}]\n---\n# S050 amp\n\nbody\n",
                "docs/S051-huge.md": "---\nk: " + "v" * 70_000 + "\n---\n# S051 huge\n"})
    code, out, err = run(repo.root, "scan", "--format", "json", capsys=capsys)
    assert code == 0
    assert ("compactor: warning: docs/S050-amp.md: front matter is too big (over 1,000,000 "
            "characters, YAML aliases expanded); front matter ignored, body read as text") in err
    assert ("compactor: warning: docs/S051-huge.md: front matter is over 64,000 characters; "
            "front matter ignored, body read as text") in err
    assert {b["path"] for b in json.loads(out)["briefs"]} >= {"docs/S050-amp.md",
                                                              "docs/S051-huge.md"}


# -- temporary indexes: removed on SIGTERM / SIGHUP, stale ones swept ------------------------


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_a_signal_during_compact_apply_leaves_no_temporary_index(
        repo: GitRepo, tmp_path: Path, signame: str) -> None:
    import shutil
    import signal
    import sys
    import time

    loop(repo)
    real_git = shutil.which("git")
    assert real_git
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(  # a git that is slow to fill the temporary index
        f'#!/bin/sh\ncase "$*" in *update-index*) sleep 30;; esac\nexec {real_git} "$@"\n')
    (bin_dir / "git").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen([sys.executable, "-m", "compactor", "compact", "--apply",
                             "--branch", "tidy"], cwd=repo.root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    git_dir = repo.root / ".git"
    deadline = time.monotonic() + 30
    while not list(git_dir.glob("compactor-index-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(git_dir.glob("compactor-index-*")), "compact never built its index"
    proc.send_signal(getattr(signal, signame))
    proc.communicate(timeout=30)
    assert proc.returncode == -getattr(signal, signame)  # it still ends as asked
    assert list(git_dir.glob("compactor-index-*")) == []
    assert repo.git("branch", "--list", "tidy") == ""


def test_stale_temporary_indexes_are_swept_only_compactors_own(
        repo: GitRepo, canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import time

    loop(repo)
    git_dir = repo.root / ".git"
    old = time.time() - 7200
    stale = git_dir / "compactor-index-a1b2c3d4"
    stale.mkdir()
    (stale / "index").write_bytes(b"left by a killed run")
    fresh = git_dir / "compactor-index-e5f6g7h8"  # another run, right now
    fresh.mkdir()
    other = git_dir / "compactor-index-notours"  # not a name mkdtemp makes
    other.mkdir()
    link = git_dir / "compactor-index-zzzzzzzz"
    link.symlink_to(canary)
    for p in (stale, stale / "index", other):
        os.utime(p, (old, old))
    os.utime(link, (old, old), follow_symlinks=False)
    code, _out, _err = run(repo.root, "compact", "--apply", "--branch", "tidy", capsys=capsys)
    assert code == 0
    assert not stale.exists()
    assert fresh.is_dir() and other.is_dir() and link.is_symlink()
    assert (canary / "secret.md").exists()


# -- partial clones, NUL bytes --------------------------------------------------------------


def test_verify_on_a_blobless_partial_clone_lists_the_missing_blobs(
        repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    loop(repo)
    assert run(repo.root, "compact", "--apply", "--branch", "tidy", capsys=capsys)[0] == 0
    repo.git("config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--filter=blob:none", "--branch", "tidy",
                    f"file://{repo.root}", str(clone)], check=True, capture_output=True)
    shutil.rmtree(repo.root)  # the promisor remote is gone: the folded blobs cannot come
    code, out, err = run(clone, "verify", capsys=capsys)
    assert code == 1 and "Traceback" not in err
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [
        f"docs/lanes/S{n:03d}-deploy-widget.md" for n in (2, 3, 4, 5)]
    assert all(" is missing from the repository" in line for line in lines[:-1])
    assert lines[-1].startswith("manifest: 4 problems in 4 entries; fetch the missing objects")


def test_a_manifest_key_with_a_nul_byte_is_an_input_error(
        repo: GitRepo, canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo)
    evil = blob(repo, b"x\n")
    repo.commit({MANIFEST: manifest({"docs/a\u0000b.md": {"action": "archived", "blob": evil,
                                                         "location": "docs/archive/a.md"}})})
    watch = Watch(repo, canary)
    for args in (("verify",), ("restore", "--all"), ("compact", "--apply")):
        code, _out, err = run(repo.root, *args, capsys=capsys)
        assert code == 2
        assert error_line(err) == (
            f"compactor: error: {MANIFEST}: entry \"docs/a\\u0000b.md\" holds a NUL byte; "
            "refusing to use this manifest (restore it from git history (git log -- PATH) or "
            "remove it)")
    watch.unchanged()


# -- line endings and sparse checkouts (reachable by accident) --------------------------------


def test_autocrlf_clone_keeps_the_inventory_fresh_and_crlf(
        repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo)
    assert run(repo.root, "inventory", capsys=capsys)[0] == 0
    inv = "docs/INVENTORY.md"
    repo.commit({inv: (repo.root / inv).read_text() + "\nHand-written notes.\n"})
    clone = tmp_path / "crlf"
    subprocess.run(["git", "clone", "-q", "-c", "core.autocrlf=true", str(repo.root), str(clone)],
                   check=True, capture_output=True)
    cloned = GitRepo(clone)
    cloned.git("config", "commit.gpgsign", "false")
    checked_out = (clone / inv).read_bytes()
    assert b"\r\n" in checked_out
    code, _out, err = run(clone, "inventory", "--check", capsys=capsys)
    assert code == 0, err
    cloned.stage({"docs/lanes/S006-deploy-widget.md": lane(6)})
    assert run(clone, "inventory", "--check", capsys=capsys)[0] == 1  # really stale now
    assert run(clone, "inventory", capsys=capsys)[0] == 0
    data = (clone / inv).read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n")  # one line ending, the file's own
    assert b"Hand-written notes.\r\n" in data
    assert run(clone, "inventory", "--check", capsys=capsys)[0] == 0
    # restore writes what git checkout would: CRLF here
    lane2 = clone / "docs/lanes/S002-deploy-widget.md"
    before = lane2.read_bytes()
    assert b"\r\n" in before
    cloned.git("add", "-A")
    cloned.git("commit", "-q", "--no-verify", "-m", "S006")
    assert run(clone, "compact", "--apply", "--branch", "tidy", capsys=capsys)[0] == 0
    cloned.git("checkout", "-q", "tidy")
    assert not lane2.exists()
    code, _out, err = run(clone, "restore", "S002", capsys=capsys)
    assert code == 0, err
    assert lane2.read_bytes() == before
    assert cloned.git("status", "--porcelain", "--", str(lane2)) == "?? docs/lanes/S002-deploy-widget.md\n"


def test_sparse_checkout_reads_the_inventory_from_the_index(
        repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo)
    assert run(repo.root, "inventory", capsys=capsys)[0] == 0
    inv = "docs/INVENTORY.md"
    repo.commit({inv: "# Our inventory\n\nHand-written, committed.\n\n"
                 + (repo.root / inv).read_text()})
    clone = tmp_path / "sparse"
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(repo.root), str(clone)],
                   check=True, capture_output=True)
    cloned = GitRepo(clone)
    cloned.git("sparse-checkout", "set", "--no-cone", "/docs/lanes/")
    cloned.git("checkout", "-q", "main")
    assert not (clone / inv).exists()
    code, _out, err = run(clone, "inventory", "--check", capsys=capsys)
    assert code == 0, err
    cloned.stage({"docs/lanes/S006-deploy-widget.md": lane(6)})
    assert run(clone, "inventory", "--check", capsys=capsys)[0] == 1
    assert run(clone, "inventory", capsys=capsys)[0] == 0
    text = (clone / inv).read_text()
    assert text.startswith("# Our inventory\n\nHand-written, committed.\n")  # nothing dropped
    assert "S006" in text


# -- attack review: hostile manifests, configs and YAML shapes --------------------------------


@pytest.mark.parametrize("data, problem", [
    (b'{"entries": {}, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    (b'{"version": 1, "entries": {}, "x": ' + b"1" * 5_000 + b"}",
     "holds a number too long to read"),
])
def test_a_manifest_json_reads_cannot_crash_any_command(
        repo: GitRepo, canary: Path, data: bytes, problem: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo)
    repo.commit({MANIFEST: data})
    repo.stage({"docs/lanes/S006-deploy-widget.md": lane(6)})
    watch = Watch(repo, canary)
    said = (f"{MANIFEST}: is not a compactor manifest ({problem}); restore it from git history "
            "(git log -- PATH) or remove it")
    for args in (("scan",), ("inventory", "--check"), ("report",)):
        code, _out, err = run(repo.root, *args, capsys=capsys)
        assert code in (0, 1) and "Traceback" not in err and "internal error" not in err
        assert f"compactor: warning: {said}; its folded lanes are not scanned" in err
    for args in (("check",), ("verify",), ("restore", "--all"), ("compact",)):
        code, _out, err = run(repo.root, *args, capsys=capsys)
        assert code == 2 and error_line(err) == f"compactor: error: {said}"
    watch.unchanged()


def test_a_manifest_path_cannot_put_a_line_of_its_own_in_the_output(
        repo: GitRepo, canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo)
    evil = "docs/x\n::error file=README.md,line=1::injected\n.md"
    repo.commit({MANIFEST: manifest({evil: {"action": "folded", "blob": "1" * 40,
                                            "location": "inventory"}})})
    watch = Watch(repo, canary)
    for args in (("scan",), ("inventory", "--check"), ("report",), ("verify",), ("compact",)):
        _code, out, err = run(repo.root, *args, capsys=capsys)
        lines = (out + err).splitlines()
        assert not [line for line in lines if line.lstrip().startswith("::")]
        assert any("docs/x\\n::error file=README.md,line=1::injected\\n.md" in line
                   for line in lines)
    watch.unchanged()


NESTED = [("flow", "[" * 5_000 + "]" * 5_000), ("mapping", "{a: " * 3_000 + "1" + "}" * 3_000)]


@pytest.mark.parametrize("shape, value", NESTED)
def test_deeply_nested_front_matter_is_refused_while_scanning(
        repo: GitRepo, canary: Path, shape: str, value: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    import time

    loop(repo, 1, 2, 3)
    # ruamel's scanner is quadratic in nesting depth: 10 such lanes took ~30 s before
    repo.stage({f"docs/lanes/S{n:03d}-deploy-widget.md": lane(n, action=f"deploy widget\nroute: "
                                                              f"{value}")
                for n in range(4, 14)})
    watch = Watch(repo, canary)
    start = time.monotonic()
    code, _out, err = run(repo.root, "check", "--no-cache", capsys=capsys)
    assert time.monotonic() - start < 8
    assert code == 1
    assert ("compactor: warning: docs/lanes/S004-deploy-widget.md: broken YAML front matter "
            "(nested over 50 levels); front matter ignored, body read as text") in err
    watch.unchanged()


def test_nesting_within_the_limit_still_reads(repo: GitRepo) -> None:
    from compactor.briefs import load_front_matter

    assert load_front_matter("a: " + "[" * 40 + "1" + "]" * 40)["a"] is not None
    deep = "".join("  " * i + f"k{i}:\n" for i in range(45)) + "  " * 45 + "v\n"
    assert "k0" in load_front_matter(deep)


LEVELS = ", ".join(["&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
                   + [f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)])


@pytest.mark.parametrize("name, text, message", [
    (".compactor.yaml", "threshold: " + "[" * 5_000 + "]" * 5_000 + "\n",
     ".compactor.yaml:1:61: cannot parse (nested over 50 levels); fix the YAML syntax"),
    (".compactor.yaml", f"threshold: [{LEVELS}]\n",
     ".compactor.yaml:1: option 'threshold' must be a number, got list [['lol', 'lol', 'lol', "
     "'lol', ...], [[...], [...], [...], [...], ...], [[...], [...], [...], [...], ...], "
     "[[...], [...], [...], [...], ...], ...]"),
    (".compactor.yaml", f"adjacent_mode: [{LEVELS}]\n",
     ".compactor.yaml:1: option 'adjacent_mode' must be one of block, warn, off, got "
     "[['lol', 'lol', 'lol', 'lol', ...], [[...], [...], [...], [...], ...], [[...], [...], "
     "[...], [...], ...], [[...], [...], [...], [...], ...], ...]"),
    (".compactor.yaml", "kind_rules: {? [[a], b] : [x]}\n",
     ".compactor.yaml: cannot read a value (unhashable type: 'list'); fix the YAML"),
    (".compactor.yaml", "seed: " + "9" * 5_000 + "\n",
     ".compactor.yaml: cannot read a value (Exceeds the limit (4300 digits) for integer string "
     "conversion: value has 5000 digits); fix the YAML"),
    (".compactor.yaml", '"a\\n::error::x": 1\n',
     ".compactor.yaml:1: unknown option 'a\\n::error::x'; known options: ack_max_words, …"),
    # a config is a few lines: one of 16 KB or more is refused before it is read as YAML
    # (ruamel reads ~50 KB of YAML a second: 100,000 guardrail fields, 0.9 MB, held every
    # command 40 s), and every glob, field and pattern costs each hook run time per file
    (".compactor.yaml", "guardrail_fields: " + json.dumps([f"f{k}" for k in range(100_000)])
     + "\n", ".compactor.yaml: is over 16,000 bytes; a config is a few lines"),
    (".compactor.yaml", "include: " + json.dumps([f"**/x{k}*.md" for k in range(101)])
     + "\n", ".compactor.yaml:1: option 'include' has 101 entries; at most 100 are allowed"),
    (".compactor.yaml", "guardrail_fields: " + json.dumps([f"f{k}" for k in range(101)])
     + "\n", ".compactor.yaml:1: option 'guardrail_fields' has 101 entries; at most 100 are "
     "allowed"),
    (".compactor.yaml", "kind_rules: {closeout: " + json.dumps([f"x{k}$" for k in range(101)])
     + "}\n", ".compactor.yaml:1: option 'kind_rules.closeout' has 101 entries; at most 100 "
     "are allowed"),
    (".compactor.yaml", "lane_pattern: '(?:" + "|".join(f"w{k}" for k in range(1_000))
     + ")(\\d+)'\n", ".compactor.yaml:1: option 'lane_pattern' has an entry of 4,898 "
     "characters; at most 2,000 are allowed"),
    (".compactor.yaml", "max_file_bytes: 100000000\n", ".compactor.yaml:1: option "
     "'max_file_bytes' must be between 0 and 16777216, got 100000000"),
    ("pyproject.toml", "[tool.compactor]\ninclude = " + json.dumps(["**/*.md"] * 101) + "\n",
     "pyproject.toml [tool.compactor]: option 'include' has 101 entries; at most 100 are "
     "allowed"),
    ("pyproject.toml", "[tool.compactor]\nthreshold = " + "[" * 5_000 + "]" * 5_000 + "\n",
     "pyproject.toml: cannot read it (nested too deeply); fix the TOML"),
    ("pyproject.toml", "[tool.compactor]\nseed = " + "9" * 5_000 + "\n",
     "pyproject.toml: cannot read it (Exceeds the limit (4300 digits) for integer string "
     "conversion: value has 5000 digits); fix the TOML"),
])
def test_a_hostile_config_is_one_line_fast(repo: GitRepo, canary: Path, name: str, text: str,
                                           message: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import time

    loop(repo, 1, 2)
    repo.commit({name: text})
    repo.stage({"docs/lanes/S003-deploy-widget.md": lane(3)})
    watch = Watch(repo, canary)
    start = time.monotonic()
    code, _out, err = run(repo.root, "check", capsys=capsys)
    assert time.monotonic() - start < 6  # an alias chain printed whole never ends
    assert code == 2
    if message.endswith("…"):
        assert error_line(err).startswith(f"compactor: error: {message[:-1]}")
    else:
        assert error_line(err) == f"compactor: error: {message}"
    watch.unchanged()


def test_a_pyproject_whose_tool_is_not_a_table_has_no_config(
        repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo, 1, 2)
    repo.commit({"pyproject.toml": "tool = 3\n"})
    code, _out, err = run(repo.root, "scan", capsys=capsys)
    assert code == 0 and err == ""


@pytest.mark.parametrize("template", [
    "{{ '%0999999999d' % 1 }}",
    "{{ 'x'|center(999999999) }}",
    "{{ 'a'|indent(999999999) }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ '{:{w}}'.format(1, w=999999999) }}",
    "{{ 'x'.ljust(999999999) }}",
    "{{ '%*d' % (999999999, 1) }}",
    "{{ '%09999999d'|format(1) }}",
])
def test_a_template_cannot_pad_a_field_to_a_giant_width(
        template: str, repo: GitRepo, canary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo, 1, 2)
    repo.commit({".compactor.yaml": "template: docs/inv.j2\n", "docs/inv.j2": template + "\n"})
    watch = Watch(repo, canary)
    for args in (("inventory",), ("inventory", "--check")):
        code, _out, err = run(repo.root, *args, capsys=capsys)
        assert code == 2 and error_line(err).startswith(
            "compactor: error: docs/inv.j2: template refused by the sandbox (")
        assert "over 10,000 in a template" in error_line(err)
    watch.unchanged()


def test_a_template_cannot_write_a_giant_inventory(repo: GitRepo, canary: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    loop(repo, 1, 2)
    repo.commit({".compactor.yaml": "template: docs/inv.j2\n",  # 70 x 1 MB: past the 64 MiB cap
                 "docs/inv.j2": "{% for i in range(70) %}{{ 'x' * 1000000 }}{% endfor %}\n"})
    watch = Watch(repo, canary)
    for args in (("inventory",), ("inventory", "--check")):
        code, _out, err = run(repo.root, *args, capsys=capsys)
        assert code == 2 and error_line(err) == (
            "compactor: error: docs/inv.j2: template wrote over 67,108,864 characters; "
            "simplify it")
    watch.unchanged()


# -- the restatement leg (restate.py): its evidence, its cache, names it reads ----------------

def _restated_burst(esc: str = "") -> dict[str, str]:
    from tests.test_restate import BURST, OTHERS

    return {p: t.replace("a1b2c3d", "a1b2c3d" + esc).replace("timeout=5", "timeout=5" + esc)
            for p, t in {**OTHERS, **BURST}.items()}


def test_restatement_evidence_is_printed_with_control_characters_escaped(
        repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    """Shared facts are a doc's own text (code spans hold anything but a backtick): an
    escape that sets the terminal's title, clears it or reverses the line prints as text."""
    esc = "\x1b]0;owned\x07\x1b[2J\x1b[31m\u202e"
    repo.commit(_restated_burst(esc), when=T0)
    code, out, err = run(repo.root, "scan", capsys=capsys)
    assert code == 0 and "restatement" in out and "shared facts: " in out
    assert all(c.isprintable() for line in out.splitlines() for c in line), out
    assert "\\x1b]0;owned\\x07" in out  # shown, escaped
    code, out, err = run(repo.root, "scan", "--explain", "docs/WS_FIX_QUICK_REFERENCE.md",
                         capsys=capsys)
    assert code == 0 and "linked as a restatement" in out
    assert all(c.isprintable() for line in out.splitlines() for c in line), out
    data = json.loads(run(repo.root, "scan", "--format", "json", capsys=capsys)[1])
    facts = [f for fam in data["families"] for link in fam["links"] for f in link.get("facts", [])]
    assert any(esc in f for f in facts)  # JSON keeps the text as it is (escaped by JSON)


def _poison_restated(root: Path, change: str) -> int:
    """Rewrite the cached restatement links of ``root`` (a valid CRC, a foreign value)."""
    import marshal
    import sqlite3
    import zlib

    db = sqlite3.connect(root / ".git" / "compactor" / "cache-v1.sqlite")
    changed = 0
    for key, data in db.execute("SELECT key, data FROM blobs").fetchall():
        try:
            value = marshal.loads(data)
        except (ValueError, EOFError, TypeError):
            continue
        if type(value) is not list or not value or type(value[0]) is not tuple or len(value[0]) != 5:
            continue
        a, b, score, facts, terms = value[0]
        new = {"foreign": [("docs/NOPE.md", "docs/ALSO_NOPE.md", 0.9, ("x",), ("y",))],
               "self": [(a, a, 0.9, facts, terms)],
               "nan": [(a, b, float("nan"), facts, terms)],
               "inf": [(a, b, float("inf"), facts, terms)]}[change]
        blob = marshal.dumps(new)
        db.execute("UPDATE blobs SET data=?, crc=? WHERE key=?", (blob, zlib.crc32(blob), key))
        changed += 1
    db.commit()
    db.close()
    return changed


@pytest.mark.parametrize("change", ["foreign", "self", "nan", "inf"])
def test_a_damaged_restatement_cache_value_is_found_again(
        change: str, repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit(_restated_burst(), when=T0)
    code, before, _ = run(repo.root, "scan", capsys=capsys)
    assert code == 0 and "restatement" in before
    assert _poison_restated(repo.root, change) == 1
    code, after, err = run(repo.root, "scan", capsys=capsys)
    assert code == 0 and "Traceback" not in err and after == before


def test_names_of_many_digits_or_zeros_are_read_fast_and_without_error(
        repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    """A title is any length: a number past int()'s 4,300 digits, and a letter before
    80,000 zeros (a quadratic backtrack in the step pattern), in the restatement leg."""
    import time

    files = _restated_burst()
    files["docs/big.md"] = f"# Cycle {'7' * 5000}\n\n" + files["docs/WEBSOCKET_FIX_SUMMARY.md"]
    files["docs/zeros.md"] = f"# a{'0' * 80_000}x\n\n" + files["docs/WEBSOCKET_FIX_READY.md"]
    files["docs/zeros2.md"] = f"# ab-{'0' * 80_000}\n\n" + files["docs/WS_FIX_QUICK_REFERENCE.md"]
    repo.commit(files, when=T0)
    start = time.monotonic()
    code, out, err = run(repo.root, "scan", "--no-cache", capsys=capsys)
    assert code == 0 and err == "" and "internal error" not in out
    assert time.monotonic() - start < 10  # quadratic: minutes


def test_a_file_name_with_a_terminal_escape_is_escaped_in_family_ids_and_spans(
        repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    """A restatement named with an escape sequence (git allows any byte but NUL and '/')
    heads its family: its id and the family's span print escaped."""
    files = _restated_burst()
    files["docs/A\x1b]0;pwn\x07_WS_FIX.md"] = files.pop("docs/WEBSOCKET_FIX_READY.md")
    repo.commit(files, when=T0)
    code, out, _ = run(repo.root, "scan", capsys=capsys)
    assert code == 0 and "family A\\x1b]0;pwn\\x07_WS_FIX: " in out, out
    assert all(c.isprintable() for line in out.splitlines() for c in line), out


# -- docs about docs (subjects.py): leads and names the gate reads -----------------------------

def _dense_lead(n: int) -> str:
    """A lead of thirteen lines, each 100 mentions of the series' noun and a step (``x#1``)."""
    line = ("x#1 " * 100)[:400]
    return f"# x #{n - 1}\n\n" + "\n".join([line] * 14) + "\n"


def test_a_lead_dense_with_nouns_and_steps_is_read_in_linear_time(
        repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    """Each mention of a series' noun belongs to the nearest cited step: a line of 100
    nouns and 100 steps was 10,000 gaps counted word by word (1.2 s a lead; a PR of 100
    such docs held the gate two minutes)."""
    import time

    repo.commit({f"docs/x_pr_{n}.md": _dense_lead(n) for n in (1, 2, 3)}, when=T0)
    repo.commit({f"docs/x_pr_{n}.md": _dense_lead(n) for n in range(4, 12)}, when=T0 + 600)
    start = time.monotonic()
    code, out, err = run(repo.root, "check", "--range", "HEAD~1..HEAD", capsys=capsys)
    assert time.monotonic() - start < 5  # was ~40 s
    assert code == 1 and "Traceback" not in err and "docs about docs" in out


def _cited_pairwise(line: str, noun: re.Pattern[str], step: re.Pattern[str]) -> list[int]:
    """subjects._cited as every (noun, step) pair: the reference the fast one must equal."""
    from compactor.subjects import _WORDS, NOUN_GAP

    out = []
    steps = [(m.span(), int(m.group(1))) for m in step.finditer(line)]
    for a, b in (m.span() for m in noun.finditer(line)):
        best: tuple[int, int] | None = None
        for (c, d), n in steps:
            gap = line[b:c] if c >= b else line[d:a] if d <= a else ""
            if len(_WORDS.findall(gap)) <= NOUN_GAP and (best is None or max(c - b, a - d, 0) < best[0]):
                best = (max(c - b, a - d, 0), n)
        if best is not None:
            out.append(best[1])
    return out


def test_the_nearest_cited_step_is_the_pairwise_answer() -> None:
    import random

    from compactor import subjects

    rng = random.Random(7)
    for path in ("docs/x_pr_9.md", "docs/PR_982_MERGE_LOG.md", "cycle-9-report.md"):
        step = subjects.step_of(path)
        assert step is not None
        pats = subjects._patterns(step.series)
        assert pats.noun is not None and pats.step is not None
        pieces = ["x", "merge log", "log", "Merge-Log", "PR", "pr #", "#", "1", "98", "&#4", " ",
                  "cycle 7 report", "report", "  ", "a b", "c", "-", ".", ":", "12:18", "x#3", "#0"]
        for _ in range(3000):
            line = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
            assert subjects._cited(line, pats.noun, pats.step) == _cited_pairwise(
                line, pats.noun, pats.step), line


def test_a_change_adding_docs_of_many_series_reads_each_name_once(
        repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    """Each added doc with a step asks for its series: 2,500 docs each of a series of its
    own were 2,500 searches of every path (quadratic: 20,000 such docs, minutes)."""
    import itertools
    import string
    import time

    repo.commit({"docs/README.md": "# Readme\n\nhello\n"}, when=T0)
    words = ("".join(w) for w in itertools.product(string.ascii_lowercase, repeat=3))
    repo.commit({f"docs/{w}-1.md": f"# {w}\n" for w, _ in zip(words, range(2500), strict=False)},
                when=T0 + 600)
    start = time.monotonic()
    code, out, err = run(repo.root, "check", "--range", "HEAD~1..HEAD", capsys=capsys)
    assert time.monotonic() - start < 4  # was ~6 s
    assert code == 0 and "Traceback" not in err


def test_every_series_at_once_is_each_series_alone() -> None:
    import random

    from compactor import subjects

    rng = random.Random(5)
    words = ["pr", "merge", "log", "s", "wave", "cycle", "a"]
    paths = []
    for _ in range(600):
        parts = [rng.choice(words) for _ in range(rng.randint(0, 2))]
        parts.insert(rng.randint(0, len(parts)), rng.choice(["", "s"]) + str(rng.randint(0, 30)))
        paths.append(rng.choice(["", "docs/"]) + rng.choice("_- ").join(parts) + rng.choice([".md", ".MD", ""]))
    written = [rng.randint(0, 5) for _ in paths]
    every = subjects.by_series(paths, written)
    assert len(every) > 20
    for series, found in every.items():
        alone = subjects.members(paths, written, series)
        assert list(found.items()) == list(alone.items())  # the same docs, in the same order


def test_a_series_name_and_a_lead_with_terminal_escapes_print_escaped(repo: GitRepo) -> None:
    """The docs-about-docs evidence names the series (from file names: any byte but NUL
    and '/') and quotes the lead line (a doc's text): an escape that clears the screen
    or a bidi override must reach the terminal as text. (click strips some escapes when
    the output is no terminal: the rendered text is what a terminal gets.)"""
    from compactor.check import render_text, run_check
    from compactor.config import Config
    from compactor.git import Repo
    from compactor.render import explain_data, explain_text
    from tests.test_check import about_log, ordinary_log

    esc = "\x1b[H\x1b[J"  # no digit: the name keeps one number, its step

    def path(n: int) -> str:
        return f"docs/merge_logs/PR_{n}_MERGE_LOG{esc}x.md"

    def about(n: int) -> str:
        return about_log(n, n - 1, 1).replace("link it from the index.",
                                               "link it from the index.\u202e\x9b")

    repo.commit({path(n): ordinary_log(n, n) for n in range(1, 6)}, when=T0)
    repo.commit({path(6): about(6)}, when=T0 + 600)
    repo.commit({path(7): about(7)}, when=T0 + 1200)
    result = run_check(Repo(repo.root), Config(), rev_range="HEAD~1..HEAD")
    text = render_text(result)
    assert "docs about docs" in text and "series PR_#_MERGE_LOG\\x1b[H\\x1b[JX in a row" in text
    assert all(c.isprintable() for line in text.splitlines() for c in line), text
    scan = repo.scan()
    shown = explain_text(explain_data(Repo(repo.root), scan, path(7)))
    assert "series PR_#_MERGE_LOG\\x1b[H\\x1b[JX" in shown
    assert all(c.isprintable() for line in shown.splitlines() for c in line), shown


def test_a_lane_that_spells_the_line_break_word_is_judged(
        repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    """The gate masks a whole doc at once with a word standing for each line break: a doc
    holding that word (any case) was more line breaks than lines (exit 3)."""
    loop(repo)
    forged = lane(6).replace("## Proof", "QXQLINEBREAKQXQ qxqlinebreakqxq\nqxqlinebreakqxq\n\n## Proof")
    repo.stage({"docs/lanes/S006-deploy-widget.md": forged})
    code, out, err = run(repo.root, "check", capsys=capsys)
    assert code == 1 and "Traceback" not in err and "BLOCKED docs/lanes/S006-deploy-widget.md" in out


# -- template instances kept apart (families.own_content) -------------------------------------

def test_the_members_a_template_instance_is_kept_apart_from_are_found_when_asked() -> None:
    """Every scan keeps, for each template instance, the members it is no link to (for
    ``scan --explain``): for all of them at once that was the square of the family's size
    (20,000 instances of one template in a repo: 400 million entries, minutes and GBs)."""
    import time

    from compactor.families import Apart

    big = tuple(range(20_000))
    start = time.monotonic()
    kept = Apart(frozenset(big), frozenset({(3, 7)}), (big,)).kept_from()
    assert len(kept) == 20_000 and 5 in kept and 20_000 not in kept
    assert time.monotonic() - start < 1  # was minutes
    assert kept[3] == tuple(j for j in big if j not in (3, 7))
    small = Apart(frozenset({1, 2, 4, 8, 9}), frozenset({(1, 4)}), ((1, 2, 4), (8, 9)))
    assert dict(small.kept_from()) == {1: (2,), 2: (1, 4), 4: (2,), 8: (9,), 9: (8,)}


def test_many_lanes_of_one_family_in_one_change_compile_no_pattern_each(
        repo: GitRepo, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A change adding N lanes of one family judges each against the lanes before it: a
    names pattern compiled per lane (of up to N names) and a Python sort of all of them
    made the gate quadratic (1,000 merge logs in one range: 28 s; 20,000, hours). With no
    proof or output to search, no pattern is compiled at all."""
    import compactor.check

    compiled = []
    real = compactor.check.names_pattern
    monkeypatch.setattr(compactor.check, "names_pattern",
                        lambda words: compiled.append(1) or real(words))
    loop(repo)
    repo.commit({f"docs/lanes/S{n:03d}-deploy-widget.md": lane(n) for n in range(6, 66)},
                when=T0 + 600)
    code, out, err = run(repo.root, "check", "--range", "HEAD~1..HEAD", capsys=capsys)
    assert code == 1 and "adds 60 lanes; 60 blocked" in out and compiled == []


# -- scan --explain PATH and cache keys of creation times (attack review, 2026-11-30) ----------

def test_explain_through_a_committed_symlink_loop_is_an_input_error(
        repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    """``scan --explain`` resolves an absolute PATH's folders: a repo may commit a symlink
    loop (a -> b, b -> a), and resolving a path through it raised (exit 3, 'internal
    error') instead of saying the path is no scanned doc."""
    loop(repo)
    commit_link(repo, "a", "b")
    commit_link(repo, "b", "a")
    code, out, err = run(repo.root, "scan", "--explain", str(repo.root / "a" / "S001.md"),
                         capsys=capsys)
    assert code == 2 and out == ""
    assert "a/S001.md: not a scanned doc" in error_line(err)
    code, out, err = run(repo.root, "scan", "--explain",
                         str(repo.root / "docs" / "lanes" / "S001-deploy-widget.md"),
                         capsys=capsys)
    assert code == 0 and "docs/lanes/S001-deploy-widget.md" in out


def _note(topic: str, k: int) -> str:
    words = [f"{topic}{(k * 7 + j * 3) % 23}" for j in range(90)]
    return f"---\nkind: brief\n---\n# Notes on {topic} {k}\n\n" + " ".join(words) + "\n"


@pytest.mark.parametrize("staged", ["docs/notes/fresh-status.md", "docs/lanes/S001-deploy-widget.md"])
def test_a_staged_doc_adds_no_cache_rows_each_run(repo: GitRepo, staged: str) -> None:
    """The shape leg's components and the restatement leg's links are cached under keys of
    the docs' creation times; a staged doc's time is the time of the run. With such a doc
    in the index every hook run (a blocked commit retried, `compactor scan` while editing)
    stored new rows that no later run could read: the cache grew without bound. A staged
    lane (it declares a run) is paired with the docs that do not by its time too."""
    import sqlite3

    repo.commit({f"docs/notes/{t}-{k}.md": _note(t, k)
                 for t in ("cache", "queue", "index") for k in range(2)}, when=T0)
    repo.stage({staged: _note("queue", 5) if "notes" in staged else lane(1)})
    db = repo.root / ".git" / "compactor" / "cache-v1.sqlite"

    def rows() -> int:
        con = sqlite3.connect(db)
        try:
            return int(con.execute("SELECT count(*) FROM blobs").fetchone()[0])
        finally:
            con.close()

    counts = []
    for k in range(4):  # four runs, minutes apart (the staged doc's time moves with them)
        scan = repo.scan(now=T0 + 3600 + 60 * k)
        assert staged in [b.path for b in scan.briefs]
        counts.append(rows())
    assert counts[1] == counts[2] == counts[3], counts  # was +2 rows a run


def test_a_reworded_loop_cannot_hide_as_entry_pages(repo: GitRepo) -> None:
    """A folder's README.md / index.md is no restatement of the reports written against it;
    but two entry pages that announce one state again are. A loop that put each reworded
    lap in a folder of its own as README.md was never linked (and the gate passed it)."""
    from test_restate import OTHERS, reworded_status

    repo.commit(OTHERS, when=T0)
    paths = []
    for k in range(4):
        path = f"docs/status/lap-{k}/{'README' if k % 2 else 'index'}.md"
        repo.commit({path: reworded_status(k)[1]}, when=T0 + 600 * (k + 1))
        paths.append(path)
    scan = repo.scan()
    fams = {scan.decisions[scan.index(p)].family for p in paths}
    assert len(fams) == 1 and None not in fams, fams


@pytest.mark.parametrize("where", ["a-file/demo", "locked/demo"])
def test_demo_where_it_cannot_write_is_an_input_error(
        tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``compactor demo DIR`` under a file, or in a folder it may not write, was an
    internal error (exit 3, NotADirectoryError / PermissionError); now it says so (exit 2)
    and writes nothing."""
    (tmp_path / "a-file").write_text("mine\n")
    (tmp_path / "locked").mkdir(mode=0o500)
    if os.access(tmp_path / "locked", os.W_OK) and where.startswith("locked"):
        pytest.skip("running as a user who may write anywhere (root)")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["demo", str(tmp_path / where)])
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and out == ""
    assert f"{tmp_path / where}: cannot make the demo repo there" in error_line(err)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a-file", "locked"]


def test_a_loop_cannot_space_its_laps_apart_with_commit_date(repo: GitRepo) -> None:
    """Near-copies without lane ids written more than a day apart are no family (the pause
    rule), so a doc's creation time is its commit's committer time, which the hook stamps a
    staged doc with too: with author times, ``git commit --date`` two days back on every
    lap got every lap past the hook."""
    def lap(action: str) -> str:  # a renamed copy declaring no run (no lane id, no action:)
        return (f"# {action.title()} status\n\n## Scope\n\nCheck the route, verify the "
                "session and record the tenant for the envelope. Re-run the replay harness "
                "against staging and compare the ledger totals with the audited baseline "
                f"before closing the slice of {action}.\n\n## Proof\n\nThe harness printed "
                "matching totals; the audit trail shows no drift.\n")

    actions = ["approve invoice", "cancel vendor", "flag invoice", "void invoice",
               "reopen ticket", "close account"]
    outcomes = []
    for k, action in enumerate(actions):
        now = T0 + 600 * k
        repo.stage({f"docs/status/{action.replace(' ', '-')}-status.md": lap(action)})
        outcomes.append(run_compactor("check", "--now", str(now), cwd=repo.root).code)
        repo.git("commit", "-q", "--no-verify", "-m", "lap",
                 env={"GIT_AUTHOR_DATE": f"{T0 - 2 * 86_400} +0000",
                      "GIT_COMMITTER_DATE": f"{now} +0000"})
    assert outcomes[-2:] == [1, 1], outcomes


def test_a_name_the_manifest_refuses_is_not_compacted(repo: GitRepo,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A lane whose file name holds a backslash (a plain character to git, a folder
    separator to the manifest's rule) stays in place: folded, it made a manifest that
    `verify` and `restore` refuse (exit 2) — a compacted branch no CI could pass."""
    loop(repo)
    odd = "docs/lanes/S006 deploy\\widget.md"
    repo.commit({odd: lane(6), "docs/acks/ack\\1.md": "ACK, proceed with the next bounded slice.\n"},
                when=T0 + 60)
    code, out, _err = run(repo.root, "scan", "--explain", odd, capsys=capsys)  # was exit 2
    assert code == 0 and out.startswith(f"{odd}\n  kind brief: it has a lane id (S006)\n")
    code, _out, err = run(repo.root, "compact", "--apply", "--branch", "tidy", capsys=capsys)
    assert code == 0
    assert "S006 deploy\\widget.md: left in place" in err
    assert "ack\\1.md: left in place" in err
    tree = repo.git("ls-tree", "-r", "--name-only", "-z", "tidy").split("\0")
    assert odd in tree and "docs/acks/ack\\1.md" in tree
    assert "docs/lanes/S002-deploy-widget.md" not in tree  # the plain laps were folded
    assert run(repo.root, "verify", "--rev", "tidy", capsys=capsys)[0] == 0
    repo.git("checkout", "-q", "tidy")
    assert run(repo.root, "restore", "--all", capsys=capsys)[0] == 0
    assert (repo.root / "docs/lanes/S002-deploy-widget.md").read_text() == lane(2)


@pytest.mark.parametrize("layout", ["docs/status/lap-{k}/README.md", "docs/status/lap-{k}.md",
                                    "docs/status/{slug}/status.md"])
def test_renamed_copies_cannot_hide_their_action_behind_a_shared_name(
        repo: GitRepo, layout: str) -> None:
    """The action a doc covers is masked as its label, read from its file name. A loop that
    wrote each renamed copy under a name every lap shares (a folder's README.md, lap-3.md,
    <action>/status.md) had that name as its label ('readme', 'lap', 'status'): the action in
    its body counted as a fact of its own, each lap whose action used new words was
    'distinct' and broke the run of near-copies (benchmarks/evasions.py A6-A8: never
    refused). An entry page's label comes from its title; a label two members of a family
    share masks the title's words too."""
    def lap(action: str) -> str:
        return (f"# {action.title()} status\n\n## Scope\n\nCheck the route, verify the "
                "session and record the tenant for the envelope. Re-run the replay harness "
                "against staging and compare the ledger totals with the audited baseline "
                f"before closing the slice of {action}.\n\n## Proof\n\nThe harness printed "
                "matching totals; the audit trail shows no drift.\n")

    repo.commit({"docs/README.md": "# Docs\n\nWhere the status notes live.\n"}, when=T0)
    actions = ["approve invoice", "rotate keys", "tune cache", "pin session", "drain queue",
               "seal envelope", "sweep routes"]
    outcomes = []
    for k, action in enumerate(actions):
        now = T0 + 600 * (k + 1)
        repo.stage({layout.format(k=k, slug=action.replace(" ", "-")): lap(action)})
        outcomes.append(run_compactor("check", "--now", str(now), cwd=repo.root).code)
        repo.commit({}, when=now)
    assert outcomes[4:] == [1, 1, 1], outcomes


@pytest.mark.parametrize("value", [".compactor.yaml", ".pre-commit-config.yaml",
                                   ".github/workflows/ci.yml", "scripts/build.sh", "Makefile"])
def test_the_inventory_is_never_a_file_that_is_not_markdown(
        repo: GitRepo, canary: Path, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """compactor adds its generated block (text from the briefs: titles, labels, claims) to
    the inventory. A config naming its own file made the fixer hook break the config (every
    command exit 2 after it); naming a script or a workflow put the briefs' text where
    something runs it. The inventory must be a markdown file."""
    loop(repo)
    files = {".compactor.yaml": f"inventory: {value}\n"}
    if value != ".compactor.yaml":
        files[value] = "#!/bin/sh\necho build\n"
    repo.commit(files)
    watch = Watch(repo, canary)
    for args in (("inventory",), ("inventory", "--exit-non-zero-on-fix"), ("inventory", "--check"),
                 ("check",), ("compact", "--apply")):
        code, _out, err = run(repo.root, *args, capsys=capsys)
        assert code == 2
        assert error_line(err) == (f"compactor: error: .compactor.yaml:1: option 'inventory' "
                                   f"must be a markdown file (.md), got {value!r}")
    watch.unchanged()


@pytest.mark.parametrize("name", ["S006-" + "x" * 245 + ".md", "S006-" + "\u00e9" * 123 + ".md"])
def test_a_name_near_the_file_system_limit_is_restored(repo: GitRepo, name: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """git holds names of up to 255 bytes. Every write goes through a temp file beside the
    target, which was named after the whole name plus 14 characters: `restore` of a folded
    lane named 242-255 bytes stopped with 'File name too long' and could not go on."""
    assert len(name.encode()) <= 255
    loop(repo)
    path = f"docs/lanes/{name}"
    repo.commit({path: lane(6)}, when=T0 + 60)
    assert run(repo.root, "compact", "--apply", "--branch", "tidy", capsys=capsys)[0] == 0
    assert path not in repo.git("ls-tree", "-r", "--name-only", "-z", "tidy").split("\0")
    repo.git("checkout", "-q", "tidy")
    assert run(repo.root, "restore", "--all", capsys=capsys)[0] == 0
    assert (repo.root / path).read_text() == lane(6)
    assert sorted(p.name for p in (repo.root / "docs/lanes").iterdir()
                  if p.name.endswith(".tmp")) == []


def test_restore_of_a_path_past_the_systems_limit_is_an_input_error(
        repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    """git holds paths of any length; the file system does not (PATH_MAX). A folded lane
    whose path is longer (committed with plumbing) made `restore` an internal error (exit 3,
    OSError 'File name too long' while it looked at what was in the way)."""
    loop(repo)
    deep = "docs/" + "/".join(["d" * 200] * 25) + "/S006-deploy-widget.md"
    repo.git("update-index", "--add", "--cacheinfo", f"100644,{blob(repo, lane(6).encode())},{deep}")
    repo.commit({}, when=T0 + 60)
    assert run(repo.root, "compact", "--apply", "--branch", "tidy", capsys=capsys)[0] == 0
    before = repo.state()
    code, _out, err = run(repo.root, "restore", "--all", "--rev", "tidy", capsys=capsys)
    assert code == 2
    assert error_line(err).endswith(
        "/S006-deploy-widget.md: cannot read what is there (File name too long); nothing was "
        "restored")
    assert repo.state() == before


@pytest.mark.parametrize("in_the_way, code", [
    ("docs/archive/docs/acks/ack-1.md/inner.md", 0),  # files under an archived copy's path
    ("docs/archive/docs", 0),  # a file where a folder of an archived copy should be
    ("docs/archive/compactor-manifest.json/x.md", 2),  # ... of the manifest
    ("docs/INVENTORY.md/x.md", 2),  # ... of the inventory
])
def test_compact_never_drops_a_file_in_the_way_of_what_it_writes(
        repo: GitRepo, in_the_way: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    """git's index replaces a file by a folder (and a folder by a file) without a word: a
    committed file where compaction put an archived ACK, the manifest or the inventory was
    missing from the compaction commit, in no manifest entry, and `verify` passed. Now an
    ACK in such a place stays where it is (a warning), and a manifest or inventory path
    taken is refused (exit 2) before anything is written."""
    loop(repo)
    repo.commit({"docs/acks/ack-1.md": "ACK, proceed with the next bounded slice.\n",
                 in_the_way: "# mine\n\nkeep me\n"}, when=T0 + 60)
    got, _out, err = run(repo.root, "compact", "--apply", "--branch", "tidy", capsys=capsys)
    assert got == code
    if code == 2:
        assert "is in the way" in error_line(err)
        assert "tidy" not in repo.git("branch", "--list", "tidy")
    else:
        assert f"{in_the_way} is in the way of its archived copy" in err
        tree = repo.git("ls-tree", "-r", "--name-only", "-z", "tidy").split("\0")
        assert in_the_way in tree and "docs/acks/ack-1.md" in tree
        assert "docs/lanes/S002-deploy-widget.md" not in tree  # the lanes were still folded
