"""Multi-label metrics (scikit-learn underneath), the per-label F1 chart, CV thresholds and a paired bootstrap."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    hamming_loss,
    label_ranking_average_precision_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

from agileclf.data.labels import LabelSet
from agileclf.data.multilabel import label_matrix
from agileclf.errors import DataError


def indicator(
    label_lists: Sequence[Sequence[str]], labels: list[str], where: Sequence[str] | None = None
) -> np.ndarray:
    """0/1 matrix of label lists; an unknown label is an error naming its row (`where[i]`: 'file:line')."""
    known = set(labels)
    for i, row in enumerate(label_lists):
        unknown = [label for label in row if label not in known]
        if unknown:
            place = where[i] if where is not None else f"row {i}"
            raise DataError(
                f"{place}: label {unknown[0]!r} is not one this classifier knows ({', '.join(labels)}); "
                "a multi-label evaluation needs every label of a row"
            )
    return label_matrix(LabelSet(list(labels)), label_lists)


GRID = np.round(np.arange(0.02, 0.99, 0.01), 2)


def with_top_label(chosen: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """The 0/1 (or bool) decisions `chosen` with each row's most probable label switched on (in place)."""
    if len(proba):
        chosen[np.arange(len(proba)), proba.argmax(axis=1)] = True
    return chosen


