"""Could `auto` ship its raced fold's tuned encoder instead of refitting it? Dev rows only.

    python benchmarks/auto_fold_reuse_dev.py --shots 64 --seeds 0,1,2 --out bench-out/fold-reuse-dev   # ~40 min

With 20 or more examples per label `auto` cross-validates `contrastive` on 3 folds, and when the race settles the
contest after the first fold, that fold's tuning and the refit on all examples are the two tunings of its fit
(trec 64 shots: 146 and about 150 of 334 CPU s). Shipping the first fold's tuned encoder with its logistic head
refitted on every example's embedding would drop the second. Per set and seed, on the bench's sample:
- `default`: contrastive fitted on the whole sample (what `auto` refits and ships today);
- `fold-reuse`: contrastive tuned on the first fold's training part (the stratified folds of evaluate.crossval,
  3 folds, shuffled by the seed), its head refitted on all the examples' embeddings from that encoder.
Dev rows as in contrastive_heads.py (sst2's dev.jsonl; 1,000 rows carved from trec's and ag_news' train.jsonl;
trec with benchmarks/labels/trec.json's descriptions). No test row is read. CPU seconds of both fits are kept.

The rule, fixed before the first run (the zero-loss stop's rule): fold-reuse becomes `auto`'s way for a raced
winner if on every set its pooled mean difference from `default` is above -0.5 points and its pooled interval
reaches 0. Per-row hits go to OUT/<set>-<seed>.json, so an interrupted run resumes.
"""

from __future__ import annotations

import time

from contrastive_heads import dev_arguments, print_variants, splits

from agileclf.data import sample_few_shot
from agileclf.evaluate.crossval import fold_splits
from agileclf.methods import make_method

FOLDS = 3  # auto's default


def reuse_hits(name: str, seed: int, shots: int, dev_rows: int, backbone) -> dict:
    """Per variant: is each dev row right (1/0)? With each fit's CPU seconds."""
    train, dev, label_set = splits(name, dev_rows)
    sample = train.subset(sample_few_shot(train.labels, shots, seed).indices)
    texts, labels = list(sample.texts), list(sample.labels)
    truth = label_set.encode(list(dev.labels))

    def contrastive(rows: list[int]):
        start = time.process_time()
        method = make_method("contrastive", backbone=backbone, seed=seed, calibration="none")
        method.fit([texts[i] for i in rows], [labels[i] for i in rows], label_set=label_set)
        return method, time.process_time() - start

    def hits(method) -> list[int]:
        return (label_set.encode(list(method.predict(list(dev.texts)))) == truth).astype(int).tolist()

    refit, refit_s = contrastive(list(range(len(texts))))
    _, folds = fold_splits(labels, FOLDS, seed)
    first_train, _ = next(folds)
    reused, fold_s = contrastive(first_train.tolist())
    start = time.process_time()
    reused._fit_head(reused.backbone.embed(texts, normalize=True), label_set.encode(labels))
    head_s = time.process_time() - start
    return {
        "default": hits(refit),
        "fold-reuse": hits(reused),
        "_cpu_s": {"refit": round(refit_s, 1), "fold": round(fold_s, 1), "head": round(head_s, 1)},
        "_fold_rows": len(first_train),
    }


def main() -> None:
    args = dev_arguments(__doc__, "bench-out/fold-reuse-dev")
    print_variants(
        args, reuse_hits, 12,
        lambda runs: f"first fold's rows {runs[0]['_fold_rows']}; CPU s {[r['_cpu_s'] for r in runs]}",
    )  # fmt: skip


if __name__ == "__main__":
    main()
