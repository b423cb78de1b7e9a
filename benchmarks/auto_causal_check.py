"""Is `auto` on SmolLM2 below 20 examples per label the archived `finetune:lr2e-5` fit? Dev rows only.

    python benchmarks/auto_causal_check.py sst2 0     # one set and seed: about 4 minutes here

Fits `auto` (default candidates) on the seed's 8-shot sample of causal_finetune_dev.py and compares its per-row hits
on the same 500 dev rows with benchmarks/results/finetune-dev. Session 32, sst2 seed 0: finetune chosen without a
contest, 86.6% on both, 0 rows differ, fit 161 s.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from lora_calibration_dev import lora_sample

from agileclf.backbones import load_backbone
from agileclf.methods import make_method

ARCHIVE = Path(__file__).resolve().parent / "results" / "finetune-dev"


def main() -> None:
    name, seed = sys.argv[1], int(sys.argv[2])
    sample, dev, label_set, params = lora_sample(name, seed, 8, 500)
    clf = make_method("auto", backbone=load_backbone("smollm2-135m"), seed=seed, candidate_params=params)
    start = time.perf_counter()
    clf.fit(list(sample.texts), list(sample.labels), label_set=label_set)
    fit_s = time.perf_counter() - start
    truth = label_set.encode(list(dev.labels))
    hits = (clf.predict_proba(list(dev.texts)).argmax(axis=1) == truth).astype(int).tolist()
    archived = json.loads((ARCHIVE / f"{name}-{seed}.json").read_text(encoding="utf-8"))["finetune:lr2e-5"]
    print(f"auto chose {clf.choice['chosen']} ({clf.choice['reason']}); fit {fit_s:.0f} s")
    differ = sum(a != b for a, b in zip(hits, archived, strict=True))
    print(
        f"auto {100 * sum(hits) / len(hits):.1f}%, archived {100 * sum(archived) / len(archived):.1f}%; {differ} differ"
    )


if __name__ == "__main__":
    main()
