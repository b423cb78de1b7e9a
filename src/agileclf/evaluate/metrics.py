"""Classification metrics the way the papers report them (scikit-learn underneath)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, f1_score, roc_auc_score

POSITIVE_NAMES = ("positive", "pos", "1", "true", "yes", "spam")


def default_positive_label(labels: list[str]) -> str:
    """For binary tasks: a label named like 'positive' if there is one, else the second label in order."""
    for name in labels:
        if name.lower() in POSITIVE_NAMES:
            return name
    return labels[1]


def classification_metrics(
    y_true: list[str], proba: np.ndarray, labels: list[str], positive_label: str | None = None
) -> dict:
    """accuracy, macro_f1, per-class report; binary_f1 and roc_auc for two labels, macro one-vs-rest ROC-AUC
    for more. Rows whose true label the classifier does not know are counted and left out."""
    known = [i for i, label in enumerate(y_true) if label in labels]
    unknown = sorted({label for label in y_true if label not in labels})
    result: dict = {"n": len(known), "n_unknown_label": len(y_true) - len(known), "unknown_labels": unknown}
    if not known:
        return result
    index = {name: i for i, name in enumerate(labels)}
    truth = np.array([index[y_true[i]] for i in known])
    proba = proba[known]
    predicted = proba.argmax(axis=1)
    all_ids = list(range(len(labels)))
    result["accuracy"] = float(accuracy_score(truth, predicted))
    result["macro_f1"] = float(f1_score(truth, predicted, labels=all_ids, average="macro", zero_division=0))
    if len(labels) == 2:
        positive = positive_label or default_positive_label(labels)
        if positive not in index:
            raise ValueError(f"positive label {positive!r} is not one of {labels}")
        pos = index[positive]
        result["positive_label"] = positive
        result["binary_f1"] = float(f1_score(truth == pos, predicted == pos, zero_division=0))
        if len(set(truth)) == 2:
            result["roc_auc"] = float(roc_auc_score(truth == pos, proba[:, pos]))
    else:
        present = sorted(set(truth))
        if len(present) > 1:
            # One-vs-rest over the classes present in the test set; each needs positives and negatives.
            scores = [roc_auc_score(truth == k, proba[:, k]) for k in present]
            result["roc_auc"] = float(np.mean(scores))
    report = classification_report(
        truth, predicted, labels=all_ids, target_names=labels, output_dict=True, zero_division=0
    )
    result["per_class"] = {
        name: {k: (float(v) if k != "support" else int(v)) for k, v in report[name].items()} for name in labels
    }
    return result
