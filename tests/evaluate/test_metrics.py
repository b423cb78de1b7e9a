import time

import numpy as np
import pytest

from agileclf.evaluate import (
    calibration_metrics,
    classification_metrics,
    confusion_matrix_png,
    default_positive_label,
    reliability_bins,
    reliability_png,
)
from agileclf.evaluate.timing import Stopwatch, timed_predict_proba

LABELS = ["negative", "positive"]


def test_binary_metrics_by_hand():
    y = ["positive", "positive", "negative", "negative"]
    proba = np.array([[0.2, 0.8], [0.6, 0.4], [0.7, 0.3], [0.4, 0.6]])
    result = classification_metrics(y, proba, LABELS)
    assert result["accuracy"] == 0.5
    assert result["positive_label"] == "positive"
    assert result["binary_f1"] == pytest.approx(0.5)  # tp=1, fp=1, fn=1
    assert result["roc_auc"] == pytest.approx(0.75)  # 3 of 4 positive/negative pairs ranked right
    assert result["per_class"]["positive"]["support"] == 2


def test_multiclass_macro_f1_and_ovr_auc():
    labels = ["a", "b", "c"]
    y = ["a", "b", "c", "c"]
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.2, 0.7], [0.5, 0.3, 0.2]])
    result = classification_metrics(y, proba, labels)
    assert result["accuracy"] == 0.75
    assert result["macro_f1"] == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)
    assert result["roc_auc"] == pytest.approx(1.0)
    assert "binary_f1" not in result


def test_macro_f1_ignores_a_class_absent_from_truth_and_predictions():
    labels = ["a", "b", "c"]  # "c" is neither in the test rows nor predicted
    y = ["a", "a", "b", "b"]
    proba = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.3, 0.6, 0.1], [0.1, 0.8, 0.1]])
    result = classification_metrics(y, proba, labels)
    assert result["macro_f1"] == pytest.approx(1.0)  # the old rule (all labels, zero_division=0) gave 2/3
    assert result["n_classes_present"] == 2 and "c" not in result["per_class"]
    # a class predicted but absent from the truth does count: its precision is 0
    proba[0] = [0.1, 0.1, 0.8]
    result = classification_metrics(y, proba, labels)
    f1_a, f1_b = 2 / 3, 1.0
    assert result["macro_f1"] == pytest.approx((f1_a + f1_b + 0.0) / 3)


def test_unknown_test_labels_count_as_errors_and_are_reported():
    y = ["a", "zzz", "b", "b"]
    proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8], [0.3, 0.7]])
    result = classification_metrics(y, proba, ["a", "b"])
    assert (result["n"], result["n_unknown_label"], result["unknown_labels"]) == (4, 1, ["zzz"])
    assert result["accuracy"] == 0.75
    assert result["per_class"]["zzz"]["recall"] == 0.0
    assert result["macro_f1"] == pytest.approx((2 / 3 + 1.0 + 0.0) / 3)  # the zzz row was predicted "a"
    # its truth has probability 0: log-loss hits the clip, Brier adds the missing column's (0 - 1)^2
    assert result["log_loss"] > 8 and result["brier"] > classification_metrics(y[:1], proba[:1], ["a", "b"])["brier"]
    assert result["roc_auc"] == pytest.approx(1.0)  # ranking over the known rows only


def test_calibration_metrics_by_hand():
    truth = np.array([0, 1])
    proba = np.array([[0.8, 0.2], [0.6, 0.4]])
    result = calibration_metrics(truth, proba, n_bins=10)
    assert result["log_loss"] == pytest.approx(-(np.log(0.8) + np.log(0.4)) / 2)
    assert result["brier"] == pytest.approx(((0.2**2 + 0.2**2) + (0.6**2 + 0.6**2)) / 2)
    # bins: 0.8 (correct) and 0.6 (wrong) -> |1 - 0.8| / 2 + |0 - 0.6| / 2
    assert result["ece"] == pytest.approx(0.1 + 0.3)
    perfect = calibration_metrics(np.array([0, 0]), np.array([[1.0, 0.0], [1.0, 0.0]]))
    assert perfect["ece"] == pytest.approx(0.0) and perfect["brier"] == pytest.approx(0.0)


def test_reliability_diagram(tmp_path):
    bins = reliability_bins(np.array([0.55, 0.65, 0.95, 0.97]), np.array([True, False, True, True]), n_bins=10)
    assert [b["count"] for b in bins] == [1, 1, 2]
    path = reliability_png(bins, tmp_path / "rel.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class SlowFirstCall:
    """A classifier whose first call pays a one-time cost, as a lazy encoder or ONNX export does."""

    def __init__(self):
        self.calls = []

    def predict_proba(self, texts):
        import time

        if not self.calls:
            time.sleep(0.3)
        self.calls.append(len(texts))
        return np.full((len(texts), 2), 0.5)


def test_timing_excludes_the_first_call():
    classifier = SlowFirstCall()
    proba, timing = timed_predict_proba(classifier, ["x"] * 10)
    assert proba.shape == (10, 2)
    assert classifier.calls == [2, 10]  # a warm-up call on a few texts, then the timed call on all of them
    assert timing["load_s"] >= 0.3
    assert timing["predict_s"] < 0.3 and timing["ms_per_example"] < 30


def test_positive_label_choice():
    assert default_positive_label(["neg", "pos"]) == "pos"
    assert default_positive_label(["ham", "spam"]) == "spam"
    assert default_positive_label(["cat", "dog"]) == "dog"


def test_confusion_matrix_png(tmp_path):
    path = confusion_matrix_png(["a", "b", "b"], ["a", "a", "b"], ["a", "b"], tmp_path / "cm.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_confusion_matrix_grows_with_the_classes_and_its_long_labels_do_not_overlap(tmp_path):
    from PIL import Image

    from agileclf.evaluate.report import wrap_label

    few = ["account_access", "billing", "shipping", "technical_issue"]
    many = [f"intent_number_{i:02d}" for i in range(60)]
    small = confusion_matrix_png(few, few, few, tmp_path / "few.png")
    large = confusion_matrix_png(many, many[::-1], many, tmp_path / "many.png")
    small_px, large_px = Image.open(small).size, Image.open(large).size
    assert large_px[0] > 3 * small_px[0] and large_px[1] > 3 * small_px[1]
    assert wrap_label("billing_dispute_and_refund") == "billing_\ndispute_and_\nrefund"
    assert wrap_label("billing") == "billing"


def test_stopwatch_counts_cpu_seconds_apart_from_waiting():
    watch = Stopwatch()
    time.sleep(0.2)  # waiting: wall seconds, next to no CPU
    wall, cpu = watch.seconds()
    assert wall >= 0.2 and cpu < 0.1
    busy = Stopwatch()
    sum(i * i for i in range(2_000_000))
    assert busy.seconds()[1] > 0
