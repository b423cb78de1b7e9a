"""Half LoRA's learning rate over twice the updates on TREC: steadier? Dev rows only.

    python benchmarks/lora_lr_dev.py --data trec --dev-rows 500 --out bench-out/lora-lr-dev   # ~20 min here

Session 8 moved LoRA from lr 2e-3 x 30 updates to 1e-3 x 60 on dev rows (TREC 68.0 -> 71.7 and 55.0 -> 67.0 on
seeds 0 and 3), and session 19 added the floor of 15 updates per label (TREC: 90), +4.5 [+2.3, +7.2]. This takes
the same step once more on TREC, where LoRA trails SetFit on test (-4.6 [-15.2, +5.4]): `half-lr` is lr 5e-4 with
min_steps 120 and steps_per_label 30 (TREC: 180 updates, twice the fit). `default` is not refitted: its per-row
hits are read from benchmarks/results/lora-soup-dev (LoRA at its defaults on the same samples and 500 dev rows;
it reproduced session 19's 73.6 +/- 2.9), so both rows pair on the same dev rows. No test row is read.

The rule, fixed before the first run: if half-lr minus default has its pooled interval above 0 on TREC (seeds
0-4), SST-2 and AG News are checked next (a later session) before any default changes; otherwise nothing changes.
Result (session 29, 21 min): half-lr 73.8 +/- 3.2 against 73.6 +/- 2.9, +0.2 [-1.8, +2.1] (per seed -1.6, +0.4,
-1.0, +1.4, +1.6); the rule fails and LoRA's defaults stay. Rows in benchmarks/results/lora-lr-dev.
Per-row hits go to OUT/<set>-<seed>.json, so an interrupted run resumes.
"""

from __future__ import annotations

import json
from pathlib import Path

from contrastive_heads import dev_arguments, print_variants
from lora_calibration_dev import lora_sample

from agileclf.methods import make_method

DEFAULT_ROWS = Path(__file__).resolve().parent / "results" / "lora-soup-dev"
HALF_LR = {"lr": 5e-4, "min_steps": 120, "steps_per_label": 30}


def half_lr_hits(name: str, seed: int, shots: int, dev_rows: int, backbone) -> dict:
    sample, dev, label_set, params = lora_sample(name, seed, shots, dev_rows)
    clf = make_method("lora", backbone=backbone, seed=seed, **params, **HALF_LR)
    clf.fit(list(sample.texts), list(sample.labels), label_set=label_set)
    truth = label_set.encode(list(dev.labels))
    hits = (clf.predict_proba(list(dev.texts)).argmax(axis=1) == truth).astype(int).tolist()
    default = json.loads((DEFAULT_ROWS / f"{name}-{seed}.json").read_text(encoding="utf-8"))["default"]
    assert len(default) == len(hits), "the archived default rows are not these dev rows"
    return {"default": default, "half-lr": hits}


def main() -> None:
    args = dev_arguments(__doc__, "bench-out/lora-lr-dev", data="trec")
    print_variants(args, half_lr_hits, 10, lambda runs: f"{HALF_LR}", "smollm2-135m")


if __name__ == "__main__":
    main()
