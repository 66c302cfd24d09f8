"""Deterministic synthetic docs repos, shaped like what agent supervisor loops leave behind.

Used by ``compactor demo``, by the labelled fixtures that calibrate precision and
recall, and by the benchmarks. Every function here is a pure function of its
arguments (``random.Random(seed)``, never the wall clock); ``write_repo`` is the
only one with side effects.

The ground truth rides on each :class:`ExampleDoc`: ``family`` names the
renamed-lane family a doc belongs to (``None`` for everything else) and ``kind``
says what sort of artifact it is.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from compactor.git import write_history

__all__ = [
    "ACTIONS",
    "ExampleDoc",
    "label_spellings",
    "loop_corpus",
    "scale_corpus",
    "write_repo",
]

DEFAULT_START = 1778304756  # 2026-05-09 05:32:36 UTC
IDENTITY = "Example Agent <agent@example.invalid>"


@dataclass(frozen=True)
class ExampleDoc:
    """One synthetic markdown file plus its ground truth."""

    path: str  # repo-relative posix path
    text: str  # full markdown, maybe with YAML front matter
    family: str | None  # renamed-lane family id, None when the doc belongs to none
    kind: str  # brief, ack, proof, hardening, closeout, coverage, gaps, redirect, postmortem, other
    created: int  # epoch seconds of the commit that adds it


Action = tuple[str, ...]

# The action labels lanes get renamed through: verb + object, one to three words.
ACTIONS: tuple[Action, ...] = tuple(
    tuple(a.split())
    for a in """
    approve invoice|cancel vendor|unflag invoice|flag invoice|reopen ticket|archive vendor
    escalate dispute|refund payment|void invoice|retry payout|suspend account|resume account
    reassign ticket|release hold|place hold|verify vendor|merge customer|split shipment
    lock account|unlock account|export ledger|restore subscription|cancel subscription
    pause subscription|approve refund|reject refund|approve payout|hold payout|reverse charge
    close dispute|reopen dispute|assign reviewer|revoke api key|rotate api key|reset password
    disable webhook|enable webhook|resend receipt|regenerate statement|approve vendor
    reject vendor|flag shipment|reroute shipment|cancel order|reopen order|expedite order
    mark delivered|issue credit note|void credit note|approve timesheet|reject timesheet
    approve expense|reject expense|escalate ticket|snooze alert|acknowledge alert
    transfer ownership|deactivate seat|reactivate seat|purge draft|approve quote
    """.replace("\n", "|").split("|")
    if a.strip()
)


def label_spellings(action: Sequence[str]) -> dict[str, str]:
    """Every spelling of an action label that lane text uses, keyed by placeholder name."""
    words = [w.lower() for w in action]
    pascal = "".join(w.capitalize() for w in words)
    return {
        "snake": "_".join(words),
        "kebab": "-".join(words),
        "words": " ".join(words),
        "Sentence": " ".join([words[0].capitalize(), *words[1:]]),
        "pascal": pascal,
        "camel": words[0] + pascal[len(words[0]) :],
        "upper": "_".join(words).upper(),
    }


# ---------------------------------------------------------------------------------------------
# Vocabulary. Build-time slots are written [slot]; lane-time placeholders are written {name}.

_LANE_POOLS: dict[str, tuple[str, ...]] = {
    "store": (
        "ledger", "actions table", "outbox", "event store", "operator journal", "case store",
        "billing database", "settlement ledger", "ops ledger", "audit store",
    ),
    "surface": (
        "ops console", "admin panel", "operator dashboard", "back-office UI", "support console",
        "finance workbench", "case view", "review queue page",
    ),
    "comp": (
        "action router", "session broker", "tenant resolver", "policy engine", "replay guard",
        "webhook relay", "billing worker", "settlement job", "reconciliation worker",
        "identity gateway", "queue consumer", "audit sink", "notification hub", "rate limiter",
        "feature flag store", "export pipeline",
    ),
    "suffix": ("completed", "applied", "recorded", "succeeded", "done", "committed"),
    "guard": (
        "requireOperator", "tenantScope", "opsAuth", "withOperatorSession", "guardAction",
        "assertTenant", "operatorOnly",
    ),
    "factor": ("WebAuthn", "TOTP", "passkey", "hardware key", "SSO re-auth"),
    "path": (
        "src/ops/actions.ts", "src/ops/routes.ts", "app/ops/handlers.py", "app/ops/routes.py",
        "internal/ops/handler.go", "internal/ops/router.go", "src/actions/registry.rs",
        "web/console/actions.tsx", "src/server/operator.ts", "lib/ops/envelope.py",
        "services/ops/api.py", "src/ops/guards.ts",
    ),
    "testpath": (
        "tests/ops/test_actions.py", "src/ops/__tests__/actions.test.ts",
        "internal/ops/handler_test.go", "tests/e2e/operator.spec.ts", "tests/test_envelope.py",
        "spec/ops/actions_spec.rb",
    ),
    "cmd": (
        "pytest -q tests/ops", "npm test -- ops", "go test ./internal/ops/...",
        "pnpm vitest run ops", "cargo test -p ops", "make proof", "just test-ops",
    ),
    "table": ("operator_actions", "audit_events", "action_envelopes", "ops_journal", "cases"),
    "env": ("staging", "the preview stack", "canary", "prod-eu shadow", "the nightly sandbox"),
    "k": ("5", "10", "15", "30", "3", "20"),
    "shape": (
        "operator action envelope", "tenant-scoped action", "guarded mutation", "audited action",
        "step-up action", "back-office action",
    ),
}

_TITLE_FRAMES = (
    "# {lane} — {Sentence} operator action",
    "# {lane} — {Sentence}: [shape] lane",
    "# {lane} — {Sentence} operator action (`{pascal}`)",
    "# {lane} — {Sentence} end to end",
    "# {lane} — {Sentence} ([shape])",
)

_META_FRAMES = (
    "Owner: codex worker · Reviewer: loom · Opened {date} · Base `{h1}`",
    "_Opened {date} {time} by the supervisor loop; base commit `{h1}`._",
    "Worker: codex. Base: `{h1}`. Date: {date}.",
    "> Supervisor note ({date}): keep this lane bounded to `{snake}`. Base `{h1}`.",
)

# One line right under the title that names the action in every spelling (never noised).
_ACTION_LINES = (
    "Action: {words} · code `{snake}` · handler `{pascal}Handler` · route `{route}`",
    "**Action:** `{snake}` ({words}), served by `{pascal}Handler` at `{route}`.",
    "Lane action `{pascal}`: operators {words} via `{route}`; the audit event is "
    "`ops.{snake}`.",
    "- action: `{snake}`\n- handler: `{pascal}Handler`\n- route: `{route}`\n- label: {words}",
)

_ROUTES = (
    "/ops/actions/{kebab}",
    "/api/v2/operator/{kebab}",
    "/admin/actions/{kebab}",
    "/internal/ops/{kebab}",
    "/console/api/{kebab}",
)

# section key -> heading choices, style (p, ul, ol), frames, how many frames to keep
_Section = tuple[str, tuple[str, ...], str, tuple[tuple[str, ...], ...], tuple[int, int]]

_GOAL = (
    "Prove that `{snake}` can only be invoked by an authenticated operator through `{route}`, "
    "and that every invocation leaves exactly one audit row in the [store].",
    "Land the {words} operator action end to end: route, handler, [store] write and the "
    "`ops.{snake}.[suffix]` audit event.",
    "Close the gap between the {Sentence} button on the [surface] and the [comp], without "
    "widening the operator role.",
    "Show that `{pascal}Handler` refuses cross-tenant input before it touches the [store], and "
    "that the refusal is visible in the audit log.",
    "Make {words} a first-class operator action with the same envelope as {prev}: one route, one "
    "guard, one audit event.",
    "Bring {words} up to the proof bar the supervisor set for operator actions: positive path, "
    "negative path, replay and audit.",
    "Replace the ad-hoc {words} script in `[path]` with a guarded operator action behind "
    "`{route}`.",
    "Keep the slice bounded: only `{snake}`, only the [surface], only the tenant-scoped path.",
    "Operators currently ask engineering to {words} by hand; after this lane they can do it from "
    "the [surface] and the [comp] records who did it.",
)
_SCOPE = (
    "In scope: `{route}`, `{pascal}Handler`, and the [store] write path.",
    "Out of scope: bulk {words}, the [comp] backfill, and any copy changes on the [surface].",
    "Only `[path]` and `[testpath]` change; everything else is read-only for this lane.",
    "Reuse the action envelope from {prev} instead of inventing a new one.",
    "No schema migrations; the `[table]` table already has the columns `{snake}` needs.",
    "Feature flag `ops.{camel}` stays off in [env] until the proof bundle is reviewed.",
    "The [comp] contract is frozen for this lane; if it needs to change, stop and report.",
    "No new dependencies and no changes to shared middleware.",
    "The `{upper}` permission constant is added to the role map and nowhere else.",
)
_ROUTE = (
    "Route: `POST {route}` behind the `[guard]` middleware; no GET fallback and no wildcard "
    "match.",
    "Route: `{route}` is registered once in `[path]` and mapped to `{pascal}Handler`; unknown "
    "verbs return 405.",
    "Route: the [surface] calls `{route}` with a JSON body and the handler ignores query "
    "parameters.",
)
_SESSION = (
    "Session: requires `operator-session` with a [factor] step-up no older than [k] minutes.",
    "Session: the operator session cookie is the only credential; API tokens are rejected with "
    "401.",
    "Session: expired or downgraded sessions are bounced to step-up before any side effect.",
)
_TENANT = (
    "Tenant: the tenant id comes from the session, never from the request body; a mismatch "
    "returns `403 tenant_mismatch`.",
    "Tenant: every [store] query is scoped by `tenant_id`, and the handler has no code path that "
    "reads across tenants.",
    "Tenant: the target record must belong to the operator's tenant, checked before the write, "
    "not after.",
)
_GUARD_EXTRA = (
    "Idempotency: clients send `Idempotency-Key`; a replay within [k] minutes returns the "
    "original response.",
    "Rate limit: [k] calls per minute per operator, enforced in the [comp].",
    "Audit: the audit write happens in the same transaction as the state change.",
    "Role: only `ops-admin` and `ops-lead` may call {words}; everyone else gets 403.",
)
_STEPS = (
    "Add the `{snake}` entry to `[path]` with the `[guard]` guard.",
    "Implement `{pascal}Handler` and emit `ops.{snake}.[suffix]` after the write commits.",
    "Write the positive-path test in `[testpath]`.",
    "Write the negative-path tests: wrong tenant, expired session, missing role.",
    "Add a replay test that sends the same `Idempotency-Key` twice.",
    "Run `[cmd]` and save the output under `proofs/{lane}/`.",
    "Record the commit id and the audit row id in this brief.",
    "Wire the {Sentence} button on the [surface] to `{route}` and disable it while the request "
    "is in flight.",
    "Check the [comp] in [env] for the `{snake}` event and paste the row.",
    "Update the operator actions table in the runbook with the {words} row.",
)
_POSITIVE = (
    "Positive path: an operator in tenant `t-{tenant_id}` runs {words}; [store] row {row_id} "
    "written; HTTP 200 in {ms} ms.",
    "Positive path: `POST {route}` with a valid session returns 200 and the record moves to the "
    "expected state; see `proofs/{lane}/positive.txt`.",
)
_NEGATIVE = (
    "Negative path: the same call from another tenant returns 403 and writes nothing; verified "
    "at `{h2}`.",
    "Negative path: expired session gives 401, missing role gives 403, wrong tenant gives 403; "
    "no rows written in any case.",
)
_REPLAY = (
    "Replay: sending the same `Idempotency-Key` twice yields one [store] row and "
    "`replayed: true` on the second response.",
    "Replay: a replayed `{snake}` request inside the window returns the cached body byte for "
    "byte.",
)
_AUDIT = (
    "Audit log: `ops.{snake}.[suffix]` carries actor, tenant, route `{route}` and request id "
    "`req-{h3}`.",
    "Audit log: exactly one row per successful call and none for rejected calls; last row id "
    "{row_id}.",
)
_PROOF_EXTRA = (
    "Tests: {passed} passed, 0 failed, {skipped} skipped (`[cmd]`).",
    "Session expiry: a session older than [k] minutes is sent to step-up with no side effects.",
    "Rollback: reverting the lane commit removes the route and leaves the [store] untouched.",
    "Latency: p95 for `{route}` stayed under {ms} ms on [env].",
    "Diff: {diff_lines} lines across {files} files, all inside the lane scope.",
)
_RESULT = (
    "Result: {words} is proven for the positive path and the three negative paths at `{h2}`.",
    "No regressions in the [comp] suite; the diff is {diff_lines} lines across {files} files.",
    "The {Sentence} action is live behind the flag in [env], and the proof bundle is in "
    "`proofs/{lane}/`.",
    "Status: proven. Nothing was skipped and no guardrail was relaxed.",
    "The envelope from {prev} held without changes, which is the point of this lane.",
)
_NEXT = (
    "Next: {next} picks up {next_words} with the same envelope.",
    "Hand back to the supervisor loop; no open questions on {lane}.",
    "Suggested next bounded slice: {next} ({next_words}).",
    "If the reviewer is happy, close {lane} and start {next}.",
)
_RISKS = (
    "The [comp] retries on timeout, so a slow [store] could still double-apply {words} without "
    "the idempotency key.",
    "Operators with stale [surface] tabs may still see the {Sentence} button after the flag is "
    "turned off.",
    "The event name `ops.{snake}.[suffix]` is now part of the contract; renaming it later needs "
    "a migration.",
    "Step-up timing depends on the [comp] clock, and drift over [k] seconds would reject valid "
    "sessions.",
    "Load on `{route}` was only exercised at [k]0 requests per minute.",
    "If the [table] table grows past its index budget the tenant filter will get slower.",
)
_NOTES = (
    "I reused the fixture from {prev} and only changed the action name.",
    "The first test run failed because the [comp] mock was missing the tenant header; fixed in "
    "`{h1}`.",
    "CI wall time was {minutes} minutes, mostly the [env] smoke job.",
    "Nothing in this lane touched the `[table]` table schema.",
    "The reviewer asked for the replay evidence as raw output, which is now attached.",
    "I did not touch the [surface] styling even though the button spacing is off.",
    "Token spend for this lane stayed inside the budget the supervisor set.",
    "One flaky assertion in `[testpath]` was about ordering; it now sorts by id before "
    "comparing.",
    "The [guard] guard logs at debug level only, so the proof relies on the audit row instead.",
    "Local runs used the seeded tenant fixtures; [env] used a throwaway tenant.",
)

_CORE_SECTIONS: tuple[_Section, ...] = (
    ("goal", ("Goal", "Objective", "Intent", "Why this lane"), "p", (_GOAL,), (2, 3)),
    ("scope", ("Scope", "Boundaries", "In and out of scope"), "ul", (_SCOPE,), (3, 4)),
    (
        "guard",
        ("Guardrails", "Route / session / tenant", "Constraints"),
        "ul",
        (_ROUTE, _SESSION, _TENANT, _GUARD_EXTRA),
        (0, 2),
    ),
    ("steps", ("Steps", "Plan", "Work plan"), "ol", (_STEPS,), (5, 7)),
    (
        "proof",
        ("Evidence", "Proof", "Receipts", "Proof bundle"),
        "ul",
        (_POSITIVE, _NEGATIVE, _REPLAY, _AUDIT, _PROOF_EXTRA),
        (1, 4),
    ),
    ("result", ("Result", "Outcome", "Status"), "p", (_RESULT,), (2, 3)),
    ("next", ("Next", "Handoff", "Next slice"), "p", (_NEXT,), (1, 2)),
)
_EXTRA_SECTIONS: tuple[_Section, ...] = (
    ("risks", ("Risks", "Known risks", "What could still go wrong"), "ul", (_RISKS,), (3, 5)),
    ("notes", ("Notes", "Worker notes", "Log"), "p", (_NOTES,), (4, 7)),
)

# Per-lane noise: rewordings, additions.
_MARKERS = ("As before, ", "Again, ", "Note: ", "For the record, ", "Same as last lane: ")
_TAILS = (
    ", as in the previous lane",
    ", unchanged",
    ", per the supervisor note",
    " (checked twice)",
    ", nothing else",
    " this time as well",
)
_SYNONYMS = (
    ("Prove", "Show"),
    ("Show", "Demonstrate"),
    ("returns", "responds with"),
    ("operator", "ops user"),
    ("only", "strictly"),
    ("writes", "persists"),
    ("must", "has to"),
    ("never", "not ever"),
    ("record", "entry"),
    ("same", "identical"),
    ("Write", "Add"),
    ("test", "check"),
    ("row", "record"),
    ("call", "request"),
)
_ADDITIONS = (
    "Re-ran twice to rule out flakes.",
    "CI took {minutes} minutes.",
    "Reviewer signed off at `{h1}`.",
    "No new dependencies.",
    "Logs were clean.",
    "Same pattern as {prev}.",
    "Worth one more look in staging.",
    "Nothing surprising here.",
)

# Generic vocabulary for the docs that are not lanes.
_GEN_POOLS: dict[str, tuple[str, ...]] = {
    "person": tuple(
        """Ana Bilal Chen Dara Emeka Farah Goran Hana Ines Jonas Kofi Lena Mateo Nadia Oskar
        Priya Quinn Rosa Sven Tariq Uma Viktor Wen Ximena Yusuf Zoe Aiko Bruno Cleo Dmitri Elif
        Femi Greta Hugo Ivo Jana Kai Lior Mira Noor Olu Pia Rafael Sana Tomas Vera Yara""".split()
    ),
    "comp": (
        "settlement job", "invoice renderer", "webhook relay", "search indexer", "rate limiter",
        "session broker", "tenant resolver", "policy engine", "nightly rollup", "CSV exporter",
        "PDF generator", "email digest", "currency converter", "ledger compactor", "cache warmer",
        "schema registry", "feature flag store", "retry scheduler", "thumbnail service",
        "geo lookup", "quota tracker", "billing worker", "dedupe pass", "audit sink",
        "sync daemon", "import wizard", "report builder", "SSO bridge", "payments adapter",
        "tax calculator", "notification fan-out", "timezone shim", "backup rotator",
        "log shipper", "metrics scraper", "cron fleet", "blob uploader", "consent banner",
    ),
    "bug": (
        "double submit on slow networks", "stale tenant id after a session refresh",
        "off-by-one in the pagination cursor", "timezone drift in nightly rollups",
        "a silent truncation of long vendor names", "a deadlock between two retry loops",
        "an unbounded queue during the Monday spike", "a race when two tabs save at once",
        "rounding errors on three-decimal currencies", "a leaked file handle per export",
        "missing index on the lookup path", "a cache key that ignored the locale",
        "an infinite redirect for expired invites", "duplicate emails after a failover",
        "a null deref on empty carts", "mojibake in CSV headers", "a memory spike on large PDFs",
        "clock skew between workers", "a dropped webhook on 502", "a regex that backtracked",
        "an N+1 query on the dashboard", "a flaky snapshot test", "a broken dark-mode contrast",
        "a missing retry on DNS failures", "negative stock after a partial refund",
    ),
    "verb_past": (
        "reworked", "split", "hardened", "simplified", "rewrote", "instrumented", "deleted",
        "renamed", "pinned", "parallelised", "memoised", "throttled", "documented", "migrated",
        "inlined", "sharded", "profiled", "vendored", "untangled", "replaced", "trimmed",
        "batched", "retired", "rebuilt",
    ),
    "verb_inf": (
        "measure", "remove", "backport", "retire", "load-test", "document", "split out",
        "benchmark", "review", "pin", "re-enable", "shadow", "rate-limit", "deprecate",
        "migrate", "audit", "re-index", "rotate", "archive", "reproduce",
    ),
    "object": (
        "the legacy importer", "the retry budget", "the staging seed data", "the old cron entry",
        "the ORM upgrade", "the locale fallbacks", "the flaky login test", "the CDN purge hook",
        "the dashboard query", "the webhook signature check", "the unused feature flags",
        "the vendor SDK", "the backup restore drill", "the slow-query log",
        "the onboarding emails", "the currency table", "the quota alerts", "the search synonyms",
        "the admin audit trail", "the PDF fonts", "the mobile deep links", "the cookie banner",
    ),
    "metric": (
        "p95 latency", "error rate", "queue depth", "cache hit ratio", "cold start time",
        "build time", "memory high-water mark", "retry count", "open connection count",
        "bundle size", "flake rate", "disk usage", "CPU steal", "median render time",
    ),
    "env": ("staging", "prod-eu", "prod-us", "canary", "the nightly sandbox", "preview", "QA"),
    "tool": (
        "pytest", "vitest", "go test", "playwright", "k6", "locust", "terraform plan",
        "helm diff", "sqlfluff", "eslint", "cargo clippy", "pyinstrument", "pprof", "hyperfine",
    ),
    "adj": (
        "flaky", "slow", "noisy", "brittle", "legacy", "hot", "partial", "stale", "duplicate",
        "orphaned", "oversized", "undocumented", "racy", "chatty", "lopsided", "half-migrated",
    ),
    "condition": (
        "a regional failover", "month-end close", "a cold cache", "a bulk import",
        "the Monday traffic spike", "a schema migration", "a vendor outage", "a partial deploy",
        "a long-running transaction", "daylight-saving changes", "a full disk on one node",
    ),
    "effect": (
        "time out", "double count", "drop events", "lock the table", "page the on-call",
        "serve stale data", "overrun the quota", "retry forever", "skip a tenant",
        "produce empty reports", "fill the disk",
    ),
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the weekend"),
    "topic": (
        "cursor pagination", "tenant sharding", "webhook delivery", "export batching",
        "session refresh", "cache invalidation", "search ranking", "currency rounding",
        "invoice numbering", "retry budgets", "audit retention", "feature flag cleanup",
        "queue backpressure", "PDF rendering", "locale fallbacks", "backup restores",
        "rate limiting", "schema evolution", "email deliverability", "timezone handling",
    ),
}
_GEN_DIRS = (
    "src/billing", "src/ops", "src/auth", "src/tenancy", "src/audit", "src/search", "src/notify",
    "src/exports", "src/queue", "src/reports", "web/console", "web/admin", "api/v2",
    "workers/settle", "workers/sync", "lib/http", "lib/crypto", "lib/flags", "infra/terraform",
    "infra/helm", "cmd/worker", "pkg/ledger",
)
_GEN_FILES = (
    "router", "handlers", "store", "schema", "policy", "client", "cache", "jobs", "retry",
    "metrics", "config", "session", "guards", "serializer", "migrations", "fixtures", "pager",
    "cursor", "export", "render", "locale", "quota", "limits", "digest",
)
_GEN_EXTS = (".py", ".ts", ".go", ".rs", ".tsx", ".sql")

_GEN_SENTENCES = (
    "[person] [verb_past] the [comp] in `[module]` after [bug] showed up in [env].",
    "The [metric] on [env] went from [num] to [num] once `[module]` stopped retrying.",
    "We traced [bug] to `[module]`; the fix landed as [ticket].",
    "[person] and [person] paired on [object] and found [bug] along the way.",
    "The [adj] [comp] will [effect] during [condition] unless we [verb_inf] [object].",
    "[tool] now runs on every push and catches [bug] before review.",
    "After the change the [metric] settled around [num] on [env].",
    "[object] was [verb_past] because it kept tripping the [comp] on [day].",
    "The [comp] owns [topic] now; `[module]` only forwards requests.",
    "[person] proposed to [verb_inf] [object] before [condition] next quarter.",
    "A [adj] code path in `[module]` made [topic] harder than it needed to be.",
    "[ticket] tracks the remaining work on [topic] for the [comp].",
    "We measured [metric] with [tool]: [num] before, [num] after.",
    "Nobody could explain why the [comp] would [effect] on [day] until [person] read the logs.",
    "The [adj] fixtures in `[module]` were [verb_past] and now load in [num] ms.",
    "[person] left a comment on [ticket] asking who owns [object].",
    "[condition] exposed [bug], which had been latent since the [comp] rewrite.",
    "Rolling back `[module]` on [env] took [num] minutes and lost no data.",
    "The [comp] and the [comp] disagreed about [topic], so [person] wrote down the contract.",
    "Our [tool] budget for [topic] is [num] seconds per run.",
    "[person] thinks [object] can go away once the [comp] handles [topic] itself.",
    "Pager load dropped to [num] pages a week after we [verb_past] [object].",
    "The [metric] regression on [day] came from [bug] in `[module]`.",
    "We kept the [adj] [comp] behind a flag on [env] until [person] signs off.",
    "[object] is the last consumer of `[module]`; after it moves we can [verb_inf] the file.",
    "During [condition] the [comp] started to [effect], so [person] added a circuit breaker.",
    "Customers on [env] reported [bug]; [ticket] has the reproduction steps.",
    "[person] [verb_past] [object] and the [metric] improved by [pct].",
    "The design keeps [topic] out of `[module]` so the [comp] stays testable.",
    "It is still unclear whether [condition] makes the [comp] [effect] or only slows it down.",
    "A dry run against [env] touched [num] rows and flagged [num] for review.",
    "[tool] reported [num] warnings in `[module]`, most of them about [topic].",
)
_GEN_CHANGES = (
    "`[module]`: [verb_past] [object] ([ticket]).",
    "`[module]`: fix [bug] ([ticket], [person]).",
    "[comp]: [verb_past] the [topic] path; [metric] down [pct].",
    "[person] [verb_past] `[module]` to stop the [comp] from trying to [effect].",
    "Bump [tool] config for [topic]; no behaviour change.",
    "`[module]` and `[module]`: [verb_past] shared helpers for [topic].",
    "[ticket]: guard against [bug] in the [comp].",
    "Drop [adj] code in `[module]` left over from [object].",
)
_GEN_RISKS = (
    "The [comp] may [effect] under [condition] until [ticket] lands.",
    "[object] still depends on `[module]`; removing it early would break [env].",
    "We have not load-tested [topic] beyond [num] requests per second.",
    "[bug] could come back if someone reverts `[module]` without the migration.",
    "Only [person] knows how the [adj] [comp] is deployed.",
)
_GEN_FOLLOWUPS = (
    "[person] to [verb_inf] [object] by [day] ([ticket]).",
    "[verb_inf] the [comp] on [env] and compare [metric].",
    "Write down the [topic] contract between the [comp] and the [comp].",
    "[person]: check whether [bug] also affects `[module]`.",
    "Decide who owns [object] after [condition].",
)


# ---------------------------------------------------------------------------------------------
# Small helpers

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_SLOT = re.compile(r"\[(\w+)\]")
_ASCII = str.maketrans({"—": "-", "·": "|", "–": "-", "→": "->"})


def _hex(rng: random.Random, n: int = 7) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def _clock(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%H:%M UTC")


def _lane_id(number: int) -> str:
    return f"S{number:03d}"


def _words(text: str) -> int:
    return len(text.split())


def _fill_build(frame: str, rng: random.Random) -> str:
    """Resolve build-time ``[slot]``s from the lane pools (fresh pick per occurrence)."""
    return _SLOT.sub(lambda m: rng.choice(_LANE_POOLS[m.group(1)]), frame)


def _fill_generic(frame: str, rng: random.Random) -> str:
    def pick(m: re.Match[str]) -> str:
        slot = m.group(1)
        if slot == "num":
            return str(rng.choice((rng.randint(2, 99), rng.randint(100, 9999))))
        if slot == "pct":
            return f"{rng.randint(3, 70)}%"
        if slot == "ticket":
            prefix = rng.choice(("OPS", "BILL", "PLAT", "INC", "SUP", "DATA"))
            return f"{prefix}-{rng.randint(100, 9999)}"
        if slot == "module":
            return f"{rng.choice(_GEN_DIRS)}/{rng.choice(_GEN_FILES)}{rng.choice(_GEN_EXTS)}"
        return rng.choice(_GEN_POOLS[slot])

    out = _SLOT.sub(pick, frame)
    return out[:1].upper() + out[1:] if out[:1].islower() else out


def _gen_sentences(rng: random.Random, n: int, frames: Sequence[str] = _GEN_SENTENCES) -> list[str]:
    return [_fill_generic(rng.choice(frames), rng) for _ in range(n)]


def _paragraphs(rng: random.Random, n_sentences: int) -> list[str]:
    sentences = _gen_sentences(rng, n_sentences)
    out: list[str] = []
    i = 0
    while i < len(sentences):
        k = rng.randint(2, 4)
        if out:
            out.append("")
        out.append(" ".join(sentences[i : i + k]))
        i += k
    return out


def _reword(sentence: str, rng: random.Random) -> str:
    """A light per-lane rewording: a marker in front, a tail clause or a synonym."""
    options: list[Callable[[], str]] = []
    first = sentence[:1]
    if first.isupper() and sentence[1:2].islower():
        options.append(lambda: rng.choice(_MARKERS) + first.lower() + sentence[1:])
    if sentence.endswith("."):
        options.append(lambda: sentence[:-1] + rng.choice(_TAILS) + ".")
    present = [(a, b) for a, b in _SYNONYMS if f" {a} " in f" {sentence} "]
    if present:
        a, b = rng.choice(present)

        def swap() -> str:
            return f" {sentence} ".replace(f" {a} ", f" {b} ", 1)[1:-1]

        options += [swap, swap]
    if not options:
        return sentence + " Again."
    return rng.choice(options)()


# ---------------------------------------------------------------------------------------------
# Renamed-lane families


@dataclass
class _Family:
    fid: str
    title: str
    meta: str | None
    action_line: str
    sections: list[tuple[str, str, list[str]]]  # heading, style, units
    front_matter: bool
    naming: int
    route: str
    actions: list[Action]
    establish: int
    ascii: bool
    spare: list[list[str]]  # unused frames per section (establishing lanes draw on them)
    lanes: int = 0  # rendered so far


def _build_family(
    fid: str, rng: random.Random, *, naming: int, front_matter: bool, ascii: bool,
    extra: bool, words: tuple[int, int],
) -> _Family:
    sections: list[tuple[str, str, list[str]]] = []
    spare: list[list[str]] = []  # unused frames per section, for growing a short template
    specs = list(_CORE_SECTIONS)
    if extra:
        specs.insert(5, _EXTRA_SECTIONS[0])
        specs.append(_EXTRA_SECTIONS[1])
    elif rng.random() < 0.5:
        specs.insert(5, _EXTRA_SECTIONS[0])
    # families differ in section order a little: scope and guardrails may swap
    if rng.random() < 0.4:
        specs[1], specs[2] = specs[2], specs[1]
    for _key, headings, style, groups, (lo, hi) in specs:
        units: list[str] = []
        unused: list[str] = []
        for g, group in enumerate(groups):
            # in multi-group sections (guardrails, proof) each core group gives one line
            k = 1 if g < len(groups) - 1 else min(len(group), rng.randint(lo, hi))
            order = rng.sample(range(len(group)), len(group))
            chosen = sorted(order[:k]) if style == "ol" else order[:k]
            units.extend(_fill_build(group[f], rng) for f in chosen)
            unused.extend(group[f] for f in order[k:] if g == len(groups) - 1)
        if style != "ol" and len(groups) == 1:
            rng.shuffle(units)
        sections.append((rng.choice(headings), style, units))
        spare.append(unused)
    title = _fill_build(rng.choice(_TITLE_FRAMES), rng)
    meta = rng.choice(_META_FRAMES) if rng.random() < 0.7 else None
    fam = _Family(
        fid=fid, title=title, meta=meta, action_line=rng.choice(_ACTION_LINES),
        sections=sections, front_matter=front_matter,
        naming=naming, route=rng.choice(_ROUTES), actions=rng.sample(ACTIONS, len(ACTIONS)),
        establish=rng.randint(2, 4), ascii=ascii, spare=spare,
    )
    # keep the brief inside the requested word range: grow from unused frames, or trim
    lo_w, hi_w = words
    for _ in range(60):
        n = _template_words(fam)
        if n < lo_w:
            grow = [j for j, s in enumerate(spare) if s]
            if not grow:
                break
            j = rng.choice(grow)
            sections[j][2].append(_fill_build(spare[j].pop(), rng))
        elif n > hi_w:
            j = max(range(len(sections)), key=lambda j: len(sections[j][2]))
            if len(sections[j][2]) <= 1:
                break
            sections[j][2].pop(rng.randrange(len(sections[j][2])))
        else:
            break
    if ascii:
        fam.title = fam.title.translate(_ASCII)
        fam.meta = fam.meta.translate(_ASCII) if fam.meta else None
        fam.action_line = fam.action_line.translate(_ASCII)
        fam.sections = [(h, s, [u.translate(_ASCII) for u in us]) for h, s, us in fam.sections]
    return fam


def _template_words(fam: _Family) -> int:
    n = _words(fam.title) + _words(fam.action_line) + (_words(fam.meta) if fam.meta else 0)
    for heading, _style, units in fam.sections:
        n += 1 + _words(heading) + sum(_words(u) + 1 for u in units)
    return n + (12 if fam.front_matter else 0)


def _lane_path(fam: _Family, number: int, sp: dict[str, str], prefix: str) -> str:
    lane = _lane_id(number)
    if fam.naming == 0:
        return f"{prefix}docs/lanes/{lane}-{sp['kebab']}.md"
    if fam.naming == 1:
        return f"{prefix}docs/loop/lanes/lane-{number}_{sp['snake']}.md"
    return f"{prefix}docs/waves/wave-{number:03d}-{sp['pascal']}.md"


def _render_lane(
    fam: _Family, rng: random.Random, *, number: int, action: Action, next_action: Action,
    created: int, noise: float, tokens: bool, ascii: bool,
) -> str:
    sp = label_spellings(action)
    nsp = label_spellings(next_action)
    vals: dict[str, str] = dict(sp)
    vals.update(
        lane=_lane_id(number),
        prev=_lane_id(number - 1),
        next=_lane_id(number + 1),
        next_words=nsp["words"],
        date=_date(created),
        time=_clock(created),
        h1=_hex(rng), h2=_hex(rng), h3=_hex(rng, 12),
        tenant_id=str(rng.randint(1000, 9999)),
        ms=str(rng.randint(40, 900)),
        passed=str(rng.randint(40, 400)),
        skipped=str(rng.randint(0, 9)),
        diff_lines=str(rng.randint(20, 600)),
        files=str(rng.randint(2, 14)),
        minutes=str(rng.randint(3, 25)),
        row_id=str(rng.randint(10000, 999999)),
    )
    route = _PLACEHOLDER.sub(lambda m: vals[m.group(1)], fam.route)
    vals["route"] = route
    establishing = fam.lanes < fam.establish
    if establishing:  # the pattern is still settling: more rewording, some lines swapped out
        noise = max(0.15, 1.5 * noise)
    lines: list[str] = []
    if fam.front_matter:
        lines.append("---")
        lines.append(f"lane: {vals['lane']}")
        lines.append("kind: brief")
        lines.append(f"action: {sp['snake']}")
        lines.append(f"route: {route}")
        lines.append("session: operator-session")
        lines.append("tenant: tenant-scoped")
        if fam.lanes >= fam.establish and rng.random() < 0.6:
            lines.append("status: proven")
        if tokens:
            codex = rng.randint(40, 160) * 100_000
            loom = rng.randint(5, 30) * 100_000
            lines.append(f"tokens: {{codex: {codex}, loom: {loom}}}")
        lines.append("---")
        lines.append("")
    lines.append(fam.title)
    lines.append("")
    if fam.meta:
        lines.append(fam.meta)
        lines.append("")
    lines.append(fam.action_line)
    lines.append("")
    random_ = rng.random
    for (heading, style, units), spare in zip(fam.sections, fam.spare, strict=True):
        kept: list[str] = []
        for unit in units:
            if establishing and spare and random_() < 0.08:
                swapped = _fill_build(rng.choice(spare), rng)
                kept.append(swapped.translate(_ASCII) if ascii else swapped)
            elif random_() < noise:
                op = random_()
                if op < 0.75:
                    kept.append(_reword(unit, rng))
                elif op < 0.92:
                    kept.append(unit)
                    kept.append(rng.choice(_ADDITIONS))
            else:
                kept.append(unit)
        if not kept:
            kept.append(units[0])
        lines.append(f"## {heading}")
        lines.append("")
        if style == "p":
            lines.append(" ".join(kept))
        elif style == "ul":
            lines.extend(f"- {u}" for u in kept)
        else:
            lines.extend(f"{i}. {u}" for i, u in enumerate(kept, 1))
        lines.append("")
    fam.lanes += 1
    text = _PLACEHOLDER.sub(lambda m: vals[m.group(1)], "\n".join(lines))
    return text.translate(_ASCII) if ascii else text


_LAUNCH = """# Launch packet {packet}

