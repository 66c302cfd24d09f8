"""The gate: judge the lanes a change adds, and say why a repetition is refused.

``run_check`` finds the paths a change adds (the staged change: index vs HEAD;
or a commit range ``A..B``), scans the index (or the tree of ``B``) and judges
every added lane in lane order, each against everything before it: committed
docs and the added lanes earlier in lane order. A lane is a ``brief`` (a doc
with a lane id), or a doc without a lane id (kind ``other``: a launch prompt,
a hand-off) that joins a family — the next step of a loop whose docs carry no
numbers. Nothing else that a change adds (proofs, hardening, consolidation
outputs, the inventory, ACKs, docs in no family) is judged; those never block.

A lane is *repetitive* when an earlier lane of its family has the same proof
shape (similarity >= ``threshold``). Only a repetitive lane can meet:

- the **stop conditions** (all three together block): the envelope is proven
  (an earlier lane of the family says ``status: proven``, or a proof/hardening
  artifact covers the family, see :func:`_covers`); the guardrail fields are
  unchanged from the previous lane once labels are masked; the lane differs
  from its nearest earlier lane mostly by its label;
- the **escalations** ``adjacent`` (more than ``max_adjacent`` lanes of the
  family since its last consolidation output) and ``rename`` (the title or file
  name is an earlier lane's with the label swapped).

A lane without a lane id is blocked only by the stop conditions (or the budget):
its ``adjacent`` and ``rename`` escalations warn, since templated docs without
numbers (minutes, reports) may legitimately look alike. The ``budget``
escalation (tokens of the trailing hour) applies to every lane.
A ``new_truth:`` claim in the lane's front matter turns a repetition block into
a warning; an empty claim, or one nearly the same as an earlier lane's, is
refused. The budget is not lifted by a claim.

Everything here returns frozen records; ``render_text`` / ``render_json`` turn
them into the text the CLI prints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from compactor import shapes
from compactor.briefs import Brief
from compactor.config import Config
from compactor.errors import EXIT_BLOCKED, EXIT_OK, InputError, Warning
from compactor.files import in_dir, matches, path_for_humans
from compactor.git import Repo
from compactor.scan import Progress, Scan, family_name, order_key, run_scan, with_bodies
from compactor.vocab import CONSOLIDATION_KINDS, PROOF_KINDS

HOUR = 3600
SHORT_CLAIM = 12  # masked words below which claims are compared as word sets
QUESTION = "What new truth does this lane buy that the last three did not?"
TITLES = {
    "proven": "envelope proven",
    "guardrails": "guardrails unchanged",
    "label-only": "only the label differs",
    "adjacent": "adjacent lanes",
    "rename": "renamed lane",
    "budget": "token budget",
    "claim": "new_truth refused",
}


@dataclass(frozen=True)
class Condition:
    """One condition that held for a lane, with the evidence a person can check."""

    name: str  # proven | guardrails | label-only | adjacent | rename | budget | claim
    group: str  # stop | escalation | claim
    action: str  # block | warn
    evidence: str


@dataclass(frozen=True)
class Neighbour:
    path: str
    lane: str
    similarity: float


@dataclass(frozen=True)
class Verdict:
    """What the gate says about one added lane."""

    path: str
    lane: str
    outcome: str  # pass | warn | block
    family: str | None
    nearest: tuple[Neighbour, ...]  # earlier lanes of the family, most similar first
    last: tuple[str, ...]  # the (up to) three earlier lanes of the family, in lane order
    conditions: tuple[Condition, ...]  # what held (stop conditions only when all three do)
    new_truth: str | None
    overridden: bool = False  # a block turned into a warning by the new_truth claim

    @property
    def question(self) -> str | None:
        if self.outcome != "block" or not self.last:
            return None
        if len(self.last) >= 3:
            return f"{QUESTION[:-1]} ({', '.join(self.last)})?"
        which = "the last two" if len(self.last) == 2 else "the last one"
        return f"{QUESTION.replace('the last three', which)[:-1]} ({', '.join(self.last)})?"

    def due(self) -> tuple[tuple[str, str], ...]:
        """(output, how to produce it) owed instead of this lane."""
        if self.outcome != "block":
            return ()
        fam = self.family or "FAMILY"
        return (
            ("coverage matrix", "compactor inventory"),
            ("missing-gap list", "compactor inventory"),
            (f"closeout of family {fam}", f"compactor closeout {fam}"),
            ("redirect", "write a brief with front matter `kind: redirect` naming the new work"),
        )


@dataclass(frozen=True)
class CheckResult:
    source: str  # "index" or the range "A..B"
    added: tuple[str, ...]  # every path the change adds
    verdicts: tuple[Verdict, ...]  # one per added lane, in lane order
    warnings: tuple[Warning, ...]  # from the scan

    @property
    def outcome(self) -> str:
        outcomes = {v.outcome for v in self.verdicts}
        for o in ("block", "warn"):
            if o in outcomes:
                return o
        return "pass"

    @property
    def exit_code(self) -> int:
        return EXIT_BLOCKED if self.outcome == "block" else EXIT_OK


# -- entry points ---------------------------------------------------------------------------


def parse_now(value: str) -> int:
    """``--now``: epoch seconds, or an ISO-8601 time (UTC unless it says otherwise)."""
    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--now {value!r}: not a time; give epoch seconds or ISO 8601 like "
            "2026-05-09T12:00:00Z"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def parse_range(repo: Repo, spec: str) -> tuple[str, str]:
    """``A..B``, ``A...B``, ``A..``, ``..B`` -> (base, tip) commits (see ``Repo.resolve_range``)."""
    return repo.resolve_range(spec)


def run_check(
    repo: Repo,
    config: Config,
    *,
    rev_range: str | None = None,
    now: int | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> CheckResult:
    """Judge the lanes the staged change (or ``rev_range``) adds.

    A path moved with its content unchanged (an exact rename) is not added.
    """
    base: str | None
    tip: str | None
    if rev_range is not None:
        if now is not None:
            raise InputError(
                "--now cannot be combined with --range: a range is judged at its commits' "
                "times; drop --now"
            )
        base, tip = parse_range(repo, rev_range)
        added = repo.diff_added(base, cached=False, head=tip)
        source = rev_range
    else:
        base, tip = repo.head(), None
        added = repo.diff_added(base, cached=True)
        source = "index"
    if added:  # a file moved with its content unchanged opens no lane
        moved = repo.diff_moved(base, cached=rev_range is None, head=tip)
        added = [p for p in added if p not in moved]
    if not any(_is_candidate(config, p) for p in added):
        return CheckResult(source, tuple(added), (), ())
    scan = run_scan(repo, config, rev=tip, now=now, use_cache=use_cache, progress=progress)
    return judge(repo, scan, added, source)


def _is_candidate(config: Config, path: str) -> bool:
    return (
        matches(config.include, path)
        and not matches(config.exclude, path)
        and not in_dir(path, config.archive_dir)
        and path != config.inventory
    )


# -- the judgement --------------------------------------------------------------------------


class _Context:
    """What every lane's judgement shares: the scan, who is new, and the bodies it needs."""

    def __init__(self, repo: Repo, scan: Scan, added: Iterable[str]) -> None:
        self.scan = scan
        self.config = scan.config
        self.briefs = scan.briefs
        self.new = set(added)
        where = {b.path: i for i, b in enumerate(self.briefs)}
        lanes = [where[p] for p in self.new if p in where and self._judged(where[p])]
        self.lanes = sorted(lanes, key=lambda i: order_key(self.briefs[i]))
        self.rank = {i: r for r, i in enumerate(self.lanes)}
        self.proofs = [i for i, b in enumerate(self.briefs) if b.kind in PROOF_KINDS]
        self.outputs = [
            i for i, b in enumerate(self.briefs)
            if b.kind in CONSOLIDATION_KINDS or b.path == self.config.inventory
        ]
        need = self.proofs + self.outputs
        self.bodies: dict[int, str] = {}
        if self.lanes and need:
            read = with_bodies(repo, [self.briefs[i] for i in need])
            self.bodies = {i: b.body or "" for i, b in zip(need, read, strict=True)}
        self.claims = [i for i, b in enumerate(self.briefs) if b.new_truth is not None]

    def _judged(self, i: int) -> bool:
        b = self.briefs[i]
        if b.path == self.config.inventory:
            return False
        return b.kind == "brief" or (b.kind == "other" and self.scan.decisions[i].family is not None)

    def earlier(self, j: int, i: int) -> bool:
        """Is brief j before lane i: committed, or added and judged before it (or not a lane)?"""
        if j == i:
            return False
        r = self.rank.get(j)
        return r is None or r < self.rank[i]

    def name(self, i: int) -> str:
        return family_name(self.briefs[i])


