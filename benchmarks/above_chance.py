"""Is a method above chance? Its accuracy minus that of always answering the test rows' most common label, with the
pooled paired bootstrap 95% interval the bench uses (test rows and seeds resampled), from a bench's predictions.

    python benchmarks/above_chance.py bench-out/smollm2-8shot --methods zero-shot,icl
    python benchmarks/above_chance.py bench-out/smollm2-8shot --methods prompt-tuning --against icl
    python benchmarks/above_chance.py bench-out/run-a bench-out/run-b --methods lora --against icl

With `--against METHOD` the comparison is with that method on the seeds both ran instead; `--against METHOD@K`
takes that method's cells at K shots (e.g. LoRA on 25 real examples per class against LoRA on 4: the same test
rows, other training samples); `--against-data NAME` takes them from another dataset entry of the run that scored
the same rows (e.g. a set with label descriptions against the same set without). Several --out folders are read
as one run (cells of methods run apart on the same samples and test rows; the rows' sha256 are checked).

The test rows are rebuilt from each dataset's test.jsonl with the bench's own stratified cap, so the truth lines up
with the stored per-row predictions (their sha256 is checked).
"""

from __future__ import annotations

import argparse
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np

from agileclf.bench.runner import capped_rows, read_predictions, read_results
from agileclf.data import read_examples
from agileclf.evaluate.bootstrap import pooled_paired_bootstrap


@cache  # every seed of a dataset scores the same rows: read and fingerprint them once
def _capped_test(test_file: Path, n_test: int, label_field: str) -> tuple[str, np.ndarray]:
    """(sha256 of the capped test rows, per row: is it of their most common label?)."""
    test = read_examples(test_file, label_field=label_field)
    test = test.subset(capped_rows(test.labels, n_test))  # all rows when n_test is the whole set
    top = Counter(test.labels).most_common(1)[0][0]
    return test.fingerprint(), np.array([y == top for y in test.labels])


def majority_correct(test_file: Path, n_test: int, sha256: str, label_field: str = "label") -> np.ndarray:
    """Per test row: is it of the most common label among the (capped) test rows?"""
    fingerprint, correct = _capped_test(test_file, n_test, label_field)
    if fingerprint != sha256:
        raise SystemExit(f"{test_file}: its {n_test} capped rows are not the rows the bench scored")
    return correct


def read_runs(folders: list[Path]) -> tuple[list[dict], dict]:
    """The result rows and per-row predictions of several bench folders as one run; a cell in two is an error."""
    rows, predictions = [], {}
    for folder in folders:
        rows += read_results(folder)
        for key, cell in read_predictions(folder).items():
            if key in predictions:
                raise SystemExit(f"{folder}: cell {key} is in another folder too; give each cell once")
            predictions[key] = cell
    return rows, predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, nargs="+", help="bench --out folders (results.jsonl, predictions.jsonl)")
    parser.add_argument("--methods", default="zero-shot,icl", help="comma-separated methods")
    parser.add_argument("--against", default="", help="METHOD or METHOD@SHOTS instead of the majority label")
    parser.add_argument("--against-data", default="", help="take --against's cells from this dataset entry")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"), help="folder of the datasets")
    parser.add_argument("--label-field", default="label", help="the test files' label field (massive_en: intent)")
    args = parser.parse_args()
    rows, predictions = read_runs(args.out)
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        for method in args.methods.split(","):
            done = [r for r in rows if r["dataset"] == dataset and r["method"] == method and "error" not in r]
            for k in sorted({r["shots"] for r in done}):
                cells = [r for r in done if r["shots"] == k]
                compare(dataset, method, k, cells, predictions, args.against, args.data_root, args.label_field,
                        args.against_data)  # fmt: skip


def compare(
    dataset: str,
    method: str,
    k: int,
    cells: list[dict],
    predictions: dict,
    against: str,
    data_root: Path,
    label_field: str = "label",
    against_data: str = "",
) -> None:
    """Print one (dataset, method, shots) line: the pooled paired difference over the seeds."""
    name, _, against_shots = against.partition("@")
    pairs = []
    for row in cells:
        stored = predictions[(dataset, method, k, row["seed"])]
        if name:
            shots = int(against_shots) if against_shots else k
            other_data = against_data or dataset
            other = predictions.get((other_data, name, shots, row["seed"]))
            if other is not None and (other_data, name, shots) != (dataset, method, k):  # never a cell with itself
                if other["test_sha256"] != stored["test_sha256"]:
                    raise SystemExit(f"{other_data} and {dataset} were not scored on the same rows")
                pairs.append((stored["correct"], other["correct"]))
            continue
        test_file = data_root / dataset / "test.jsonl"
        constant = majority_correct(test_file, row["n_test"], stored["test_sha256"], label_field)
        pairs.append((stored["correct"], constant))
    if not pairs:
        return
    diff, low, high = pooled_paired_bootstrap(pairs)
    accuracy = float(np.mean([p[0].mean() for p in pairs]))
    other = float(np.mean([p[1].mean() for p in pairs]))
    print(
        f"{dataset} {method} ({k}-shot): accuracy {100 * accuracy:.1f} vs {against or 'majority label'}"
        f"{f' on {against_data}' if against_data else ''} "
        f"{100 * other:.1f}, {100 * diff:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}] over {len(pairs)} seed(s)"
    )


if __name__ == "__main__":
    main()
