"""contrastive: in-batch triplet tuning of the encoder (linear cost), a logistic head, save/load, int8 path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agileclf.errors import ConfigError
from agileclf.methods import make_method
from agileclf.methods.contrastive import ContrastiveConfig, training_steps
from agileclf.methods.persistence import load_classifier

TEXTS = [
    "i loved this film",
    "a wonderful, moving story",
    "great acting throughout",
    "brilliant and funny",
    "i hated this film",
    "a dull, boring mess",
    "terrible acting throughout",
    "a complete waste of time",
]
LABELS = ["positive"] * 4 + ["negative"] * 4


def test_training_cost_is_linear_in_the_data_and_the_labels():
    cfg = ContrastiveConfig()
    assert training_steps(16, 2, cfg) == cfg.min_steps  # a handful of examples still gets min_steps updates
    # massive_en at 64 shots: 60 classes x 64 = 3,840 examples -> 960 updates, where all pairs would be ~7.4 million
    assert training_steps(3840, 60, cfg) == 960
    assert training_steps(38400, 60, cfg) == 10 * training_steps(3840, 60, cfg)
    # many labels, few examples each: 16 updates per label (massive_en at 8 shots: 480 examples, 60 intents)
    assert training_steps(480, 60, cfg) == 960 and training_steps(480, 60, ContrastiveConfig(steps_per_label=0)) == 160
    assert training_steps(165, 28, cfg) == 448  # GoEmotions at 8 per label


def test_bad_parameters_are_user_errors():
    with pytest.raises(ConfigError, match="loss must be one of"):
        make_method("contrastive", loss="all-pairs")
    with pytest.raises(ConfigError, match="even"):
        make_method("contrastive", batch_size=5)


@pytest.fixture(scope="module")
def fitted(minilm):
    clf = make_method(
        "contrastive", backbone=minilm, min_steps=3, steps_per_label=0, passes=1, batch_size=8, lr=1e-4, seed=0
    )
    return clf.fit(TEXTS, LABELS)


def test_fit_tunes_a_copy_of_the_encoder_and_predicts_probabilities(fitted, minilm):
    assert fitted.steps == 3
    tuned = dict(fitted.backbone.model.named_parameters())
    frozen = dict(minilm.model.named_parameters())
    name = next(n for n in frozen if "encoder.layer.5" in n and n.endswith("weight"))
    assert not torch.equal(tuned[name], frozen[name])  # the encoder moved
    assert fitted.backbone.model is not minilm.model  # the shared backbone did not
    proba = fitted.predict_proba(["what a lovely film", "so boring"])
    assert proba.shape == (2, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert fitted.predict(TEXTS).tolist() == LABELS


def test_save_and_load_give_the_same_probabilities(fitted, tmp_path):
    fitted.save(tmp_path / "clf")
    loaded = load_classifier(tmp_path / "clf")
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), fitted.predict_proba(TEXTS), atol=1e-5)


def test_int8_inference_agrees_with_fp32(fitted, tmp_path):
    fitted.save(tmp_path / "clf")
    fast = load_classifier(tmp_path / "clf")
    fast.config.inference = "int8"
    assert fast.predict(TEXTS).tolist() == fitted.predict(TEXTS).tolist()
    np.testing.assert_allclose(fast.predict_proba(TEXTS), fitted.predict_proba(TEXTS), atol=0.15)


def test_batch_cosine_loss_is_setfits_objective_over_in_batch_pairs():
    from agileclf.methods.contrastive import BatchCosineSimilarityLoss

    class Identity(torch.nn.Module):
        def forward(self, features):
            return {"sentence_embedding": features["x"]}

    loss = BatchCosineSimilarityLoss(Identity())
    labels = torch.tensor([0, 0, 1, 1])
    separated = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    assert loss([{"x": separated}], labels).item() == pytest.approx(0.0)
    mixed = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    # same-label pairs at cosine 0 cost 1 each; different-label pairs cost 1, 0, 0, 1: (1 + 0.5) / 2
    assert loss([{"x": mixed}], labels).item() == pytest.approx(0.75)


def test_batch_cosine_tuning_pulls_classes_apart(minilm):
    def class_margin(backbone):
        vectors = backbone.embed(TEXTS, normalize=True)
        similarity = vectors @ vectors.T
        same = np.equal.outer(LABELS, LABELS) & ~np.eye(len(TEXTS), dtype=bool)
        return similarity[same].mean() - similarity[~np.equal.outer(LABELS, LABELS)].mean()

    clf = make_method(
        "contrastive", backbone=minilm, loss="batch-cosine", min_steps=8, steps_per_label=0, batch_size=8, lr=1e-4
    )
    clf.fit(TEXTS, LABELS)
    assert class_margin(clf.backbone) > class_margin(minilm) + 0.2


def test_contrastive_without_same_label_pairs_says_so_instead_of_being_a_linear_probe(minilm):
    from agileclf.errors import DataError

    clf = make_method("contrastive", backbone=minilm, min_steps=2, steps_per_label=0)
    with pytest.raises(DataError, match=r"two labels with two or more examples.*a \(2\), b \(1\), c \(1\)"):
        clf.fit(["x one", "x two", "y one", "z one"], ["a", "a", "b", "c"])
