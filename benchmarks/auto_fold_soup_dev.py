"""When `auto`'s contest tunes `contrastive` on every fold, could it ship the folds' encoders averaged? Dev rows only.

    python benchmarks/auto_fold_soup_dev.py --shots 64 --seeds 0,1,2 --out bench-out/fold-soup-dev   # ~70 min

With 20 or more examples per label `auto` cross-validates `contrastive` on 3 folds. Where the race does not settle
the contest on the first fold (sst2 and ag_news at 64 shots), all three folds' encoders get tuned, each on two
thirds of the examples, and `refit=head` ships the first one with a head refitted on every example. The other two
are thrown away. Fine-tuned copies of one pretrained encoder with a small learning rate stay close to it, so their
weights can be averaged into one encoder (a uniform model soup, Wortsman et al. 2022) at no cost in prediction;
unlike two tunings of the same sample (docs/setfit-comparison.md, "Two tunings averaged": no gain), each fold saw
a different third of the examples left out. Per set and seed, on the bench's sample:
- `default`: today's `auto` way, the first fold's encoder with its head refitted on all examples (the `fold-reuse`
  rows of benchmarks/results/fold-reuse-dev, recomputed; the script checks they agree);
- `soup`: the three folds' tuned encoders averaged parameter by parameter, a logistic head fitted on all examples;
- `fold-ensemble`: the three fold encoders, each with a head fitted on all examples, their probabilities averaged
  (three encoders at prediction: reported to see what averaging predictions gives, not a candidate default).
Folds as evaluate.crossval makes them (stratified, shuffled by the seed). Dev rows as in contrastive_heads.py.
No test row is read. CPU seconds of the fold tunings are kept.

The rule, fixed before the first run: `soup` becomes what `auto` ships for a winner whose contest tuned every fold
(refit=head) if, pooled over seeds 0-2, its mean difference from `default` is not below 0 on any of sst2, trec and
ag_news, and its paired interval lies above 0 on at least one of them. Per-row hits go to OUT/<set>-<seed>.json,
so an interrupted run resumes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from contrastive_heads import dev_arguments, print_variants, splits

from agileclf.data import sample_few_shot
from agileclf.evaluate.crossval import fold_splits
from agileclf.methods import make_method

FOLDS = 3  # auto's default
ARCHIVE = Path(__file__).resolve().parent / "results" / "fold-reuse-dev"


def soup_hits(name: str, seed: int, shots: int, dev_rows: int, backbone) -> dict:
    """Per variant: is each dev row right (1/0)? With the fold tunings' CPU seconds."""
    train, dev, label_set = splits(name, dev_rows)
    sample = train.subset(sample_few_shot(train.labels, shots, seed).indices)
    texts, labels = list(sample.texts), list(sample.labels)
    y, truth = label_set.encode(labels), label_set.encode(list(dev.labels))
    dev_texts = list(dev.texts)

    folds, fold_s = [], []
    for fold_train, _ in fold_splits(labels, FOLDS, seed)[1]:
        start = time.process_time()
        method = make_method("contrastive", backbone=backbone, seed=seed, calibration="none")
        method.fit([texts[i] for i in fold_train], [labels[i] for i in fold_train], label_set=label_set)
        fold_s.append(round(time.process_time() - start, 1))
        method._fit_head(method.backbone.embed(texts, normalize=True), y)  # head on all examples (refit=head)
        folds.append(method)

    def hits(proba: np.ndarray) -> list[int]:
        return (proba.argmax(axis=1) == truth).astype(int).tolist()

    fold_proba = [m.predict_proba(dev_texts) for m in folds]  # before the first fold's encoder becomes the soup
    souped = folds[0].soup(folds[1:])  # as auto's refit=soup
    souped._fit_head(souped.backbone.embed(texts, normalize=True), y)
    return {
        "default": hits(fold_proba[0]),
        "soup": hits(souped.predict_proba(dev_texts)),
        "fold-ensemble": hits(np.mean(fold_proba, axis=0)),
        "_cpu_s": fold_s,
        "_anchors_used": [m.anchors_used for m in folds],
    }


def archived_agrees(out: Path, name: str, seeds: str) -> str:
    """Do the recomputed `default` rows equal the archived `fold-reuse` rows (same folds, same seeds)?"""
    same = []
    for seed in seeds.split(","):
        archived = ARCHIVE / f"{name}-{seed}.json"
        if archived.is_file():
            now = json.loads((out / f"{name}-{seed}.json").read_text(encoding="utf-8"))["default"]
            same.append(now == json.loads(archived.read_text(encoding="utf-8"))["fold-reuse"])
    return f"default = archived fold-reuse rows on {sum(same)} of {len(same)} seeds"


def main() -> None:
    args = dev_arguments(__doc__, "bench-out/fold-soup-dev")
    print_variants(
        args, soup_hits, 13,
        lambda runs: f"fold tunings CPU s {[r['_cpu_s'] for r in runs]}; anchors {[r['_anchors_used'] for r in runs]}",
    )  # fmt: skip
    for name in args.data.split(","):
        print(f"{name}: {archived_agrees(args.out, name, args.seeds)}")


if __name__ == "__main__":
    main()
