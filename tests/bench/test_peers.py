"""Peers follow the method interface: columns in label order, rows summing to 1."""

from __future__ import annotations

import numpy as np
import pytest

from agileclf.bench.peers import make_peer
from agileclf.data import LabelSet
from agileclf.errors import ConfigError

TEXTS = ["great film", "loved it", "wonderful acting", "awful film", "hated it", "boring acting"]
LABELS = ["pos", "pos", "pos", "neg", "neg", "neg"]


def test_tfidf_peer_learns_words_and_keeps_label_order():
    label_set = LabelSet(["pos", "neg", "unused"])
    peer = make_peer("tfidf", seed=0).fit(TEXTS, LABELS, label_set=label_set)
    proba = peer.predict_proba(["loved the acting", "hated the film"])
    assert proba.shape == (2, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert proba[:, 2].max() == 0.0  # a label absent from training is never predicted
    assert proba[0].argmax() == 0 and proba[1].argmax() == 1


def test_unknown_peer_is_a_user_error():
    with pytest.raises(ConfigError, match="available: setfit, tfidf"):
        make_peer("gpt", seed=0)


def test_setfit_peer_trains_offline_on_the_bundled_backbone(minilm, monkeypatch, capfd):
    pytest.importorskip("setfit")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    peer = make_peer("setfit", seed=0, backbone_path=minilm.path, num_iterations=1, num_epochs=1)
    peer.fit(TEXTS, LABELS, label_set=LabelSet(["neg", "pos"]))
    printed = "".join(capfd.readouterr())
    assert "Running training" not in printed and "embedding_loss" not in printed  # the suite runs --quiet
    proba = peer.predict_proba(["loved it", "hated it"])
    assert proba.shape == (2, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
