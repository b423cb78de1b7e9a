"""Per-label decision thresholds that maximise each label's F1 on held-out probabilities."""

from __future__ import annotations

import numpy as np

GRID = np.round(np.arange(0.02, 0.99, 0.01), 2)


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
