"""Evaluation: metrics from predictions and labels, plus a timer around predict_proba."""

from __future__ import annotations

from pathlib import Path

from agileclf.evaluate.metrics import classification_metrics, default_positive_label
from agileclf.evaluate.report import confusion_matrix_png
from agileclf.evaluate.timing import single_example_latency_ms, timed_predict_proba

__all__ = [
    "classification_metrics",
    "confusion_matrix_png",
    "default_positive_label",
    "evaluate_classifier",
    "single_example_latency_ms",
    "timed_predict_proba",
]


def evaluate_classifier(
    classifier, texts: list[str], labels: list[str], positive_label: str | None = None, report_dir=None
) -> dict:
    """Metrics and timing of a fitted classifier on labelled texts; a confusion matrix PNG in report_dir."""
    proba, timing = timed_predict_proba(classifier, texts)
    names = classifier.labels.names
    result = classification_metrics(labels, proba, names, positive_label)
    result.update(timing)
    result.update(getattr(classifier, "last_prediction_stats", None) or {})  # e.g. generation's no_match_rate
    if report_dir is not None:
        predicted = [names[i] for i in proba.argmax(axis=1)]
        path = confusion_matrix_png(labels, predicted, names, Path(report_dir) / "confusion_matrix.png")
        result["confusion_matrix_png"] = str(path)
    return result
