"""Out-of-fold predictions on the training examples: how good a classifier is without a test file.

The one place where agileclf cross-validates. `auto` method selection, temperature scaling, thresholds and the web
app's "how good is it" all read these out-of-fold probabilities, never a test split.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import StratifiedKFold

from agileclf.data.labels import LabelSet
from agileclf.errors import DataError
from agileclf.evaluate.metrics import classification_metrics


@dataclass
class CrossValResult:
    """Out-of-fold probabilities: row i was predicted by a classifier that never saw example i."""

    proba: np.ndarray  # (n, n_labels), columns in `labels` order
    labels: list[str]
    y_true: list[str]
    folds: np.ndarray  # fold index of each row (-1: its fold was not run, see `after_fold`)
    fit_s: float  # seconds spent fitting, all folds together
    models: list = field(default_factory=list)  # the first folds' fitted classifiers, as many as asked (keep_models)

    @property
    def n_splits(self) -> int:
        return int(self.folds.max()) + 1 if len(self.folds) else 0

    @property
    def covered(self) -> np.ndarray:
        """Rows that have out-of-fold probabilities (all, unless `after_fold` stopped the folds early)."""
        return self.folds >= 0

    @property
    def multilabel(self) -> bool:
        return bool(self.y_true) and not isinstance(self.y_true[0], str)

    def predicted(self) -> list[str]:
        return [self.labels[i] for i in self.proba.argmax(axis=1)]

    def metrics(self, positive_label: str | None = None) -> dict:
        """The same metrics `evaluate` reports, on the out-of-fold predictions (multi-label: at 0.5)."""
        if self.multilabel:
            from agileclf.evaluate.multilabel import indicator, multilabel_metrics

            truth = indicator(self.y_true, self.labels)
            result = multilabel_metrics(truth, self.proba >= 0.5, self.proba, self.labels)
            result["n_splits"] = self.n_splits
            return result
        result = classification_metrics(self.y_true, self.proba, self.labels, positive_label)
        result["n_splits"] = self.n_splits
        return result


def smallest_label(labels: Sequence[str]) -> tuple[int, str]:
    """(count, label) of the label with the fewest examples (ties: the first name in sorted order)."""
    return min((count, name) for name, count in Counter(labels).items())


def fold_count(labels: Sequence[str], n_splits: int = 5) -> int:
    """Folds that leave every label in every training part: at most the smallest label's count."""
    if len(set(labels)) < 2:
        raise DataError("cross-validation needs at least 2 labels")
    smallest, label = smallest_label(labels)
    if smallest < 2:
        raise DataError(f"cross-validation needs at least 2 examples of every label; {label!r} has {smallest}")
    return max(2, min(n_splits, smallest))


def cross_val_proba(
    make_classifier: Callable[[], object],
    texts: Sequence[str],
    labels: Sequence[str],
    label_set: LabelSet | None = None,
    n_splits: int = 5,
    seed: int = 0,
    on_fold: Callable[[int, int], None] | None = None,
    after_fold: Callable[[int, np.ndarray, np.ndarray], bool] | None = None,
    keep_models: int = 0,
) -> CrossValResult:
    """Fit a fresh classifier from `make_classifier()` on each training part and predict the held-out part.

    Folds are stratified and shuffled by `seed` (the same rows on every machine); their number is capped by the
    smallest label's count so that every fold's classifier knows every label. `on_fold(done, total)` reports
    progress; `after_fold(fold, held_out_rows, their_proba)` returning True stops before the next fold (the rows
    of folds not run keep fold -1). `keep_models`: the fitted classifiers of the first that many folds are kept.
    """
    texts, labels = list(texts), list(labels)
    if len(texts) != len(labels):
        raise DataError(f"{len(texts)} texts but {len(labels)} labels")
    if labels and not isinstance(labels[0], str):  # label lists: a multi-label classifier
        label_set, splits, k = _multilabel_folds(labels, label_set, n_splits, seed)
    else:
        label_set = label_set or LabelSet.from_labels(labels)
        k, splits = fold_splits(labels, n_splits, seed)
    proba = np.zeros((len(texts), len(label_set)), dtype=np.float32)
    folds = np.full(len(texts), -1, dtype=np.int64)
    fit_s, models = 0.0, []
    for fold, (train_idx, test_idx) in enumerate(splits):
        classifier = make_classifier()
        start = time.perf_counter()
        classifier.fit([texts[i] for i in train_idx], [labels[i] for i in train_idx], label_set=label_set)
        fit_s += time.perf_counter() - start
        proba[test_idx] = classifier.predict_proba([texts[i] for i in test_idx])
        folds[test_idx] = fold
        if fold < keep_models:
            models.append(classifier)
        if on_fold is not None:
            on_fold(fold + 1, k)
        if after_fold is not None and after_fold(fold, test_idx, proba[test_idx]):
            break
    return CrossValResult(proba, list(label_set.names), labels, folds, fit_s, models)


def fold_splits(labels: Sequence[str], n_splits: int, seed: int):
    """The folds cross_val_proba makes on single-label examples: their number (capped by the smallest label's count)
    and the (training rows, held-out rows) of each, stratified and shuffled by `seed`."""
    k = fold_count(labels, n_splits)
    return k, StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(labels)), labels)


def _multilabel_folds(label_lists: list, label_set: LabelSet | None, n_splits: int, seed: int):
    """Iterative stratification (Sechidis et al. 2011, via iterative-stratification): each fold gets about its
    share of every label's rows, where a plain KFold can leave a rare label out of a fold's training part.
    Folds: at most the rarest label's row count (at least 2)."""
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    from agileclf.data.multilabel import label_matrix

    label_set = label_set or LabelSet.from_labels(label for row in label_lists for label in row)
    y = label_matrix(label_set, label_lists)
    counts = y.sum(axis=0)
    if len(label_lists) < 2:
        raise DataError("cross-validation needs at least 2 examples")
    k = max(2, min(n_splits, int(counts[counts > 0].min()) if counts.any() else 2))
    splitter = MultilabelStratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return label_set, splitter.split(np.zeros(len(label_lists)), y), k
