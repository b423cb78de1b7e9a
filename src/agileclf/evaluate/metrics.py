"""Classification metrics the way the papers report them (scikit-learn underneath), plus calibration.

Two rules hold everywhere in agileclf:
- A test row whose label the classifier does not know is an error: it counts in `n`, lowers accuracy, is a class
  with recall 0 in macro-F1, and gets probability 0 for its truth in log-loss, Brier and ECE. Its count is
  reported (`n_unknown_label`). Only ROC-AUC, a ranking over the classifier's own columns, leaves it out.
- Macro-F1 averages over the labels present in the truth or the predictions: a label that never occurs in either
  (common on a capped test set) has no defined F1 and is not scored as 0.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, f1_score, roc_auc_score

POSITIVE_NAMES = ("positive", "pos", "1", "true", "yes", "spam")
LOG_LOSS_EPS = 1e-15  # probabilities are clipped here, as scikit-learn's log_loss did, so one miss is finite
ECE_BINS = 15


def default_positive_label(labels: list[str]) -> str:
    """For binary tasks: a label named like 'positive' if there is one, else the second label in order."""
    for name in labels:
        if name.lower() in POSITIVE_NAMES:
            return name
    return labels[1]


def encode_truth(y_true: list[str], labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Label ids of the truth; labels the classifier does not know get ids after its own (len(labels), ...)."""
    unknown = sorted({label for label in y_true if label not in labels})
    index = {name: i for i, name in enumerate([*labels, *unknown])}
    return np.array([index[label] for label in y_true], dtype=np.int64), unknown


def calibration_metrics(truth: np.ndarray, proba: np.ndarray, n_bins: int = ECE_BINS) -> dict:
    """log-loss, Brier score (sum over classes, 0 best, 2 worst) and expected calibration error of the top class.

    `truth` ids at or beyond proba's columns are unknown labels: probability 0 for the truth."""
    n, k = proba.shape
    proba = np.asarray(proba, dtype=np.float64)
    known = truth < k
    p_true = np.zeros(n)
    p_true[known] = proba[np.flatnonzero(known), truth[known]]
    onehot = np.zeros((n, k))
    onehot[np.flatnonzero(known), truth[known]] = 1.0
    brier = ((proba - onehot) ** 2).sum(axis=1) + (~known)  # an unknown label's own column: (0 - 1)^2
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == truth
    return {
        "log_loss": float(-np.log(np.clip(p_true, LOG_LOSS_EPS, 1.0)).mean()),
        "brier": float(brier.mean()),
        "ece": expected_calibration_error(confidence, correct, n_bins),
    }


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """Sum over equal-width confidence bins of |accuracy - mean confidence| weighted by the bin's share of rows."""
    bins = reliability_bins(confidence, correct, n_bins)
    n = max(len(confidence), 1)
    return float(sum(b["count"] / n * abs(b["accuracy"] - b["confidence"]) for b in bins))


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS) -> list[dict]:
    """The non-empty equal-width bins of top-class confidence: count, accuracy, mean confidence, edges."""
    confidence, correct = np.asarray(confidence, dtype=np.float64), np.asarray(correct, dtype=bool)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        members = which == b
        if members.any():
            bins.append(
                {
                    "low": float(edges[b]),
                    "high": float(edges[b + 1]),
                    "count": int(members.sum()),
                    "accuracy": float(correct[members].mean()),
                    "confidence": float(confidence[members].mean()),
                }
            )
    return bins


def classification_metrics(
    y_true: list[str], proba: np.ndarray, labels: list[str], positive_label: str | None = None
) -> dict:
    """accuracy, macro_f1, log_loss, brier, ece, per-class report; binary_f1 and roc_auc for two labels, macro
    one-vs-rest ROC-AUC for more. Rows whose true label the classifier does not know count as errors."""
    truth, unknown = encode_truth(list(y_true), list(labels))
    n_known = int((truth < len(labels)).sum())
    result: dict = {"n": len(truth), "n_unknown_label": len(truth) - n_known, "unknown_labels": unknown}
    if not len(truth):
        return result
    proba = np.asarray(proba)
    predicted = proba.argmax(axis=1)
    present = sorted(set(truth.tolist()) | set(predicted.tolist()))
    names = [*labels, *unknown]
    result["accuracy"] = float(accuracy_score(truth, predicted))
    result["macro_f1"] = float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0))
    result["n_classes_present"] = len(set(truth.tolist()))
    result.update(calibration_metrics(truth, proba))
    known = truth < len(labels)
    truth_k, proba_k = truth[known], proba[known]
    if len(labels) == 2:
        positive = positive_label or default_positive_label(labels)
        if positive not in labels:
            raise ValueError(f"positive label {positive!r} is not one of {labels}")
        pos = labels.index(positive)
        result["positive_label"] = positive
        result["binary_f1"] = float(f1_score(truth == pos, predicted == pos, zero_division=0))
        if len(set(truth_k.tolist())) == 2:
            result["roc_auc"] = float(roc_auc_score(truth_k == pos, proba_k[:, pos]))
    else:
        classes = sorted(set(truth_k.tolist()))
        if len(classes) > 1:
            # One-vs-rest over the known classes present in the test set; each needs positives and negatives.
            scores = [roc_auc_score(truth_k == c, proba_k[:, c]) for c in classes]
            result["roc_auc"] = float(np.mean(scores))
    report = classification_report(
        truth, predicted, labels=present, target_names=[names[i] for i in present], output_dict=True, zero_division=0
    )
    result["per_class"] = {
        names[i]: {k: (float(v) if k != "support" else int(v)) for k, v in report[names[i]].items()} for i in present
    }
    return result