def judge(repo: Repo, scan: Scan, added: Sequence[str], source: str = "index") -> CheckResult:
    """Verdicts for the lanes among ``added`` (paths), judged against ``scan``."""
    ctx = _Context(repo, scan, added)
    verdicts = tuple(_judge_lane(ctx, i) for i in ctx.lanes)
    return CheckResult(source, tuple(added), verdicts, _own_warnings(scan.warnings, added))


def _own_warnings(warnings: Iterable[Warning], added: Iterable[str]) -> tuple[Warning, ...]:
    """The scan's warnings minus those about files the change does not add (a warning
    about the whole run stays).

    A hook that repeats every old file's problem on every commit is a hook people
    turn off; ``compactor scan`` lists them all.
    """
    mine = set(added)
    return tuple(w for w in warnings if w.path is None or w.path in mine)


def _judge_lane(ctx: _Context, i: int) -> Verdict:
    config, briefs, scan = ctx.config, ctx.briefs, ctx.scan
    lane = briefs[i]
    decision = scan.decisions[i]
    fam = scan.family(decision.family) if decision.family else None
    numbered = lane.kind == "brief"
    kinds = ("brief",) if numbered else ("brief", "other")  # a doc without a lane id: any step
    prior: list[int] = []
    if fam is not None:
        prior = [m for m in fam.members if briefs[m].kind in kinds and ctx.earlier(m, i)]
    sims = {m: scan.similarity(i, m) for m in prior}
    recency = {m: k for k, m in enumerate(prior)}
    ranked = sorted(prior, key=lambda m: (-sims[m], -recency[m]))
    nearest = tuple(
        Neighbour(briefs[m].path, ctx.name(m), round(sims[m], 4)) for m in ranked[:3]
    )
    last = tuple(ctx.name(m) for m in prior[-3:])
    repetitive = bool(ranked) and sims[ranked[0]] >= config.threshold

    fired: list[Condition] = []
    if repetitive:
        assert fam is not None
        stop = [
            _proven(ctx, i, fam.id, prior),
            _guardrails(ctx, i, prior),
            Condition(
                "label-only", "stop", "block",
                f"{_pct(sims[ranked[0]])} the same proof shape as {ctx.name(ranked[0])} "
                "once labels are masked",
            ),
        ]
        if all(c is not None for c in stop):
            fired.extend(c for c in stop if c is not None)
        # without a lane id the escalations only warn (see the module docstring)
        if config.adjacent_mode != "off":
            fired.extend(_adjacent(ctx, i, fam.id, prior, config.adjacent_mode if numbered else "warn"))
        if config.rename_mode != "off":
            fired.extend(_renamed(ctx, i, prior, config.rename_mode if numbered else "warn"))
    if config.token_budget_per_hour is not None and config.budget_mode != "off":
        fired.extend(_budget(ctx, i, config.token_budget_per_hour))
    claim = lane.new_truth
    refused = _claim_refused(ctx, i, last) if claim is not None else None
    if refused is not None:
        fired.append(refused)

    blocking = [c for c in fired if c.action == "block"]
    liftable = [c for c in blocking if c.name not in ("budget", "claim")]
    overridden = False
    if refused is not None or any(c.name == "budget" for c in blocking):
        outcome = "block"
    elif liftable and claim is not None:
        outcome, overridden = "warn", True
    elif liftable:
        outcome = "block"
    elif fired:
        outcome = "warn"
    else:
        outcome = "pass"
    return Verdict(
        path=lane.path,
        lane=ctx.name(i),
        outcome=outcome,
        family=fam.id if fam is not None else None,
        nearest=nearest,
        last=last,
        conditions=tuple(fired),
        new_truth=claim,
        overridden=overridden,
    )


