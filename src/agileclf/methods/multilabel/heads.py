"""One-vs-rest logistic heads on frozen features: one binary scikit-learn logistic regression per label."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold

from agileclf.methods.heads import C_GRID

NEVER = -1e4  # bias of a label that training never shows (or always shows: +NEVER): a constant answer


def fit_binary_heads(
    features: np.ndarray,
    y: np.ndarray,
    c: float | None = None,
    seed: int = 0,
    max_iter: int = 2000,
    max_cv_rows: int = 5000,
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Weights (n_labels, dim), bias (n_labels,) and each label's C; sigmoid(x @ W.T + b) are the probabilities.

    With c=None each label's C is chosen by stratified cross-validation on log-loss (folds = that label's
    smaller side, at most 3), on a PCG64 sample of `max_cv_rows` rows when there are more (the full data then
    fits once with that C: 28 labels x 11 Cs x 3 folds over 43k rows would take most of an hour on 2 cores).
    """
    n, dim = features.shape
    weight = np.zeros((y.shape[1], dim), dtype=np.float32)
    bias = np.zeros(y.shape[1], dtype=np.float32)
    chosen: list[float] = []
    rng = np.random.Generator(np.random.PCG64(seed))
    cv_rows = np.sort(rng.choice(n, size=max_cv_rows, replace=False)) if n > max_cv_rows else np.arange(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for j in range(y.shape[1]):
            target = y[:, j].astype(int)
            positives = int(target.sum())
            if positives in (0, n):
                bias[j] = NEVER if positives == 0 else -NEVER
                chosen.append(float("nan"))
                continue
            label_c = c if c is not None else _cv_c(features[cv_rows], target[cv_rows], seed, max_iter)
            model = LogisticRegression(C=label_c, max_iter=max_iter).fit(features, target)
            weight[j], bias[j] = model.coef_[0], model.intercept_[0]
            chosen.append(float(label_c))
    return weight, bias, chosen


def _cv_c(features: np.ndarray, target: np.ndarray, seed: int, max_iter: int) -> float:
    folds = int(min(3, target.sum(), len(target) - target.sum()))
    if folds < 2:
        return 1.0
    model = LogisticRegressionCV(
        Cs=C_GRID,
        cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed),
        scoring="neg_log_loss",
        max_iter=max_iter,
        l1_ratios=(0.0,),
        use_legacy_attributes=False,
    ).fit(features, target)
    return float(np.ravel(model.C_)[0])
