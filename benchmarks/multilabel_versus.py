"""One multi-label method against another from a multi-label bench's stored predictions: macro-F1 difference per
seed and pooled over the seeds both ran, with the paired bootstrap interval the bench's report uses against SetFit
(the same test or dev rows resampled for every seed), and the fit seconds of each (threshold cross-validation included).

    python benchmarks/multilabel_versus.py bench-out/ge-fast-dev --methods contrastive:fast --against contrastive
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from agileclf.bench.multilabel import PREDICTIONS_DIR
from agileclf.bench.runner import read_results
from agileclf.evaluate.multilabel import paired_bootstrap


def compare(out: Path, method: str, against: str, n_boot: int) -> list[str]:
    """Lines for each dataset and shot count both methods ran: per seed, then pooled."""
    rows = [r for r in read_results(out) if r.get("task") == "multilabel" and "error" not in r]
    lines = []
    for dataset, shots in sorted({(r["dataset"], r["shots"]) for r in rows}):
        cells = {(r["method"], r["seed"]): r for r in rows if r["dataset"] == dataset and r["shots"] == shots}
        seeds = sorted({s for m, s in cells if m == method} & {s for m, s in cells if m == against})
        if not seeds:
            continue
        truth = np.load(out / PREDICTIONS_DIR / f"{dataset}-truth.npy")

        def predicted(name: str, seed: int, cell: str = f"{dataset}-{shots}") -> np.ndarray:
            return np.load(out / PREDICTIONS_DIR / f"{cell}-{seed}-{name}.npy")

        lines.append(f"{dataset}, {shots} per label, {len(truth)} rows: {method} - {against}")
        for seed in seeds:
            boot = paired_bootstrap(truth, predicted(method, seed), predicted(against, seed), n_boot=n_boot)
            mine, theirs = cells[(method, seed)], cells[(against, seed)]
            lines.append(
                f"  seed {seed}: macro-F1 {100 * mine['macro_f1']:.1f} vs {100 * theirs['macro_f1']:.1f}, "
                f"{_interval(boot)}; fit + threshold CV: {_seconds(mine)} vs {_seconds(theirs)}"
            )
        pooled = paired_bootstrap(
            truth, [predicted(method, s) for s in seeds], [predicted(against, s) for s in seeds], n_boot=n_boot
        )
        lines.append(f"  pooled over seeds {', '.join(map(str, seeds))}: {_interval(pooled)}")
    return lines


def _seconds(row: dict) -> str:
    """CPU seconds where the row has them (rows written since fit_cpu_s was recorded), else wall seconds."""
    if "fit_cpu_s" in row:
        return f"{row['fit_cpu_s'] + row['cv_cpu_s']:.0f} CPU s"
    return f"{row['fit_s'] + row['cv_s']:.0f} s wall"


def _interval(boot: dict) -> str:
    return f"{100 * boot['delta']:+.1f} [{100 * boot['ci_low']:+.1f}, {100 * boot['ci_high']:+.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a multi-label bench's --out folder")
    parser.add_argument("--methods", required=True, help="comma-separated methods to compare")
    parser.add_argument("--against", required=True, help="the method each is compared with")
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args()
    for method in args.methods.split(","):
        print(
            "\n".join(compare(args.out, method, args.against, args.n_boot))
            or f"no seeds both {method} and {args.against} ran in {args.out}"
        )


if __name__ == "__main__":
    main()
