"""The loop postmortem: a Scan -> a frozen :class:`Report` -> text, markdown or JSON.

Everything is computed from the repository alone: the artifact window is the
first to the last artifact carrying a lane id (git creation times), tokens come
from front matter ``tokens``, and the phases say where the energy went. Pure:
no git, no printing.

Consolidation outputs (closeout, coverage, gaps, redirect) and postmortems are
written *about* lanes after the fact, so they never stretch the window even
when their names carry a lane id.

A long-lived repo holds many loops: the report's *episodes*
(:mod:`compactor.episodes`) are its bursts of lanes, each reported like one
loop. The whole history gets a burn per hour only when it is one episode.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from compactor import SCHEMA_VERSION
from compactor.briefs import Brief
from compactor.decisions import Decision
from compactor.episodes import CAP, MIN_LANES, Burst, find_bursts, no_episode
from compactor.errors import InputError
from compactor.files import stem_of
from compactor.runs import RunId
from compactor.scan import Scan
from compactor.vocab import AFTER_THE_FACT_KINDS, KIND_INFO, PHASES
from compactor.words import plural

NO_FAMILY = "no family"
DETAILED = 10  # episodes shown in full; the rest are one table row each


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
    episodes: tuple[Episode, ...] = ()
    episodes_found: int = 0  # before narrowing (--episode, --family)

    @property
    def one_loop(self) -> bool:
        """The whole history is one episode: its window, lanes and burn are the loop's."""
        if len(self.episodes) != 1 or self.episodes_found != 1:
            return False
        e = self.episodes[0].report
        return (e.start, e.end, e.lanes) == (self.start, self.end, self.lanes)

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


@dataclass(frozen=True)
class Episode:
    """One loop of the history: a burst of lanes of one family (or run), and its record."""

    number: int  # from 1, in the order the episodes started
    family: str | None
    run: str | None  # the lane ids' letters, for a run of lanes in no family
    report: Report  # window, lanes, tokens, phases; ``briefs`` counts its artifacts
    paths: tuple[str, ...] = ()  # its artifacts, in time order
    shown: str | None = None  # the family as people read it, when not its id (Scan.short_ids)

    @property
    def group(self) -> str:
        return (f"family {self.shown or self.family}" if self.family is not None
                else f"run {self.run}")


def lane_artifacts(briefs: Sequence[Brief], skip: frozenset[str] = frozenset()) -> list[int]:
    """Indexes of the artifacts that belong to the loop itself and carry a lane id."""
    return [
        i for i, b in enumerate(briefs)
        if b.lane is not None and b.kind not in AFTER_THE_FACT_KINDS and b.path not in skip
    ]


def _lane_span(
    briefs: Sequence[Brief], idxs: Sequence[int], runs: Mapping[int, RunId] | None = None,
    names: Mapping[int, str] | None = None,
) -> tuple[int, str | None, str | None]:
    """(distinct lanes, first, last): by lane number (or the run id a family member without
    a lane id takes from its file name, ``runs``), else by time (a doc without a lane id
    named by ``names``, ``Scan.doc_names``, else its file name)."""
    numbered: dict[int, str] = {}
    by_time = sorted(idxs, key=lambda i: (briefs[i].created, briefs[i].path))
    for i in by_time:
        b = briefs[i]
        if b.number is not None:
            numbered.setdefault(b.number, b.lane or str(b.number))
        elif runs and i in runs:
            numbered.setdefault(runs[i].number, runs[i].lane)
    if numbered:
        return len(numbered), numbered[min(numbered)], numbered[max(numbered)]
    if not by_time:
        return 0, None, None
    shown = [briefs[i].lane or (names.get(i) if names else None) or stem_of(briefs[i].path)
             for i in by_time]
    return len({briefs[i].lane or briefs[i].path for i in by_time}), shown[0], shown[-1]



def _token_sums(briefs: Sequence[Brief], idxs: Sequence[int]) -> Mapping[str, int]:
    tokens: dict[str, int] = {}
    for i in idxs:
        for source, n in briefs[i].tokens.items():
            tokens[source] = tokens.get(source, 0) + n
    return MappingProxyType(dict(sorted(tokens.items())))


