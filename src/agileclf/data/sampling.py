"""Stratified few-shot sampling that gives the same sample for the same seed on every machine."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class FewShotSample:
    """Indices of the sampled rows (sorted by class, then draw order) and the classes that ran short."""

    indices: list[int]
    short_classes: dict[str, int] = field(default_factory=dict)

    def describe(self, shots: int) -> str:
        if not self.short_classes:
            return ""
        parts = ", ".join(f"{label} ({count})" for label, count in sorted(self.short_classes.items()))
        return f"{len(self.short_classes)} class(es) have fewer than {shots} examples and are used whole: {parts}"


def sample_few_shot(labels: list[str], shots: int, seed: int = 0) -> FewShotSample:
    """Draw `shots` rows per class without replacement, classes in sorted order.

    numpy's PCG64 generator is specified bit-for-bit, so a seed gives the same rows across runs and machines.
    """
    if shots < 1:
        raise ValueError(f"shots must be >= 1, got {shots}")
    by_class: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    rng = np.random.Generator(np.random.PCG64(seed))
    indices: list[int] = []
    short: dict[str, int] = {}
    for label in sorted(by_class):
        rows = by_class[label]
        if len(rows) <= shots:
            if len(rows) < shots:
                short[label] = len(rows)
            indices.extend(rows)
        else:
            picked = rng.choice(len(rows), size=shots, replace=False)
            indices.extend(rows[j] for j in picked)
    return FewShotSample(indices, short)


def sample_rows(n_rows: int, cap: int, seed: int = 0) -> list[int]:
    """A reproducible random subset of `cap` row indices (all rows when cap >= n_rows), in file order."""
    if cap >= n_rows:
        return list(range(n_rows))
    rng = np.random.Generator(np.random.PCG64(seed))
    return sorted(rng.choice(n_rows, size=cap, replace=False).tolist())


def stratified_holdout(
    texts: list[str], y: np.ndarray, fraction: float, min_per_class: int, rng: np.random.Generator
) -> tuple[list[str], np.ndarray, tuple[list[str], np.ndarray] | None]:
    """(train texts, train y, validation or None): a stratified `fraction` held back for early stopping when
    every class has at least `min_per_class` examples; with fewer, training needs them all."""
    counts = np.bincount(y)
    if counts[counts > 0].min() < min_per_class:
        return texts, y, None
    held = []
    for label in np.flatnonzero(counts):
        rows = np.flatnonzero(y == label)
        take = max(1, int(round(len(rows) * fraction)))
        held.extend(rng.choice(rows, size=take, replace=False).tolist())
    held_set = set(held)
    keep = [i for i in range(len(texts)) if i not in held_set]
    return [texts[i] for i in keep], y[keep], ([texts[i] for i in held], y[held])
