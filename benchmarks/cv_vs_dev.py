"""What cross-validation on a few-shot sample says about two candidates, against what a dev split says about them.

For each seed's sample of `--shots` per label (the bench's sampler), each method is cross-validated on the sample as
`auto` does it (evaluate.crossval, 3 stratified folds): its out-of-fold accuracy, the same fold models' accuracy on
the dev split, and the dev accuracy of the method refitted on the whole sample. `auto` would pick the method with the
best out-of-fold accuracy; the dev columns say which one it should pick. The last line per method averages
out-of-fold minus fold-model dev accuracy over the seeds (a bootstrap interval over seeds): whether CV on the sample
is biased against the fold models' true accuracy; `--unseen-train N` adds the fold models' accuracy on N training
rows outside the samples, which tells a biased CV from a dev split that differs from the training file. Dev and
training files only; no test row.

    python benchmarks/cv_vs_dev.py --shots 16 --seeds 0,1,2          # sst2 under ../shared/data: about 8 min a seed
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path

import numpy as np

from agileclf.backbones import load_backbone
from agileclf.data import LabelSet, read_examples, sample_few_shot
from agileclf.evaluate.bootstrap import paired_bootstrap
from agileclf.evaluate.crossval import cross_val_proba
from agileclf.methods import make_method

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _record(made: list, **params):
    """A fresh classifier for cross_val_proba, kept in `made` so its fold's model can be scored on dev too."""
    made.append(make_method(params.pop("method"), **params))
    return made[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA / "sst2", help="a folder with train.jsonl and dev.jsonl")
    parser.add_argument("--shots", type=int, default=16)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--methods", default="zero-shot,contrastive")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument(
        "--unseen-train",
        type=int,
        default=0,
        help="also score the fold models on this many training rows outside every sample (train vs dev shift)",
    )
    args = parser.parse_args()
    train, dev = read_examples(args.data / "train.jsonl"), read_examples(args.data / "dev.jsonl")
    label_set = LabelSet.from_labels(train.labels)
    backbone = load_backbone()
    seeds = [int(s) for s in args.seeds.split(",")]
    unseen = train.subset(_unseen_rows(train, args.shots, seeds, args.unseen_train))
    rows: list[dict] = []
    for seed in seeds:
        sample = train.subset(sample_few_shot(train.labels, args.shots, seed).indices)
        texts, labels = list(sample.texts), list(sample.labels)
        for method in args.methods.split(","):
            fold_models: list = []
            make = partial(_record, fold_models, method=method, backbone=backbone, seed=seed, calibration="none")
            oof = cross_val_proba(make, texts, labels, label_set, n_splits=args.folds, seed=seed)
            whole = make_method(method, backbone=backbone, seed=seed, calibration="none")
            whole.fit(texts, labels, label_set=label_set)
            row = {
                "data": args.data.name,
                "shots": args.shots,
                "seed": seed,
                "method": method,
                "cv_accuracy": round(oof.metrics()["accuracy"], 4),
                "fold_models_dev_accuracy": round(
                    float(np.mean([m.score(dev.texts, dev.labels) for m in fold_models])), 4
                ),
                "dev_accuracy": round(whole.score(dev.texts, dev.labels), 4),
            }
            if len(unseen):
                unseen_scores = [m.score(unseen.texts, unseen.labels) for m in fold_models]
                row["fold_models_unseen_train_accuracy"] = round(float(np.mean(unseen_scores)), 4)
            print(json.dumps(row), flush=True)
            rows.append(row)
    for method in args.methods.split(","):
        print(json.dumps(cv_bias(method, [r for r in rows if r["method"] == method])), flush=True)


def _unseen_rows(train, shots: int, seeds: list[int], count: int) -> list[int]:
    """`count` training rows that no seed's sample holds, drawn at random (seed 0)."""
    sampled = {i for seed in seeds for i in sample_few_shot(train.labels, shots, seed).indices}
    free = [i for i in range(len(train.labels)) if i not in sampled]
    return sorted(np.random.default_rng(0).choice(free, size=min(count, len(free)), replace=False).tolist())


def cv_bias(method: str, rows: list[dict]) -> dict:
    """Out-of-fold minus the same fold models' dev accuracy, averaged over seeds, with a 95% bootstrap interval over
    seeds: both estimate the fold models' accuracy, so an interval away from 0 means CV is biased, not unlucky."""
    cv = [r["cv_accuracy"] for r in rows]
    result = {"method": method, "seeds": len(rows)}
    for column in ("fold_models_dev_accuracy", "fold_models_unseen_train_accuracy"):
        if rows and column in rows[0]:
            gap, low, high = paired_bootstrap(cv, [r[column] for r in rows])
            name = "cv_minus_" + column.removeprefix("fold_models_").removesuffix("_accuracy")
            result[name] = [round(gap, 4), round(low, 4), round(high, 4)]
    return result


if __name__ == "__main__":
    main()
