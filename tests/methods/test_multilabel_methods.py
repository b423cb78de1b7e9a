"""Multi-label variants: the task picks them by the same names; label sets out, thresholds saved and reloaded."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from agileclf import load_classifier
from agileclf.data.labels import LabelSet
from agileclf.errors import ConfigError, DataError
from agileclf.evaluate.multilabel import best_decision_rule, best_thresholds, decisions
from agileclf.methods import make_method
from agileclf.methods.multilabel.contrastive import check_groups, jaccard, rarest_label
from agileclf.methods.registry import make_task_method, method_class

REVIEWS_FILE = Path(__file__).resolve().parents[1] / "multilabel_reviews.jsonl"  # 12 restaurant reviews, 5 labels
TRAIN = [(r["text"], r["labels"]) for r in map(json.loads, REVIEWS_FILE.read_text().splitlines())]
TEXTS, LABELS = [t for t, _ in TRAIN], [labels for _, labels in TRAIN]
NAMES = ["food", "negative", "positive", "price", "service"]
PARAMS = {
    "zero-shot": {},
    "linear-probe": {},
    "contrastive": {"min_steps": 6, "steps_per_label": 0, "batch_size": 4},
    "finetune": {"min_steps": 12},
}


@pytest.fixture(scope="module")
def fitted(minilm):
    return {name: make_task_method("multilabel", name, minilm, **p).fit(TEXTS, LABELS) for name, p in PARAMS.items()}


def test_the_task_selects_the_multilabel_variant_by_the_same_name():
    single, multi = method_class("linear-probe", "encoder"), method_class("linear-probe", "encoder", "multilabel")
    assert multi is not single and issubclass(multi, single) and multi.task == "multilabel"
    assert method_class("icl", "causal-lm", "multilabel").task == "multilabel"  # prompting methods have one
    with pytest.raises(ConfigError, match="no multilabel variant"):
        method_class("lora", "causal-lm", "multilabel")


@pytest.mark.parametrize("name", list(PARAMS))
def test_independent_probabilities_and_label_sets(fitted, name):
    clf = fitted[name]
    proba = clf.predict_proba(["the food was cheap and tasty", "rude staff"])
    assert proba.shape == (2, 5) and clf.labels.names == NAMES and ((proba >= 0) & (proba <= 1)).all()
    sets = clf.predict(["the food was cheap and tasty", "rude staff"])
    assert all(isinstance(s, list) and s for s in sets)  # allow_empty=False keeps at least the top label
    assert getattr(clf, "steps", 12) == 12  # contrastive really tuned its encoder (4 passes x 12 rows / 4)
    assert clf.predict(["rude staff"], top_k=2)[0] == sorted(np.array(NAMES)[np.argsort(-proba[1])[:2]].tolist())
    assert clf.predict(["rude staff"], threshold=0.0)[0] == NAMES


@pytest.mark.parametrize("name", ["linear-probe", "finetune"])
def test_learned_methods_fit_their_training_labels(fitted, name):
    predicted = fitted[name].predict(TEXTS)
    hits = np.mean([set(p) == set(t) for p, t in zip(predicted, LABELS, strict=True)])
    assert hits >= 0.5, predicted
    assert not np.allclose(fitted[name].predict_proba(TEXTS).sum(axis=1), 1.0)


@pytest.mark.parametrize("name", list(PARAMS))
def test_thresholds_are_saved_and_reloaded(fitted, name, tmp_path, minilm):
    clf = fitted[name]
    clf.set_thresholds(np.linspace(0.2, 0.6, 5), "cv", top_ratio=0.35)
    clf.save(tmp_path / name)
    loaded = load_classifier(tmp_path / name, backbone=None if clf.stores_backbone else minilm)
    assert type(loaded) is type(clf) and loaded.threshold_source == "cv"
    assert loaded.top_ratio == pytest.approx(0.35) and loaded.meta["multilabel"]["top_ratio"] == pytest.approx(0.35)
    np.testing.assert_allclose(loaded.thresholds, np.linspace(0.2, 0.6, 5), atol=1e-6)
    assert loaded.meta["multilabel"]["thresholds"]["food"] == pytest.approx(0.2)
    np.testing.assert_allclose(loaded.predict_proba(TEXTS[:3]), clf.predict_proba(TEXTS[:3]), atol=1e-5)
    assert loaded.predict(TEXTS) == clf.predict(TEXTS)


def test_bad_label_lists_are_clear_errors(minilm):
    clf = make_task_method("multilabel", "linear-probe", minilm)
    with pytest.raises(DataError, match="got the string 'food'"):
        clf.fit(TEXTS[:2], ["food", ["price"]])
    with pytest.raises(DataError, match="empty label list"):
        clf.fit(TEXTS[:2], [[], ["price"]])
    with pytest.raises(ConfigError, match="need 5 thresholds"):
        make_task_method("multilabel", "linear-probe", minilm).fit(TEXTS, LABELS).set_thresholds([0.5], "user")
    assert make_method("linear-probe", backbone=minilm).task == "label"


def test_jaccard_targets_and_grouping_keys_by_hand():
    y = torch.tensor([[1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0]], dtype=torch.float32)
    expected = [[1, 0.5, 0, 0], [0.5, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    np.testing.assert_allclose(jaccard(y).numpy(), expected)
    assert rarest_label(np.array([[1, 1, 0], [1, 0, 0], [1, 0, 1], [0, 0, 0]])) == [1, 0, 2, -1]


def test_contrastive_without_pairs_to_tune_on_is_an_error_not_a_silent_probe(minilm):
    check_groups([0, 0, 1, 1, -1], ["a", "b"])  # two groups of two: tunable
    counts = r"rows per rarest label: \(none\) \(1\), a \(2\), b \(1\)"
    with pytest.raises(DataError, match=counts):
        check_groups([0, 0, 1, -1], ["a", "b"])
    clf = make_task_method("multilabel", "contrastive", minilm, min_steps=2, steps_per_label=0, batch_size=4)
    with pytest.raises(DataError, match="use linear-probe or zero-shot"):
        clf.fit(TEXTS[:3], [["food"], ["price"], ["service", "food"]])


def test_best_thresholds_by_hand():
    truth = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    proba = np.array([[0.9, 0.1], [0.4, 0.2], [0.3, 0.8], [0.1, 0.05]])
    chosen = best_thresholds(truth, proba)
    # label 0: F1 = 1 for thresholds in (0.3, 0.4]; label 1: F1 = 1 for (0.2, 0.8]; the middle of each run
    assert 0.3 < chosen[0] <= 0.4 and 0.2 < chosen[1] <= 0.8
    assert best_thresholds(np.zeros((2, 1)), np.ones((2, 1)))[0] == 0.5


def test_the_top_ratio_by_hand():
    proba = np.array([[0.9, 0.3, 0.1], [0.2, 0.15, 0.05]])
    assert decisions(proba, np.full(3, 0.1)).tolist() == [[True, True, True], [True, True, False]]
    # a label also needs half its row's top probability: 0.3 < 0.45 is dropped, 0.15 >= 0.1 is kept
    assert decisions(proba, np.full(3, 0.1), top_ratio=0.5).tolist() == [[True, False, False], [True, True, False]]
    assert decisions(np.array([[0.05, 0.01]]), np.full(2, 0.5), keep_top=False).tolist() == [[False, False]]
    assert decisions(np.array([[0.05, 0.01]]), np.full(2, 0.5)).tolist() == [[True, False]]


def test_the_top_ratio_is_chosen_only_when_it_lifts_macro_f1():
    # label 1 is true on rows 0 and 2 (0.5) and false on rows 1 and 3 (0.45): a threshold separates them
    truth = np.array([[1, 1], [1, 0], [0, 1], [1, 0]])
    proba = np.array([[0.9, 0.5], [0.8, 0.45], [0.1, 0.5], [0.7, 0.45]])
    thresholds, ratio = best_decision_rule(truth, proba)
    assert thresholds[1] == pytest.approx(0.48, abs=0.03) and ratio == 0.0  # thresholds alone are perfect
    # label 1 scores 0.4 on rows 0 and 2 (true) and on row 1 (false): no threshold separates them, but on
    # row 1 it is under half of the top label's 0.9, on row 0 it is 0.8 of it (the same truth)
    proba = np.array([[0.5, 0.4], [0.9, 0.4], [0.1, 0.4], [0.8, 0.1]])
    thresholds, ratio = best_decision_rule(truth, proba)
    assert ratio == pytest.approx(0.45)  # the smallest ratio above 0.4 / 0.9 on the grid
    assert decisions(proba, thresholds, ratio).astype(int).tolist() == truth.tolist()


def test_a_dev_split_chooses_the_thresholds(minilm):
    clf = make_task_method("multilabel", "linear-probe", minilm, c=10.0)
    clf.fit(TEXTS[:8], LABELS[:8], valid=(TEXTS[8:], LABELS[8:]))
    assert clf.threshold_source == "dev" and not np.allclose(clf.thresholds, 0.5)


def test_finetune_stops_early_on_the_dev_split_it_is_given(minilm):
    plain = make_task_method("multilabel", "finetune", minilm, min_steps=4)
    plain.fit(TEXTS[:8], LABELS[:8])
    assert plain.validation_accuracy is None  # 8 rows: nothing is held back
    clf = make_task_method("multilabel", "finetune", minilm, min_steps=4)
    clf.fit(TEXTS[:8], LABELS[:8], valid=(TEXTS[8:], LABELS[8:]))
    assert clf.validation_accuracy is not None and clf.validation_accuracy < 0  # minus the dev BCE
    assert clf.threshold_source == "dev"


def test_multilabel_anchors_join_the_tuning_rows_as_one_label_rows_grouped_under_it(minilm, monkeypatch):
    import agileclf.methods.multilabel.contrastive as module

    seen = {}
    monkeypatch.setattr(module, "grouped_sampler", lambda groups: seen.setdefault("groups", groups))
    monkeypatch.setattr(module, "_train", lambda model, texts, targets, *rest: seen.update(texts=texts, y=targets))
    clf = make_task_method("multilabel", "contrastive", minilm, anchors=1, anchor_template="about {label}")
    clf.labels = LabelSet(NAMES)
    clf._train_encoder(None, TEXTS, np.array([[n in row for n in NAMES] for row in LABELS], dtype=np.int64))
    assert seen["texts"][len(TEXTS) :] == [f"about {n}" for n in NAMES]
    assert seen["y"][len(TEXTS) :] == np.eye(len(NAMES)).tolist()
    assert seen["groups"][len(TEXTS) :] == list(range(len(NAMES)))
