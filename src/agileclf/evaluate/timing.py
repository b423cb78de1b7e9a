"""Prediction latency: a timer around predict_proba, after a warm-up call that pays every one-time cost.

The first call of a classifier loads what it builds lazily (the encoder, an ONNX export, an ICL retriever, the
tokenizer's caches). That is load time, reported as `load_s`; the per-example figures come from later calls only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

WARMUP_TEXTS = 2


class Stopwatch:
    """Wall and CPU seconds since it was made; CPU seconds count this process's threads, so they stay fair when
    other work shares the cores."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def seconds(self) -> tuple[float, float]:
        """(wall, CPU) seconds so far."""
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def warm_up(classifier, texts: Sequence[str]) -> float:
    """One untimed-for-latency call on a few texts; returns its seconds (the classifier's load time)."""
    if not len(texts):
        return 0.0
    start = time.perf_counter()
    classifier.predict_proba(list(texts[:WARMUP_TEXTS]))
    return time.perf_counter() - start


def timed_predict_proba(classifier, texts: Sequence[str], warmup: bool = True) -> tuple[np.ndarray, dict]:
    """Probabilities and timing: load_s (the warm-up call), then total seconds, ms per example and examples per
    second of one batched call on every text."""
    load_s = warm_up(classifier, texts) if warmup else 0.0
    start = time.perf_counter()
    proba = classifier.predict_proba(list(texts))
    seconds = time.perf_counter() - start
    n = max(len(texts), 1)
    return proba, {
        "load_s": load_s,
        "predict_s": seconds,
        "ms_per_example": 1000.0 * seconds / n,
        "examples_per_s": n / seconds if seconds > 0 else float("inf"),
    }


def single_example_latency_ms(classifier, texts: Sequence[str], repeats: int = 20) -> dict:
    """p50 / p95 milliseconds of one-text calls (after a warm-up): what a caller of a served model waits for."""
    warm_up(classifier, texts)
    samples = []
    for i in range(repeats):
        text = texts[i % len(texts)]
        start = time.perf_counter()
        classifier.predict_proba([text])
        samples.append(1000.0 * (time.perf_counter() - start))
    return {"p50_ms": float(np.percentile(samples, 50)), "p95_ms": float(np.percentile(samples, 95))}