# -- stop conditions ------------------------------------------------------------------------


def _proven(ctx: _Context, i: int, fid: str, prior: Sequence[int]) -> Condition | None:
    for m in reversed(prior):
        if ctx.briefs[m].status == "proven":
            return Condition("proven", "stop", "block", f"{ctx.name(m)} has status: proven")
    for p in ctx.proofs:
        if not ctx.earlier(p, i):
            continue
        why = _covers(ctx, p, fid, prior)
        if why:
            shown = path_for_humans(ctx.briefs[p].path)
            return Condition("proven", "stop", "block", f"{shown} covers the family ({why})")
    return None


def _covers(ctx: _Context, p: int, fid: str, prior: Sequence[int]) -> str | None:
    """Why proof/hardening artifact ``p`` covers a family, or None.

    It covers it when its front matter ``covers``/``family``/``lanes`` names the
    family or one of its lanes, when its text names one of the family's lanes
    (lane id) or labels (two or more words, any spelling), or when its masked
    proof shape shares at least half the family threshold with an earlier lane.
    """
    briefs = ctx.briefs
    names = _Names(ctx, fid, prior)
    hit = names.in_fields(briefs[p].fields)
    if hit:
        return f"front matter {hit}"
    body = ctx.bodies.get(p, "")
    hit = names.in_text(body)
    if hit:
        return f"names {hit}"
    words = " " + " ".join(shapes.tokens(body)) + " "
    for m in reversed(prior):
        label = briefs[m].label_words
        if len(label) >= 2 and f" {' '.join(label)} " in words:
            return f"names '{briefs[m].label}' of {ctx.name(m)}"
    if ctx.scan.shingles[p] >= shapes.MIN_SHINGLES:
        best = float(shapes.similarities(ctx.scan.signatures, prior,
                                         ctx.scan.signatures[p]).max())
        if best >= ctx.config.threshold / 2:
            return f"{_pct(best)} of its proof shape matches the family's"
    return None


