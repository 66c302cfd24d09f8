"""Measure how well families match a labelled corpus (precision/recall of same-family pairs).

Used by tests/test_calibration.py and by ``python benchmarks/calibrate.py`` to sweep
thresholds and shingle sizes over generated corpora. No git involved: the labelled
docs are parsed and fingerprinted in-process exactly as a scan would.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from compactor import shapes
from compactor.briefs import parse_brief
from compactor.config import Config
from compactor.demo.example import ExampleDoc, loop_corpus
from compactor.facts import FACTS_AGREE, copy_veto, masked_fact_sketch, names_veto
from compactor.families import Text, group, mentioned, own_content, pause_veto
from compactor.runs import join_runs
from compactor.scan import family_name, file_stem, order_key
from compactor.vocab import FAMILY_KINDS


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    true_pairs: int
    found_pairs: int
    kind_accuracy: float
    strays: int  # docs with no true family placed in a family
    missed: int  # docs of a true family placed in no family


def predict(config: Config, docs: Sequence[ExampleDoc]) -> tuple[list[str | None], list[str]]:
    """Predicted family id and kind of every doc."""
    briefs, sigs, counts, sketches = [], [], [], []
    for d in docs:
        b, _ = parse_brief(config, d.path, "0" * 40, d.text)
        b = b._replace(created=d.created)
        sig, n = shapes.fingerprint(d.text, b.mask_words, config.shingle, config.num_perm,
                                    config.seed, keep=config.guardrail_fields)
        briefs.append(b)
        sigs.append(sig)
        counts.append(n)
        sketches.append(masked_fact_sketch(b.body or "", b.in_run))
    matrix = np.vstack(sigs)
    rows = [i for i, b in enumerate(briefs)
            if b.kind in FAMILY_KINDS and counts[i] >= shapes.MIN_SHINGLES]
    keys, names = [order_key(b) for b in briefs], [family_name(b) for b in briefs]

    created = np.array([b.created for b in briefs], dtype=np.int64)
    declared = np.array([b.in_run for b in briefs], dtype=bool)

    def veto(pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        return copy_veto(sketches, pairs, FACTS_AGREE) | names_veto(
            lambda i: None if briefs[i].in_run else briefs[i].title, pairs) | pause_veto(
            created, declared, pairs)

    fams = group(matrix, rows, config.threshold, keys, names, veto=veto)
    # template instances apart, as the scan does (families.own_content)
    apart = own_content(
        fams, np.array([not b.in_run for b in briefs], dtype=bool),
        lambda idx: [Text(shapes.content_codes(briefs[i].body or "", briefs[i].mask_words),
                          mentioned(briefs[i].body or "")) for i in idx],
        lambda i: file_stem(briefs[i]))
    if apart:
        fams = group(matrix, rows, config.threshold, keys, names,
                     veto=lambda pairs: veto(pairs) | apart.veto(pairs))
    fams = join_runs(briefs, fams, sketches, matrix, config.threshold)
    fam_of: list[str | None] = [None] * len(docs)
    for f in fams:
        for i in f.members:
            fam_of[i] = f.id
    return fam_of, [b.kind for b in briefs]


def score(config: Config, docs: Sequence[ExampleDoc]) -> Score:
    fam_of, kinds = predict(config, docs)
    true_pairs = found = both = 0
    for i, j in itertools.combinations(range(len(docs)), 2):
        t = docs[i].family is not None and docs[i].family == docs[j].family
        p = fam_of[i] is not None and fam_of[i] == fam_of[j]
        true_pairs += t
        found += p
        both += t and p
    strays = sum(1 for d, f in zip(docs, fam_of, strict=True) if d.family is None and f)
    missed = sum(1 for d, f in zip(docs, fam_of, strict=True) if d.family is not None and not f)
    kind_ok = sum(1 for d, k in zip(docs, kinds, strict=True) if d.kind == k)
    return Score(
        precision=both / found if found else 1.0,
        recall=both / true_pairs if true_pairs else 1.0,
        true_pairs=true_pairs,
        found_pairs=found,
        kind_accuracy=kind_ok / len(docs),
        strays=strays,
        missed=missed,
    )


def corpora(seeds: Sequence[int], noises: Sequence[float]) -> list[list[ExampleDoc]]:
    return [loop_corpus(seed, noise=noise) for seed in seeds for noise in noises]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", default="0,1,2,3")
    ap.add_argument("--noise", default="0.0,0.1,0.2,0.3")
    ap.add_argument("--thresholds", default="0.5,0.6,0.7,0.8")
    ap.add_argument("--shingles", default="2,3,4,5")
    args = ap.parse_args()
    sets = corpora([int(s) for s in args.seeds.split(",")],
                   [float(n) for n in args.noise.split(",")])
    print(f"{len(sets)} corpora, {sum(len(s) for s in sets)} docs")
    print("shingle threshold precision recall strays missed kind_acc")
    for k in (int(s) for s in args.shingles.split(",")):
        for t in (float(x) for x in args.thresholds.split(",")):
            cfg = Config(shingle=k, threshold=t)
            scores = [score(cfg, docs) for docs in sets]
            p = sum(s.precision for s in scores) / len(scores)
            r = sum(s.recall for s in scores) / len(scores)
            print(f"{k:7d} {t:9.2f} {p:9.3f} {r:6.3f} {sum(s.strays for s in scores):6d} "
                  f"{sum(s.missed for s in scores):6d} "
                  f"{sum(s.kind_accuracy for s in scores) / len(scores):8.3f}")


if __name__ == "__main__":
    main()
