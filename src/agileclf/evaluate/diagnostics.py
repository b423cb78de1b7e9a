"""What to look at after cross-validation: the confusion matrix, the worst errors, examples that look mislabelled,
and which unlabelled texts a classifier is least sure about. All work from probabilities, never a test split."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np


def confusion(y_true: Sequence[str], proba: np.ndarray, labels: Sequence[str]) -> list[list[int]]:
    """counts[i][j]: examples of label i predicted as label j."""
    from sklearn.metrics import confusion_matrix

    index = {name: i for i, name in enumerate(labels)}
    truth = [index[label] for label in y_true]
    return confusion_matrix(truth, proba.argmax(axis=1), labels=list(range(len(labels)))).tolist()


def worst_errors(y_true: Sequence[str], proba: np.ndarray, labels: Sequence[str], limit: int = 10) -> list[dict]:
    """Misclassified rows, most confident mistake first: row, given label, predicted label and both probabilities."""
    index = {name: i for i, name in enumerate(labels)}
    truth = np.array([index[label] for label in y_true])
    predicted = proba.argmax(axis=1)
    wrong = np.flatnonzero(predicted != truth)
    gap = proba[wrong, predicted[wrong]] - proba[wrong, truth[wrong]]
    rows = []
    for i in wrong[np.argsort(-gap, kind="stable")][:limit]:
        rows.append(
            {
                "row": int(i),
                "label": labels[truth[i]],
                "predicted": labels[predicted[i]],
                "p_predicted": float(proba[i, predicted[i]]),
                "p_label": float(proba[i, truth[i]]),
            }
        )
    return rows


def label_issues(y_true: Sequence[str], proba: np.ndarray, labels: Sequence[str], limit: int = 20) -> list[dict]:
    """Rows whose given label looks wrong: cleanlab's confident learning on out-of-fold probabilities,
    ranked by self-confidence (lowest probability of the given label first)."""
    from cleanlab.filter import find_label_issues

    index = {name: i for i, name in enumerate(labels)}
    truth = np.array([index[label] for label in y_true])
    present = np.unique(truth)
    if len(present) < 2:
        return []
    # cleanlab wants every column to be a label that occurs; drop columns nobody carries, renormalise.
    columns = {int(k): j for j, k in enumerate(present)}
    sub = proba[:, present].astype(np.float64)
    sub = np.clip(sub, 1e-12, None)
    sub /= sub.sum(axis=1, keepdims=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ranked = find_label_issues(
            labels=np.array([columns[int(t)] for t in truth]),
            pred_probs=sub,
            return_indices_ranked_by="self_confidence",
            n_jobs=1,  # no worker processes: the app trains in the same process
        )
    rows = []
    for i in ranked[:limit]:
        suggested = int(present[int(sub[i].argmax())])
        rows.append(
            {
                "row": int(i),
                "label": labels[truth[i]],
                "suggested": labels[suggested],
                "p_label": float(proba[i, truth[i]]),
                "p_suggested": float(proba[i, suggested]),
            }
        )
    return rows


def uncertainty(proba: np.ndarray) -> np.ndarray:
    """Margin uncertainty, 1 - (p_best - p_second): 1 for a coin toss, 0 for a sure prediction."""
    if proba.shape[1] < 2:
        return np.zeros(len(proba))
    top = np.sort(proba, axis=1)[:, -2:]
    return 1.0 - (top[:, 1] - top[:, 0])