def _guard_values(config: Config, b: Brief) -> tuple[str | None, ...]:
    out: list[str | None] = []
    for f in config.guardrail_fields:
        if f not in b.fields:
            out.append(None)
            continue
        text = " ".join(_flat(b.fields[f]))
        out.append(" ".join(shapes.mask(text, b.label_words, keep=config.guardrail_fields)))
    return tuple(out)


def _guardrails(ctx: _Context, i: int, prior: Sequence[int]) -> Condition | None:
    """The guardrail fields equal the previous lane's once labels are masked.

    A lane with none of the fields counts as unchanged only when the previous
    lane has none either.
    """
    config = ctx.config
    mine = _guard_values(config, ctx.briefs[i])
    since = None
    for m in reversed(prior):
        if _guard_values(config, ctx.briefs[m]) != mine:
            break
        since = m
    if since is None:
        return None
    present = [f for f, v in zip(config.guardrail_fields, mine, strict=True) if v is not None]
    if present:
        text = f"{'/'.join(present)} unchanged since {ctx.name(since)} (labels masked)"
    else:
        fields = "/".join(config.guardrail_fields) or "guardrail"
        text = f"no {fields} fields, and none since {ctx.name(since)} either"
    return Condition("guardrails", "stop", "block", text)


# -- escalations ----------------------------------------------------------------------------


def _adjacent(ctx: _Context, i: int, fid: str, prior: Sequence[int], mode: str) -> list[Condition]:
    """More than ``max_adjacent`` lanes of the family since its last consolidation output."""
    briefs, config = ctx.briefs, ctx.config
    reset: int | None = None
    reset_by = ""
    names = _Names(ctx, fid, prior)
    for o in sorted(ctx.outputs, key=lambda o: -briefs[o].created):  # newest first
        if ctx.earlier(o, i) and _speaks_for(ctx, o, names):
            reset, reset_by = briefs[o].created, briefs[o].path
            break
    run = [m for m in prior if reset is None or briefs[m].created >= reset] + [i]
    if len(run) <= config.max_adjacent:
        return []
    since = (f"since its last consolidation output {path_for_humans(reset_by)}" if reset_by
             else "with no consolidation output naming it")
    lanes = [ctx.name(m) for m in run]
    shown = lanes if len(lanes) <= 6 else [*lanes[:2], "…", *lanes[-3:]]
    text = (
        f"{len(run)} lanes of family {fid} in a row {since} "
        f"({', '.join(shown)}) > max_adjacent {config.max_adjacent}"
    )
    return [Condition("adjacent", "escalation", mode, text)]


def _speaks_for(ctx: _Context, o: int, names: _Names) -> bool:
    """Does consolidation output ``o`` speak for the family (the inventory speaks for all)?"""
    b = ctx.briefs[o]
    if b.path == ctx.config.inventory:
        return True
    return bool(names.in_fields(b.fields) or names.in_text(ctx.bodies.get(o, "")))


def _renamed(ctx: _Context, i: int, prior: Sequence[int], mode: str) -> list[Condition]:
    """The title (else the file name) is an earlier lane's with only the label swapped."""
    lane = ctx.briefs[i]
    for what, text_of in (("title", _title), ("name", _stem)):
        mine = text_of(lane)
        if not mine:
            continue
        for m in reversed(prior):
            other = ctx.briefs[m]
            swap = _substitution(mine, lane, text_of(other), other)
            if swap is not None:
                text = f"{what} = {ctx.name(m)}'s{swap}"
                return [Condition("rename", "escalation", mode, text)]
    return []


