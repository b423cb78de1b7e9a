"""ensemble across backbones: a causal LM member and an encoder member, fitted, averaged, saved and loaded."""

from __future__ import annotations

import numpy as np

from agileclf.backbones import load_backbone
from agileclf.backbones.kinds import BUNDLED_MINILM
from agileclf.methods import make_method
from agileclf.methods.ensemble import CAUSAL_PAIR
from agileclf.methods.persistence import load_classifier

FINETUNE = {"min_steps": 120, "lr": 1e-3, "prompt_search": "off"}  # test_auto_causal.py's tiny-model settings


def test_an_ensemble_of_a_causal_lm_and_the_encoder_saves_and_loads_both(tiny_lm, task, tmp_path):
    backbone = load_backbone(tiny_lm)
    assert make_method("ensemble", backbone=backbone).member_specs == CAUSAL_PAIR
    (train_x, train_y), _, (test_x, test_y) = task
    members = ["finetune", f"linear-probe@{BUNDLED_MINILM}"]
    clf = make_method("ensemble", backbone=backbone, members=members, member_params=FINETUNE).fit(train_x, train_y)
    tuned, probe = clf.members
    assert tuned.backbone.kind == "causal-lm" and probe.backbone.kind == "encoder" and tuned.config.min_steps == 120
    proba = clf.predict_proba(test_x)
    np.testing.assert_allclose(proba, (tuned.predict_proba(test_x) + probe.predict_proba(test_x)) / 2, atol=1e-6)
    assert float(np.mean(tuned.predict(test_x) == np.array(test_y))) >= 0.85  # the causal member learned the task
    clf.save(tmp_path / "m")
    loaded = load_classifier(tmp_path / "m", backbone=backbone)
    assert [m.name for m in loaded.members] == ["finetune", "linear-probe"]
    assert loaded.members[1].backbone.ref == BUNDLED_MINILM
    np.testing.assert_allclose(loaded.predict_proba(test_x[:8]), proba[:8], atol=1e-5)
