"""Temperature scaling (Guo et al., 2017) fitted on out-of-fold probabilities of the training examples.

Shared by every method through `Method.fit` (`-p calibration=...`) and by `auto`, which already holds the
out-of-fold probabilities of its winner. One parameter T divides the log-probabilities; it never changes which
label is predicted, only how confident the probabilities are. Fitted by scipy's bounded scalar minimiser on
log-loss; kept under `auto` only where a cross-fitted check (T fitted on the other folds' rows, scored on each
fold's rows) shows it lowers the out-of-fold log-loss.
"""

from __future__ import annotations

import numpy as np

CALIBRATIONS = ("auto", "temperature", "none")
T_BOUNDS = (0.25, 10.0)  # at most 4x sharper or 10x softer: a handful of rows cannot support more
EPS = 1e-12


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T): T > 1 softens, T < 1 sharpens, T = 1 leaves the probabilities as they are."""
    if temperature == 1.0:
        return proba
    logits = np.log(np.clip(np.asarray(proba, dtype=np.float64), EPS, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def _nll(proba: np.ndarray, y: np.ndarray, temperature: float) -> float:
    p = apply_temperature(proba, temperature)[np.arange(len(y)), y]
    return float(-np.log(np.clip(p, EPS, 1.0)).mean())


def fit_temperature(proba: np.ndarray, y: np.ndarray) -> float:
    """The T that minimises log-loss of `proba` (columns = label ids) against `y`."""
    from scipy.optimize import minimize_scalar

    log_bounds = np.log(T_BOUNDS)
    result = minimize_scalar(lambda t: _nll(proba, y, float(np.exp(t))), bounds=log_bounds, method="bounded")
    return float(np.exp(result.x))


def temperature_from_oof(proba: np.ndarray, y: np.ndarray, folds: np.ndarray) -> dict:
    """Fit T on all out-of-fold rows, and check it cross-fitted: for each fold a T from the other folds' rows
    scores that fold's rows. Returns temperature, log_loss (uncalibrated) and calibrated_log_loss (cross-fitted)."""
    proba, y, folds = np.asarray(proba), np.asarray(y), np.asarray(folds)
    calibrated = np.empty(len(y))
    for fold in np.unique(folds):
        held, rest = folds == fold, folds != fold
        t = fit_temperature(proba[rest], y[rest]) if rest.any() else 1.0
        p = apply_temperature(proba[held], t)[np.arange(int(held.sum())), y[held]]
        calibrated[held] = -np.log(np.clip(p, EPS, 1.0))
    return {
        "temperature": fit_temperature(proba, y),
        "log_loss": _nll(proba, y, 1.0),
        "calibrated_log_loss": float(calibrated.mean()),
    }


def choose_temperature(mode: str, proba: np.ndarray, y: np.ndarray, folds: np.ndarray) -> dict:
    """The calibration record a method keeps: {"mode", "temperature", "cv_log_loss", "cv_calibrated_log_loss"};
    under "auto" the temperature is 1 unless the cross-fitted check lowers out-of-fold log-loss. When every
    out-of-fold prediction is right, log-loss keeps falling as T shrinks (no finite optimum): T stays 1."""
    if (np.asarray(proba).argmax(axis=1) == np.asarray(y)).all():
        return {"mode": mode, "temperature": 1.0, "skipped": "every out-of-fold prediction was right"}
    check = temperature_from_oof(proba, y, folds)
    keep = mode == "temperature" or check["calibrated_log_loss"] < check["log_loss"]
    return {
        "mode": mode,
        "temperature": check["temperature"] if keep else 1.0,
        "cv_log_loss": check["log_loss"],
        "cv_calibrated_log_loss": check["calibrated_log_loss"],
    }
