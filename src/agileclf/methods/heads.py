"""A linear-softmax head on frozen features, fitted by scikit-learn's logistic regression."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold

from agileclf.methods.base import softmax

C_GRID = np.logspace(-2, 3, 11)


def fit_logistic_head(
    features: np.ndarray, y: np.ndarray, n_labels: int, c: float | None = None, seed: int = 0, max_iter: int = 2000
) -> tuple[np.ndarray, np.ndarray, float]:
    """Weights (n_labels, dim), bias (n_labels,) and the C used.

    With c=None, C is chosen by stratified cross-validation on log-loss (folds = the smallest class count,
    at most 5): on a handful of examples a fixed C is too strong or too weak depending on the data.
    """
    counts = np.bincount(y, minlength=n_labels)
    present = np.flatnonzero(counts)
    folds = int(min(5, counts[present].min()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if c is None and folds >= 2:
            cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
            model = LogisticRegressionCV(
                Cs=C_GRID,
                cv=cv,
                scoring="neg_log_loss",
                max_iter=max_iter,
                l1_ratios=(0.0,),
                use_legacy_attributes=False,
            )
            model.fit(features, y)
            c = float(np.ravel(model.C_)[0])
        else:
            c = 1.0 if c is None else c
            model = LogisticRegression(C=c, max_iter=max_iter).fit(features, y)
    weight = np.zeros((n_labels, features.shape[1]), dtype=np.float32)
    bias = np.full(n_labels, -1e4, dtype=np.float32)  # a label absent from training is never predicted
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # sklearn's binary form: softmax([-z/2, z/2]) equals sigmoid(z)
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    weight[model.classes_] = coef
    bias[model.classes_] = intercept
    return weight, bias, c


def head_proba(features: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return softmax(features @ weight.T + bias)


def head_tensors(weight: np.ndarray, bias: np.ndarray) -> dict[str, torch.Tensor]:
    return {"head.weight": torch.from_numpy(weight), "head.bias": torch.from_numpy(bias)}
