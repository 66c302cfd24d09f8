"""The loop postmortem: a Scan -> a frozen :class:`Report` -> text, markdown or JSON.

Everything is computed from the repository alone: the artifact window is the
first to the last artifact carrying a lane id (git creation times), tokens come
from front matter ``tokens``, and the phases say where the energy went. Pure:
no git, no printing.

Consolidation outputs (closeout, coverage, gaps, redirect) and postmortems are
written *about* lanes after the fact, so they never stretch the window even
when their names carry a lane id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from compactor.briefs import Brief
from compactor.config import CONSOLIDATION_KINDS
from compactor.decisions import PHASES, Decision
from compactor.scan import Scan

NO_FAMILY = "no family"
AFTER_THE_FACT = CONSOLIDATION_KINDS | {"postmortem"}


@dataclass(frozen=True)
class PhaseRow:
    """Where the energy went in one phase: lane artifacts and their tokens."""

    name: str
    lanes: int
    tokens: int
    share: float  # of all tokens (of all lanes when no tokens are recorded)


@dataclass(frozen=True)
class Report:
    """What a team needs to know when a loop is suspected."""

    start: int | None  # epoch seconds of the first artifact carrying a lane id
    end: int | None
    lanes: int  # distinct numbered lanes
    first_lane: str | None
    last_lane: str | None
    tokens: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    phases: tuple[PhaseRow, ...] = ()
    briefs: int = 0
    families: int = 0
    retention: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def duration_seconds(self) -> int:
        if self.start is None or self.end is None:
            return 0
        return self.end - self.start

    @property
    def duration_hours(self) -> float:
        return self.duration_seconds / 3600

    @property
    def tokens_total(self) -> int:
        return sum(self.tokens.values())

    def burn_per_hour(self) -> dict[str, float] | None:
        """Tokens per hour per source and ``total``; None when the window has no length."""
        hours = self.duration_hours
        if hours <= 0:
            return None
        out = {k: v / hours for k, v in sorted(self.tokens.items())}
        out["total"] = self.tokens_total / hours
        return out


def lane_artifacts(briefs: Sequence[Brief], skip: frozenset[str] = frozenset()) -> list[int]:
    """Indexes of the artifacts that belong to the loop itself and carry a lane id."""
    return [
        i for i, b in enumerate(briefs)
        if b.lane is not None and b.kind not in AFTER_THE_FACT and b.path not in skip
    ]


def build_report(scan: Scan, skip: frozenset[str] = frozenset()) -> Report:
    """The report for a scan; paths in ``skip`` (e.g. the inventory itself) are left out."""
    briefs, decisions = scan.briefs, scan.decisions
    laned = lane_artifacts(briefs, skip)
    start = min((briefs[i].created for i in laned), default=None)
    end = max((briefs[i].created for i in laned), default=None)
    numbered: dict[int, str] = {}
    for i in sorted(laned, key=lambda i: (briefs[i].created, briefs[i].path)):
        b = briefs[i]
        if b.number is not None:
            numbered.setdefault(b.number, b.lane or str(b.number))
    if numbered:
        first: str | None = numbered[min(numbered)]
        last: str | None = numbered[max(numbered)]
        count = len(numbered)
    else:
        ids = sorted({briefs[i].lane or "" for i in laned})
        by_time = sorted(laned, key=lambda i: (briefs[i].created, briefs[i].path))
        first = briefs[by_time[0]].lane if by_time else None
        last = briefs[by_time[-1]].lane if by_time else None
        count = len(ids)
    tokens: dict[str, int] = {}
    counted = [i for i, b in enumerate(briefs) if b.path not in skip]
    for i in counted:
        for source, n in briefs[i].tokens.items():
            tokens[source] = tokens.get(source, 0) + n
    retention: dict[str, int] = {}
    for i in counted:
        r = decisions[i].retention
        retention[r] = retention.get(r, 0) + 1
    return Report(
        start=start,
        end=end,
        lanes=count,
        first_lane=first,
        last_lane=last,
        tokens=MappingProxyType(dict(sorted(tokens.items()))),
        phases=phase_rows(briefs, decisions, laned),
        briefs=len(counted),
        families=len(scan.families),
        retention=MappingProxyType(retention),
    )


def phase_of(brief: Brief, decision: Decision) -> str | None:
    """The phase a lane artifact's energy is booked to (None: not a lane, e.g. ACK chatter)."""
    if decision.phase is not None:
        return decision.phase
    if brief.kind == "ack":
        return None
    return NO_FAMILY


