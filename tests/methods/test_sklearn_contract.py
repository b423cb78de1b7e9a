"""scikit-learn's estimator contract: clone, get/set_params, classes_, numpy predict, cross_val_score, class_weight."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, cross_val_score

from agileclf.data import read_examples, sample_few_shot
from agileclf.errors import ConfigError
from agileclf.methods import make_method
from agileclf.methods.heads import class_weights


@pytest.fixture(scope="module")
def trec8(shared_data):
    train = read_examples(shared_data / "trec" / "train.jsonl")
    return train.subset(sample_few_shot(train.labels, 8, seed=0).indices)


def test_clone_shares_the_backbone_and_copies_every_parameter(minilm):
    clf = make_method("finetune", backbone=minilm, epochs=3, lr=1e-5, class_weight="balanced", seed=2)
    twin = clone(clf)
    assert type(twin) is type(clf) and twin is not clf and twin.backbone is minilm
    assert twin.get_params() == clf.get_params() and twin.config is not clf.config
    assert is_classifier(clf)
    assert clf.set_params(epochs="4").config.epochs == 4 and clf.config.lr == 1e-5
    with pytest.raises(ConfigError, match="unknown parameter"):
        clf.set_params(epoch=4)


def test_cross_val_score_and_grid_search_on_8_shot_trec(minilm, trec8):
    clf = make_method("linear-probe", backbone=minilm, seed=0)
    scores = cross_val_score(clf, trec8.texts, trec8.labels, cv=3)
    assert scores.shape == (3,) and 0.3 < scores.mean() <= 1.0  # 6 classes: chance is 1/6
    search = GridSearchCV(make_method("linear-probe", backbone=minilm), {"c": [0.1, 10.0]}, cv=3)
    search.fit(trec8.texts, trec8.labels)
    best = search.best_estimator_
    predicted = best.predict(trec8.texts[:5])
    assert isinstance(predicted, np.ndarray) and set(predicted) <= set(best.classes_)
    assert list(best.classes_) == sorted(set(trec8.labels)) == best.labels.names


def test_class_weight_balanced_and_by_label():
    y = np.array([0, 0, 0, 1])
    np.testing.assert_allclose(class_weights("balanced", y, ["a", "b"]), [4 / 6, 2.0])
    np.testing.assert_allclose(class_weights('{"b": 3}', y, ["a", "b"]), [1.0, 3.0])
    assert class_weights(None, y, ["a", "b"]) is None
    with pytest.raises(ConfigError, match="unknown label"):
        class_weights({"c": 2.0}, y, ["a", "b"])


def test_class_weight_moves_the_decision_towards_the_weighted_class(minilm):
    texts = ["great film", "loved it", "wonderful acting", "superb", "terrible", "awful plot", "boring", "bad"]
    labels = ["pos"] * 4 + ["neg"] * 4
    probe = [make_method("linear-probe", backbone=minilm, c=1.0, class_weight=w) for w in (None, '{"pos": 20}')]
    plain, weighted = (clf.fit(texts, labels).predict_proba(["it was fine"])[0, 1] for clf in probe)
    assert weighted > plain  # column 1 is "pos"


def test_texts_cut_at_max_length_are_counted_in_a_warning(minilm):
    texts = ["word " * 40, "short one", "another short", "word " * 50]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        minilm.warn_truncated(texts, max_length=16, what="finetune")
    messages = [str(w.message) for w in caught]
    assert any("finetune: 2 of 4 texts are longer than max_length=16 tokens" in m for m in messages), messages


def test_the_fine_tuning_loss_weighs_each_example_by_its_class():
    import torch

    from agileclf.methods.heads import weighted_cross_entropy

    logits, target = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), torch.tensor([0, 1, 1])
    per_example = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    expected = (per_example * torch.tensor([1.0, 3.0, 3.0])).sum() / 7
    weighted = weighted_cross_entropy(logits, target, np.array([1.0, 3.0], dtype=np.float32))
    assert torch.allclose(weighted, expected)
    assert torch.allclose(weighted_cross_entropy(logits, target, None), per_example.mean())
    finetune = make_method("finetune", class_weight='{"b": 3}')
    assert finetune.config.class_weight == '{"b": 3}' and clone(finetune).config.class_weight == '{"b": 3}'