def _title(b: Brief) -> str:
    return b.title


def _stem(b: Brief) -> str:
    name = b.path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def _substitution(a: str, lane_a: Brief, b: str, lane_b: Brief) -> str | None:
    """" with 'old' → 'new'" when text ``a`` is ``b`` with the label (and lane id) swapped."""
    if not b:
        return None
    shape_a = shapes.mask(a, lane_a.label_words)
    if shape_a != shapes.mask(b, lane_b.label_words):
        return None
    if shapes.MASK_LABEL in shape_a and lane_a.label != lane_b.label:
        return f" with '{lane_b.label}' → '{lane_a.label}'"
    if shapes.tokens(a) != shapes.tokens(b):
        return " with only the lane id changed"
    return ", word for word"


def _budget(ctx: _Context, i: int, budget: int) -> list[Condition]:
    """Tokens of artifacts created in the hour up to the lane's time (the lane included)."""
    t = ctx.briefs[i].created
    total = 0
    for k, b in enumerate(ctx.briefs):
        if t - HOUR < b.created <= t and (k == i or ctx.earlier(k, i)):
            total += sum(b.tokens.values())
    if total <= budget:
        return []
    text = f"{human(total)} tokens in the last hour > budget {human(budget)}"
    return [Condition("budget", "escalation", ctx.config.budget_mode, text)]


# -- the override ---------------------------------------------------------------------------


def _claim_refused(ctx: _Context, i: int, last: Sequence[str]) -> Condition | None:
    lane = ctx.briefs[i]
    claim = (lane.new_truth or "").strip()
    if not claim:
        before = f" that {', '.join(last)} did not" if last else ""
        return Condition(
            "claim", "claim", "block",
            f"new_truth is empty; state what this lane proves{before}",
        )
    for m in reversed(ctx.claims):
        if not ctx.earlier(m, i):
            continue
        other = ctx.briefs[m]
        sim = claim_similarity(ctx.config, claim, lane.label_words,
                               (other.new_truth or "").strip(), other.label_words)
        if sim >= ctx.config.threshold:
            return Condition(
                "claim", "claim", "block",
                f"new_truth is nearly the same as {ctx.name(m)}'s claim ({_pct(sim)} alike): "
                f"{_quote(other.new_truth or '')}; a copied claim buys no new truth",
            )
    return None


def claim_similarity(
    config: Config, a: str, label_a: Sequence[str], b: str, label_b: Sequence[str]
) -> float:
    """How alike two claims are once labels and numbers are masked (0-1).

    Both lanes' labels are masked in both claims, so a copied claim and one with
    the label swapped both count as the same. Short claims (under
    ``SHORT_CLAIM`` masked words) compare as word sets;
    longer ones by MinHash over shingles, as briefs are compared.
    """
    if not a or not b:
        return 0.0
    labels = (*label_a, *label_b)  # both labels masked on both sides: copies and renames alike
    ma, mb = shapes.mask(a, labels), shapes.mask(b, labels)
    if ma == mb:
        return 1.0
    if min(len(ma), len(mb)) < SHORT_CLAIM:
        sa, sb = set(ma), set(mb)
        return len(sa & sb) / len(sa | sb) if sa | sb else 0.0
    sig_a, _ = shapes.fingerprint(a, labels, config.shingle, config.num_perm, config.seed)
    sig_b, _ = shapes.fingerprint(b, labels, config.shingle, config.num_perm, config.seed)
    return shapes.similarity(sig_a, sig_b)


# -- helpers --------------------------------------------------------------------------------


