"""The causal-LM methods learn a new task on a tiny pretrained Llama (CPU, seconds each).

4 labels, chance 25%; 8 train examples per class, 4 validation, 80 test texts; the tiny 2-layer Llama is
pretrained 2400 steps on one thread (see causal_synthetic.py). Prompt tuning is seed- and model-sensitive, as
Lester et al. report for small models, so the soft-prompt assertion is on the mean over three seeds; IPT starts
from random embeddings.

Measured on 2026-12-01 with the locked versions (transformers 5.24, peft 0.21.2, torch 2.13; requirements.lock),
tiny-model figures: zero-shot 0% (it answers in the common dialect), lora 100%, finetune 100%, prompt-tuning
100 / 100 / 100% and ipt 100 / 100 / 100% on seeds 0, 1, 2 (both also 100 / 100 / 100% on a model pretrained
with seed 1). On another CPU (AMX Xeon, 2026-12-03) the same versions pretrained a slightly different tiny model, on
which finetune's loss was still falling after 80 updates (88.75%); with 120 it reaches 97.5%. Since 2026-12-07
the pretrained model is committed (tiny_llama/, built on the 2-core machine), so every machine tests the same one.
With the earlier 800 pretraining steps these versions gave zero-shot 12.5%, lora and finetune 97.5%,
prompt-tuning 45% and ipt 39%: that model had learned only the `mode0` marker, so the frozen model held no cue
for the task's dialect for a soft prompt to find (training and scoring agree: test_soft_prompt_agreement.py).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from agileclf.backbones import load_backbone
from agileclf.errors import BackboneError
from agileclf.methods import make_method
from agileclf.methods.causal.lora import wrap_lora
from agileclf.methods.persistence import load_classifier

# The tiny model knows one prompt layout (classify, no chat): the prompt search is off here (it is tested on the
# real model and in test_tokenization.py). LoRA stays unmerged so its base weights can be compared.
SETTINGS = {
    "zero-shot": {"prompt_search": "off"},
    "prompt-tuning": {"num_virtual_tokens": 8, "prompt_init": "text", "min_steps": 300, "prompt_search": "off"},
    "ipt": {"num_virtual_tokens": 20, "prompt_init": "random", "min_steps": 300, "prompt_search": "off"},
    "lora": {"min_steps": 80, "lr": 1e-2, "target_modules": ["all-linear"], "merge": False, "prompt_search": "off"},
    "finetune": {"min_steps": 120, "lr": 1e-3, "prompt_search": "off"},
}
SOFT_PROMPT_SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def backbone(tiny_lm):
    return load_backbone(tiny_lm)


@pytest.fixture(scope="module")
def fitted(backbone, task):
    """Each method fitted once on the task; also the frozen weights before any training."""
    (train_x, train_y), valid, _ = task
    frozen = {k: v.clone() for k, v in backbone.model.state_dict().items()}
    classifiers = {
        name: make_method(name, backbone=backbone, **params).fit(train_x, train_y, valid=valid)
        for name, params in SETTINGS.items()
    }
    return classifiers, frozen


def accuracy(clf, split) -> float:
    texts, labels = split
    return float(np.mean(np.array(clf.predict(texts)) == np.array(labels)))


def test_methods_learn_the_task(fitted, task, backbone):
    classifiers, _ = fitted
    (train_x, train_y), valid, test = task
    scores = {name: accuracy(clf, test) for name, clf in classifiers.items()}
    for name in ("prompt-tuning", "ipt"):
        runs = [scores[name]] + [
            accuracy(
                make_method(name, backbone=backbone, seed=seed, **SETTINGS[name]).fit(train_x, train_y, valid), test
            )
            for seed in SOFT_PROMPT_SEEDS[1:]
        ]
        scores[name] = float(np.mean(runs))
    print("held-out accuracy:", scores)
    assert scores["zero-shot"] <= 0.35
    assert scores["lora"] >= 0.9
    assert scores["finetune"] >= 0.9
    for name in ("prompt-tuning", "ipt"):
        assert scores[name] >= 0.9, (name, scores[name])


def test_prompt_tuning_and_lora_leave_base_weights_bit_identical(fitted, backbone):
    classifiers, frozen = fitted
    now = backbone.model.state_dict()
    assert all(torch.equal(frozen[k], now[k]) for k in frozen)  # the shared model: prompt tuning, ipt
    lora = classifiers["lora"].model
    changed = []
    for name, tensor in lora.state_dict().items():
        if "lora_" in name:
            changed.append(name)
            continue
        base_name = name.replace(".base_layer", "")
        assert torch.equal(tensor, frozen[base_name]), name
    assert changed and any(torch.count_nonzero(classifiers["lora"].adapter[k]) for k in classifiers["lora"].adapter)
    assert set(classifiers["prompt-tuning"]._state_tensors()) == {"prompt_embeddings"}


@pytest.mark.parametrize("name", ["prompt-tuning", "lora", "finetune", "ipt"])
def test_save_load_gives_identical_probabilities(fitted, task, tmp_path, name):
    clf = fitted[0][name]
    texts = task[2][0][:12]
    clf.save(tmp_path / name)
    again = load_classifier(tmp_path / name)
    np.testing.assert_array_equal(again.predict_proba(texts), clf.predict_proba(texts))


def test_loading_against_another_base_model_is_a_clear_error(fitted, tmp_path, other_lm):
    fitted[0]["lora"].save(tmp_path / "lora")
    with pytest.raises(BackboneError, match="different model"):
        load_classifier(tmp_path / "lora", backbone=other_lm)


def test_wrapping_lora_hides_peft_reading_a_deprecated_transformers_property(backbone):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrap_lora(backbone, 4, 8.0, 0.0, [])
    assert not [w for w in caught if "is_gradient_checkpointing" in str(w.message)]
