import numpy as np
import pytest

from agileclf.evaluate import classification_metrics, confusion_matrix_png, default_positive_label

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


def test_unknown_test_labels_are_reported_not_crashed_on():
    y = ["a", "zzz", "b"]
    proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])
    result = classification_metrics(y, proba, ["a", "b"])
    assert (result["n"], result["n_unknown_label"], result["unknown_labels"]) == (2, 1, ["zzz"])
    assert result["accuracy"] == 1.0


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