def build_report(scan: Scan, skip: frozenset[str] = frozenset()) -> Report:
    """The report for a scan; paths in ``skip`` (e.g. the inventory itself) are left out."""
    briefs, decisions = scan.briefs, scan.decisions
    # family members without a lane id that carry a run id count as lanes, as in the episodes
    laned = sorted({*lane_artifacts(briefs, skip),
                    *(i for i in scan.runs if briefs[i].path not in skip
                      and briefs[i].kind not in AFTER_THE_FACT_KINDS)})
    start = min((briefs[i].created for i in laned), default=None)
    end = max((briefs[i].created for i in laned), default=None)
    count, first, last = _lane_span(briefs, laned, scan.runs, scan.doc_names)
    counted = [i for i, b in enumerate(briefs) if b.path not in skip]
    retention: dict[str, int] = {}
    for i in counted:
        r = decisions[i].retention
        retention[r] = retention.get(r, 0) + 1
    bursts = find_bursts(briefs, decisions, skip)
    episodes = tuple(
        episode(n, burst, briefs, decisions, scan.runs, scan.doc_names, scan.short_ids)
        for n, burst in enumerate(bursts, start=1)
    )
    # the history holds its episodes (a family of docs without lane ids may start earlier)
    for e in episodes:
        start = e.report.start if start is None else min(start, e.report.start or start)
        end = e.report.end if end is None else max(end, e.report.end or end)
    return Report(
        start=start,
        end=end,
        lanes=count,
        first_lane=first,
        last_lane=last,
        tokens=_token_sums(briefs, counted),
        phases=phase_rows(briefs, decisions, laned),
        briefs=len(counted),
        families=len(scan.families),
        retention=MappingProxyType(retention),
        episodes=episodes,
        episodes_found=len(episodes),
    )


def episode(number: int, burst: Burst, briefs: Sequence[Brief],
            decisions: Sequence[Decision], runs: Mapping[int, RunId] | None = None,
            names: Mapping[int, str] | None = None,
            short_ids: Mapping[str, str] | None = None) -> Episode:
    """The record of one burst: the seed's table for its artifacts alone (``names``,
    ``short_ids``: how people read its docs and its family, see ``Scan``)."""
    every = sorted((*burst.members, *burst.chatter),
                   key=lambda i: (briefs[i].created, briefs[i].path))
    count, first, last = _lane_span(briefs, burst.members, runs, names)
    record = Report(
        start=briefs[every[0]].created,
        end=briefs[every[-1]].created,
        lanes=count,
        first_lane=first,
        last_lane=last,
        tokens=_token_sums(briefs, every),
        phases=phase_rows(briefs, decisions, every),
        briefs=len(every),
        families=1 if burst.family is not None else 0,
    )
    shown = short_ids.get(burst.family) if short_ids and burst.family is not None else None
    return Episode(number, burst.family, burst.run, record, tuple(briefs[i].path for i in every),
                   shown)


def narrow(report: Report, number: int | None = None, family: str | None = None,
           scan: Scan | None = None, skip: frozenset[str] = frozenset()) -> Report:
    """The report with only episode ``number`` and/or the episodes of ``family``
    (case-insensitive); an unknown one is an input error naming the known ones (and,
    given the ``scan`` the report was built from, why a family of it has none)."""
    episodes = report.episodes
    if family is not None:
        known = sorted({e.family for e in episodes if e.family is not None})
        resolved = scan.find_family(family) if scan is not None else None  # id or short id
        wanted = [f for f in known if f == resolved or f.lower() == family.lower()]
        if not wanted:
            raise InputError(_no_episode(report, family, known, scan, skip))
        episodes = tuple(e for e in episodes if e.family == wanted[0])
    if number is not None:
        picked = tuple(e for e in episodes if e.number == number)
        if not picked:
            numbers = [e.number for e in episodes]
            span = f"1 .. {report.episodes_found}" if report.episodes_found else "none"
            where = (f" of family {episodes[0].shown or episodes[0].family}"
                     if family is not None and numbers else "")
            raise InputError(f"no episode {number}{where}; episodes: {span} "
                             "(see `compactor report`)")
        episodes = picked
    return replace(report, episodes=episodes)


