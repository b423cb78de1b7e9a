"""Is a multi-label method above chance? Its macro-F1 minus that of the two constant answers (every label on, the
best constant for macro-F1; the most common label alone), with the paired bootstrap interval over the test rows
(the seeds' predictions pooled), from a multi-label bench's stored predictions.

    python benchmarks/multilabel_chance.py bench-out/smollm2-goemotions
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from agileclf.bench.multilabel import PREDICTIONS_DIR
from agileclf.bench.runner import read_results
from agileclf.evaluate.multilabel import paired_bootstrap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="a multi-label bench --out folder")
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args()
    rows = [r for r in read_results(args.out) if r.get("task") == "multilabel" and "error" not in r]
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        truth = np.load(args.out / PREDICTIONS_DIR / f"{dataset}-truth.npy")
        constants = {
            "every label": np.ones_like(truth),
            "the most common label": np.zeros_like(truth),
        }
        constants["the most common label"][:, truth.sum(axis=0).argmax()] = 1
        for method in dict.fromkeys(r["method"] for r in rows if r["dataset"] == dataset):
            cells = [r for r in rows if r["dataset"] == dataset and r["method"] == method]
            ours = [np.load(args.out / PREDICTIONS_DIR / f"{dataset}-{r['shots']}-{r['seed']}-{method}.npy")
                    for r in cells]  # fmt: skip
            score = np.mean([f1_score(truth, p, average="macro", zero_division=0) for p in ours])
            for name, constant in constants.items():
                boot = paired_bootstrap(truth, ours, [constant] * len(ours), n_boot=args.n_boot, seed=0)
                base = f1_score(truth, constant, average="macro", zero_division=0)
                print(f"{dataset} {method}: macro-F1 {100 * score:.1f} vs {name} {100 * base:.1f}, "
                      f"{100 * boot['delta']:+.1f} [{100 * boot['ci_low']:+.1f}, {100 * boot['ci_high']:+.1f}] "
                      f"over {len(ours)} seed(s)")  # fmt: skip


if __name__ == "__main__":
    main()
