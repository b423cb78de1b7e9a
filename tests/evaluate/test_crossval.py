import numpy as np
import pytest

from agileclf.errors import DataError
from agileclf.evaluate.crossval import cross_val_proba, fold_count, fold_splits


class CountingNearestMean:
    """A tiny classifier that remembers what it was trained on (to prove no fold sees its own rows)."""

    def __init__(self, seen: list):
        self.seen = seen

    def fit(self, texts, labels, label_set=None):
        self.names = label_set.names
        self.trained_on = set(texts)
        self.seen.append(self.trained_on)
        self.means = {n: np.mean([len(t) for t, y in zip(texts, labels, strict=True) if y == n]) for n in self.names}
        return self

    def predict_proba(self, texts):
        d = np.array([[-abs(len(t) - self.means[n]) for n in self.names] for t in texts], dtype=np.float32)
        e = np.exp(d - d.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


def test_every_row_is_predicted_by_a_classifier_that_never_saw_it():
    texts = [f"s{i}" for i in range(6)] + [f"a much longer text {i}" for i in range(6)]
    labels = ["short"] * 6 + ["long"] * 6
    seen: list = []
    result = cross_val_proba(lambda: CountingNearestMean(seen), texts, labels, n_splits=3, seed=1)
    assert result.n_splits == 3 and result.proba.shape == (12, 2)
    for fold, trained_on in enumerate(seen):
        held_out = {t for t, f in zip(texts, result.folds, strict=True) if f == fold}
        assert held_out and not (held_out & trained_on)
    assert result.metrics()["accuracy"] == 1.0
    again = cross_val_proba(lambda: CountingNearestMean([]), texts, labels, n_splits=3, seed=1)
    assert (again.folds == result.folds).all() and result.models == []
    k, splits = fold_splits(labels, 3, seed=1)  # the same folds, for scripts that tune on one of them
    assert k == 3 and [sorted(held_out) for _, held_out in splits] == [
        sorted(np.flatnonzero(result.folds == fold)) for fold in range(3)
    ]


def test_the_first_folds_models_are_kept_on_request():
    texts = [f"s{i}" for i in range(6)] + [f"a much longer text {i}" for i in range(6)]
    labels = ["short"] * 6 + ["long"] * 6
    seen: list = []
    result = cross_val_proba(lambda: CountingNearestMean(seen), texts, labels, n_splits=3, seed=1, keep_models=2)
    assert len(seen) == 3 and [model.trained_on for model in result.models] == seen[:2]


def test_fold_count_is_capped_by_the_smallest_label():
    assert fold_count(["a"] * 10 + ["b"] * 3, 5) == 3
    with pytest.raises(DataError, match="'b' has 1"):
        fold_count(["a", "a", "b"], 5)
