"""Paired bootstrap intervals for the difference between two classifiers scored on the same test rows.

Written here (a few lines of numpy) because scipy.stats.bootstrap resamples with one index per sample and
cannot share the row resample across several seeds' cells, which the pooled interval needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

CHUNK = 128  # resamples drawn at once: (pairs x CHUNK x rows) floats stay small on a 7,600-row test set


def paired_bootstrap(
    correct_a: Sequence[bool] | np.ndarray,
    correct_b: Sequence[bool] | np.ndarray,
    n_resamples: int = 10000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """(mean difference a - b, low, high): a percentile interval from resampling the test rows with replacement,
    the same rows for both. Inputs are per-row scores (correct: 1/0) in the same row order."""
    return pooled_paired_bootstrap([(correct_a, correct_b)], n_resamples, seed, confidence)


def pooled_paired_bootstrap(
    pairs: Sequence[tuple[Sequence[bool] | np.ndarray, Sequence[bool] | np.ndarray]],
    n_resamples: int = 10000,
    seed: int = 0,
    confidence: float = 0.95,
    resample_pairs: bool = True,
) -> tuple[float, float, float]:
    """The difference averaged over several pairs (one per seed: both classifiers trained on that seed's sample,
    scored on the same test rows). Each resample draws the test rows once for every pair and, with
    `resample_pairs` and two or more pairs, the seeds too, so the interval reflects the test rows and the
    training samples alike."""
    diffs = [np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64) for a, b in pairs]
    if not diffs or any(d.shape != diffs[0].shape for d in diffs) or diffs[0].ndim != 1 or not diffs[0].size:
        raise ValueError("paired bootstrap needs one or more pairs of equal-length, non-empty score vectors")
    matrix = np.stack(diffs)  # (k pairs, n rows)
    k = len(matrix)

    def statistic(rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        per_pair = matrix[:, rows].mean(axis=2).T  # (size, k): each pair's mean difference on the resampled rows
        if resample_pairs and k > 1:
            picked = rng.integers(0, k, size=(len(rows), k))
            return np.take_along_axis(per_pair, picked, axis=1).mean(axis=1)
        return per_pair.mean(axis=1)

    low, high = _percentile_interval(statistic, matrix.shape[1], n_resamples, seed, confidence)
    return float(matrix.mean()), float(low), float(high)


def paired_bootstrap_f1(
    counts_a: np.ndarray,
    counts_b: np.ndarray,
    n_resamples: int = 10000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """(F1 a - F1 b, low, high) for a corpus-level F1 such as slot F1, which is not a mean over rows: per-row
    counts (correct, predicted, true; `evaluate.slots.slot_counts`) are resampled together, the same rows for
    both, and F1 = 2 x correct / (predicted + true) is recomputed on every resample."""
    return pooled_paired_bootstrap_f1([(counts_a, counts_b)], n_resamples, seed, confidence)


def pooled_paired_bootstrap_f1(
    pairs: Sequence[tuple[np.ndarray, np.ndarray]],
    n_resamples: int = 10000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """The F1 difference averaged over several pairs (one per seed, scored on the same rows): each resample draws
    the rows once for every pair, and each pair's corpus-level F1 difference is recomputed on them."""
    stacked = [(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)) for a, b in pairs]
    if not stacked or any(
        a.shape != b.shape or a.shape != stacked[0][0].shape or a.ndim != 2 or a.shape[1] != 3 or not len(a)
        for a, b in stacked
    ):
        raise ValueError("paired F1 bootstrap needs pairs of equal-shaped (rows, 3) count arrays with rows")
    a, b = np.stack([pair[0] for pair in stacked]), np.stack([pair[1] for pair in stacked])  # (k, rows, 3)

    def f1(sums: np.ndarray) -> np.ndarray:
        denominator = sums[..., 1] + sums[..., 2]
        return np.divide(2 * sums[..., 0], denominator, out=np.zeros_like(denominator), where=denominator > 0)

    def statistic(rows: np.ndarray, _: np.random.Generator) -> np.ndarray:
        per_pair = f1(a[:, rows].sum(axis=2)) - f1(b[:, rows].sum(axis=2))  # (k, size)
        return per_pair.mean(axis=0)

    low, high = _percentile_interval(statistic, a.shape[1], n_resamples, seed, confidence)
    return float((f1(a.sum(axis=1)) - f1(b.sum(axis=1))).mean()), float(low), float(high)


def _percentile_interval(
    statistic: Callable[[np.ndarray, np.random.Generator], np.ndarray],
    n: int,
    n_resamples: int,
    seed: int,
    confidence: float,
) -> tuple[float, float]:
    """The percentile interval of `statistic(rows, rng)` over `n_resamples` draws of n row indices with
    replacement, made CHUNK resamples at a time (`rows` has shape (chunk, n); one estimate per resample)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    estimates = np.empty(n_resamples)
    for start in range(0, n_resamples, CHUNK):
        rows = rng.integers(0, n, size=(min(CHUNK, n_resamples - start), n))
        estimates[start : start + len(rows)] = statistic(rows, rng)
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(estimates, [tail, 1.0 - tail])
    return float(low), float(high)
