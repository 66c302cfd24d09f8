"""Scan results as text for people and JSON for machines."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from compactor import SCHEMA_VERSION
from compactor.families import COPY, RESTATEMENT, Link
from compactor.files import path_for_humans
from compactor.scan import Scan
from compactor.vocab import RETENTIONS
from compactor.words import down, fold, plural, shorten

WRAP_AT = 200  # a longer line of scan text (a link's evidence) is folded at its spaces

if TYPE_CHECKING:
    from compactor.git import Repo


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def isos(stamps: list[int]) -> list[str]:
    """``iso`` of many times at once (numpy formats 100k in a fraction of the time)."""
    import numpy as np

    return [s + "Z" for s in np.array(stamps, dtype="datetime64[s]").astype(str).tolist()]


def link_data(scan: Scan, link: Link) -> dict[str, Any]:
    """A member's link as JSON: the leg, and the evidence the leg recorded."""
    out: dict[str, Any] = {"leg": link.leg}
    if link.to >= 0:
        out["to"] = scan.briefs[link.to].path
    if link.score is not None:
        out["score"] = round(link.score, 3)
    if link.facts:
        out["facts"] = list(link.facts)
    if link.terms:
        out["terms"] = list(link.terms)
    return out


def link_text(scan: Scan, link: Link) -> str:
    """A member's link for people: '' for a copy, the evidence for a restatement."""
    parts = []
    if link.to >= 0:
        target = scan.briefs[link.to]
        parts.append(f"like {path_for_humans(target.lane or target.path)}"
                     + (f" {round(link.score * 100)}%" if link.score is not None else ""))
    if link.facts:  # a doc's own text: control characters escaped (path_for_humans)
        parts.append("shared facts: " + ", ".join(path_for_humans(f) for f in link.facts))
    if link.terms:
        parts.append("shared terms: " + ", ".join(path_for_humans(t) for t in link.terms))
    return "; ".join(parts)


def scan_data(scan: Scan) -> dict[str, Any]:
    briefs = []
    created = isos([b.created for b in scan.briefs])
    links: dict[int, Link] = {}
    for f in scan.families:
        links.update(f.member_links())
    for i, (b, d, when) in enumerate(zip(scan.briefs, scan.decisions, created, strict=True)):
        link = links.get(i)
        briefs.append(
            {
                "path": b.path,
                "lane": b.lane,
                "number": b.number,
                "title": b.title,
                "label": b.label,
                "kind": b.kind,
                "family": d.family,
                "link": link.leg if link is not None else None,
                "run": run.lane if (run := scan.runs.get(i)) is not None else None,
                "phase": d.phase,
                "retention": d.retention,
                "novelty": d.novelty,
                "novelty_any": d.novelty_any,
                "created": when,
                "tokens": b.tokens,
                "state": b.state,
            }
        )
    families = [
        {
            "id": f.id,
            "short_id": scan.short_ids.get(f.id),
            "members": [scan.briefs[i].path for i in f.members],
            "lanes": [scan.briefs[i].lane for i in f.members],
            "links": [link_data(scan, link) for _, link in f.member_links()],
            "pieces": list(f.pieces),
        }
        for f in scan.families
    ]
    return {"briefs": briefs, "families": families, "warnings": [str(w) for w in scan.warnings]}


def scan_json(scan: Scan) -> str:
    """One JSON object; each brief and family on a line of its own (readable, and
    encoded by json's C encoder, which ``indent`` would turn off)."""
    data = {"schema_version": SCHEMA_VERSION, **scan_data(scan)}
    parts = []
    encode = _row_encoder()
    for key, value in data.items():
        if isinstance(value, list) and value:
            rows = ",\n    ".join(map(encode, value))
            parts.append(f'  "{key}": [\n    {rows}\n  ]')
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(parts) + "\n}"


def _row_encoder() -> Callable[[Any], str]:
    """``json.JSONEncoder(ensure_ascii=False).encode`` for 100k rows: json's C encoder
    made once, not once a row (a tenth of a 100k scan's JSON)."""
    from json import encoder

    plain = json.JSONEncoder(ensure_ascii=False)
    make: Any = getattr(encoder, "c_make_encoder", None)
    if make is None:  # a Python without json's C accelerator
        return plain.encode
    # what JSONEncoder.iterencode passes it (indent None, separators ", " and ": ")
    rows = make({}, plain.default, encoder.encode_basestring, None, plain.key_separator,
                plain.item_separator, plain.sort_keys, plain.skipkeys, plain.allow_nan)
    return lambda value: "".join(rows(value, 0))


