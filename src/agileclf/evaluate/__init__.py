"""Evaluation: metrics from predictions and labels, plus a timer around predict_proba."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agileclf.evaluate.bootstrap import paired_bootstrap, pooled_paired_bootstrap
from agileclf.evaluate.metrics import (
    calibration_metrics,
    classification_metrics,
    default_positive_label,
    encode_truth,
    reliability_bins,
)
from agileclf.evaluate.report import confusion_matrix_png, reliability_png
from agileclf.evaluate.timing import single_example_latency_ms, timed_predict_proba, warm_up

__all__ = [
    "calibration_metrics",
    "classification_metrics",
    "confusion_matrix_png",
    "default_positive_label",
    "encode_truth",
    "evaluate_classifier",
    "evaluate_with_proba",
    "paired_bootstrap",
    "pooled_paired_bootstrap",
    "reliability_bins",
    "reliability_png",
    "single_example_latency_ms",
    "timed_predict_proba",
    "warm_up",
]


def evaluate_classifier(
    classifier, texts: list[str], labels: list[str], positive_label: str | None = None, report_dir=None
) -> dict:
    """Metrics and timing of a fitted classifier on labelled texts (see evaluate.metrics for the rules); a
    confusion matrix and a reliability diagram (PNG) in report_dir."""
    result, proba = evaluate_with_proba(classifier, texts, labels, positive_label)
    names = classifier.labels.names
    if report_dir is not None:
        predicted = [names[i] for i in proba.argmax(axis=1)]
        path = confusion_matrix_png(labels, predicted, names, Path(report_dir) / "confusion_matrix.png")
        result["confusion_matrix_png"] = str(path)
        truth, _ = encode_truth(list(labels), list(names))
        bins = reliability_bins(proba.max(axis=1), proba.argmax(axis=1) == truth)
        result["reliability_png"] = str(reliability_png(bins, Path(report_dir) / "reliability.png"))
    return result


def evaluate_with_proba(
    classifier, texts: list[str], labels: list[str], positive_label: str | None = None
) -> tuple[dict, np.ndarray]:
    """Metrics and timing, and the probabilities they came from (the bench keeps them for paired intervals)."""
    proba, timing = timed_predict_proba(classifier, texts)
    result = classification_metrics(labels, proba, classifier.labels.names, positive_label)
    result.update(timing)
    result.update(getattr(classifier, "last_prediction_stats", None) or {})  # e.g. generation's no_match_rate
    return result, proba
