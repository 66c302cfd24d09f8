"""Hostile repositories through every compactor command (the attack review's sweep).

    python benchmarks/hostile_sweep.py [SCENARIO ...]     (prefix* selects several: cfg*)

Builds small hostile repos in a temp dir (file names with newlines, escapes, backslashes,
look-alikes, NFC/NFD and case twins, 250-byte names; invalid UTF-8, NUL bytes, a 20 MB
doc, deep nesting, wide tables; front matter bombs, tags, duplicate keys, lists and
scalars; ~70 hostile configs; symlinks out of the tree and into .git; submodules; odd
commit dates and messages; files gone from the work tree; a merge in progress; hostile
manifests) and runs every command on each with a 60 s timeout. A line is flagged (!!)
on an exit code outside 0/1/2, a traceback, a read-only command that changed the work
tree or .git (outside objects, logs and compactor's cache), a write outside the repo (a
canary directory beside it), or a run over 20 s. ``many_tiny`` (50,000 docs) runs only
when named. Texts are invented here; nothing from any corpus.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CMP = [sys.executable, "-m", "compactor"]
TOP = Path(tempfile.mkdtemp(prefix="hostile-sweep-")) / "repos"
T0 = 1_790_000_000
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "COMPACTOR"))}
ENV.update(
    GIT_AUTHOR_NAME="a",
    GIT_AUTHOR_EMAIL="a@x.invalid",
    GIT_COMMITTER_NAME="a",
    GIT_COMMITTER_EMAIL="a@x.invalid",
    GIT_CONFIG_NOSYSTEM="1",
    NO_COLOR="1",
)


def lane(n, action="deploy widget", fm_extra=""):
    return (
        f"---\nlane: S{n:03d}\naction: {action}\n{fm_extra}---\n# S{n:03d} {action}\n\n"
        "## Scope\n\nCheck the route, verify the session and record the tenant for the "
        "envelope. Re-run the replay harness against the staging cluster and compare the "
        "ledger totals with the audited baseline before closing the slice.\n\n"
        "## Proof\n\nThe harness printed matching totals; the audit trail shows no drift.\n"
    )


def git(root, *args, env=None, check=True, input=None):
    e = dict(ENV)
    e.update(env or {})
    p = subprocess.run(["git", "-C", str(root), *args], capture_output=True, env=e, input=input)
    if check and p.returncode:
        raise RuntimeError(f"git {args}: {p.stderr.decode(errors='replace')}")
    return p.stdout.decode(errors="replace")


def new_repo(name):
    root = TOP / name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "commit.gpgsign", "false")
    return root


def write(root, files):
    for path, data in files.items():
        p = root / path
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, tuple) and data[0] == "link":
            if p.is_symlink() or p.exists():
                p.unlink()
            os.symlink(data[1], p)
        elif isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data, encoding="utf-8")


def commit(root, files, when, msg="docs", dates=None):
    """Commit FILES at time WHEN (or at DATES: author and committer date strings)."""
    write(root, files)
    git(root, "add", "-A")
    author, committer = dates or (f"@{when} +0000", f"@{when} +0000")
    git(
        root,
        "-c",
        "maintenance.auto=false",
        "commit",
        "-q",
        "--no-verify",
        "--allow-empty",
        "-m",
        msg,
        env={"GIT_AUTHOR_DATE": author, "GIT_COMMITTER_DATE": committer},
    )


def base_loop(root, n=6):
    commit(root, {f"docs/lanes/S{k:03d}-deploy-widget.md": lane(k) for k in range(1, n)}, T0)
    commit(root, {"docs/acks/ack-1.md": "ACK, proceed with the next bounded slice.\n"}, T0 + 60)


def snap(top, skip=()):
    out = {}
    for dp, dns, fns in os.walk(top):
        rel = os.path.relpath(dp, top)
        dns[:] = [d for d in dns if os.path.normpath(os.path.join(rel, d)) not in skip]
        for n in dns + fns:
            full = os.path.join(dp, n)
            r = os.path.normpath(os.path.join(rel, n))
            st = os.lstat(full)
            if os.path.islink(full):
                out[r] = "link " + os.readlink(full)
            elif os.path.isdir(full):
                out[r] = "dir"
            else:
                with open(full, "rb") as fh:
                    out[r] = f"{st.st_mode:o} " + hashlib.sha1(fh.read()).hexdigest()
    return out


CANARY = TOP.parent / "canary"


def state(root):
    s = {("w", k): v for k, v in snap(root, skip=(".git",)).items()}
    s.update({("g", k): v for k, v in snap(root / ".git", skip=("objects", "compactor", "logs")).items()})
    s.update({("c", k): v for k, v in snap(CANARY).items()})
    s.update({("tmp", k): "x" for k in os.listdir(root.parent) if k != root.name})
    return s


READONLY = {"scan", "check", "report", "verify", "cache", "compact"}  # compact w/o --apply


def family_id(root):
    p = subprocess.run([*CMP, "-C", str(root), "scan", "--format", "json"], capture_output=True, env=ENV, timeout=120)
    try:
        fams = json.loads(p.stdout)["families"]
        return fams[0]["id"] if fams else "S001"
    except Exception:
        return "S001"


def first_doc(root):
    out = git(root, "ls-files", "-z").split("\0")
    docs = [d for d in out if d.endswith(".md")]
    return docs[-1] if docs else "README.md"


FINDINGS = []


def run_cmds(name, root, extra_cmds=(), cmds=None, timeout=60):
    fam = family_id(root)
    doc = first_doc(root)
    has2 = git(root, "rev-list", "--count", "HEAD", check=False).strip() not in ("", "0", "1")
    base = cmds or [
        ["scan"],
        ["scan", "--format", "json"],
        ["scan", "--explain", doc],
        ["check"],
        ["check", "--format", "json"],
        ["check", "--format", "sarif"],
        ["check", "--format", "github"],
        *([["check", "--range", "HEAD~1..HEAD"]] if has2 else []),
        ["inventory", "--check"],
        ["report"],
        ["report", "--format", "json"],
        ["report", "--format", "markdown"],
        ["verify"],
        ["cache"],
        ["compact"],
        ["closeout", fam, "-o", "-"],
        ["inventory"],
        ["closeout", fam],
        ["compact", "--apply", "--branch", "cmp-x"],
        ["restore", "--all", "--rev", "cmp-x"],
    ]
    for cmd in [*base, *extra_cmds]:
        before = state(root)
        t = time.time()
        try:
            p = subprocess.run([*CMP, "-C", str(root), *cmd], capture_output=True, env=ENV, timeout=timeout)
            code, out, err = p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        except subprocess.TimeoutExpired:
            code, out, err = "TIMEOUT", "", ""
        dt = time.time() - t
        after = state(root)
        changed = sorted(str(k) for k in set(before) | set(after) if before.get(k) != after.get(k))
        ro = (
            cmd[0] in READONLY
            and "--apply" not in cmd
            and "--clean" not in cmd
            or cmd[:2] == ["inventory", "--check"]
            or "-" in cmd[-1:]
        )
        bad = []
        if code not in (0, 1, 2):
            bad.append(f"exit {code}")
        if "Traceback" in out + err:
            bad.append("traceback")
        if ro and changed:
            bad.append(f"readonly changed {changed[:5]}")
        outside = [c for c in changed if c.startswith(("('c'", "('tmp'"))]
        gitw = [c for c in changed if c.startswith("('g'") and "refs/heads/cmp-x" not in c]
        if outside:
            bad.append(f"OUTSIDE {outside[:5]}")
        if gitw and not ro:
            bad.append(f"GIT {gitw[:5]}")
        if dt > 20:
            bad.append(f"slow {dt:.1f}s")
        errl = [line for line in err.splitlines() if line.strip()]
        odd = [line for line in errl if not line.startswith(("compactor: ", "  ", "hint"))]
        flag = " !! " + "; ".join(bad) if bad else ""
        print(f"[{name}] {' '.join(cmd)[:60]:60s} -> {code} {dt:5.2f}s{flag}", flush=True)
        if bad or code == 2:
            msg = errl[-1] if errl else out.strip().splitlines()[-1:] or [""]
            print(f"      err: {str(msg)[:300]}")
        if bad:
            FINDINGS.append((name, cmd, bad, err[-2000:]))
        if odd and not bad:
            print(f"      odd stderr: {odd[:3]}")


SCEN = {}


def scenario(f):
    SCEN[f.__name__] = f
    return f


@scenario
def names(root):
    base_loop(root)
    files = {
        "docs/lanes/S010-new\nline.md": lane(10),
        "docs/lanes/S011-tab\there.md": lane(11),
        "docs/lanes/-rf.md": lane(12),
        "docs/lanes/--help.md": lane(13),
        "--version.md": lane(14),
        "docs/lanes/S\u0405015-cyr.md": lane(15),
        "docs/lanes/caf\u00e9.md": lane(16),
        "docs/lanes/cafe\u0301.md": lane(17),
        "docs/lanes/S018-" + "x" * 240 + ".md": lane(18),
        "docs/lanes/S019-Case.md": lane(19),
        "docs/lanes/s019-case.md": lane(19),
        "docs/lanes/S020-\x1b[31mred.md": lane(20),
        "docs/lanes/S021 \"q'uote\\.md": lane(21),
        "docs/lanes/S022::error file=x::.md": lane(22),
        "docs/lanes/S023-%0A.md": lane(23),
        "docs/lanes/S024-\u202eevil.md": lane(24),
        "docs/\u0000nul.md" if False else "docs/lanes/S025-\x7f.md": lane(25),
    }
    commit(root, files, T0 + 120)
    write(root, {"docs/lanes/S026-\r\ncr.md": lane(26)})
    git(root, "add", "-A")


@scenario
def content(root):
    base_loop(root)
    commit(
        root,
        {
            "docs/lanes/S010-badutf8.md": b"---\nlane: S010\n---\n# S010 \xff\xfe bad \xc3\x28\n\n"
            + lane(10).encode()[30:],
            "docs/lanes/S011-nul.md": lane(11).encode() + b"\x00\x00 more",
            "docs/lanes/S012-nestlist.md": ("# S012 nest\n\n" + "".join("  " * i + "- x\n" for i in range(3000))),
            "docs/lanes/S013-nestquote.md": "# S013 quote\n\n" + ">" * 100000 + " x\n",
            "docs/lanes/S014-table.md": "# S014 table\n\n"
            + "|"
            + "a|" * 20000
            + "\n|"
            + "-|" * 20000
            + "\n"
            + ("|" + "1|" * 20000 + "\n") * 20,
            "docs/lanes/S015-brackets.md": "# S015\n\n" + "[" * 200000 + "x" + "](" * 50000 + "\n",
            "docs/lanes/S016-emph.md": "# S016\n\n" + "*a " * 300000 + "\n",
            "docs/lanes/S017-backticks.md": "# S017\n\n" + "`" * 500000 + "\n",
            "docs/lanes/S018-longline.md": "# S018\n\n" + "word " * 380000 + "\n",  # 1.9MB
            "docs/lanes/S019-lines.md": "# S019\n\n" + "x\n" * 900000,
            "docs/lanes/S020-headings.md": "".join(f"{'#' * (1 + i % 6)} S020 h{i}\n" for i in range(100000)),
            "docs/lanes/S021-crlf.md": lane(21).replace("\n", "\r\n"),
            "docs/lanes/S022-cr.md": lane(22).replace("\n", "\r"),
            "docs/lanes/S023-bom.md": "\ufeff" + lane(23),
            "docs/lanes/S024-utf16.md": lane(24).encode("utf-16"),
            # two words and 1.9 MB of spaces: a short doc, read for ACK chatter (kinds.is_ack_text
            # split its sentences in quadratic time: 15 s per 100 KB)
            "docs/padded-note.md": "done" + " " * 1_900_000 + "ok\n",
            "docs/big20mb.md": "a" * 20_000_000,
            "docs/empty.md": "",
        },
        T0 + 120,
    )


@scenario
def bigfile_config(root):
    base_loop(root)
    commit(
        root,
        {
            ".compactor.yaml": "max_file_bytes: 100000000\n",
            "docs/lanes/S010-big.md": "# S010 big\n\n" + "word7 " * 3_000_000,
        },
        T0 + 120,
    )


@scenario
def frontmatter(root):
    base_loop(root)
    laughs = (
        '---\na: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
        + "lane: S010\n---\n# S010 laughs\n"
    )
    commit(
        root,
        {
            "docs/lanes/S010-laughs.md": laughs,
            "docs/lanes/S011-bigscalar.md": "---\nlane: S011\nnote: " + "x" * 1_900_000 + "\n---\n# S011\n",
            "docs/lanes/S012-pyobj.md": "---\nlane: !!python/object/apply:os.system ['touch "
            + str(CANARY)
            + "/pwned']\n---\n# S012 py\n",
            "docs/lanes/S013-dup.md": "---\nlane: S013\nlane: S999\ntokens: 5\ntokens: 900000\n---\n# S013 dup\n",
            "docs/lanes/S014-list.md": "---\n- a\n- b\n---\n# S014 list\n",
            "docs/lanes/S015-scalar.md": "---\njust a scalar\n---\n# S015 scalar\n",
            "docs/lanes/S016-types.md": "---\nlane: [1, 2]\naction: {a: 1}\ntokens: .inf\n"
            "new_truth: [[[]]]\nroute: !!binary aGVsbG8=\n---\n# S016 types\n",
            "docs/lanes/S017-tokens.md": "---\nlane: S017\ntokens: 1e400\n---\n# S017\n",
            "docs/lanes/S018-tokens.md": "---\nlane: S018\ntokens: -99999999999999999999999999\n---\n# S018\n",
            "docs/lanes/S019-tokens.md": "---\nlane: S019\ntokens: " + "9" * 47 + "\n---\n# S019\n",
            "docs/lanes/S020-tokens.md": "---\nlane: S020\ntokens: .nan\n---\n# S020\n",
            "docs/lanes/S021-date.md": "---\nlane: S021\ndate: 9999-12-31\ncreated: 0001-01-01\n"
            "timestamp: 2001-12-14t21:59:43.10-05:00\n---\n# S021\n",
            "docs/lanes/S022-lane.md": "---\nlane: 99999999999999999999999999999999999999999\n---\n# S022\n",
            "docs/lanes/S023-lanedict.md": "---\nlane: {S023: x}\n---\n# S023\n",
            "docs/lanes/S024-unclosed.md": "---\nlane: S024\n# S024 never closed\n",
            "docs/lanes/S025-tab.md": "---\nlane:\tS025\n\t- x\n---\n# S025\n",
            "docs/lanes/S026-merge.md": "---\nbase: &b {lane: S026}\n<<: *b\n<<: [*b, *b]\n---\n# S026\n",
            "docs/lanes/S027-set.md": "---\n? [a, b]\n: c\n? {x: 1}\n: d\n---\n# S027\n",
            "docs/lanes/S028-ts.md": "---\nlane: S028\ntokens: 2001-12-14\nnew_truth: 12:30:00\n---\n# S028\n",
            "docs/lanes/S029-deep.md": "---\nx: " + "[" * 5000 + "]" * 5000 + "\n---\n# S029\n",
            "docs/lanes/S030-bool.md": "---\nlane: yes\naction: null\nnew_truth: true\n---\n# S030\n",
            "docs/lanes/S031-octal.md": "---\nlane: 0o17\ntokens: 0x7fffffffffffffffffff\n---\n# S031\n",
            "docs/lanes/S032-toml.md": "+++\nlane = 'S032'\n+++\n# S032\n",
            "docs/lanes/S033-manydocs.md": "---\nlane: S033\n---\n---\n---\n---\n# S033\n",
            "docs/lanes/S034-newtruth.md": '---\nlane: S034\nnew_truth: "' + "a" * 60000 + '"\n---\n# S034\n',
            # close-outs naming no family, their lanes a long run of spaces (scan.stray_closeouts
            # split them in quadratic time: 20 s a file, every scan)
            **{f"docs/closeouts/old-{k}-closeout.md": '---\nkind: closeout\nfamily: S900\nlanes: "a'
               + " " * 60000 + 'b"\n---\n# Close-out\n' for k in (1, 2)},
        },
        T0 + 120,
    )


def cfg_scenario(name, text, fname=".compactor.yaml"):
    def f(root):
        base_loop(root)
        commit(root, {fname: text}, T0 + 120)

    f.__name__ = name
    SCEN[name] = f


for i, txt in enumerate(
    [
        "num_perm: 100000000000000000000\n",
        "shingle: 1000000000\n",
        "max_adjacent: 1e308\n",
        "max_adjacent: -1\n",
        "threshold: -0.5\n",
        "threshold: .nan\n",
        "threshold: 1e400\n",
        "seed: 99999999999999999999999999999\n",
        "seed: -1\n",
        "max_file_bytes: -1\n",
        "max_file_bytes: 0\n",
        "ack_max_words: -5\n",
        "token_budget_per_hour: -1\n",
        "token_budget_per_hour: 0\n",
        "max_restated: 0\n",
        "max_bookkeeping: 99999999999999999999999\n",
        "lane_pattern: '(a+)+$'\n",
        "lane_pattern: '(x+x+)+y'\n",
        "lane_pattern: ''\n",
        "lane_pattern: '()'\n",
        "lane_pattern: '(?P<x>S)(\\d+)'\n",
        "lane_pattern: 'S(?=(\\d+))'\n",
        "lane_pattern: '(['\n",
        "lane_pattern: '(\\D*)'\n",
        "lane_pattern: '(S\\d+)'\n",
        "lane_pattern: '(?i)s(\\d{1,1000000})'\n",
        "lane_pattern: '((((((((((((((((((((a*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)'\n",
        "include: ['../../**']\n",
        "include: ['/etc/**']\n",
        "include: ['**/**/**/**/**/**/**/**/**/**/**/**/*a*a*a*a*a*a*a*a*b']\n",
        "include: ['" + "*" * 5000 + "']\n",
        "include: ['[']\n",
        "include: ['**/*.md', '{a,b}']\n",
        "include: []\n",
        "exclude: ['**']\n",
        "include: '**/*.md'\n",
        "inventory: ../../outside.md\n",
        "inventory: " + str(CANARY) + "/inv.md\n",
        "inventory: .git/hooks/pre-commit\n",
        "inventory: docs\n",
        "inventory: ''\n",
        "inventory: docs/lanes/S001-deploy-widget.md\n",
        "inventory: .compactor.yaml\n",
        "archive_dir: ../arch\n",
        "archive_dir: .git\n",
        "archive_dir: " + str(CANARY) + "\n",
        "archive_dir: docs/lanes\n",
        "archive_dir: .\n",
        "template: ../../etc/passwd\n",
        "template: /etc/passwd\n",
        "template: .git/config\n",
        "template: docs/lanes/S001-deploy-widget.md\n",
        "kind_rules: {closeout: ['(a+)+$']}\n",
        "kind_rules: {evil: ['x']}\n",
        "kind_rules: {ack: ['']}\n",
        "kind_rules: []\n",
        "guardrail_fields: " + json.dumps([f"f{i}" for i in range(100000)]) + "\n",
        "a: &a [x,x,x,x,x,x,x,x,x]\n"
        + "".join(f"{b}: &{b} [" + ",".join([f"*{a}"] * 9) + "]\n" for a, b in zip("abcde", "bcdef", strict=True))
        + "g: ["
        + ",".join(["*f"] * 9)
        + "]\n",
        "threshold: !!python/object/apply:os.system ['touch " + str(CANARY) + "/pwned']\n",
        "- a\n- b\n",
        "just a string\n",
        "threshold: 0.5\nthreshold: 0.9\n",
        "x: " + "y" * 5_000_000 + "\n",
        "adjacent_mode: evil\n",
        "restatement: 'no'\n",
        "fold_restated: 2\n",
        "establish_novelty: -1\n",
        "\xff\xfe",
        "include: ['docs/**']\nexclude: ['!**']\n",
        "include: ['**/*.md\\x00']\n",
    ]
):
    cfg_scenario(f"cfg{i:02d}", txt)
cfg_scenario("pyproj0", "[tool.compactor]\nnum_perm = 1e308\nlane_pattern = '(a|a)*$'\n", "pyproject.toml")
cfg_scenario("pyproj1", "[tool]\ncompactor = 5\n", "pyproject.toml")
cfg_scenario("pyproj2", "[tool.compactor]\ninclude = [[[[[]]]]]\n", "pyproject.toml")
cfg_scenario("pyproj3", "[tool.compactor\n", "pyproject.toml")
cfg_scenario("pyproj4", "[tool.compactor]\ninventory = '../../x.md'\n" + "a" * 0, "pyproject.toml")
cfg_scenario("pyproj5", "x = " + "[" * 10000 + "]" * 10000 + "\n", "pyproject.toml")


@scenario
def symlinks(root):
    base_loop(root)
    commit(
        root,
        {
            "docs/lanes/S010-passwd.md": ("link", "/etc/passwd"),
            "docs/lanes/S011-secret.md": ("link", "../../../canary/secret.md"),
            "docs/lanes/S012-gitcfg.md": ("link", "../../.git/config"),
            "docs/loop/a.md": ("link", "b.md"),
            "docs/loop/b.md": ("link", "a.md"),
            "docs/self.md": ("link", "self.md"),
            "docs/outdir": ("link", "" + str(CANARY) + ""),
            "docs/gitdir": ("link", "../.git"),
            "docs/INVENTORY.md": ("link", "" + str(CANARY) + "/inv.md"),
            "docs/archive": ("link", "" + str(CANARY) + ""),
            "docs/closeouts": ("link", "../.git/hooks"),
        },
        T0 + 120,
    )


@scenario
def symlink_config(root):
    base_loop(root)
    commit(
        root, {".compactor.yaml": ("link", "" + str(CANARY) + "/cfg.yaml"), "tpl.j2": ("link", "/etc/passwd")}, T0 + 120
    )


@scenario
def submodule(root):
    base_loop(root)
    sub = new_repo("submodule_inner")
    commit(sub, {"docs/lanes/S090-x.md": lane(90), "README.md": "hi"}, T0)
    git(root, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "docs/sub")
    commit(root, {}, T0 + 120)
    # a gitlink with a bogus sha and a .gitmodules with hostile url
    sha = "1" * 40
    git(root, "update-index", "--add", "--cacheinfo", f"160000,{sha},docs/ghost")
    write(
        root, {".gitmodules": '[submodule "x"]\n\tpath = docs/x\n\turl = ext::sh -c touch% ' + str(CANARY) + "/pwned\n"}
    )
    git(root, "add", ".gitmodules")
    commit(root, {}, T0 + 180)


@scenario
def commits(root):
    commit(root, {"docs/lanes/S001-a.md": lane(1)}, 100000, msg="\x1b[31m" + "x\n" * 200)
    commit(root, {"docs/lanes/S002-a.md": lane(2)}, 99999999999, msg="::error::x")
    commit(root, {}, 0, msg="tz", dates=("1790000000 +1400", "1790000000 -1200"))
    commit(root, {"docs/lanes/S003-a.md": lane(3)}, 1, msg="y")
    commit(root, {"docs/lanes/S004-a.md": lane(4)}, T0, msg="z")
    write(root, {"docs/lanes/S005-a.md": lane(5)})
    git(root, "add", "-A")


@scenario
def vanish(root):
    base_loop(root)
    commit(root, {"docs/INVENTORY.md": "# x\n"}, T0 + 120)
    # staged then deleted from worktree; modified worktree; untracked
    write(root, {"docs/lanes/S020-x.md": lane(20)})
    git(root, "add", "-A")
    os.unlink(root / "docs/lanes/S020-x.md")
    os.unlink(root / "docs/lanes/S001-deploy-widget.md")
    write(root, {"docs/lanes/S002-deploy-widget.md": "changed in worktree\n"})


@scenario
def merge_conflict(root):
    base_loop(root)
    git(root, "checkout", "-q", "-b", "other")
    commit(root, {"docs/lanes/S001-deploy-widget.md": lane(1, "other action")}, T0 + 200)
    git(root, "checkout", "-q", "main")
    commit(root, {"docs/lanes/S001-deploy-widget.md": lane(1, "third action")}, T0 + 300)
    git(root, "merge", "-q", "other", check=False)


@scenario
def empty_repo(root):
    pass


@scenario
def no_commits_staged(root):
    write(root, {f"docs/lanes/S{k:03d}-deploy-widget.md": lane(k) for k in range(1, 6)})
    git(root, "add", "-A")


@scenario
def detached_orphan(root):
    base_loop(root)
    git(root, "checkout", "-q", "--orphan", "orph")
    git(root, "rm", "-rq", "--cached", ".")


@scenario
def manifest(root):
    base_loop(root)
    commit(
        root,
        {
            "docs/archive/compactor-manifest.json": json.dumps(
                {
                    "version": 1,
                    "compactions": [{"x": 1}],
                    "entries": {
                        "../../canary/evil.md": {"blob": "0" * 40},
                        "docs/a\nb.md": {"blob": "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"},
                        ".git/hooks/pre-commit": {"blob": "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"},
                        "docs/lanes/S001-deploy-widget.md": {"blob": 5},
                        "x.md": None,
                        "y.md": {"blob": "zz", "mode": "120000"},
                        "z.md": {"blob": "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", "mode": "100755"},
                    },
                }
            )
        },
        T0 + 120,
    )


@scenario
def manifest2(root):
    base_loop(root)
    commit(root, {"docs/archive/compactor-manifest.json": "[" * 100000 + "]" * 100000}, T0 + 120)


@scenario
def manifest3(root):
    base_loop(root)
    commit(
        root,
        {"docs/archive/compactor-manifest.json": '{"version": 1e999, "entries": {"a": {"blob": "' + "0" * 40 + '"}}}'},
        T0 + 120,
    )


@scenario
def inventory_damaged(root):
    base_loop(root)
    subprocess.run([*CMP, "-C", str(root), "inventory"], capture_output=True, env=ENV)
    inv = (root / "docs/INVENTORY.md").read_text()
    inv2 = inv.replace("<!--", "<!-- <!--", 3) + "\n<!-- compactor:end -->\n" * 3
    commit(root, {"docs/INVENTORY.md": inv2}, T0 + 120)


@scenario
def many_tiny(root):
    files = {f"d/{i // 1000}/n{i}.md": f"# n{i}\n\nx {i}\n" for i in range(50000)}
    commit(root, files, T0)


if __name__ == "__main__":
    CANARY.mkdir(parents=True, exist_ok=True)
    (CANARY / "secret.md").write_text("# S900 secret\n")
    sel = sys.argv[1:]
    for name, f in SCEN.items():
        if sel and not any(s == name or (s.endswith("*") and name.startswith(s[:-1])) for s in sel):
            continue
        if name == "many_tiny" and not sel:
            continue
        root = new_repo(name)
        try:
            f(root)
        except Exception as e:
            print(f"[{name}] setup failed: {str(e)[-300:]}")
            continue
        if name == "many_tiny":
            run_cmds(
                name,
                root,
                cmds=[["scan", "--format", "json"], ["check"], ["check"], ["inventory", "--check"]],
                timeout=600,
            )
        else:
            run_cmds(name, root)
    print("\n=== FINDINGS")
    for n, c, b, e in FINDINGS:
        print(n, c, b)
        print("   ", e.strip().splitlines()[-3:] if e.strip() else "")
