"""`auto` on a causal LM: zero-shot vs LoRA cross-validated on the examples, the winner refitted and saved."""

from __future__ import annotations

import numpy as np
import pytest

from agileclf.backbones import load_backbone
from agileclf.errors import ConfigError
from agileclf.methods import make_method
from agileclf.methods.persistence import load_classifier

# what test_learning.py gives lora on the tiny model; zero-shot takes prompt_search too, not the training settings
LORA = {"min_steps": 80, "lr": 1e-2, "target_modules": ["all-linear"], "merge": False, "prompt_search": "off"}


def test_auto_on_a_causal_lm_picks_lora_by_cv_and_becomes_it(tiny_lm, task, tmp_path):
    backbone = load_backbone(tiny_lm)
    (train_x, train_y), _, (test_x, test_y) = task
    # 8 per label: below min_cv_per_label auto would take lora without a contest; this checks the contest
    clf = make_method("auto", backbone=backbone, candidate_params=LORA, min_cv_per_label=0).fit(train_x, train_y)
    assert clf.candidates == ["zero-shot", "lora"]  # the causal default
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
    with pytest.raises(ConfigError, match="candidate_params min_stepz: no candidate \\(zero-shot, lora\\) takes it"):
        clf.fit(train_x, train_y)
