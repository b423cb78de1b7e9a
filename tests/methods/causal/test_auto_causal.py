"""`auto` on a causal LM: its default candidates, the contest by cross-validation, and the fit without one."""

from __future__ import annotations

import numpy as np
import pytest

from agileclf.backbones import load_backbone
from agileclf.errors import ConfigError
from agileclf.methods import make_method
from agileclf.methods.persistence import load_classifier

# what test_learning.py gives lora and finetune on the tiny model; zero-shot takes prompt_search too
LORA = {"min_steps": 80, "lr": 1e-2, "target_modules": ["all-linear"], "merge": False, "prompt_search": "off"}
FINETUNE = {"min_steps": 120, "lr": 1e-3, "prompt_search": "off"}


def test_full_fine_tuning_is_a_default_candidate_only_on_a_small_model(tiny_lm, monkeypatch):
    backbone = load_backbone(tiny_lm)
    assert make_method("auto", backbone=backbone).candidates == ["zero-shot", "lora", "finetune"]
    monkeypatch.setattr(backbone.model, "num_parameters", lambda: 1_000_000_000)  # a 1B model: LoRA is the last
    assert make_method("auto", backbone=backbone).candidates == ["zero-shot", "lora"]
    assert make_method("auto", backbone=backbone, candidates=["finetune"]).candidates == ["finetune"]


def test_below_min_cv_per_label_auto_fine_tunes_without_a_contest(tiny_lm, task):
    backbone = load_backbone(tiny_lm)
    (train_x, train_y), _, (test_x, test_y) = task
    clf = make_method("auto", backbone=backbone, candidate_params=FINETUNE).fit(train_x, train_y)  # 8 per label
    assert clf.choice["chosen"] == "finetune" and clf.chosen.name == "finetune"
    assert "under min_cv_per_label=20" in clf.choice["reason"] and clf.chosen.config.min_steps == 120
    assert float(np.mean(clf.predict(test_x) == np.array(test_y))) >= 0.85


def test_auto_on_a_causal_lm_picks_lora_by_cv_and_becomes_it(tiny_lm, task, tmp_path):
    backbone = load_backbone(tiny_lm)
    (train_x, train_y), _, (test_x, test_y) = task
    # 8 per label: below min_cv_per_label auto would take lora without a contest; this checks the contest
    clf = make_method(
        "auto", backbone=backbone, candidates=["zero-shot", "lora"], candidate_params=LORA, min_cv_per_label=0
    ).fit(train_x, train_y)
    report = clf.choice["candidates"]
    assert report["zero-shot"]["cv_accuracy"] <= 0.35  # the tiny model answers in another dialect unless tuned
    assert report["lora"]["cv_accuracy"] >= 0.8 and clf.choice["chosen"] == "lora"
    assert clf.chosen.config.min_steps == 80 and clf.chosen.config.target_modules == ["all-linear"]
    assert float(np.mean(clf.predict(test_x) == np.array(test_y))) >= 0.9
    clf.save(tmp_path / "m")
    loaded = load_classifier(tmp_path / "m", backbone=backbone)
    assert loaded.name == "lora" and loaded.meta["auto"]["chosen"] == "lora"
    np.testing.assert_allclose(loaded.predict_proba(test_x[:8]), clf.predict_proba(test_x[:8]), atol=1e-5)


def test_a_candidate_parameter_that_no_candidate_takes_is_an_error(tiny_lm, task):
    (train_x, train_y), _, _ = task
    clf = make_method("auto", backbone=load_backbone(tiny_lm), candidate_params={"min_stepz": 5})
    unused = "candidate_params min_stepz: no candidate \\(zero-shot, lora, finetune\\) takes it"
    with pytest.raises(ConfigError, match=unused):
        clf.fit(train_x, train_y)