def phase_rows(
    briefs: Sequence[Brief], decisions: Sequence[Decision], laned: Sequence[int]
) -> tuple[PhaseRow, ...]:
    """Lanes and tokens per phase, in pipeline order, then lanes in no family."""
    lanes = dict.fromkeys((*PHASES, NO_FAMILY), 0)
    tokens = dict.fromkeys((*PHASES, NO_FAMILY), 0)
    for i in laned:
        name = phase_of(briefs[i], decisions[i])
        if name is None:
            continue
        lanes[name] += 1
        tokens[name] += sum(briefs[i].tokens.values())
    total_tokens = sum(tokens.values())
    total_lanes = sum(lanes.values())
    rows = []
    for name in (*PHASES, NO_FAMILY):
        if not lanes[name]:
            continue
        if total_tokens:
            share = tokens[name] / total_tokens
        else:
            share = lanes[name] / total_lanes
        rows.append(PhaseRow(name, lanes[name], tokens[name], share))
    return tuple(rows)


# -- rendering -------------------------------------------------------------------------------


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def human_rate(x: float) -> str:
    """164_090_432.5 -> '164.1M' (k, M, G)."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= size:
            return f"{x / size:.1f}{unit}"
    return f"{x:.1f}"


def report_data(report: Report) -> dict[str, Any]:
    burn = report.burn_per_hour()
    return {
        "window": {
            "start": iso(report.start) if report.start is not None else None,
            "end": iso(report.end) if report.end is not None else None,
        },
        "duration_hours": round(report.duration_hours, 6),
        "duration_seconds": report.duration_seconds,
        "lanes": {"count": report.lanes, "first": report.first_lane, "last": report.last_lane},
        "tokens": dict(report.tokens),
        "tokens_total": report.tokens_total,
        "burn_per_hour": (
            {k: round(v, 1) for k, v in burn.items()} if burn is not None else None
        ),
        "phases": [
            {"name": p.name, "lanes": p.lanes, "tokens": p.tokens, "share": round(p.share, 4)}
            for p in report.phases
        ],
        "briefs": report.briefs,
        "families": report.families,
        "retention": dict(sorted(report.retention.items())),
    }


def report_json(report: Report) -> str:
    return json.dumps(report_data(report), indent=2, ensure_ascii=False)


def _window(report: Report) -> str:
    if report.start is None or report.end is None:
        return "no artifact carries a lane id"
    return f"{iso(report.start)} -> {iso(report.end)} ({report.duration_hours:.3f} h)"


def _lanes(report: Report) -> str:
    if not report.lanes:
        return "0"
    if report.first_lane == report.last_lane:
        return f"{report.lanes} ({report.first_lane})"
    return f"{report.lanes} ({report.first_lane} .. {report.last_lane})"


def _tokens(report: Report) -> str:
    if not report.tokens:
        return "none recorded (front matter `tokens`)"
    parts = [f"{k} {v:,}" for k, v in report.tokens.items()]
    if len(parts) > 1 or "total" not in report.tokens:
        parts.append(f"total {report.tokens_total:,}")
    return ", ".join(parts)


def _burn(report: Report) -> str:
    burn = report.burn_per_hour()
    if burn is None or not report.tokens:
        return "-"
    sources = [k for k in report.tokens if k != "total"]
    parts = [f"{k} {human_rate(burn[k])}/h" for k in sources]
    label = "combined" if len(sources) > 1 else "total"
    if len(sources) != 1 or "total" in report.tokens:
        parts.append(f"{label} {human_rate(burn['total'])}/h")
    return ", ".join(parts)


def summary_rows(report: Report) -> list[tuple[str, str]]:
    """(what, value) rows shared by the text and markdown renderings."""
    return [
        ("window", _window(report)),
        ("lanes", _lanes(report)),
        ("tokens", _tokens(report)),
        ("burn per hour", _burn(report)),
        ("briefs", f"{report.briefs} in {report.families} families"),
    ]


def _phase_cells(p: PhaseRow) -> tuple[str, str, str, str]:
    return (p.name, str(p.lanes), f"{p.tokens:,}", f"{p.share * 100:.1f}%")


def report_text(report: Report) -> str:
    lines = [f"{k + ':':<15}{v}" for k, v in summary_rows(report)]
    if report.phases:
        lines.append("")
        lines.append(f"{'phase':<14} {'lanes':>6} {'tokens':>15} {'share':>7}")
        for p in report.phases:
            name, lanes, tokens, share = _phase_cells(p)
            lines.append(f"{name:<14} {lanes:>6} {tokens:>15} {share:>7}")
    return "\n".join(lines)


def report_markdown(report: Report, heading: str = "## Loop report") -> str:
    lines = [heading, "", "| | |", "|---|---|"]
    lines += [f"| {k} | {md_cell(v)} |" for k, v in summary_rows(report)]
    if report.phases:
        lines += ["", "| phase | lanes | tokens | share |", "|---|---:|---:|---:|"]
        lines += ["| " + " | ".join(_phase_cells(p)) + " |" for p in report.phases]
    return "\n".join(lines)


def md_cell(text: str) -> str:
    """Text safe inside one markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