Launch packet {packet} for the supervisor loop. You are a bounded implementation worker.

## Read first

- `docs/README.md` for how the loop works and what a lane is.
- The latest lane brief under `docs/lanes/` and its proof bundle.
- `docs/proofs/operator-action-envelope-proof.md` for the envelope every action must follow.

## Rules

1. Work on exactly one lane. Do not start a second lane without a new packet.
2. Stay inside the files the brief lists. If you need to touch anything else, stop and report.
3. Every operator action needs a route guard, an operator session check and a tenant scope check.
4. Evidence is raw output, not a summary: positive path, negative path, replay, audit row.
5. Keep commits small and name them after the lane id.
6. Never relax a guardrail to make a test pass.

## Deliver

- The lane brief, updated with Result and Next.
- The proof bundle under `proofs/` with the command lines you ran.
- A one-paragraph handoff for the supervisor.

## Report back

Reply on branch `packet/{packet_lower}` with the commit id, the test counts and anything you
could not prove. Packet {packet} closes when the supervisor acknowledges the handoff.
"""


# ---------------------------------------------------------------------------------------------
# Chatter, proofs, skeleton docs and one-offs


_ACK_OPENERS = (
    "ACK {lane} {words} landed.",
    "{lane} acknowledged — {words} is merged at `{h}`.",
    "Ack: {lane} done.",
    "Received {lane}.",
    "Noted, {lane} ({words}) is closed.",
    "Got it: {lane} is in.",
    "Acknowledged {lane}, thanks.",
)
_ACK_MIDDLES = (
    "Proof bundle checked, audit rows present.",
    "Positive path, negative path and replay all look green.",
    "Do not widen scope.",
    "Same guardrails as before: route, session, tenant.",
    "Token spend so far is within budget.",
    "The reviewer had no comments on the envelope.",
    "Keep the commit small and the brief short.",
    "Remember to paste the raw test output, not a summary.",
)
_ACK_NEXTS = (  # every variant carries a next-step signal (next slice, proceed, continue...)
    "Next bounded slice: {next} {next_words}. Proceed.",
    "Queueing {next} ({next_words}) as the next slice; same guardrails.",
    "Continue with {next}: {next_words}.",
    "Next step: {next} {next_words}, keep the slice bounded.",
    "Move to {next} — {next_words}. Proceed, and report back with commit id and test counts.",
    "Proceed with {next} ({next_words}) when ready.",
    "Go ahead with {next}, {next_words}.",
)
_ACK_NEXTS_OPEN = (
    "Next step: pick the next bounded slice from the backlog and proceed.",
    "Proceed with the next packet when it arrives.",
    "Continue with whatever the supervisor queues next.",
)


def _ack_doc(
    rng: random.Random, number: int, action: Action, next_lane: tuple[int, Action] | None,
    created: int,
) -> tuple[str, str]:
    lane = _lane_id(number)
    vals = {"lane": lane, "words": " ".join(action), "h": _hex(rng)}
    nexts: tuple[str, ...]
    if next_lane is not None:
        vals["next"] = _lane_id(next_lane[0])
        vals["next_words"] = " ".join(next_lane[1])
        nexts = _ACK_NEXTS
    else:
        nexts = _ACK_NEXTS_OPEN
    parts = [rng.choice(_ACK_OPENERS)]
    parts.extend(rng.sample(_ACK_MIDDLES, rng.randint(0, 2)))
    parts.append(rng.choice(nexts))
    middles = [m for m in _ACK_MIDDLES if m not in parts]
    while _words(" ".join(parts)) < 20 and middles:
        parts.insert(1, middles.pop(rng.randrange(len(middles))))
    body = " ".join(parts)
    body = _PLACEHOLDER.sub(lambda m: vals[m.group(1)], body)
    style = rng.randrange(5)
    if style == 0:
        path, text = f"docs/acks/{lane}-ack.md", f"# ACK {lane}\n\n{body}\n"
    elif style == 1:
        path, text = f"docs/acks/ack-{number:03d}.md", body + "\n"
    elif style == 2:
        path, text = f"docs/loop/{lane}-next.md", body + "\n"
    elif style == 3:
        path, text = f"notes/handoff/{lane}.md", f"**Supervisor:** {body}\n"
    else:
        path, text = f"docs/loop/{_date(created)}-{lane}-reply.md", f"> {body}\n"
    return path, text


_PROOF_TOPICS = (
    ("operator-action-envelope", "proof", "operator action envelope"),
    ("tenant-scope", "hardening", "tenant scope"),
    ("session-step-up", "proof", "session step-up"),
    ("audit-log-integrity", "hardening", "audit log integrity"),
    ("idempotent-replay", "proof", "idempotent replay"),
    ("route-guard", "hardening", "route guard"),
    ("webhook-signature", "proof", "webhook signature check"),
    ("export-redaction", "hardening", "export redaction"),
)


def _proof_doc(rng: random.Random, i: int) -> tuple[str, str, str]:
    slug, kind, name = _PROOF_TOPICS[i % len(_PROOF_TOPICS)]
    if i >= len(_PROOF_TOPICS):
        slug = f"{slug}-{i // len(_PROOF_TOPICS) + 1}"
    if kind == "proof":
        path, title = f"docs/proofs/{slug}-proof.md", f"# Proof: {name}"
        heads = ("Claim", "Setup", "Procedure", "Observations", "Verdict")
    else:
        path, title = f"docs/hardening/{slug}-hardening.md", f"# Hardening: {name}"
        heads = ("Threat", "Current state", "Changes", "Verification", "Residual risk")
    out = [title, "", f"Owner: {rng.choice(_GEN_POOLS['person'])}. Applies to every operator "
           f"action that touches the {name}.", ""]
    for h in heads:
        out += [f"## {h}", ""]
        if h in ("Procedure", "Changes"):
            out += [f"{j}. {s}" for j, s in enumerate(_gen_sentences(rng, rng.randint(4, 6)), 1)]
        elif h in ("Observations", "Verification"):
            out += [f"- {s}" for s in _gen_sentences(rng, rng.randint(4, 6), _GEN_CHANGES)]
        else:
            out += _paragraphs(rng, rng.randint(3, 5))
        out.append("")
    return path, "\n".join(out), kind


def _skeleton_doc(rng: random.Random, i: int, created: int) -> tuple[str, str]:
    """Merge logs / cycle reports with one shared skeleton, or task cards; distinct bodies."""
    style = i % 5
    if style == 4:
        card = f"T-{rng.randint(100, 999)}{chr(65 + i % 26)}"
        title = f"# Task card {card}: {rng.choice(_GEN_POOLS['topic'])}"
        owner = rng.choice(_GEN_POOLS["person"])
        out = [title, "", f"Owner: {owner} · Opened {_date(created)}", ""]
        out += ["## Task", ""] + _paragraphs(rng, rng.randint(3, 5)) + [""]
        out += ["## Acceptance", ""]
        out += [f"- [ ] {s}" for s in _gen_sentences(rng, rng.randint(3, 5), _GEN_FOLLOWUPS)]
        out += ["", "## Notes", ""] + _paragraphs(rng, rng.randint(3, 5)) + [""]
        return f"docs/tasks/task-card-{card.lower()}.md", "\n".join(out)
    if style == 3:
        title = f"# Cycle {10 + i} report"
        path = f"docs/reports/cycle-{10 + i:02d}-report.md"
        boiler = "_Assembled from the merge logs of the cycle. Numbers are from the CI dashboard._"
    else:
        title = f"# Merge log — {_date(created)} (#{i + 1})"
        path = f"docs/merges/{_date(created)}-merge-log-{i + 1:02d}.md"
        boiler = "_Generated by the merge bot. Do not edit by hand._"
    out = [title, "", boiler, "", "## Summary", ""] + _paragraphs(rng, rng.randint(3, 5))
    out += ["", "## Changes", ""]
    out += [f"- {s}" for s in _gen_sentences(rng, rng.randint(5, 8), _GEN_CHANGES)]
    out += ["", "## Risks", ""]
    out += [f"- {s}" for s in _gen_sentences(rng, rng.randint(2, 3), _GEN_RISKS)]
    out += ["", "## Follow-ups", ""]
    out += [f"- [ ] {s}" for s in _gen_sentences(rng, rng.randint(2, 4), _GEN_FOLLOWUPS)]
    out += ["", "Reviewed-by: loom supervisor", ""]
    return path, "\n".join(out)


def _one_off(
    rng: random.Random, i: int, created: int, actions: Sequence[Action], lanes: Sequence[str],
    size: int = 1,
) -> tuple[str, str, str]:
    """Distinct single docs; ``size`` scales the body (1 = loop corpus, 2 = scale corpus)."""
    style = i % 8
    topic = rng.choice(_GEN_POOLS["topic"])
    slug = topic.replace(" ", "-").lower()
    day = _date(created)
    if style == 0 or (size > 1 and style == 6):
        out = [f"# Design note: {topic}", "", f"Author: {rng.choice(_GEN_POOLS['person'])}", ""]
        for h in ("Context", "Options", "Decision", "Consequences"):
            out += [f"## {h}", ""] + _paragraphs(rng, rng.randint(3, 5) * size) + [""]
        return f"docs/design/{slug}-{i}.md", "\n".join(out), "other"
    if style == 1:
        out = [f"# Postmortem: {rng.choice(_GEN_POOLS['bug'])} on {rng.choice(_GEN_POOLS['env'])}",
               "", f"Date: {day}. Severity: SEV{rng.randint(2, 3)}.", "", "## Summary", ""]
        out += _paragraphs(rng, 3 * size) + ["", "## Timeline", ""]
        t = created - rng.randint(2, 9) * 3600
        for s in _gen_sentences(rng, rng.randint(4, 6) * size):
            t += rng.randint(3, 40) * 60
            out.append(f"- {_clock(t)}: {s}")
        out += ["", "## Root cause", ""] + _paragraphs(rng, 3 * size)
        out += ["", "## Action items", ""]
        out += [f"- [ ] {s}" for s in _gen_sentences(rng, 3 * size, _GEN_FOLLOWUPS)] + [""]
        return f"docs/postmortems/{day}-{slug}-postmortem.md", "\n".join(out), "postmortem"
    if style == 2:
        out = ["# Docs", "", "This folder is where the supervisor loop and its workers keep "
               "briefs, handoffs and proof bundles.", "", "## Layout", ""]
        out += [
            "- `docs/lanes/`, `docs/loop/lanes/`, `docs/waves/`: one brief per lane.",
            "- `docs/acks/`, `docs/loop/`: supervisor replies and next-step notes.",
            "- `docs/proofs/`, `docs/hardening/`: cross-cutting proofs and hardening notes.",
            "- `docs/merges/`, `docs/reports/`: merge logs and cycle reports.",
            "- `docs/design/`: design notes that outlive a single lane.",
            "",
            "## Conventions",
            "",
        ]
        out += _paragraphs(rng, 7 * size) + [""]
        return ("docs/README.md" if i < 8 else f"docs/{slug}/README.md"), "\n".join(out), "other"
    if style == 3:
        first = rng.randint(40, 60)
        last = first + rng.randint(12, 24)
        out = [f"# Close-out: {topic} lanes", "",
               f"Lanes S{first:03d}–S{last:03d} are closed. They proved the same envelope "
               f"for {topic} across {last - first + 1} actions.", "", "## What was proven", ""]
        out += [f"- {s}" for s in _gen_sentences(rng, 4 * size, _GEN_CHANGES)]
        out += ["", "## Why we stopped", ""] + _paragraphs(rng, 3 * size) + [""]
        return f"docs/closeouts/{slug}-closeout.md", "\n".join(out), "closeout"
    if style == 4:
        out = ["# Operator actions coverage", "", "Which operator actions have which evidence.",
               "", "| Action | Lane | Positive | Negative | Replay | Audit |",
               "|---|---|---|---|---|---|"]
        picked = list(actions)[: 12 * size] or [ACTIONS[0]]
        for j, a in enumerate(picked):
            lane = lanes[j] if j < len(lanes) else "—"
            marks = ["yes" if rng.random() < 0.8 else "no" for _ in range(4)]
            out.append(f"| `{'_'.join(a)}` | {lane} | " + " | ".join(marks) + " |")
        out += ["", "## Notes", ""] + _paragraphs(rng, 2 * size) + [""]
        return f"docs/coverage/operator-actions-coverage-{i}.md", "\n".join(out), "coverage"
    if style == 5:
        out = [f"# Gaps: {topic}", "", "What is still unproven or only partly proven.", ""]
        out += [f"- {s}" for s in _gen_sentences(rng, 6 * size, _GEN_RISKS)]
        out += ["", "## Why these matter", ""] + _paragraphs(rng, 3 * size) + [""]
        return f"docs/gaps/{slug}-gaps.md", "\n".join(out), "gaps"
    if style == 6:
        target = f"docs/design/{slug}.md"
        text = (f"# Redirect: {topic}\n\nThis page moved to `{target}` on {day}. "
                "The old content was folded into the design note; links here are kept so that "
                "older handoffs still resolve.\n")
        return f"docs/redirects/{slug}.md", text, "redirect"
    out = [f"# Runbook: {topic}", "", f"On-call owner: {rng.choice(_GEN_POOLS['person'])}.", ""]
    for h in ("When to use this", "Checks", "Remediation", "Escalation"):
        out += [f"## {h}", ""]
        if h == "Checks" or h == "Remediation":
            out += [f"{j}. {s}" for j, s in enumerate(_gen_sentences(rng, 4 * size), 1)]
        else:
            out += _paragraphs(rng, 3 * size)
        out.append("")
    return f"docs/runbooks/{slug}-{i}.md", "\n".join(out), "other"


def _unique(path: str, seen: set[str]) -> str:
    if path not in seen:
        seen.add(path)
        return path
    stem, dot, ext = path.rpartition(".")
    k = 2
    while f"{stem}-{k}{dot}{ext}" in seen:
        k += 1
    path = f"{stem}-{k}{dot}{ext}"
    seen.add(path)
    return path


# ---------------------------------------------------------------------------------------------
# Public generators


def loop_corpus(
    seed: int = 0,
    *,
    families: int = 3,
    lanes_per_family: int = 25,
    acks: bool = True,
    proofs: int = 2,
    skeleton_docs: int = 20,
    one_offs: int = 8,
    noise: float = 0.1,
    start: int = DEFAULT_START,
    tokens: bool = True,
) -> list[ExampleDoc]:
    """One supervisor loop's worth of docs, ordered by ``created`` (one doc per commit).

    With ``families >= 2`` the last family is a run of launch prompts that differ only by
    their packet id (kind ``other``: they carry no lane id, and take no lane number); the
    others are renamed-lane families (same proof shape, new label), kind ``brief``. Lane
    numbers run S085, S086, ... over the renamed lanes in commit order. Each renamed family's
    first 2-4 lanes are its establishing lanes (more rewording, a few lines swapped).
    """
    rng = random.Random(seed)
    fams: list[_Family] = []
    renamed = families - 1 if families >= 2 else families
    for f in range(renamed):
        fams.append(
            _build_family(
                f"F{f + 1:02d}", random.Random(rng.getrandbits(64)), naming=f % 3,
                front_matter=f % 2 == 0, ascii=False, extra=False, words=(350, 560),
            )
        )
    launch_id = f"F{families:02d}-launch" if families >= 2 else None

    # Schedule: runs of lanes from one family at a time, like a loop working a theme.
    remaining = {i: lanes_per_family for i in range(families)}
    order: list[int] = []
    while any(remaining.values()):
        live = [i for i, n in remaining.items() if n]
        f = rng.choice(live)
        run = min(remaining[f], rng.randint(1, 6))
        order.extend([f] * run)
        remaining[f] -= run
    # Other docs go in at random points of the run.
    others: list[tuple[str, int]] = (
        [("proof", i) for i in range(proofs)]
        + [("skeleton", i) for i in range(skeleton_docs)]
        + [("one_off", i) for i in range(one_offs)]
    )
    slots: list[tuple[str, int]] = [("lane", f) for f in order]
    for item in others:
        slots.insert(rng.randint(0, len(slots)), item)

    # Lane numbers and labels, known up front so briefs and ACKs can point at the next lane.
    lane_no: dict[int, int] = {}
    lane_action: dict[int, Action] = {}
    per_family = dict.fromkeys(range(families), 0)
    number = 85
    lane_slots = [i for i, (what, _f) in enumerate(slots) if what == "lane" and _f < renamed]
    for i in lane_slots:
        f = slots[i][1]
        fam = fams[f]
        lane_no[i] = number
        lane_action[i] = fam.actions[per_family[f] % len(fam.actions)]
        per_family[f] += 1
        number += 1
    next_of: dict[int, int] = {a: b for a, b in zip(lane_slots, lane_slots[1:], strict=False)}

    docs: list[ExampleDoc] = []
    seen: set[str] = set()
    created = start
    packet = rng.randint(300, 600)
    all_lanes: list[str] = []
    all_actions: list[Action] = []

    def add(path: str, text: str, family: str | None, kind: str) -> None:
        nonlocal created
        docs.append(ExampleDoc(_unique(path, seen), text, family, kind, created))
        created += rng.randint(120, 420)

    for i, (what, arg) in enumerate(slots):
        if what == "lane" and arg < renamed:
            fam = fams[arg]
            n, action = lane_no[i], lane_action[i]
            nxt = next_of.get(i)
            next_action = lane_action[nxt] if nxt is not None else fam.actions[0]
            text = _render_lane(
                fam, rng, number=n, action=action, next_action=next_action, created=created,
                noise=noise, tokens=tokens, ascii=False,
            )
            path = _lane_path(fam, n, label_spellings(action), "")
            all_lanes.append(_lane_id(n))
            all_actions.append(action)
            add(path, text, fam.fid, "brief")
            if acks and rng.random() < 0.7:
                path, text = _ack_doc(
                    rng, n, action, (lane_no[nxt], lane_action[nxt]) if nxt is not None else None,
                    created,
                )
                add(path, text, None, "ack")
        elif what == "lane":
            packet += rng.randint(1, 3)
            pid = f"PKT-{packet:04d}"
            text = _LAUNCH.replace("{packet}", pid).replace("{packet_lower}", pid.lower())
            add(f"docs/launch/{pid}.md", text, launch_id, "other")  # no lane id: not a brief
        elif what == "proof":
            path, text, kind = _proof_doc(random.Random(rng.getrandbits(64)), arg)
            add(path, text, None, kind)
        elif what == "skeleton":
            path, text = _skeleton_doc(random.Random(rng.getrandbits(64)), arg, created)
            add(path, text, None, "other")
        else:
            path, text, kind = _one_off(
                random.Random(rng.getrandbits(64)), arg, created, all_actions, all_lanes
            )
            add(path, text, None, kind)
    return docs


def scale_corpus(n: int, seed: int = 0) -> list[ExampleDoc]:
    """~``n`` docs of 400-800 words for benchmarks: 50 renamed-lane families + ~10% one-offs.

    Timestamps are 30 s apart from 2026-05-09; paths are sharded by day and hour so that no
    directory grows past a few hundred entries (which keeps ``write_repo`` fast).
    """
    rng = random.Random(seed)
    n_fams = 50
    fams = [
        _build_family(
            f"F{f + 1:02d}", random.Random(rng.getrandbits(64)), naming=f % 3,
            front_matter=f % 2 == 0, ascii=True, extra=True, words=(470, 700),
        )
        for f in range(n_fams)
    ]
    kinds = ["lane" if rng.random() >= 0.1 else "one_off" for _ in range(n)]
    per_family = [0] * n_fams
    docs: list[ExampleDoc] = []
    number = 85
    lanes_so_far: list[str] = []
    actions_so_far: list[Action] = []
    for i, what in enumerate(kinds):
        created = DEFAULT_START + 30 * i
        shard = datetime.fromtimestamp(created, tz=UTC).strftime("%Y-%m-%d/%H")
        if what == "lane":
            f = rng.randrange(n_fams)
            fam = fams[f]
            j = per_family[f]
            per_family[f] += 1
            action = fam.actions[j % len(fam.actions)]
            next_action = fam.actions[(j + 1) % len(fam.actions)]
            text = _render_lane(
                fam, rng, number=number, action=action, next_action=next_action,
                created=created, noise=0.1, tokens=True, ascii=True,
            )
            path = _lane_path(fam, number, label_spellings(action), "")
            family: str | None = fam.fid
            kind = "brief"
            if len(lanes_so_far) < 64:
                lanes_so_far.append(_lane_id(number))
                actions_so_far.append(action)
            number += 1
        else:
            sub = random.Random(rng.getrandbits(64))
            style = sub.choice((0, 1, 3, 4, 5, 7, 8, 9))
            if style >= 8:
                path, text = _skeleton_doc(sub, 4 if style == 9 else i % 4, created)
                kind = "other"
            else:
                path, text, kind = _one_off(
                    sub, style, created, actions_so_far, lanes_so_far, size=2
                )
            path = path.replace(".md", f"-{i}.md")
            short = 440 - _words(text)
            if short > 0:  # pad to the benchmark's 400-800 words with more of the same prose
                text += "\n## More notes\n\n" + "\n".join(_paragraphs(sub, short // 12 + 1))
                text += "\n"
            text = text.translate(_ASCII)
            family = None
        head, _, name = path.rpartition("/")
        docs.append(ExampleDoc(f"{head}/{shard}/{name}", text, family, kind, created))
    return docs


# ---------------------------------------------------------------------------------------------
# Writing a repo


def _fi_path(path: str) -> str:
    if path.startswith('"') or any(c in path for c in '"\\\n'):
        return '"' + path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return path


_TITLE_LINE = re.compile(r"^#\s+(.+?)\s*$", re.MULTILINE)


def _commit_message(doc: ExampleDoc) -> str:
    m = _TITLE_LINE.search(doc.text[:2000])
    if m is None:
        return f"add {doc.path}"
    title = m.group(1)
    lane = re.match(r"(S\d+)\s+(?:—|-|:)\s+(.+)", title)
    if lane:
        return f"{lane.group(1)}: {lane.group(2)}"
    return title


def _fast_import_stream(
    docs: Sequence[ExampleDoc], ref: str, parent: str | None
) -> Iterator[bytes]:
    """The ``git fast-import`` input: one commit per doc, in ~4 MB chunks."""
    ident = IDENTITY.encode()
    head = b"commit " + ref.encode() + b"\n"
    buf: list[bytes] = []
    size = 0
    for k, doc in enumerate(docs):
        msg = _commit_message(doc).encode() + b"\n"
        body = doc.text.encode()
        when = b" %d +0000\n" % doc.created
        chunk = b"".join(
            (
                head,
                b"author ", ident, when,
                b"committer ", ident, when,
                b"data %d\n" % len(msg), msg,
                (b"from " + parent.encode() + b"\n") if k == 0 and parent else b"",
                b"M 100644 inline ", _fi_path(doc.path).encode(), b"\n",
                b"data %d\n" % len(body), body, b"\n",
            )
        )
        buf.append(chunk)
        size += len(chunk)
        if size > 1 << 22:
            yield b"".join(buf)
            buf, size = [], 0
    buf.append(b"done\n")
    yield b"".join(buf)


def write_repo(root: Path, docs: Sequence[ExampleDoc], *, branch: str = "main") -> None:
    """Commit ``docs`` to the git repo at ``root``, one commit per doc, in order.

    Creates the repo when ``root`` has no ``.git``; otherwise appends on top of ``branch``
    (or HEAD when ``branch`` does not exist yet). One ``git fast-import`` through
    :func:`compactor.git.write_history`, so 100k docs take seconds, then ``branch`` is
    checked out (``reset --hard``: local changes in an existing work tree are discarded).
    Author and committer are pinned to ``Example Agent`` at ``doc.created``.
    """
    ref = f"refs/heads/{branch}"
    write_history(Path(root), branch,
                  lambda parent: _fast_import_stream(docs, ref, parent) if docs else iter(()))