def _pct(x: float | None) -> str:
    return "   -" if x is None else f"{round(x * 100):3d}%"


def _state(state: str) -> str:
    """What a person reads after the path of a file a compaction took out."""
    return "" if state == "present" else f"  ({state})"


def scan_text(scan: Scan) -> str:
    lines: list[str] = []
    counts: dict[str, int] = {}
    for d in scan.decisions:
        counts[d.retention] = counts.get(d.retention, 0) + 1
    summary = ", ".join(f"{k} {counts[k]}" for k in RETENTIONS
                        if k in counts)
    lines.append(
        f"{plural(len(scan.briefs), 'brief')}, {plural(len(scan.families), 'family')}"
        + (f"; {summary}" if summary else "")
    )
    runs = scan.runs
    for f in scan.families:
        # a lane's id, else the run id the scan inferred for it (runs.py), else '-'
        names = {i: path_for_humans(b.lane or (runs[i].lane if i in runs else "-"))
                 for i in f.members for b in (scan.briefs[i],)}
        # a doc without a lane or run id: its file name (with the folders that tell it
        # apart from docs of the same name), cut if long
        span = " .. ".join(names[i] if names[i] != "-" else shorten(scan.doc_name(i), 40)
                           for i in (f.members[0], f.members[-1]))
        short = scan.short_ids.get(f.id)
        lines.append("")
        lines.append(f"family {short + ' (id ' + f.id + ')' if short else f.id}: "
                     f"{scan.size_text(f.members)} ({span})")
        # the lane column as wide as the family's longest lane id (`heartbeat-cycle-70`)
        w = max([10, *(len(n) for n in names.values())])
        lines.append(f"  {'lane':<{w}} {'phase':<13} {'novelty':>7}  {'retention':<11} "
                     f"{'link':<11} path")
        for i, link in f.member_links():
            b, d = scan.briefs[i], scan.decisions[i]
            lines.append(
                f"  {names[i]:<{w}} {d.phase or '-':<13} "
                f"{'—' if link.leg == RESTATEMENT else _pct(d.novelty):>7}  "
                f"{d.retention:<11} {link.leg:<11} {path_for_humans(b.path)}{_state(b.state)}"
            )
            why = link_text(scan, link) if link.leg != COPY else ""
            if why:  # shared facts are often long paths: folded past WRAP_AT
                lines.append(fold(f"  {'':<{w}} {why}", WRAP_AT))
    rest = [i for i, d in enumerate(scan.decisions) if d.family is None]
    if rest:
        lines.append("")
        lines.append("not in a family:")
        for i in rest:
            b, d = scan.briefs[i], scan.decisions[i]
            lines.append(f"  {d.retention:<11} {b.kind:<10} {path_for_humans(b.path)}"
                         f"{_state(b.state)}")
    return "\n".join(lines)


def explain_data(repo: Repo, scan: Scan, path: str, here: str = "",
                 use_cache: bool = True) -> dict[str, Any]:
    """Why one doc got its kind, lane id and family (``scan --explain PATH``).

    ``path`` is read like git and ruff read one: from ``here`` (the current directory, as a
    path from the repository root) first, then from the repository root."""
    from compactor.briefs import explain_lane
    from compactor.config import repo_relative
    from compactor.errors import InputError
    from compactor.kinds import explain_kind
    from compactor.manifest import manifest_path
    from compactor.scan import with_bodies

    i = None
    for candidate in dict.fromkeys([f"{here}/{path}" if here else path, path]):
        # the name as git spells it first: a backslash is a character of it on Linux, not
        # the folder separator repo_relative reads it as
        for clean in dict.fromkeys([candidate, repo_relative(candidate)]):
            if clean is None:
                continue
            try:
                i = scan.index(clean)
                break
            except KeyError:
                continue
        if i is not None:
            break
    if i is None:
        raise InputError(
            f"{path}: not a scanned doc (not in the index, excluded, or skipped); give its path "
            "from the current directory or from the repository root"
        )
    b = with_bodies(repo, [scan.briefs[i]])[0]
    declared = b.fields.get("kind")
    if isinstance(declared, str) and declared.strip().lower() == b.kind:
        why = f"front matter kind: {declared.strip()}"
    else:
        why = explain_kind(scan.config, b.path, b.title, b.body or "", b.words, b.lane)[1]
    d = scan.decisions[i]
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "path": b.path, "kind": b.kind, "kind_why": why, "lane": b.lane,
        "lane_why": explain_lane(scan.config, b.path, b.title, b.fields),
        "family": d.family, "retention": d.retention,
    }
    if i in scan.kept:  # what a person said: an earned claim, or a pin in the manifest
        lines = scan.kept[i]
        out["retention_why"] = (
            {"earned": list(lines)} if lines else {"pinned": manifest_path(scan.config)})
    run = scan.runs.get(i)
    if run is not None:
        out["run"] = run.lane
    if i in scan.doc_names:  # other docs share its file name: named by its folders
        out["name"] = scan.doc_names[i]
    if d.family is not None and d.family in scan.short_ids:
        out["family_short_id"] = scan.short_ids[d.family]
    fam = scan.family(d.family) if d.family else None
    if fam is not None:
        out["link"] = link_data(scan, fam.link(i))
        if fam.pieces:
            out["pieces"] = list(fam.pieces)
    kept = scan.apart.get(i)
    if kept:
        out["apart"] = [scan.briefs[j].path for j in kept]
    paused = paused_data(scan, i)
    if paused:
        out["paused"] = paused
    about = subject_data(scan, i, b.body or "")
    if about is not None:
        out["about"] = about
    near = nearest_data(repo, scan, i, use_cache)
    if near:
        out["nearest"] = near
    return out


