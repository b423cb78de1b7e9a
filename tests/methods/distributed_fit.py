"""Run by the multi-process tests, as `python distributed_fit.py ...` or under `accelerate launch`: fit one method
on a JSONL file, save it (the library writes only from the main process) and record what this process did."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def count_training_rows(model, seen: list[int] | None = None) -> list[int]:
    """A counter of the rows this process runs through `model` with gradients in training mode (its shard of
    the training batches; validation runs without gradients). Deep copies of the model keep the hook; `seen`
    adds this model's rows to an existing counter."""
    import torch

    seen = [0] if seen is None else seen

    def hook(module, args, kwargs):
        if module.training and torch.is_grad_enabled():
            for value in [*args, *kwargs.values()]:
                value = next(iter(value.values())) if isinstance(value, dict) else value
                if isinstance(value, torch.Tensor):
                    seen[0] += value.shape[0]
                    break

    model.register_forward_pre_hook(hook, with_kwargs=True)
    return seen


def _counted(model, seen: list[int]):
    count_training_rows(model, seen)
    return model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("method")
    parser.add_argument("train")
    parser.add_argument("test")
    parser.add_argument("out")
    parser.add_argument("--backbone", default=None)
    parser.add_argument("--params", default="{}")
    parser.add_argument("--valid", default=None)
    args = parser.parse_args()

    from agileclf.backbones import load_backbone
    from agileclf.data import read_examples
    from agileclf.methods import make_method

    train, test = read_examples(args.train), read_examples(args.test)
    valid = None
    if args.valid:
        rows = read_examples(args.valid)
        valid = (rows.texts, rows.labels)
    backbone = load_backbone(args.backbone)
    seen = count_training_rows(backbone.model)
    if hasattr(backbone, "load_model"):  # LoRA and causal finetune train a fresh copy of the causal LM: count it too
        load_model = backbone.load_model
        backbone.load_model = lambda *a, **k: _counted(load_model(*a, **k), seen)
    clf = make_method(args.method, backbone=backbone, **json.loads(args.params))
    start = time.perf_counter(), time.process_time()
    clf.fit(train.texts, train.labels, valid=valid)
    fit_wall, fit_cpu = time.perf_counter() - start[0], time.process_time() - start[1]
    out = Path(args.out)
    clf.save(out / "classifier")
    rank = int(os.environ.get("RANK", "0"))
    proba = clf.predict_proba(test.texts)
    accuracy = float(np.mean(np.array(clf.labels.names)[proba.argmax(axis=1)] == np.array(test.labels)))
    record = {
        "rank": rank,
        "world": int(os.environ.get("WORLD_SIZE", "1")),
        "examples_seen": seen[0],
        "accuracy": accuracy,
        "proba": proba.round(6).tolist(),
        "fit_wall_s": round(fit_wall, 2),
        "fit_cpu_s": round(fit_cpu, 2),
        "fitted": clf.fit_choices(),
    }
    out.mkdir(parents=True, exist_ok=True)  # only the main process saves, so another rank may get here first
    (out / f"rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main()
