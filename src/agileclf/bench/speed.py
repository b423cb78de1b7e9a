"""Prediction throughput: agileclf's inference paths against SetFit's predict on the same tuned backbone.

    agileclf speed --data DIR [--shots 8] [--seed 0] [--rounds 3] [--threads 1] [--max-test N]
        [--chunks 8] [--precisions fp32,int8,onnx,onnx-int8,static] [--onnx-keep-fp32 REGEX,...] [-p key=value ...]

Fits `contrastive` on a few-shot sample, then times predict on the test set. Each round walks the test set in
`--chunks` slices and runs every contender on a slice before the next, so load from other jobs on a shared machine
falls on all of them alike; a contender's round time is the sum over slices, and its best round counts. Wall and
process CPU seconds are both recorded: on one thread, CPU time leaves out the time other jobs held the core.
Every contender runs on the same number of threads (torch and ONNX Runtime alike, SetFit included). Graphs are
exported and quantised, and `static` (the tuned encoder distilled to static vectors, its head refitted on the
sample) is distilled, before timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from agileclf.data import read_examples, sample_few_shot, sample_rows
from agileclf.evaluate import classification_metrics

DEFAULT_PRECISIONS = ("fp32", "int8", "onnx", "onnx-int8")


def _setfit_predictor(backbone_path, features: np.ndarray, y: np.ndarray):
    """SetFit's own predict path (body.encode + its logistic head); its cost does not depend on training."""
    from setfit import SetFitModel

    model = SetFitModel.from_pretrained(str(backbone_path), local_files_only=True)
    model.model_head.fit(features, y)
    return model


def _sibling(fitted, precision: str, embedder=None):
    """The fitted contrastive classifier's head and tuned encoder, predicting at another precision."""
    from agileclf.methods import make_method

    params = {**fitted.params, "inference": precision}
    clf = make_method("contrastive", backbone=fitted.backbone, **params)
    clf.labels, clf.weight, clf.bias = fitted.labels, fitted.weight, fitted.bias
    if embedder is not None:
        clf.use_embedder(embedder)
    return clf


def _static_student(fitted, sample):
    """The `static` tier distilled from the fitted contrastive classifier (no second tuning)."""
    from agileclf.methods import make_method

    student = make_method("static", backbone=fitted.backbone, seed=fitted.config.seed)
    return student.learn_from(fitted, sample.texts, fitted.labels.encode(sample.labels))


def contenders_for(fitted, setfit, precisions, keep_fp32_variants, sample=None) -> dict[str, Callable]:
    """name -> a call predicting probabilities for a list of texts; each built (exported, quantised) before timing."""
    from agileclf.backbones.onnx import OnnxEncoder

    contenders = {
        "setfit": lambda texts: np.asarray(setfit.predict_proba(texts, as_numpy=True, show_progress_bar=False))
    }
    for precision in precisions:
        if precision == "static":
            clf = _static_student(fitted, sample)
        else:
            clf = fitted if precision == "fp32" else _sibling(fitted, precision)
        clf.predict_proba(["warm up", "export or quantise outside the timed region"])  # once per loaded model
        contenders[precision] = clf.predict_proba
    for patterns in keep_fp32_variants:
        embedder = OnnxEncoder(fitted.backbone, "onnx-int8", keep_fp32=tuple(patterns.split(",")))
        contenders[f"onnx-int8 keep fp32: {patterns}"] = _sibling(fitted, "onnx-int8", embedder).predict_proba
    return contenders


def timed_rounds(contenders: dict[str, Callable], texts: list[str], rounds: int, chunks: int):
    """Per contender: wall seconds and CPU seconds of each round, and the probabilities of the last round."""
    slices = [texts[i::chunks] for i in range(min(chunks, len(texts)))]  # strided: each slice spans all lengths
    order = np.concatenate([np.arange(len(texts))[i::chunks] for i in range(len(slices))])
    wall = {name: [] for name in contenders}
    cpu = {name: [] for name in contenders}
    proba = {}
    for _ in range(rounds):
        spent = {name: [0.0, 0.0] for name in contenders}
        parts = {name: [] for name in contenders}
        for piece in slices:
            for name, predict in contenders.items():
                start_wall, start_cpu = time.perf_counter(), time.process_time()
                parts[name].append(predict(piece))
                spent[name][0] += time.perf_counter() - start_wall
                spent[name][1] += time.process_time() - start_cpu
        for name in contenders:
            wall[name].append(spent[name][0])
            cpu[name].append(spent[name][1])
            stacked = np.concatenate(parts[name])
            proba[name] = np.empty_like(stacked)
            proba[name][order] = stacked  # back to test-set order
    return wall, cpu, proba


def measure(
    data: Path,
    label_field: str = "label",
    shots: int = 8,
    seed: int = 0,
    rounds: int = 3,
    params: dict | None = None,
    threads: int = 1,
    max_test: int = 0,
    precisions=DEFAULT_PRECISIONS,
    keep_fp32_variants=(),
    chunks: int = 8,
) -> dict:
    """Seconds (best round), texts/s and accuracy of setfit and each precision on the (capped) test set."""
    import torch

    from agileclf.methods import make_method

    train = read_examples(data / "train.jsonl", label_field=label_field)
    test = read_examples(data / "test.jsonl", label_field=label_field)
    if max_test:
        test = test.subset(sample_rows(len(test), max_test, seed=0))
    sample = train.subset(sample_few_shot(train.labels, shots, seed).indices)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)  # every contender (SetFit's torch encode, ours, ONNX Runtime) reads this
    try:
        fitted = make_method("contrastive", seed=seed, **(params or {})).fit(sample.texts, sample.labels)
        features = fitted.backbone.embed(sample.texts)
        setfit = _setfit_predictor(fitted.backbone.path, features, fitted.labels.encode(sample.labels))
        setfit.model_body = fitted.backbone.model  # the same tuned weights: only the prediction path differs
        contenders = contenders_for(fitted, setfit, precisions, keep_fp32_variants, sample)
        wall, cpu, proba = timed_rounds(contenders, test.texts, rounds, chunks)
    finally:
        torch.set_num_threads(previous_threads)
    n = len(test)
    accuracy = {
        name: classification_metrics(test.labels, p, fitted.labels.names)["accuracy"] for name, p in proba.items()
    }
    result = {"n_test": n, "shots": shots, "seed": seed, "rounds": rounds, "chunks": chunks, "threads": threads}
    for name in contenders:
        result[name] = {
            "best_wall_s": round(min(wall[name]), 2),
            "best_cpu_s": round(min(cpu[name]), 2),
            "wall_s": [round(s, 2) for s in wall[name]],
            "cpu_s": [round(s, 2) for s in cpu[name]],
            "texts_per_s": round(n / min(wall[name]), 1),
            "texts_per_cpu_s": round(n / min(cpu[name]), 1),
            "accuracy": round(accuracy[name], 4),
            "speedup_vs_setfit_wall": round(min(wall["setfit"]) / min(wall[name]), 2),
            "speedup_vs_setfit_cpu": round(min(cpu["setfit"]) / min(cpu[name]), 2),
            "accuracy_loss_vs_fp32_pt": round(100 * (accuracy.get("fp32", accuracy[name]) - accuracy[name]), 2),
        }
    return result
