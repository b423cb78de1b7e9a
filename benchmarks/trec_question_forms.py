"""Why TREC's test scores swing by seed: one question form ("What is autism ?", a short definition question) is
23% of TREC's test rows and 4% of its training rows, so an 8-shot sample holds none of it on some seeds. This
counts the form in train, test and each seed's sample, and splits stored per-row test predictions into the rows of
that form and the rest. Reads no model; it describes results already measured and chooses nothing.

    python benchmarks/trec_question_forms.py bench-out/setfit-zero-stop22 bench-out/smollm2-sun34
    python benchmarks/trec_question_forms.py bench-out/setfit-zero-stop22 --compare auto,setfit

Only full-test-set cells (all 500 rows) are split; the sample counts use the bench's own draw (sample_few_shot).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

import numpy as np

from agileclf.bench.runner import read_predictions
from agileclf.data import read_examples, sample_few_shot
from agileclf.evaluate.bootstrap import pooled_paired_bootstrap

DEFINITION = re.compile(r"^what (is|are) (a |an |the )?[\w'-]+( [\w'-]+)? \?$", re.IGNORECASE)


def is_definition(texts: list[str]) -> np.ndarray:
    """Per text: is it a short 'What is X ?' question (one or two words after the article)?"""
    return np.array([bool(DEFINITION.match(text)) for text in texts])


def describe_splits(train, test, shots: list[int], seeds: list[int]) -> None:
    """The form's share of each split and its labels, and how many DESC rows of that form each sample holds."""
    for split, rows in (("train", train), ("test", test)):
        form = is_definition(rows.texts)
        labels = Counter(label for label, hit in zip(rows.labels, form, strict=True) if hit)
        print(f"{split}: {form.sum()} of {len(form)} rows ({form.mean():.1%}) are 'What is X ?'; labels {dict(labels)}")
    form = is_definition(train.texts)
    for k in shots:
        held = []
        for seed in seeds:
            drawn = sample_few_shot(train.labels, k, seed).indices
            held.append(int(sum(form[i] and train.labels[i] == "DESC" for i in drawn)))
        print(f"{k}-shot samples, seeds {seeds}: DESC rows of that form held {held}")


def split_predictions(out: Path, predictions: dict[tuple, dict], form: np.ndarray) -> None:
    """Per full-test cell: accuracy on the form's rows and on the rest."""
    for (dataset, method, shots, seed), row in sorted(predictions.items(), key=lambda kv: str(kv[0])):
        correct = row["correct"]
        if dataset != "trec" or len(correct) != len(form):
            continue
        print(
            f"{out.name:22s} {method:14s} {shots}-shot seed {seed}: all {100 * correct.mean():5.1f}  "
            f"'What is X ?' ({form.sum()}) {100 * correct[form].mean():5.1f}  rest ({(~form).sum()}) "
            f"{100 * correct[~form].mean():5.1f}"
        )


def compare(out: Path, predictions: dict[tuple, dict], method: str, against: str, form: np.ndarray) -> None:
    """`method` minus `against` on the form's rows and on the rest, pooled over the seeds both ran (paired bootstrap,
    test rows and seeds resampled, as the bench reports)."""
    cells = {(m, k, seed): row for (d, m, k, seed), row in predictions.items() if d == "trec"}
    pairs = [
        (row, cells[(against, k, seed)])
        for (m, k, seed), row in sorted(cells.items())
        if m == method and (against, k, seed) in cells and len(row["correct"]) == len(form)
    ]
    if not pairs:
        raise SystemExit(f"{out}: no TREC seed has both {method} and {against}")
    for name, rows in (("'What is X ?'", form), ("rest", ~form)):
        mean, low, high = pooled_paired_bootstrap([(a["correct"][rows], b["correct"][rows]) for a, b in pairs])
        print(f"{method} - {against} on {name} ({rows.sum()} rows, {len(pairs)} seeds): "
              f"{100 * mean:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outs", type=Path, nargs="*", help="bench --out folders with TREC cells")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/trec"), help="the TREC folder")
    parser.add_argument("--shots", default="8,64", help="comma-separated sample sizes to count")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds to count")
    parser.add_argument("--compare", default="", help="METHOD,AGAINST: their pooled difference on each part")
    args = parser.parse_args()
    if not (args.data / "test.jsonl").is_file():
        raise SystemExit(f"{args.data}: no test.jsonl (pass --data to TREC's folder)")
    train, test = read_examples(args.data / "train.jsonl"), read_examples(args.data / "test.jsonl")
    describe_splits(train, test, [int(k) for k in args.shots.split(",")], [int(s) for s in args.seeds.split(",")])
    form = is_definition(test.texts)
    for out in args.outs:
        predictions = read_predictions(out)
        split_predictions(out, predictions, form)
        if args.compare:
            compare(out, predictions, *args.compare.split(","), form)


if __name__ == "__main__":
    main()