def nearest_data(repo: Repo, scan: Scan, i: int, use_cache: bool) -> list[dict[str, Any]]:
    """Brief i's nearest docs in words among those the restatement leg compared, each with
    what kept the two apart (``apart``: null when the two are in one family). Asked only for a doc the
    leg compared: one in no family, one it linked, a family's first member."""
    from compactor.families import RESTATEMENT
    from compactor.restate import LINKAGE
    from compactor.scan import restatement_candidates

    fam = scan.family_of(i)
    if fam is not None and fam.members[0] != i and fam.link(i).leg != RESTATEMENT:
        return []
    out = []
    for near in restatement_candidates(repo, scan, i, use_cache):
        other = scan.family_of(near.doc)
        apart = near.apart
        if fam is not None and other is not None and other.id == fam.id:
            # one family through its other members or the shape leg: whatever keeps the
            # two of them apart as a pair, they are not apart
            apart = None
        elif apart is None:
            apart = (f"every test passes, but a doc of one group is below cosine {LINKAGE} "
                     "with a doc of the other (complete linkage)")
        out.append({"path": scan.briefs[near.doc].path, "cosine": down(near.cosine, 3),
                    "apart": apart})
    return out


def paused_data(scan: Scan, i: int) -> list[dict[str, Any]]:
    """The docs outside brief i's family whose proof shapes meet its own but that were
    written more than a day before or after it, while not both declare a run: no shape
    link (``families.pause_veto``), most similar first, then nearest in time. ``days`` is
    signed: negative for a doc written before brief i."""
    import numpy as np

    from compactor import shapes
    from compactor.families import PAUSE
    from compactor.vocab import FAMILY_KINDS

    briefs, me = scan.briefs, scan.briefs[i]
    if me.kind not in FAMILY_KINDS or scan.shingles[i] < shapes.MIN_SHINGLES:
        return []
    fam = scan.family_of(i)
    mine = set(fam.members) if fam is not None else {i}
    sims = np.count_nonzero(scan.signatures == scan.signatures[i], axis=1) / \
        scan.signatures.shape[1]
    found = []
    for j in np.flatnonzero(sims >= scan.config.threshold).tolist():
        b = briefs[j]
        if j in mine or b.kind not in FAMILY_KINDS or scan.shingles[j] < shapes.MIN_SHINGLES:
            continue
        if abs(b.created - me.created) > PAUSE and not (b.in_run and me.in_run):
            days = (b.created - me.created) / 86400
            found.append((-float(sims[j]), abs(days), b.path, days))
    return [{"path": path, "similarity": round(-neg, 2), "days": round(days, 1)}
            for neg, _, path, days in sorted(found)]


