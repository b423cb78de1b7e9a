"""Do two LoRA fits of one sample, averaged, make SmolLM2's LoRA steadier on TREC? Dev rows only.

    python benchmarks/lora_soup_dev.py --data trec --dev-rows 500 --out bench-out/lora-soup-dev   # ~30 min here

LoRA is issue 12's causal contender against SetFit: SST-2 +20.1 [+14.1, +26.7] on test, AG News +0.2, and TREC
-4.6 [-15.2, +5.4], where its seeds spread most (test 76.0, 75.0, 78.8, 52.0, 74.6). A LoRA fit depends on its
sample and on the method's seed (the adapters' random init, batch order, dropout). Per set and seed: `default` is
LoRA at its defaults (method seed = the sample's seed, as the bench runs it), `other` the same sample fitted with
method seed + 100, `soup` the two merged models' weights averaged (base + the mean of the two low-rank updates, so
one model: a rank-2r adapter with both fits' factors, at no cost to prediction), and `ensemble` the mean of the two
fits' label probabilities (two models at prediction). `other` against `default` says how much the method's seed
alone moves LoRA; contrastive_soup.py found it moves contrastive by 0.1-0.2 points. Samples and dev rows as
lora_calibration_dev.py (500 rows carved from TREC's and AG News' training files, 500 of SST-2's dev.jsonl), 8
shots, the 8-shot table's verbalizers. No test row is read.

The rule, fixed before the first run: TREC first (seeds 0-4); if soup minus default has its pooled interval above 0
there, AG News and SST-2 run next, and LoRA gets an option that fits twice and keeps the soup, on by default only
if neither of their means is below -0.5 points. `ensemble` is reported, never a default (it doubles prediction).
If TREC's interval reaches 0, the check stops there and nothing changes.
Result (session 29, 25 min): on TREC default 73.6 +/- 2.9, other 72.9 +/- 4.1 (-0.7 [-3.4, +2.0]), soup 72.8 +/- 3.6
(-0.8 [-2.7, +1.2]), ensemble 73.3 +/- 3.6 (-0.3 [-2.1, +1.6]); the method seed alone moves a seed by up to 3.8
points. The rule fails; the check stops and LoRA is unchanged.
Per-row hits go to OUT/<set>-<seed>.json, so an interrupted run resumes.
"""

from __future__ import annotations

import copy

import numpy as np
from contrastive_heads import dev_arguments, print_variants
from contrastive_soup import OTHER_SEED, averaged
from lora_calibration_dev import lora_sample

from agileclf.methods import make_method


def soup_hits(name: str, seed: int, shots: int, dev_rows: int, backbone) -> dict:
    sample, dev, label_set, params = lora_sample(name, seed, shots, dev_rows)
    texts, truth = list(dev.texts), label_set.encode(list(dev.labels))

    def fitted(method_seed: int):
        clf = make_method("lora", backbone=backbone, seed=method_seed, **params)
        return clf.fit(list(sample.texts), list(sample.labels), label_set=label_set)

    first, second = fitted(seed), fitted(seed + OTHER_SEED)
    soup = copy.copy(first)  # first's prompt and label words; only the (merged) model is the average
    soup.model = averaged(first.model, second.model)
    proba = {"default": first.predict_proba(texts), "other": second.predict_proba(texts)}
    proba["soup"] = soup.predict_proba(texts)
    proba["ensemble"] = (proba["default"] + proba["other"]) / 2
    hits = {v: (p.argmax(axis=1) == truth).astype(int).tolist() for v, p in proba.items()}
    hits["_answers"] = {v: np.bincount(p.argmax(1), minlength=len(label_set)).tolist() for v, p in proba.items()}
    hits["_same_prompt"] = [first.template == second.template and first.words == second.words]
    return hits


def main() -> None:
    args = dev_arguments(__doc__, "bench-out/lora-soup-dev", data="trec")
    print_variants(
        args, soup_hits, 10, lambda runs: f"same prompt: {[r['_same_prompt'][0] for r in runs]}", "smollm2-135m"
    )


if __name__ == "__main__":
    main()
