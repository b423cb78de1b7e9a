"""SetFit on the dev rows, with and without the label names as extra rows, against contrastive's stored dev rows.

    python benchmarks/setfit_anchors_dev.py --data ag_news,sst2,trec     # 45 min
    # contrastive's rows: bench-out/margin-dev (contrastive-margin-dev.toml) must hold the same sets and seeds

A diagnostic, not a choice: is SetFit ahead of `contrastive` on these dev rows (session 14 measured 84.4 against 83.0
over seeds 0-2), and do `contrastive`'s label anchors (each name twice as an extra row) help SetFit too? Per seed:
SetFit 1.2 at its defaults (the bench's peer), and the same with the names added to its training rows (SetFit's head
sees them too). Dev rows as in contrastive_heads.py; no test row is read. Per-row hits go to OUT/<set>.jsonl.
Result (session 25, seeds 0-4): SetFit - contrastive ag_news -0.3 [-1.6, +0.9], sst2 -8.3 [-11.4, -5.4], trec -2.5
[-5.8, +0.5]; SetFit + names - contrastive +0.4 [-0.4, +1.2], -4.7 [-6.7, -2.6], +1.4 [+0.1, +2.7].
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from contrastive_heads import dev_arguments, splits

from agileclf.bench.peers import make_peer
from agileclf.bench.runner import PREDICTIONS_FILE, read_jsonl_rows
from agileclf.data import sample_few_shot
from agileclf.evaluate.bootstrap import pooled_paired_bootstrap

CONTRASTIVE_ROWS = Path("bench-out/margin-dev")  # contrastive-margin-dev.toml's run: the same sets, samples, dev rows


def setfit_rows(
    name: str, seeds: list[int], shots: int, dev_rows: int, out: Path
) -> tuple[dict[tuple[str, int], list[int]], np.ndarray, list[str]]:
    """((variant, seed) -> per-dev-row hits, run or read back from `out`; the dev labels; the label names)."""
    train, dev, label_set = splits(name, dev_rows)
    truth = label_set.encode(list(dev.labels))
    done = {}
    if out.is_file():
        done = {(r["variant"], r["seed"]): r["hits"] for r in map(json.loads, out.read_text().splitlines())}
    names = [label_set.describe(n) for n in label_set.names]
    for seed in seeds:
        sample = train.subset(sample_few_shot(train.labels, shots, seed).indices)
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
    return done, truth, list(label_set.names)


def contrastive_rows(name: str, shots: int, truth: np.ndarray, names: list[str]) -> dict[int, list[int]]:
    """seed -> contrastive's per-dev-row hits from the margin check's predictions (CONTRASTIVE_ROWS)."""
    rows = {}
    for row in read_jsonl_rows(CONTRASTIVE_ROWS / PREDICTIONS_FILE):
        if row["method"] == "contrastive" and row["dataset"] == name and row["shots"] == shots:
            assert row["labels"] == names
            rows[row["seed"]] = (np.array(row["predicted"]) == truth).astype(int).tolist()
    return rows


def main() -> None:
    args = dev_arguments(__doc__, "bench-out/setfit-anchors-dev", data="ag_news")
    seeds = [int(s) for s in args.seeds.split(",")]
    for name in args.data.split(","):
        setfit, truth, names = setfit_rows(name, seeds, args.shots, args.dev_rows, args.out / f"{name}.jsonl")
        ours = contrastive_rows(name, args.shots, truth, names)
        columns = {"contrastive": ours, **{v: {s: setfit[(v, s)] for s in seeds} for v in ("setfit", "setfit+anchors")}}
        print(f"\n{name}")
        for variant, hits in columns.items():
            print(f"{variant:15s} {100 * np.mean([np.mean(hits[s]) for s in seeds]):5.1f}  per seed "
                  f"{[round(float(100 * np.mean(hits[s])), 1) for s in seeds]}")  # fmt: skip
        for first, second in (
            ("setfit", "contrastive"),
            ("setfit+anchors", "setfit"),
            ("setfit+anchors", "contrastive"),
        ):
            diff, low, high = pooled_paired_bootstrap([(columns[first][s], columns[second][s]) for s in seeds])
            print(f"{first} - {second}: {100 * diff:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]")


if __name__ == "__main__":
    main()