def subject_data(scan: Scan, i: int, body: str) -> dict[str, Any] | None:
    """The recent doc of its own series that brief i is about (``subjects.py``), or None."""
    from compactor import subjects
    from compactor.vocab import FAMILY_KINDS

    b = scan.briefs[i]
    step = subjects.step_of(b.path)
    if step is None or b.kind not in FAMILY_KINDS:
        return None
    docs = subjects.members([x.path for x in scan.briefs], [x.created for x in scan.briefs],
                            step.series)
    if len(docs) < subjects.MIN_SERIES:
        return None
    order = list(docs)
    written = [docs[j].number for j in order[: order.index(i)]]
    ref = subjects.subject(step, subjects.references(step, subjects.lead(b.title, body)), written)
    if ref is None:
        return None
    target = next((scan.briefs[j].path for j in order if docs[j].number == ref.number), None)
    return {"series": str(step.series), "step": ref.number, "path": target, "by": ref.by,
            "line": ref.line}


def explain_text(data: dict[str, Any]) -> str:
    lines = [path_for_humans(data["path"]),
             f"  kind {data['kind']}: {data['kind_why']}",
             f"  lane {data['lane'] or '-'}: {data['lane_why']}"]
    if data.get("run"):
        lines.append(f"  run id {path_for_humans(data['run'])}: inferred, a number in its file "
                     "name rises along its family; the gate judges it as a lane with that id")
    if data.get("name"):
        lines.append(f"  named {data['name']}: other docs without a lane id share its file "
                     "name; the folders that tell it apart name it in every output")
    if data["family"] is None:
        lines.append(f"  family -: in no family; retention {data['retention']}")
        lines.extend(_retention_why(data))
    else:
        link = data["link"]
        # paths, facts and terms are the repository's text: control characters escaped
        evidence = "; ".join(
            f"{k} {path_for_humans(str(v)) if not isinstance(v, list) else ', '.join(map(path_for_humans, v))}"
            for k, v in link.items() if k != "leg")
        family = (f"{data['family_short_id']} (id {data['family']})"
                  if data.get("family_short_id") else data["family"])
        lines.append(f"  family {family}: linked as a {link['leg']}"
                     + (f" ({evidence})" if evidence else "") + f"; retention {data['retention']}")
        lines.extend(_retention_why(data))
        if data.get("pieces"):
            lines.append(f"  one run joined from {', '.join(data['pieces'])}: pieces whose "
                         "numbers continue without a gap (runs.join_runs)")
    kept = data.get("apart")
    if kept:
        shown = ", ".join(path_for_humans(p) for p in kept[:3])
        more = f" and {len(kept) - 3} more" if len(kept) > 3 else ""
        lines.append(f"  kept apart from {shown}{more}: template instances whose shapes meet, "
                     "each saying something no other member of their family says "
                     "(families.own_content)")
    paused = data.get("paused")
    if paused:
        shown = ", ".join(f"{path_for_humans(p['path'])} ({_days(p['days'])})"
                          for p in paused[:3])
        more = f" and {len(paused) - 3} more" if len(paused) > 3 else ""
        lines.append(f"  no copy link to {shown}{more}: shapes that meet, written more than a "
                     "day apart, and no lane id declares one run (families.pause_veto)")
    for near in data.get("nearest", ()):
        why = near["apart"] or "in its family"
        lines.append(f"  near in words: {path_for_humans(near['path'])} (cosine "
                     f"{down(near['cosine'], 2):.2f}): {path_for_humans(why)}")
    about = data.get("about")
    if about is not None:
        what = path_for_humans(about["path"]) if about["path"] else f"step {about['step']}"
        line = " ".join(about["line"].split())
        line = line if len(line) <= 100 else line[:99] + "…"
        lines.append(f"  about {what}: a doc about another doc of series {about['series']}, "
                     f"named by {about['by']} in its lead ({json.dumps(path_for_humans(line), ensure_ascii=False)}); "
                     "the gate refuses more than max_bookkeeping such docs in a row")
    return "\n".join(lines)


def _retention_why(data: dict[str, Any]) -> list[str]:
    """Why compaction leaves the doc in place whatever its family says, when it does."""
    why = data.get("retention_why")
    if not why:
        return []
    if "pinned" in why:
        return [f"  pinned: listed in 'kept' of {path_for_humans(why['pinned'])} (a restore, or "
                "by hand), so compaction leaves it in place; take it out of 'kept' to unpin it"]
    shown = "; ".join(json.dumps(path_for_humans(t), ensure_ascii=False) for t in why["earned"][:3])
    return [f"  new truth: its new_truth claim is earned by lines its family's nearest and "
            f"last three earlier lanes lack ({shown}), so compaction leaves it in place"]


def _days(days: float) -> str:
    n = abs(days)
    amount = f"{n:g} day{'' if n == 1 else 's'}"
    return f"written {amount} {'before' if days < 0 else 'after'}"
