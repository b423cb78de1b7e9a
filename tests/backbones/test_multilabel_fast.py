"""int8 and ONNX Runtime prediction give a multi-label classifier the same label sets as PyTorch (SetFit #291)."""

import json
from pathlib import Path

import numpy as np
import pytest

from agileclf.methods.registry import make_task_method

REVIEWS_FILE = Path(__file__).resolve().parents[1] / "multilabel_reviews.jsonl"  # 12 restaurant reviews, 5 labels
TRAIN = [(r["text"], r["labels"]) for r in map(json.loads, REVIEWS_FILE.read_text().splitlines())]
TEXTS = [t for t, _ in TRAIN] + ["cheap and tasty food", "the staff was rude", "great waiter", "bland and pricey"]


@pytest.mark.parametrize(("inference", "atol"), [("onnx", 1e-4), ("onnx-int8", 0.1), ("int8", 0.1)])
def test_fast_paths_give_the_same_label_sets(minilm, inference, atol):
    if inference.startswith("onnx"):
        pytest.importorskip("onnxruntime")
    clf = make_task_method("multilabel", "linear-probe", minilm, seed=0, c=10.0)
    clf.fit([t for t, _ in TRAIN], [y for _, y in TRAIN])
    clf.set_thresholds(np.full(5, 0.5), "user")
    reference, sets = clf.predict_proba(TEXTS), clf.predict(TEXTS)
    clf.config.inference = inference  # the precision can be changed on a fitted or loaded classifier
    fast = clf.predict_proba(TEXTS)
    assert np.abs(fast - reference).max() <= atol
    agree = np.mean([a == b for a, b in zip(clf.predict(TEXTS), sets, strict=True)])
    assert agree == 1.0 if inference == "onnx" else agree >= 0.9, (inference, agree)