def _flat(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [s for k in sorted(value, key=str) for s in (str(k), *_flat(value[k]))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _flat(v)]
    return [str(value)]


class _Names:
    """A family's id and lane names, and a whole-word search for them in text."""

    def __init__(self, ctx: _Context, fid: str, prior: Sequence[int]) -> None:
        self.shown = {ctx.name(m).lower(): ctx.name(m) for m in prior}
        self.shown.setdefault(fid.lower(), fid)
        alternation = "|".join(re.escape(n) for n in sorted(self.shown, key=len, reverse=True))
        self.pattern = re.compile(rf"(?<![\w-])(?:{alternation})(?![\w])", re.IGNORECASE)

    def get(self, value: str) -> str | None:
        return self.shown.get(value.strip().lower())

    def in_fields(self, fields: Mapping[str, Any]) -> str | None:
        """``key: NAME`` when front matter covers/family/lanes names the family."""
        for key in ("covers", "family", "lanes"):
            for value in _flat(fields.get(key)):
                hit = self.get(value)
                if hit:
                    return f"{key}: {hit}"
        return None

    def in_text(self, text: str) -> str | None:
        m = self.pattern.search(text) if text else None
        return self.shown[m.group(0).lower()] if m else None


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def _quote(text: str, limit: int = 100) -> str:
    one = " ".join(text.split())
    return json.dumps(one if len(one) <= limit else one[: limit - 1] + "…", ensure_ascii=False)


def human(n: int) -> str:
    """212000000 -> '212M', 1500 -> '1.5k'."""
    for unit, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if n >= unit:
            text = f"{n / unit:.1f}".rstrip("0").rstrip(".")
            return text + suffix
    return str(n)


# -- rendering ------------------------------------------------------------------------------


def render_text(result: CheckResult) -> str:
    """What a person reads when the gate blocks or warns ('' on a clean pass)."""
    chunks = [verdict_text(v) for v in result.verdicts if v.outcome != "pass"]
    if not chunks:
        return ""
    blocked = sum(v.outcome == "block" for v in result.verdicts)
    total = len(result.verdicts)
    lanes = "lane" if total == 1 else "lanes"
    if result.source != "index":
        outcome = (f"{blocked} blocked" if blocked else
                   ("it passes" if total == 1 else "they pass") + ", with warnings")
        return "\n\n".join([*chunks, f"compactor check: the range {result.source} adds "
                                     f"{total} {lanes}; {outcome}"])
    if blocked:
        tail = (f"compactor check: {blocked} of {total} added {lanes} blocked; "
                "the commit is refused")
    else:
        verb = "passes" if total == 1 else "pass"
        tail = f"compactor check: {total} added {lanes} {verb}, with warnings"
    return "\n\n".join([*chunks, tail])


def verdict_text(v: Verdict) -> str:
    head = "BLOCKED" if v.outcome == "block" else "WARNING"
    lines = [f"{head} {path_for_humans(v.path)} ({v.lane})"]
    if v.family:
        near = ", ".join(f"{n.lane} {_pct(n.similarity)}" for n in v.nearest)
        lines.append(f"  family {v.family}; nearest earlier lanes: {near or 'none'}")
    if v.overridden:
        lines.append(f"  passes on its new_truth claim: {_quote(v.new_truth or '', 200)}")
        lines.append("  it would otherwise be blocked by:")
    stop = [c for c in v.conditions if c.group == "stop"]
    if stop:
        lines.append("  stop conditions (all three hold):")
        lines.extend(f"    - {TITLES[c.name]}: {c.evidence}" for c in stop)
    others = [c for c in v.conditions if c.group != "stop"]
    if others:
        lines.append("  escalations:" if not stop or any(
            c.group == "escalation" for c in others) else "  also:")
        for c in others:
            mode = " (warning only)" if c.action == "warn" else ""
            lines.append(f"    - {TITLES[c.name]}: {c.evidence}{mode}")
    if v.question:
        lines.append(f"  {v.question}")
    due = v.due()
    if due:
        lines.append("  Due instead of another lane:")
        lines.extend(f"    - {what}: {how}" for what, how in due)
        if not any(c.name == "claim" for c in v.conditions) and any(
            c.name != "budget" for c in v.conditions
        ):
            lines.append(
                "  If the lane does buy new truth, say so in its front matter: "
                'new_truth: "<what it proves that the earlier lanes did not>"'
            )
    return "\n".join(lines)


def result_data(result: CheckResult) -> dict[str, Any]:
    return {
        "outcome": result.outcome,
        "source": result.source,
        "added": list(result.added),
        "verdicts": [
            {
                "path": v.path,
                "lane": v.lane,
                "outcome": v.outcome,
                "family": v.family,
                "nearest": [
                    {"path": n.path, "lane": n.lane, "similarity": n.similarity}
                    for n in v.nearest
                ],
                "conditions": [
                    {"name": c.name, "group": c.group, "action": c.action,
                     "evidence": c.evidence}
                    for c in v.conditions
                ],
                "new_truth": v.new_truth,
                "overridden": v.overridden,
                "question": v.question,
                "due": [{"output": what, "how": how} for what, how in v.due()],
            }
            for v in result.verdicts
        ],
        "warnings": [str(w) for w in result.warnings],
    }


def render_json(result: CheckResult) -> str:
    return json.dumps(result_data(result), indent=2, ensure_ascii=False)
