"""How often contrastive's label-anchor gate turns on: the label names' zero-shot score on 8-shot draws from each
training file (the rows the gate sees at fit time), as a share of draws at or above each threshold. Training files
only; no dev or test row is read.

    python benchmarks/anchor_gate.py                       # sst2, ag_news, trec, massive_en under ../shared/data
    python benchmarks/anchor_gate.py --draws 500 --thresholds 0.1,0.2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from agileclf.backbones import load_backbone
from agileclf.data import read_examples
from agileclf.data.labels import LabelSet
from agileclf.methods.contrastive import above_chance, name_hits

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SETS = {"sst2": "label", "ag_news": "label", "trec": "label", "massive_en": "intent"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--shots", type=int, default=8)
    parser.add_argument("--pool", type=int, default=3000, help="training rows embedded per set (drawn once)")
    parser.add_argument("--thresholds", default="0.1,0.2")
    args = parser.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    backbone = load_backbone()
    rng = np.random.default_rng(0)
    for name, field in SETS.items():
        data = read_examples(DATA / name / "train.jsonl", label_field=field)
        pool = rng.choice(len(data.texts), size=min(args.pool, len(data.texts)), replace=False)
        labels = LabelSet.from_labels([data.labels[i] for i in pool])
        y = labels.encode([data.labels[i] for i in pool])
        names = [labels.describe(n) for n in labels.names]
        hit = name_hits(backbone, [data.texts[i] for i in pool], y, names)  # embedded once; the draws reuse it
        by_label = [np.flatnonzero(y == c) for c in range(len(labels))]
        usable = [rows for rows in by_label if len(rows) >= args.shots]
        scores = np.array([
            above_chance(hit[np.concatenate([rng.choice(rows, args.shots, replace=False) for rows in usable])].mean(),
                         len(labels))
            for _ in range(args.draws)
        ])  # fmt: skip
        rates = ", ".join(f">= {t}: {(scores >= t).mean():.0%}" for t in thresholds)
        print(f"{name}: names' score on {len(pool)} training rows {above_chance(hit.mean(), len(labels)):.3f}; "
              f"{args.draws} draws of {args.shots} per label {rates}")  # fmt: skip


if __name__ == "__main__":
    main()
