"""Does freezing MiniLM's lower layers during contrastive tuning cost accuracy? Dev rows only.

    python benchmarks/contrastive_frozen_layers.py --data sst2 --out bench-out/frozen-dev   # ~10 min on sst2
    python benchmarks/contrastive_frozen_layers.py --layers 1 --out bench-out/frozen1-dev   # the embeddings alone

An update's cost is mostly the backward pass and the optimizer step over every weight; keeping the embeddings and
the lowest transformer layers fixed skips both for them (sst2, 8 shots, 40 updates, seed 0: 46 s with everything
tuned, 26-28 s with the embeddings and layers 1-3 of 6 fixed, wall, nothing else running). For each set and seed
`contrastive` is fitted at its defaults (`default`) and with the bottom of the encoder fixed (`frozen-K`: the
embeddings and K-1 transformer layers, Hugging Face's hidden-state count; `--layers 1,4` picks K), one after the
other, and scored on the dev rows (as in contrastive_heads.py: sst2's dev.jsonl, 1,000 rows carved from trec's and
ag_news' train.jsonl). No test row is read.

The rule, fixed before the first run (session 18's rule for a cheaper schedule): a variant may become the default
only if on every set of sst2, ag_news and trec its pooled mean difference from `default` is above -0.5 points and
its pooled interval reaches 0. For `--layers 1` (session 47: the embedding layer alone, 12M of MiniLM's 23M weights,
whose gradient, clipping and Adam step every update pays for) it must also cost less fit CPU on every set, and after
passing at 8 shots the same accuracy rule must hold at 64 shots on sst2 and trec, seeds 0-2 (`--shots 64 --seeds
0,1,2 --data sst2,trec --out bench-out/frozen1-dev-64`).
Per-row hits, updates and fit seconds go to OUT/<set>-<seed>.json (resumable).
"""

from __future__ import annotations

import functools
import time

from contrastive_heads import dev_arguments, seed_runs, splits, versus_default

from agileclf.backbones import load_backbone
from agileclf.data import sample_few_shot
from agileclf.methods import make_method
from agileclf.methods.contrastive import Contrastive, embedding_layer


def freeze_bottom(model, layers: int) -> None:
    """Fix the embeddings and the lowest `layers - 1` transformer layers of a BERT-style sentence encoder."""
    for module in [embedding_layer(model), *model[0].auto_model.encoder.layer[: layers - 1]]:
        module.requires_grad_(False)


def fit_frozen(layers: int, **params) -> Contrastive:
    """A contrastive classifier whose tuning leaves the bottom `layers` of the encoder fixed."""
    method = make_method("contrastive", **params)
    tune = method._train_encoder

    def tune_frozen(model, texts, y):
        freeze_bottom(model, layers)
        return tune(model, texts, y)

    method._train_encoder = tune_frozen
    return method


def frozen_hits(name: str, seed: int, shots: int, dev_rows: int, backbone, frozen: tuple[int, ...]) -> dict:
    train, dev, label_set = splits(name, dev_rows)
    sample = train.subset(sample_few_shot(train.labels, shots, seed).indices)
    texts, dev_texts = list(sample.texts), list(dev.texts)
    truth = label_set.encode(list(dev.labels))
    result: dict = {"_updates": {}, "_fit_s": {}, "_fit_cpu_s": {}}
    # `default` is the encoder tuned throughout, as measured (fixed embeddings became contrastive's default after it)
    params = {"backbone": backbone, "seed": seed, "calibration": "none", "tune_embeddings": True}
    for variant, layers in [("default", 0), *((f"frozen-{k}", k) for k in frozen)]:
        method = fit_frozen(layers, **params) if layers else make_method("contrastive", **params)
        wall, cpu = time.perf_counter(), time.process_time()
        method.fit(texts, list(sample.labels), label_set=label_set)
        result["_fit_s"][variant] = round(time.perf_counter() - wall, 2)
        result["_fit_cpu_s"][variant] = round(time.process_time() - cpu, 2)
        result["_updates"][variant] = method.steps
        result[variant] = (label_set.encode(list(method.predict(dev_texts))) == truth).astype(int).tolist()
    return result


def main() -> None:
    args = dev_arguments(__doc__, "bench-out/frozen-dev", options={"--layers": {"default": "4"}})
    frozen = tuple(int(k) for k in args.layers.split(","))
    backbone = load_backbone()
    for name in args.data.split(","):
        runs = seed_runs(args, name, functools.partial(frozen_hits, frozen=frozen), backbone)
        print(f"\n{name} ({len(runs[0]['default'])} dev rows, {args.shots} shots, seeds {args.seeds})")
        for variant in ["default", *(f"frozen-{k}" for k in frozen)]:
            cost = ", ".join(f"{r['_updates'][variant]}/{r['_fit_s'][variant]:.0f}s" for r in runs)
            print(versus_default(runs, variant, 9) + f"  updates/fit wall {cost}", flush=True)


if __name__ == "__main__":
    main()
