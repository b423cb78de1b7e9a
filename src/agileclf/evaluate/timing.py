"""Prediction latency: a timer around predict_proba, nothing else."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np


def timed_predict_proba(classifier, texts: Sequence[str]) -> tuple[np.ndarray, dict]:
    """Probabilities and timing: total seconds, ms per example and examples per second (batched)."""
    start = time.perf_counter()
    proba = classifier.predict_proba(list(texts))
    seconds = time.perf_counter() - start
    n = max(len(texts), 1)
    return proba, {
        "predict_s": seconds,
        "ms_per_example": 1000.0 * seconds / n,
        "examples_per_s": n / seconds if seconds > 0 else float("inf"),
    }


def single_example_latency_ms(classifier, texts: Sequence[str], repeats: int = 20) -> dict:
    """p50 / p95 milliseconds of one-text calls: what a caller of a served model waits for."""
    samples = []
    for i in range(repeats):
        text = texts[i % len(texts)]
        start = time.perf_counter()
        classifier.predict_proba([text])
        samples.append(1000.0 * (time.perf_counter() - start))
    return {"p50_ms": float(np.percentile(samples, 50)), "p95_ms": float(np.percentile(samples, 95))}
