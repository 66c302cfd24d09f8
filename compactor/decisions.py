"""Stage 5: families -> novelty, phase and retention class of every artifact.

Within a family (in lane order) each lane's ``novelty`` is 1 - its highest
similarity to the previous three lanes; ``novelty_any`` the same against every
earlier lane. Phases:

- ``establishing``: the first lane and the leading run of lanes that still add
  at least ``establish_novelty``;
- ``churn``: later lanes below ``churn_novelty`` (near-identical);
- ``repetition``: the rest — the same shape with shrinking novelty.

Retention: ``keep`` for proofs, hardening, consolidation outputs, postmortems
and anything in no family; ``mostly-keep`` for establishing lanes and any later
lane that still adds ``establish_novelty``; ``compress`` for the other family
members; ``archive`` for ACK / next-step chatter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from compactor.briefs import Brief
from compactor.config import Config
from compactor.families import Family

PHASES = ("establishing", "repetition", "churn")
RETENTIONS = ("keep", "mostly-keep", "compress", "archive")
LOOKBACK = 3


@dataclass(frozen=True)
class Decision:
    family: str | None
    phase: str | None
    retention: str
    novelty: float | None
    novelty_any: float | None
    nearest: tuple[tuple[int, float], ...] = ()  # (brief index, similarity), best first


def decide(
    config: Config,
    briefs: Sequence[Brief],
    sigs: npt.NDArray[np.uint32],
    families: Sequence[Family],
) -> list[Decision]:
    out: list[Decision | None] = [None] * len(briefs)
    for fam in families:
        establishing = True
        for pos, i in enumerate(fam.members):
            if pos == 0:
                out[i] = Decision(fam.id, "establishing", "mostly-keep", 1.0, 1.0, ())
                continue
            earlier = np.asarray(fam.members[:pos], dtype=np.int64)
            sims = (sigs[earlier] == sigs[i]).mean(axis=1)
            recent = sims[-LOOKBACK:]
            novelty = round(1.0 - float(recent.max()), 4)
            novelty_any = round(1.0 - float(sims.max()), 4)
            top = np.argsort(-sims, kind="stable")[:LOOKBACK]
            nearest = tuple((int(earlier[t]), round(float(sims[t]), 4)) for t in top)
            if establishing and novelty >= config.establish_novelty:
                phase, retention = "establishing", "mostly-keep"
            else:
                establishing = False
                phase = "churn" if novelty < config.churn_novelty else "repetition"
                retention = "mostly-keep" if novelty >= config.establish_novelty else "compress"
            out[i] = Decision(fam.id, phase, retention, novelty, novelty_any, nearest)
    result = []
    for i, b in enumerate(briefs):
        d = out[i]
        if d is None:
            d = Decision(None, None, "archive" if b.kind == "ack" else "keep", None, None)
        result.append(d)
    return result
