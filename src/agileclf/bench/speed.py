"""Prediction throughput: agileclf's fp32 and int8 paths against SetFit's predict on the same backbone.

    python -m agileclf.bench.speed --data DIR [--shots 8] [--seed 0] [--rounds 3] [-p key=value ...]

Fits `contrastive` on a few-shot sample, then times predict on the whole test set, the three contenders
interleaved round by round (so a busy machine slows them alike); the best round of each counts.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from agileclf.data import read_examples, sample_few_shot
from agileclf.evaluate import classification_metrics


def _setfit_predictor(backbone_path, features: np.ndarray, y: np.ndarray):
    """SetFit's own predict path (body.encode + its logistic head); its cost does not depend on training."""
    from setfit import SetFitModel

    model = SetFitModel.from_pretrained(str(backbone_path), local_files_only=True)
    model.model_head.fit(features, y)
    return model


def measure(data: Path, label_field: str, shots: int, seed: int, rounds: int, params: dict) -> dict:
    """Seconds (best round), texts/s and accuracy of setfit, fp32 and int8 on the full test set."""
    from agileclf.methods import make_method

    train = read_examples(data / "train.jsonl", label_field=label_field)
    test = read_examples(data / "test.jsonl", label_field=label_field)
    sample = train.subset(sample_few_shot(train.labels, shots, seed).indices)
    fp32 = make_method("contrastive", seed=seed, **params).fit(sample.texts, sample.labels)
    int8 = make_method("contrastive", backbone=fp32.backbone, seed=seed, **{**params, "inference": "int8"})
    int8.labels, int8.weight, int8.bias = fp32.labels, fp32.weight, fp32.bias
    setfit = _setfit_predictor(fp32.backbone.path, fp32.backbone.embed(sample.texts), fp32.labels.encode(sample.labels))
    setfit.model_body = fp32.backbone.model  # the same tuned weights: only the prediction path differs
    int8.predict_proba(test.texts[:8])  # quantise outside the timed region (done once per loaded model)
    contenders = {
        "setfit": lambda: np.asarray(setfit.predict_proba(test.texts, as_numpy=True, show_progress_bar=False)),
        "fp32": lambda: fp32.predict_proba(test.texts),
        "int8": lambda: int8.predict_proba(test.texts),
    }
    seconds = {name: [] for name in contenders}
    accuracy = {}
    for _ in range(rounds):
        for name, predict in contenders.items():
            start = time.perf_counter()
            proba = predict()
            seconds[name].append(time.perf_counter() - start)
            accuracy[name] = classification_metrics(test.labels, proba, fp32.labels.names)["accuracy"]
    n = len(test)
    result = {"n_test": n, "shots": shots, "seed": seed, "rounds": rounds}
    for name in contenders:
        best = min(seconds[name])
        result[name] = {
            "best_s": round(best, 2),
            "all_s": [round(s, 2) for s in seconds[name]],
            "texts_per_s": round(n / best, 1),
            "accuracy": round(accuracy[name], 4),
        }
    result["speedup_int8_vs_setfit"] = round(min(seconds["setfit"]) / min(seconds["int8"]), 2)
    result["speedup_fp32_vs_setfit"] = round(min(seconds["setfit"]) / min(seconds["fp32"]), 2)
    result["int8_accuracy_loss_pt"] = round(100 * (accuracy["fp32"] - accuracy["int8"]), 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--label-field", default="label")
    parser.add_argument("--shots", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-p", "--param", action="append", default=[], help="contrastive parameter key=value")
    args = parser.parse_args()
    from agileclf.progress import set_quiet

    set_quiet(True)
    params = dict(pair.split("=", 1) for pair in args.param)
    print(json.dumps(measure(args.data, args.label_field, args.shots, args.seed, args.rounds, params), indent=2))


if __name__ == "__main__":
    main()