def _no_episode(report: Report, family: str, known: Sequence[str], scan: Scan | None,
                skip: frozenset[str]) -> str:
    """The message for ``--family`` naming a family without an episode: why it has none
    (when the scan is at hand) and which episodes there are."""
    shown = ", ".join(scan.shown_family(k) if scan is not None else k for k in known[:20]) + (
        " …" if len(known) > 20 else "")
    runs = sorted({e.group for e in report.episodes if e.family is None})
    if known:
        there = f"families with episodes: {shown}"
    elif runs:
        listed = ", ".join(runs[:5]) + (" …" if len(runs) > 5 else "")
        there = (f"{plural(report.episodes_found, 'episode')}, all of runs in no family "
                 f"({listed}): `compactor report --episode N`")
    else:
        there = "no episodes at all"
    fid = scan.find_family(family) if scan is not None else None
    fam = scan.family(fid) if scan is not None and fid is not None else None
    if scan is not None and fam is None:
        return f"no family '{family}' (`compactor scan` lists them); {there}"
    if fam is not None and scan is not None:
        why = no_episode(scan.briefs, scan.decisions, fam.id, skip)
        return f"family {scan.shown_family(fam.id)} has no loop episode: {why}; {there}"
    return f"no episode of family '{family}'; {there} (see `compactor report`)"


def phase_of(brief: Brief, decision: Decision) -> str | None:
    """The phase a lane artifact's energy is booked to (None: not a lane, e.g. ACK chatter)."""
    if decision.phase is not None:
        return decision.phase
    if KIND_INFO[brief.kind].chatter:
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


def _record(report: Report) -> dict[str, Any]:
    """Window, lanes, tokens, burn and phases of a report or an episode."""
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
    }


def report_data(report: Report) -> dict[str, Any]:
    data = _record(report)
    if not report.one_loop:
        data["burn_per_hour"] = None  # a history of many loops has no one burn rate
    data.update({
        "briefs": report.briefs,
        "families": report.families,
        "retention": dict(sorted(report.retention.items())),
        "episodes_found": report.episodes_found,
        "episodes": [
            {"number": e.number, "family": e.family, "family_short_id": e.shown, "run": e.run, **_record(e.report),
             "artifacts": e.report.briefs}
            for e in report.episodes
        ],
    })
    return data


def report_json(report: Report) -> str:
    data = {"schema_version": SCHEMA_VERSION, **report_data(report)}
    return json.dumps(data, indent=2, ensure_ascii=False)


def _span(report: Report) -> str:
    hours = report.duration_hours
    if hours >= 48:
        return f"{hours / 24:.1f} days"
    return f"{hours:.3f} h"


def _window(report: Report) -> str:
    if report.start is None or report.end is None:
        return "no artifact carries a lane id"
    return f"{iso(report.start)} -> {iso(report.end)} ({_span(report)})"


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


def _episodes_line(report: Report) -> str:
    found = report.episodes_found
    if not found and report.lanes and report.start == report.end:
        return ("none: every lane was committed at the same time (an import: its times "
                "say nothing about a loop)")
    if not found:
        return (f"none: no {MIN_LANES} lanes of one family or run close together in time "
                f"(a pause over {CAP // 3600} h always ends an episode)")
    if report.one_loop:
        return f"1 (the whole history: {report.episodes[0].group})"
    hours = sum(e.report.duration_hours for e in report.episodes)
    lanes = sum(e.report.lanes for e in report.episodes)
    tokens = sum(e.report.tokens_total for e in report.episodes)
    shown = len(report.episodes)
    text = f"{found}" if shown == found else f"{shown} of {found} shown"
    windows = sorted((e.report.start, e.report.end) for e in report.episodes
                     if e.report.start is not None and e.report.end is not None)
    overlap = any(b[0] < a[1] for a, b in zip(windows, windows[1:], strict=False))
    # episodes of different families can run at the same time: then their hours add up to
    # more than the history's window, and the line says why
    text += f" ({hours:.1f} h in all{', some at the same time' if overlap else ''}, {lanes} lanes"
    if report.tokens_total:
        text += f", {tokens / report.tokens_total * 100:.1f}% of the tokens"
    return text + ")"


def history_rows(report: Report) -> list[tuple[str, str]]:
    """(what, value) rows shared by the text and markdown renderings.

    A history that is one loop reads like the seed's table (window, burn per
    hour); a longer one says *history* and leaves the burn rate to its episodes.
    """
    if report.one_loop or report.start is None:
        rows = [("window", _window(report)), ("lanes", _lanes(report)),
                ("tokens", _tokens(report)), ("burn per hour", _burn(report))]
    else:
        rows = [("history", _window(report)), ("lanes", _lanes(report)),
                ("tokens", _tokens(report))]
    rows.append(("briefs", f"{report.briefs} in {plural(report.families, 'family')}"))
    rows.append(("episodes", _episodes_line(report)))
    return rows


def episode_rows(e: Episode) -> list[tuple[str, str]]:
    r = e.report
    return [("window", _window(r)), ("lanes", _lanes(r)), ("tokens", _tokens(r)),
            ("burn per hour", _burn(r)), ("artifacts", str(r.briefs))]


