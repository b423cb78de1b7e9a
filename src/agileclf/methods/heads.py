"""A linear-softmax head on frozen features, fitted by scikit-learn's logistic regression."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold

from agileclf.errors import ConfigError
from agileclf.methods.base import softmax

C_GRID = np.logspace(-2, 3, 11)


def fit_logistic_head(
    features: np.ndarray,
    y: np.ndarray,
    n_labels: int,
    c: float | None = None,
    seed: int = 0,
    max_iter: int = 2000,
    class_weight: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Weights (n_labels, dim), bias (n_labels,) and the C used; `class_weight` (n_labels,) weighs the loss, and
    `sample_weight` (n_rows,) each row's share of it.

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
                class_weight=sklearn_class_weight(class_weight, y),
            )
            model.fit(features, y, sample_weight=sample_weight)
            c = float(np.ravel(model.C_)[0])
        else:
            c = 1.0 if c is None else c
            model = LogisticRegression(C=c, max_iter=max_iter, class_weight=sklearn_class_weight(class_weight, y))
            model.fit(features, y, sample_weight=sample_weight)
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


class LogisticHeadState:
    """Mixin for a method whose learned state is one linear-softmax head (`weight`, `bias`)."""

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        return head_tensors(self.weight, self.bias)

    def _load_state_tensors(self, tensors) -> None:
        self.weight, self.bias = tensors["head.weight"].numpy(), tensors["head.bias"].numpy()


def head_arrays(head: torch.nn.Linear) -> tuple[np.ndarray, np.ndarray]:
    """A trained torch head's weight and bias as float32 numpy arrays (from any device)."""
    return head.weight.detach().cpu().numpy().copy(), head.bias.detach().cpu().numpy().copy()


def class_weight_param():
    from agileclf.methods.base import param

    return param(
        None,
        "weight of each class in the loss: None (equal), 'balanced' (n / (k * count)) or JSON {label: weight}",
    )


def class_weights(setting: str | dict | None, y: np.ndarray, names: list[str]) -> np.ndarray | None:
    """Per-class loss weights (n_labels,) from None, 'balanced' (scikit-learn's formula) or {label: weight}
    (labels not named weigh 1); None means equal weights."""
    if setting is None or setting == "none":
        return None
    if isinstance(setting, str) and setting.strip().startswith("{"):
        import json

        try:
            setting = json.loads(setting)
        except json.JSONDecodeError as err:
            raise ConfigError(f"class_weight: not valid JSON ({err.msg})") from None
    if setting == "balanced":
        counts = np.bincount(y, minlength=len(names)).astype(np.float64)
        present = counts > 0
        weights = np.ones(len(names))
        weights[present] = len(y) / (present.sum() * counts[present])
        return weights.astype(np.float32)
    if isinstance(setting, dict):
        unknown = set(setting) - set(names)
        if unknown:
            raise ConfigError(f"class_weight names unknown label(s) {', '.join(sorted(map(str, unknown)))}")
        return np.array([float(setting.get(name, 1.0)) for name in names], dtype=np.float32)
    raise ConfigError(f"class_weight must be None, 'balanced' or a {{label: weight}} mapping, not {setting!r}")


def check_class_weight(setting) -> None:
    """Fail at construction on a class_weight no fit could read (the labels are checked at fit)."""
    if setting is None or isinstance(setting, dict) or setting in ("balanced", "none"):
        return
    if isinstance(setting, str) and setting.strip().startswith("{"):
        return
    raise ValueError(f"class_weight must be None, 'balanced' or a {{label: weight}} mapping, not {setting!r}")


def weighted_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, weights: np.ndarray | None, **kwargs
) -> torch.Tensor:
    """Cross-entropy with optional per-class weights (a weighted mean, as torch defines it)."""
    target = target.to(logits.device)
    weight = None if weights is None else torch.as_tensor(weights, dtype=logits.dtype, device=logits.device)
    return torch.nn.functional.cross_entropy(logits, target, weight=weight, **kwargs)


def sklearn_class_weight(weights: np.ndarray | None, y: np.ndarray) -> dict | None:
    """Per-class weights as scikit-learn's class_weight ({class index: weight}, the classes present in `y`)."""
    return None if weights is None else {int(k): float(weights[k]) for k in np.unique(y)}