def best_thresholds(truth: np.ndarray, proba: np.ndarray, default: float = 0.5) -> np.ndarray:
    """For each label, the grid threshold with the best F1 on (truth, proba); the middle of the best run of
    thresholds, so a plateau (common on few examples) does not push it to an edge. A label without positives
    in `truth` keeps `default`. Vectorised over the grid because sklearn scores one threshold per call."""
    truth = np.asarray(truth).astype(bool)
    chosen = np.full(truth.shape[1], default, dtype=np.float32)
    for j in range(truth.shape[1]):
        positives = truth[:, j]
        if not positives.any():
            continue
        predicted = proba[:, j][:, None] >= GRID[None, :]
        tp = (predicted & positives[:, None]).sum(axis=0)
        f1 = 2 * tp / (predicted.sum(axis=0) + positives.sum())
        best = np.flatnonzero(np.isclose(f1, f1.max()))
        run = best[: 1 + np.flatnonzero(np.diff(best) > 1)[0]] if np.any(np.diff(best) > 1) else best
        chosen[j] = GRID[run[len(run) // 2]]
    return chosen


RATIOS = np.round(np.arange(0.0, 1.0001, 0.05), 2)


def decisions(proba: np.ndarray, thresholds, top_ratio: float = 0.0, keep_top: bool = True) -> np.ndarray:
    """Boolean label decisions: at or above each label's threshold and, with `top_ratio`, at least that fraction
    of the row's highest probability; with `keep_top`, every row keeps its most probable label."""
    chosen = proba >= thresholds
    if top_ratio > 0:
        chosen &= proba >= top_ratio * proba.max(axis=1, keepdims=True)
    return with_top_label(chosen, proba) if keep_top else chosen


def best_decision_rule(truth: np.ndarray, proba: np.ndarray, keep_top: bool = True) -> tuple[np.ndarray, float]:
    """Per-label thresholds (best_thresholds), then one top ratio shared by all labels: the smallest in RATIOS
    with the best macro-F1 on (truth, proba), 0 (off) when none helps. With ~8 positives a label, each threshold
    is noisy and low thresholds flood rows with labels; a single ratio is estimated from every row at once."""
    thresholds = best_thresholds(truth, proba)
    scores = np.array(
        [f1_score(truth, decisions(proba, thresholds, r, keep_top), average="macro", zero_division=0) for r in RATIOS]
    )
    return thresholds, float(RATIOS[np.flatnonzero(np.isclose(scores, scores.max()))[0]])


def multilabel_metrics(truth: np.ndarray, predicted: np.ndarray, proba: np.ndarray, labels: list[str]) -> dict:
    """micro/macro/samples F1, subset accuracy, Hamming loss, macro ROC-AUC, label-ranking AP, per label P/R/F1.

    `truth`, `predicted`: (n, n_labels) 0/1; `proba`: per-label probabilities. Macro F1 averages every label
    (a label without test rows scores 0 when predicted, as in sklearn with zero_division=0); ROC-AUC averages
    the labels that have both positive and negative test rows.
    """
    truth, predicted = np.asarray(truth).astype(int), np.asarray(predicted).astype(int)
    result: dict = {"n": int(len(truth)), "n_labels": len(labels)}
    if not len(truth):
        return result
    for average in ("micro", "macro", "samples"):
        result[f"{average}_f1"] = float(f1_score(truth, predicted, average=average, zero_division=0))
    result["subset_accuracy"] = float(accuracy_score(truth, predicted))
    result["hamming_loss"] = float(hamming_loss(truth, predicted))
    scored = [j for j in range(len(labels)) if 0 < truth[:, j].sum() < len(truth)]
    if scored:
        result["roc_auc"] = float(np.mean([roc_auc_score(truth[:, j], proba[:, j]) for j in scored]))
    if truth.sum(axis=1).min() > 0:  # LRAP is undefined for rows without a true label
        result["label_ranking_ap"] = float(label_ranking_average_precision_score(truth, proba))
    result["labels_per_row"] = float(predicted.sum(axis=1).mean())
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, average=None, zero_division=0)
    result["per_label"] = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    return result


def per_label_f1_png(per_label: dict, path: str | Path, title: str = "") -> Path:
    """Horizontal bars of each label's F1 (sorted, support in the tick label) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = sorted(per_label.items(), key=lambda item: item[1]["f1"])
    fig, ax = plt.subplots(figsize=(6.5, max(3.0, 0.28 * len(items) + 1.2)))
    ax.barh([f"{name} ({row['support']})" for name, row in items], [row["f1"] for _, row in items], color="#4477aa")
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1 (test rows per label in brackets)")
    ax.set_title(title or "per-label F1")
    ax.grid(axis="x", alpha=0.3)
    from agileclf.evaluate.report import save_figure

    return save_figure(fig, path)


def evaluate_multilabel(
    classifier,
    texts: list[str],
    label_lists: list[list[str]],
    threshold: float | None = None,
    report_dir: str | Path | None = None,
    where: Sequence[str] | None = None,
    keep_predictions: bool = False,
) -> dict:
    """Metrics and timing of a fitted multi-label classifier; per_label_f1.png in report_dir; with
    keep_predictions, the predicted 0/1 matrix under "predicted" (for a paired bootstrap) and the
    probabilities under "proba"."""
    from agileclf.evaluate.timing import timed_predict_proba

    names = classifier.labels.names
    truth = indicator(label_lists, names, where)
    proba, timing = timed_predict_proba(classifier, texts)
    predicted = indicator(classifier.decide(proba, threshold), names)
    result = multilabel_metrics(truth, predicted, proba, names)
    result["threshold_source"] = "user" if threshold is not None else classifier.threshold_source
    result.update(timing)
    if keep_predictions:
        result["predicted"], result["proba"] = predicted, proba
    if report_dir is not None:
        path = per_label_f1_png(result["per_label"], Path(report_dir) / "per_label_f1.png",
                                f"{classifier.name}: per-label F1 (macro {result['macro_f1']:.3f})")  # fmt: skip
        result["per_label_f1_png"] = str(path)
    return result


def cv_thresholds(
    make_classifier: Callable[[], object],
    texts: Sequence[str],
    label_lists: Sequence[Sequence[str]],
    label_set: LabelSet,
    n_splits: int = 3,
    seed: int = 0,
) -> tuple[np.ndarray, dict]:
    """The decision rule (per-label thresholds and top ratio, best_decision_rule) from out-of-fold probabilities
    on the training examples (evaluate.crossval), and the out-of-fold metrics under it (an estimate of quality
    without a test file; the ratio is under "top_ratio")."""
    from agileclf.evaluate.crossval import cross_val_proba

    result = cross_val_proba(make_classifier, texts, label_lists, label_set, n_splits, seed)
    truth = label_matrix(label_set, result.y_true)
    keep_top = bool(truth.sum(axis=1).min() > 0)  # no empty rows in training: each row keeps its top label
    thresholds, top_ratio = best_decision_rule(truth, result.proba, keep_top)
    predicted = decisions(result.proba, thresholds, top_ratio, keep_top)
    metrics = multilabel_metrics(truth, predicted, result.proba, label_set.names)
    metrics.update(n_splits=result.n_splits, fit_s=result.fit_s, top_ratio=top_ratio)
    metrics.pop("per_label")
    return thresholds, metrics


def paired_bootstrap(truth: np.ndarray, predicted_a, predicted_b, n_boot: int = 1000, seed: int = 0) -> dict:
    """Macro-F1 of A minus B with a 95% percentile interval, resampling test rows (the same rows for both).

    `predicted_a` / `predicted_b` are 0/1 matrices, or equally long lists of them (one per seed): the
    difference is then the mean over the pairs, each resample applied to all of them. Written here because
    bench/ had no bootstrap utility when this was needed; sklearn has none."""
    rng = np.random.Generator(np.random.PCG64(seed))
    n = len(truth)
    pairs = (
        list(zip(predicted_a, predicted_b, strict=True))
        if isinstance(predicted_a, list)
        else [(predicted_a, predicted_b)]
    )

    def macro(pred, rows):
        return f1_score(truth[rows], pred[rows], average="macro", zero_division=0)

    def diff(rows):
        return float(np.mean([macro(a, rows) - macro(b, rows) for a, b in pairs]))

    deltas = [diff(rng.integers(0, n, size=n)) for _ in range(n_boot)]
    low, high = np.percentile(deltas, [2.5, 97.5])
    delta = diff(np.arange(n))
    return {"delta": float(delta), "ci_low": float(low), "ci_high": float(high), "n_boot": n_boot}
