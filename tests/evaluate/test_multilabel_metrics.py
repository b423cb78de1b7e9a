"""Each multi-label metric against a hand calculation; the per-label chart; CV thresholds; the paired bootstrap."""

import numpy as np
import pytest

from agileclf.errors import DataError
from agileclf.evaluate.crossval import cross_val_proba
from agileclf.evaluate.multilabel import indicator, multilabel_metrics, paired_bootstrap, per_label_f1_png

LABELS = ["a", "b", "c"]
TRUTH = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1]])
PREDICTED = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1], [1, 0, 1]])
PROBA = np.array([[0.9, 0.05, 0.1], [0.2, 0.7, 0.6], [0.1, 0.3, 0.9], [0.8, 0.2, 0.7]])


def test_every_metric_matches_a_hand_calculation():
    m = multilabel_metrics(TRUTH, PREDICTED, PROBA, LABELS)
    # per label: a TP2 FP0 FN0; b TP1 FP0 FN1; c TP2 FP1 FN0
    assert m["per_label"]["a"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert m["per_label"]["b"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert m["per_label"]["c"] == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    assert m["macro_f1"] == pytest.approx((1 + 2 / 3 + 0.8) / 3)
    assert m["micro_f1"] == pytest.approx(5 / 6)  # TP 5, FP 1, FN 1
    assert m["samples_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1 + 1) / 4)
    assert m["subset_accuracy"] == 0.5  # rows 2 and 3 exactly right
    assert m["hamming_loss"] == pytest.approx(2 / 12)  # r0 misses b, r1 adds c
    # ROC-AUC: a 1; b: positives 0.05, 0.7 vs negatives 0.3, 0.2 -> 2 of 4 pairs right; c 1
    assert m["roc_auc"] == pytest.approx((1 + 0.5 + 1) / 3)
    # LRAP: row 0 ranks a, c, b: a 1/1, b 2/3 -> 5/6; every other row ranks its true labels first
    assert m["label_ranking_ap"] == pytest.approx((5 / 6 + 1 + 1 + 1) / 4)
    assert m["labels_per_row"] == pytest.approx(6 / 4) and m["n"] == 4


def test_auc_skips_a_label_without_negatives_and_lrap_rows_without_labels():
    truth = np.array([[1, 0], [1, 1], [1, 0]])
    m = multilabel_metrics(truth, truth, np.array([[0.9, 0.1], [0.8, 0.7], [0.7, 0.2]]), ["x", "y"])
    assert m["roc_auc"] == 1.0  # only y has both classes
    empty = multilabel_metrics(np.array([[0, 0], [1, 0]]), np.array([[0, 0], [1, 0]]), np.eye(2), ["x", "y"])
    assert "label_ranking_ap" not in empty


def test_unknown_label_at_evaluation_names_the_row():
    with pytest.raises(DataError, match="test.jsonl:7: label 'z' is not one this classifier knows"):
        indicator([["a"], ["z"]], LABELS, where=["test.jsonl:3", "test.jsonl:7"])


def test_per_label_chart_is_written(tmp_path):
    m = multilabel_metrics(TRUTH, PREDICTED, PROBA, LABELS)
    path = per_label_f1_png(m["per_label"], tmp_path / "r" / "per_label_f1.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_paired_bootstrap_interval():
    same = paired_bootstrap(TRUTH, PREDICTED, PREDICTED, n_boot=50)
    assert same["delta"] == same["ci_low"] == same["ci_high"] == 0.0
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, size=(200, 4))
    noisy = np.where(rng.random((200, 4)) < 0.4, 1 - truth, truth)
    better = paired_bootstrap(truth, truth, noisy, n_boot=200, seed=1)
    assert better["ci_low"] > 0 and better["delta"] > better["ci_low"]


class Memoriser:
    """A stand-in classifier: predicts each label's training frequency (enough to test the folds)."""

    def fit(self, texts, labels, label_set):
        self.names = label_set.names
        self.rate = indicator(labels, self.names).mean(axis=0)
        self.seen = set(texts)
        return self

    def predict_proba(self, texts):
        assert not self.seen & set(texts)  # out of fold
        return np.tile(self.rate, (len(texts), 1)).astype(np.float32)


def test_crossval_takes_label_lists_with_stratified_folds():
    lists = [["a"], ["a", "b"], ["b"], ["c"], ["a", "c"], ["b", "c"]] * 3
    result = cross_val_proba(Memoriser, [f"t{i}" for i in range(18)], lists, n_splits=3, seed=0)
    assert result.multilabel and result.n_splits == 3 and result.proba.shape == (18, 3)
    for fold in range(3):  # every label in every held-out part
        held = indicator([lists[i] for i in np.flatnonzero(result.folds == fold)], LABELS)
        assert held.sum(axis=0).min() >= 1
    assert "macro_f1" in result.metrics()
