"""SetFit's second phase on contrastive's tuned encoder (`-p end_to_end=EPOCHS`), scored on dev rows only.

    python benchmarks/contrastive_end_to_end.py --out bench-out/end-to-end-dev     # sst2, trec, ag_news; ~40 min

For each set and seed, `contrastive` is fitted once at its defaults on the bench's sample of `--shots` per label
(trec with the label descriptions of benchmarks/labels/trec.json, as its bench rows run), then the second phase
runs on copies of that fitted classifier, so every variant starts from the same tuned encoder and head:
- `default`: no second phase (the method's default, `end_to_end=0`);
- `fitted@1e-5`: 16 epochs from the fitted logistic head, encoder lr 1e-5, head lr 1e-2 (SetFit 1.2's defaults
  for the phase: 16 head epochs, body lr 1e-5, head lr 1e-2);
- `zeros@1e-5`: the same from a head of zeros (SetFit's phase starts from a fresh head);
- `zeros@5e-5`: from zeros at encoder lr 5e-5.
Dev rows as in contrastive_heads.py: sst2's dev.jsonl; 1,000 rows carved from trec's and ag_news' train.jsonl
(`dev_rows`, seed 0), which also leave the pool the shots are drawn from. No test row is read.

The rule, fixed before the first run: the best of the three variants on ag_news becomes the default if, against
`default`, its pooled paired interval (dev rows and seeds resampled) lies above 0 on ag_news and its mean
difference is not below 0 on sst2 and trec. Per-row hits go to OUT/<set>-<seed>.json, so a run resumes.
"""

from __future__ import annotations

import copy
import time

import numpy as np
from contrastive_heads import dev_arguments, seed_runs, splits, versus_default

from agileclf.backbones import load_backbone
from agileclf.data import sample_few_shot
from agileclf.methods import make_method

VARIANTS = {"fitted@1e-5": ("fitted", 1e-5), "zeros@1e-5": ("zeros", 1e-5), "zeros@5e-5": ("zeros", 5e-5)}
EPOCHS = 16


def variant_hits(name: str, seed: int, shots: int, dev_rows: int, backbone) -> dict[str, list]:
    """Per variant: is each dev row right (1/0)? `_seconds` holds each variant's fit seconds (wall)."""
    train, dev, label_set = splits(name, dev_rows)
    sample = train.subset(sample_few_shot(train.labels, shots, seed).indices)
    texts, dev_texts = list(sample.texts), list(dev.texts)
    truth = label_set.encode(list(dev.labels))
    start = time.perf_counter()
    method = make_method("contrastive", backbone=backbone, seed=seed, calibration="none")
    method.fit(texts, list(sample.labels), label_set=label_set)
    seconds = {"default": time.perf_counter() - start}
    hits = {"default": _hits(method, dev_texts, truth, label_set)}
    y = label_set.encode(list(sample.labels))
    for variant, (head, lr) in VARIANTS.items():
        second = copy.deepcopy(method)
        second.config.end_to_end, second.config.end_to_end_head, second.config.end_to_end_lr = EPOCHS, head, lr
        start = time.perf_counter()
        second._tune_end_to_end(texts, y)
        seconds[variant] = time.perf_counter() - start
        hits[variant] = _hits(second, dev_texts, truth, label_set)
    return hits | {"_seconds": seconds, "_anchors_used": [int(method.anchors_used)]}


def _hits(method, texts: list[str], truth: np.ndarray, label_set) -> list[int]:
    return (label_set.encode(list(method.predict(texts))) == truth).astype(int).tolist()


def main() -> None:
    args = dev_arguments(__doc__, "bench-out/end-to-end-dev", "ag_news,sst2,trec")
    backbone = load_backbone()
    for name in args.data.split(","):
        runs = seed_runs(args, name, variant_hits, backbone)
        print(f"\n{name} ({len(runs[0]['default'])} dev rows, seeds {args.seeds}, {args.shots} shots; "
              f"anchors used: {[r['_anchors_used'][0] for r in runs]})")  # fmt: skip
        for variant in ["default", *VARIANTS]:
            seconds = np.mean([r["_seconds"][variant] for r in runs])
            line = versus_default(runs, variant, 12)
            line += f"  fit s {seconds:5.1f}" + (" (its own phase)" if variant != "default" else "")
            if variant != "default":
                per_seed = [100 * (np.mean(r[variant]) - np.mean(r["default"])) for r in runs]
                line += " (" + ", ".join(f"{diff:+.1f}" for diff in per_seed) + ")"
            print(line, flush=True)


if __name__ == "__main__":
    main()
