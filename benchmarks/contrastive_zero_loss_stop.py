"""How early can contrastive stop once its loss is zero (`-p stop_after_zero_loss=P`)? Dev rows only.

    python benchmarks/contrastive_zero_loss_stop.py --out bench-out/zero-loss-dev    # sst2, trec, ag_news; ~25 min

`batch-all` (the default loss) is exactly 0 on a batch where every triplet already meets the margin; on a handful
of examples that happens long before the 160-update floor ends, and the updates after it cost time without moving
the encoder much. A stop after P zero-loss updates in a row truncates the same run (same batches, same learning-rate
schedule), so one full run per set and seed gives every P: the encoder is snapshotted where each P would have
stopped, and each snapshot gets the method's own head (logistic, C by CV) and is scored on the dev rows, as is the
full run (`default`). Dev rows as in contrastive_heads.py (sst2's dev.jsonl; 1,000 rows carved from trec's and
ag_news' train.jsonl); trec with the descriptions of benchmarks/labels/trec.json. No test row is read.

The rule, fixed before the first run (session 18's rule for a shorter schedule): the smallest P becomes the default
if on every set its pooled mean difference from `default` is above -0.5 points and its pooled interval reaches 0.
Per-row hits and the updates made go to OUT/<set>-<seed>.json, so a run resumes.
"""

from __future__ import annotations

import copy

import numpy as np
from contrastive_heads import dev_arguments, seed_runs, splits, versus_default

import agileclf.methods.contrastive as contrastive
from agileclf.backbones import load_backbone
from agileclf.data import sample_few_shot
from agileclf.methods import make_method

PATIENCES = (4, 8, 16)


def snapshotting_callback(snapshots: dict, history: list):
    """In place of the method's zero-loss stop: records every update's loss and snapshots the encoder where each
    patience in PATIENCES would have stopped, without stopping."""
    from transformers import TrainerCallback

    class Snapshots(TrainerCallback):
        zero_run = 0

        def record(self, module, inputs, output) -> None:
            history.append(float(output.detach()))
            self.zero_run = self.zero_run + 1 if history[-1] == 0.0 else 0

        def on_step_end(self, args, state, control, model=None, **kwargs):
            for patience in PATIENCES:
                if self.zero_run >= patience and patience not in snapshots:
                    snapshots[patience] = (state.global_step, copy.deepcopy(model.state_dict()))
            return control

    def factory(loss, patience):
        callback = Snapshots()
        loss.register_forward_hook(callback.record)
        return callback

    return factory


def stop_hits(name: str, seed: int, shots: int, dev_rows: int, backbone) -> dict:
    train, dev, label_set = splits(name, dev_rows)
    sample = train.subset(sample_few_shot(train.labels, shots, seed).indices)
    texts, dev_texts, y = list(sample.texts), list(dev.texts), label_set.encode(list(sample.labels))
    truth = label_set.encode(list(dev.labels))
    snapshots, history = {}, []
    contrastive.zero_loss_stop = snapshotting_callback(snapshots, history)
    method = make_method("contrastive", backbone=backbone, seed=seed, calibration="none", stop_after_zero_loss=1)
    method.fit(texts, list(sample.labels), label_set=label_set)

    def hits(clf) -> list[int]:
        return (label_set.encode(list(clf.predict(dev_texts))) == truth).astype(int).tolist()

    result = {"default": hits(method), "_updates": {"default": method.steps}}
    result["_zero_share"] = float(np.mean(np.array(history) == 0.0))
    for patience in PATIENCES:
        key = f"stop-{patience}"
        if patience not in snapshots:  # never that many zero-loss updates in a row: the full run
            result[key], result["_updates"][key] = result["default"], method.steps
            continue
        step, state = snapshots[patience]
        early = copy.deepcopy(method)
        early.backbone.model.load_state_dict(state)
        early.backbone.model.eval()
        early._fit_head(early.backbone.embed(texts, normalize=True), y)
        result[key], result["_updates"][key] = hits(early), step
    return result


def main() -> None:
    args = dev_arguments(__doc__, "bench-out/zero-loss-dev")
    backbone = load_backbone()
    for name in args.data.split(","):
        runs = seed_runs(args, name, stop_hits, backbone)
        zero = ", ".join(f"{r['_zero_share']:.2f}" for r in runs)
        print(f"\n{name} ({len(runs[0]['default'])} dev rows, {args.shots} shots, seeds {args.seeds}; "
              f"share of updates at zero loss: {zero})")  # fmt: skip
        for variant in ["default", *(f"stop-{p}" for p in PATIENCES)]:
            print(versus_default(runs, variant, 8) + f"  updates {[r['_updates'][variant] for r in runs]}", flush=True)


if __name__ == "__main__":
    main()
