"""SetFit on the dev rows, with and without the label names as extra rows, against contrastive's stored dev rows.

    for d in ag_news sst2 trec; do python benchmarks/setfit_anchors_dev.py --data $d; done     # 45 min
    # contrastive's rows: bench-out/margin-dev (contrastive-margin-dev.toml) must hold the same sets and seeds

A diagnostic, not a choice: is SetFit ahead of `contrastive` on these dev rows (session 14 measured 84.4 against 83.0
over seeds 0-2), and do `contrastive`'s label anchors (each name twice as an extra row) help SetFit too? Per seed:
SetFit 1.2 at its defaults (the bench's peer), and the same with the names added to its training rows (SetFit's head
sees them too). Dev rows as in contrastive_heads.py; no test row is read. Per-row hits go to OUT/<set>.jsonl.
Result (session 25, seeds 0-4): SetFit - contrastive ag_news -0.3 [-1.6, +0.9], sst2 -8.3 [-11.4, -5.4], trec -2.5
[-5.8, +0.5]; SetFit + names - contrastive +0.4 [-0.4, +1.2], -4.7 [-6.7, -2.6], +1.4 [+0.1, +2.7].
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from contrastive_heads import splits

from agileclf.bench.peers import make_peer
from agileclf.data import sample_few_shot
from agileclf.evaluate.bootstrap import pooled_paired_bootstrap


def setfit_rows(name: str, seeds: list[int], out: Path) -> dict:
    """(variant, seed) -> per-dev-row hits, run or read back from `out`."""
    train, dev, label_set = splits(name, 1000)
    truth = label_set.encode(list(dev.labels))
    done = {}
    if out.is_file():
        done = {(r["variant"], r["seed"]): r["hits"] for r in map(json.loads, out.read_text().splitlines())}
    names = [label_set.describe(n) for n in label_set.names]
    for seed in seeds:
        sample = train.subset(sample_few_shot(train.labels, 8, seed).indices)
        texts, labels = list(sample.texts), list(sample.labels)
        variants = {
            "setfit": (texts, labels),
            "setfit+anchors": (texts + names * 2, labels + list(label_set.names) * 2),
        }
        for variant, (rows, row_labels) in variants.items():
            if (variant, seed) in done:
                continue
            started = time.process_time()
            peer = make_peer("setfit", seed=seed).fit(rows, row_labels, label_set=label_set)
            hits = (peer.predict_proba(list(dev.texts)).argmax(axis=1) == truth).astype(int).tolist()
            row = {"seed": seed, "variant": variant, "cpu_s": time.process_time() - started, "hits": hits}
            with out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            done[(variant, seed)] = hits
    return done


def contrastive_rows(name: str, margin_dev: Path) -> dict[int, list[int]]:
    """seed -> contrastive's per-dev-row hits from the margin check's predictions."""
    train, dev, label_set = splits(name, 1000)
    truth = label_set.encode(list(dev.labels))
    rows = {}
    for row in map(json.loads, (margin_dev / "predictions.jsonl").read_text().splitlines()):
        if row["method"] == "contrastive" and row["dataset"] == name:
            assert row["labels"] == list(label_set.names)
            rows[row["seed"]] = (np.array(row["predicted"]) == truth).astype(int).tolist()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="ag_news")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--out", type=Path, default=Path("bench-out/setfit-anchors-dev"))
    parser.add_argument("--contrastive", type=Path, default=Path("bench-out/margin-dev"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    setfit = setfit_rows(args.data, seeds, args.out / f"{args.data}.jsonl")
    ours = contrastive_rows(args.data, args.contrastive)
    columns = {"contrastive": ours, **{v: {s: setfit[(v, s)] for s in seeds} for v in ("setfit", "setfit+anchors")}}
    for variant, hits in columns.items():
        print(f"{variant:15s} {100 * np.mean([np.mean(hits[s]) for s in seeds]):5.1f}  per seed "
              f"{[round(float(100 * np.mean(hits[s])), 1) for s in seeds]}")  # fmt: skip
    for first, second in (("setfit", "contrastive"), ("setfit+anchors", "setfit"), ("setfit+anchors", "contrastive")):
        diff, low, high = pooled_paired_bootstrap([(columns[first][s], columns[second][s]) for s in seeds])
        print(f"{first} - {second}: {100 * diff:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]")


if __name__ == "__main__":
    main()
