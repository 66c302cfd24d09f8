"""The domain's words, each defined once: kinds of artifact (with what they mean to
the other stages), phases of a family, retention classes.

Every rule asks this module — "does this kind join families?", "is it a proof?" —
instead of keeping its own set of names. The values are plain strings (``Literal``
types): they travel through caches, JSON and templates unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, TypeGuard, get_args

Kind = Literal[
    "brief", "ack", "proof", "hardening", "closeout", "coverage", "gaps", "redirect",
    "postmortem", "other",
]
Phase = Literal["establishing", "repetition", "churn"]
Retention = Literal["keep", "mostly-keep", "compress", "archive"]


@dataclass(frozen=True)
class KindInfo:
    """What a kind of artifact means to the stages after it."""

    joins_families: bool = False  # its proof shape is compared: it may be a lane of a family
    consolidation: bool = False  # an output of consolidation (closeout, coverage, gaps, redirect)
    proof: bool = False  # evidence that an envelope is proven (proof, hardening)
    after_the_fact: bool = False  # written about a loop, not a step of it
    chatter: bool = False  # acknowledgement / next-step chatter: archived, never kept

    @property
    def retention(self) -> Retention:
        """Its retention outside a family (family members are decided by novelty)."""
        return "archive" if self.chatter else "keep"


KIND_INFO: MappingProxyType[Kind, KindInfo] = MappingProxyType({
    "brief": KindInfo(joins_families=True),  # a numbered lane
    "ack": KindInfo(chatter=True),
    "proof": KindInfo(proof=True),
    "hardening": KindInfo(proof=True),
    "closeout": KindInfo(consolidation=True, after_the_fact=True),
    "coverage": KindInfo(consolidation=True, after_the_fact=True),
    "gaps": KindInfo(consolidation=True, after_the_fact=True),
    "redirect": KindInfo(consolidation=True, after_the_fact=True),
    "postmortem": KindInfo(after_the_fact=True),
    "other": KindInfo(joins_families=True),  # anything else: a step without a lane id, or not
})
KINDS: tuple[Kind, ...] = get_args(Kind)
assert KINDS == tuple(KIND_INFO), "every kind has its KindInfo, in the same order"

FAMILY_KINDS = frozenset(k for k, info in KIND_INFO.items() if info.joins_families)
CONSOLIDATION_KINDS = frozenset(k for k, info in KIND_INFO.items() if info.consolidation)
PROOF_KINDS = frozenset(k for k, info in KIND_INFO.items() if info.proof)
AFTER_THE_FACT_KINDS = frozenset(k for k, info in KIND_INFO.items() if info.after_the_fact)

PHASES: tuple[Phase, ...] = get_args(Phase)  # in the order a family goes through them
RETENTIONS: tuple[Retention, ...] = get_args(Retention)  # from most kept to least


def is_kind(value: object) -> TypeGuard[Kind]:
    return value in KIND_INFO


def as_kind(value: str) -> Kind:
    """``value`` as a Kind (it must be one: an unknown name is a bug, not input)."""
    if not is_kind(value):
        raise ValueError(f"unknown kind {value!r}")
    return value