def _phase_cells(p: PhaseRow) -> tuple[str, str, str, str]:
    return (p.name, str(p.lanes), f"{p.tokens:,}", f"{p.share * 100:.1f}%")


def _cost(e: Episode) -> tuple[int, int]:
    return (e.report.tokens_total, e.report.lanes)


def detailed(report: Report) -> list[Episode]:
    """The episodes shown in full: every one up to DETAILED, else the costliest
    (tokens, else lanes), in time order."""
    if len(report.episodes) <= DETAILED:
        return list(report.episodes)
    top = sorted(report.episodes, key=lambda e: (-_cost(e)[0], -_cost(e)[1], e.number))
    return sorted(top[:DETAILED], key=lambda e: e.number)


def _episode_cells(e: Episode) -> tuple[str, ...]:
    r = e.report
    start = iso(r.start) if r.start is not None else "-"
    tokens = human_rate(r.tokens_total) if r.tokens else "-"
    burn = r.burn_per_hour()
    rate = f"{human_rate(burn['total'])}/h" if burn is not None and r.tokens else "-"
    lanes = _lanes(r) if len(f"{r.first_lane}{r.last_lane}") <= 24 else str(r.lanes)
    return (str(e.number), _short(e.group, 40), start, _span(r), lanes, tokens, rate)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


EPISODE_HEAD = ("#", "group", "start", "duration", "lanes", "tokens", "burn")


def _text_phases(phases: Sequence[PhaseRow]) -> list[str]:
    lines = [f"{'phase':<14} {'lanes':>6} {'tokens':>15} {'share':>7}"]
    for p in phases:
        name, lanes, tokens, share = _phase_cells(p)
        lines.append(f"{name:<14} {lanes:>6} {tokens:>15} {share:>7}")
    return lines


def report_text(report: Report) -> str:
    lines = [f"{k + ':':<15}{v}" for k, v in history_rows(report)]
    if report.phases and not (report.episodes and len(report.episodes) < report.episodes_found):
        lines += ["", *_text_phases(report.phases)]
    if report.one_loop or not report.episodes:
        return "\n".join(lines)
    rows = [EPISODE_HEAD, *(_episode_cells(e) for e in report.episodes)]
    widths = [max(len(r[k]) for r in rows) for k in range(len(EPISODE_HEAD))]
    lines.append("")
    for r in rows:
        lines.append("  ".join(c.ljust(w) if k in (1, 2, 4) else c.rjust(w)
                               for k, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip())
    shown = detailed(report)
    for e in shown:
        lines += ["", f"episode {e.number} of {report.episodes_found}: {e.group}"]
        lines += [f"{k + ':':<15}{v}" for k, v in episode_rows(e)]
        if e.report.phases:
            lines += ["", *_text_phases(e.report.phases)]
    if len(shown) < len(report.episodes):
        lines += ["", f"{len(report.episodes) - len(shown)} smaller episodes in the table only: "
                      "`compactor report --episode N` shows one"]
    return "\n".join(lines)


def _md_phases(phases: Sequence[PhaseRow]) -> list[str]:
    lines = ["| phase | lanes | tokens | share |", "|---|---:|---:|---:|"]
    return lines + ["| " + " | ".join(_phase_cells(p)) + " |" for p in phases]


def report_markdown(report: Report, heading: str = "## Loop report") -> str:
    lines = [heading, "", "| | |", "|---|---|"]
    lines += [f"| {k} | {md_cell(v)} |" for k, v in history_rows(report)]
    if report.phases and not (report.episodes and len(report.episodes) < report.episodes_found):
        lines += ["", *_md_phases(report.phases)]
    if report.one_loop or not report.episodes:
        return "\n".join(lines)
    lines += ["", "### Episodes", "", "| " + " | ".join(EPISODE_HEAD) + " |",
              "|---:|---|---|---:|---|---:|---:|"]
    lines += ["| " + " | ".join(md_cell(c) for c in _episode_cells(e)) + " |"
              for e in report.episodes]
    shown = detailed(report)
    for e in shown:
        lines += ["", f"#### Episode {e.number}: {md_cell(e.group)}", "", "| | |", "|---|---|"]
        lines += [f"| {k} | {md_cell(v)} |" for k, v in episode_rows(e)]
        if e.report.phases:
            lines += ["", *_md_phases(e.report.phases)]
    return "\n".join(lines)


def md_cell(text: str) -> str:
    """Text safe inside one markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
