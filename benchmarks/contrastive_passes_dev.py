"""More passes over the examples at 64 shots (the issue's lever: SetFit makes ~8x the sentence passes)? Dev rows only.

    python benchmarks/contrastive_passes_dev.py --data trec,ag_news --shots 64 --seeds 0,1,2 \
        --out bench-out/passes-dev                                                              # ~35 min

`contrastive` tunes for `passes` epochs' worth of updates (4) but at least `min_steps` (160): at 64 shots that floor
decides (trec 384 examples: 96 updates by passes, 160 run; ag_news 256: 64), so each example is seen about 7 times
(trec) to 10 (ag_news), where SetFit with `num_iterations=20` pairs it 40 times. `passes=20` gives trec 480 updates
and ag_news 320 at 64 shots and changes nothing at 8 shots (the floor still decides there) nor on sst2 at 64 (128
examples: 160 either way), so those two sets are the check. Per set and seed, on the bench's sample:
- `default`: contrastive fitted on the whole sample at its defaults (the `default` rows of
  benchmarks/results/fold-reuse-dev: same samples, seeds and dev rows; its fits are deterministic, and that archive's
  `fold-reuse` rows came back to the row in session 43);
- `passes20`: the same fit with `-p passes=20`.
Dev rows as in contrastive_heads.py. No test row is read. CPU seconds and updates of the new fit are kept.

The rule, fixed before the first run: `passes=20` becomes `contrastive`'s default if, pooled over seeds 0-2, its
paired interval against `default` lies above 0 on at least one of trec and ag_news and its mean is not below 0 on the
other (it costs 2-3x the 64-shot fit, so a gain must show). Per-row hits go to OUT/<set>-<seed>.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from contrastive_heads import dev_arguments, print_variants, splits

from agileclf.data import sample_few_shot
from agileclf.methods import make_method

ARCHIVE = Path(__file__).resolve().parent / "results" / "fold-reuse-dev"
PASSES = 20


def passes_hits(name: str, seed: int, shots: int, dev_rows: int, backbone) -> dict:
    """Per variant: is each dev row right (1/0)? With the new fit's CPU seconds and updates."""
    archived = ARCHIVE / f"{name}-{seed}.json"
    if shots != 64 or not archived.is_file():
        raise SystemExit(f"the default rows come from {archived} (64 shots, seeds 0-2)")
    train, dev, label_set = splits(name, dev_rows)
    sample = train.subset(sample_few_shot(train.labels, shots, seed).indices)
    start = time.process_time()
    method = make_method("contrastive", backbone=backbone, seed=seed, calibration="none", passes=PASSES)
    method.fit(list(sample.texts), list(sample.labels), label_set=label_set)
    cpu_s = round(time.process_time() - start, 1)
    hits = (label_set.encode(list(method.predict(list(dev.texts)))) == label_set.encode(list(dev.labels))).astype(int)
    return {
        "default": json.loads(archived.read_text(encoding="utf-8"))["default"],
        f"passes{PASSES}": hits.tolist(),
        "_cpu_s": cpu_s,
        "_steps": int(method.steps),
    }


def main() -> None:
    args = dev_arguments(__doc__, "bench-out/passes-dev")
    print_variants(
        args, passes_hits, 9, lambda runs: f"passes={PASSES}: updates {[r['_steps'] for r in runs]}, "
        f"CPU s {[r['_cpu_s'] for r in runs]}",
    )  # fmt: skip


if __name__ == "__main__":
    main()
