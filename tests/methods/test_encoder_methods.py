"""The three encoder methods learn, save, reload to identical probabilities, and are deterministic."""

import warnings

import numpy as np
import pytest

from agileclf import load_classifier
from agileclf.data import LabelSet
from agileclf.errors import ConfigError, DataError
from agileclf.methods import make_method

TRAIN = {
    "weather": ["will it rain tomorrow", "how hot is it outside", "is snow expected tonight", "forecast for the week"],
    "music": ["play some jazz", "skip this song", "turn the volume of the song up", "put on my running playlist"],
    "alarm": ["wake me at six", "set an alarm for 7 am", "cancel my morning alarm", "snooze the alarm please"],
}
TEST = {
    "weather": ["do I need an umbrella today", "what's the temperature in paris"],
    "music": ["play the latest album by adele", "next track"],
    "alarm": ["set a wake up alarm for tomorrow", "remove all alarms"],
}


def flatten(data):
    return [t for ts in data.values() for t in ts], [label for label, ts in data.items() for _ in ts]


@pytest.fixture(scope="module")
def fitted(minilm):
    texts, labels = flatten(TRAIN)
    return {
        name: make_method(name, backbone=minilm, **params).fit(texts, labels)
        for name, params in [("zero-shot", {}), ("linear-probe", {}), ("finetune", {"min_steps": 30})]
    }


@pytest.mark.parametrize("name", ["zero-shot", "linear-probe", "finetune"])
def test_methods_classify_held_out_texts(fitted, name):
    texts, labels = flatten(TEST)
    classifier = fitted[name]
    proba = classifier.predict_proba(texts)
    assert proba.shape == (6, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    accuracy = np.mean([p == y for p, y in zip(classifier.predict(texts), labels, strict=True)])
    assert accuracy >= 5 / 6, (name, classifier.predict(texts))


@pytest.mark.parametrize("name", ["zero-shot", "linear-probe", "finetune"])
def test_save_load_gives_identical_probabilities(fitted, name, tmp_path, minilm):
    texts, _ = flatten(TEST)
    classifier = fitted[name]
    classifier.save(tmp_path / name)
    loaded = load_classifier(tmp_path / name, backbone=None if name == "finetune" else minilm)
    assert loaded.labels.names == classifier.labels.names
    np.testing.assert_allclose(loaded.predict_proba(texts), classifier.predict_proba(texts), atol=1e-6)


def test_finetune_leaves_the_shared_backbone_untouched(fitted, minilm):
    before = minilm.embed(["play some jazz"])
    assert fitted["finetune"].backbone is not minilm
    tuned = fitted["finetune"].backbone.embed(["play some jazz"])
    assert not np.allclose(before, tuned)
    np.testing.assert_array_equal(before, minilm.embed(["play some jazz"]))


def test_same_seed_same_model(minilm):
    texts, labels = flatten(TRAIN)
    test_texts, _ = flatten(TEST)
    runs = [make_method("finetune", minilm, min_steps=8, seed=3).fit(texts, labels) for _ in range(2)]
    np.testing.assert_allclose(runs[0].predict_proba(test_texts), runs[1].predict_proba(test_texts), atol=1e-6)


def test_bf16_finetune_on_cpu_trains_in_bf16_and_predicts_like_its_saved_copy(minilm, tmp_path):
    # the shared loop takes bf16 on a CPU too (it was GPU-only: -p mixed_precision=bf16 did nothing here)
    texts, labels = flatten(TRAIN)
    test_texts, _ = flatten(TEST)
    bf16 = make_method("finetune", minilm, min_steps=8, seed=3, mixed_precision="bf16").fit(texts, labels)
    fp32 = make_method("finetune", minilm, min_steps=8, seed=3).fit(texts, labels)
    assert not np.allclose(bf16.predict_proba(test_texts), fp32.predict_proba(test_texts), atol=1e-6)
    bf16.save(tmp_path / "bf16")
    np.testing.assert_allclose(load_classifier(tmp_path / "bf16").predict_proba(test_texts),
                               bf16.predict_proba(test_texts), atol=1e-6)  # fmt: skip


def test_zero_shot_needs_no_examples_and_uses_descriptions(minilm):
    labels = LabelSet(["neg", "pos"], {"neg": "a negative, bad review", "pos": "a positive, good review"})
    classifier = make_method("zero-shot", minilm).fit([], [], label_set=labels)
    assert classifier.predict(["terrible, a waste of time", "wonderful, loved it"]).tolist() == ["neg", "pos"]


def test_zero_shot_warns_when_label_names_have_no_words(minilm):
    with pytest.warns(UserWarning, match=r"'0', '1' have no words of their own, so it can only guess.*--labels FILE"):
        make_method("zero-shot", minilm).fit([], [], label_set=LabelSet(["0", "1"]))
    with pytest.warns(UserWarning, match=r"'LABEL_0', 'LABEL_1' have no words of their own"):
        make_method("zero-shot", minilm).fit([], [], label_set=LabelSet(["LABEL_0", "LABEL_1"]))
    described = LabelSet(["0", "1"], {"0": "a negative review", "1": "a positive review"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_method("zero-shot", minilm).fit([], [], label_set=described)


def test_errors_before_fit_and_without_data(minilm):
    with pytest.raises(ConfigError, match="not fitted yet"):
        make_method("linear-probe", minilm).predict(["x"])
    with pytest.raises(DataError, match="needs training examples"):
        make_method("linear-probe", minilm).fit([], [], label_set=LabelSet(["a", "b"]))
    with pytest.raises(DataError, match="at least 2 labels"):
        make_method("linear-probe", minilm).fit(["x", "y"], ["a", "a"])


@pytest.mark.parametrize("name", ["linear-probe", "finetune"])
def test_int8_inference_predicts_like_fp32_and_survives_save(fitted, name, tmp_path):
    texts, _ = flatten(TEST)
    classifier = fitted[name]
    classifier.save(tmp_path / name)
    fast = load_classifier(tmp_path / name, backbone=None if name == "finetune" else fitted["linear-probe"].backbone)
    fast.config.inference = "int8"
    assert fast.predict(texts).tolist() == classifier.predict(texts).tolist()
    np.testing.assert_allclose(fast.predict_proba(texts), classifier.predict_proba(texts), atol=0.15)
    assert not np.allclose(fast.predict_proba(texts), classifier.predict_proba(texts), atol=1e-6)  # int8 ran


def test_a_refit_predicts_with_the_new_encoder_not_a_stale_fast_copy(minilm):
    texts, labels = flatten(TRAIN)
    classifier = make_method("finetune", backbone=minilm, min_steps=10, inference="int8", seed=0)
    first = classifier.fit(texts, labels).predict_proba(texts)
    swapped = {"weather": "music", "music": "alarm", "alarm": "weather"}
    second = classifier.fit(texts, [swapped[label] for label in labels]).predict_proba(texts)
    assert classifier.predict(texts).tolist() == [swapped[label] for label in labels]
    assert not np.allclose(first, second)


def test_unknown_inference_precision_is_refused(minilm):
    with pytest.raises(ConfigError, match="inference must be one of fp32, int8, onnx, onnx-int8"):
        make_method("linear-probe", backbone=minilm, inference="fp16")


def _weights(classifier) -> dict:
    """Every learned number of a fitted classifier: the encoder's weights and the head's."""
    tensors = {f"encoder.{k}": v for k, v in classifier.backbone.model.state_dict().items()}
    return tensors | {f"head.{k}": v for k, v in classifier._state_tensors().items()}


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("finetune", {"min_steps": 4}),
        ("contrastive", {"min_steps": 3, "steps_per_label": 0, "passes": 1, "batch_size": 8}),
        ("multitask", {"task": "intent", "epochs": 1}),
    ],
)
def test_a_second_fit_equals_one_fit_on_a_fresh_object_bit_for_bit(minilm, name, params):
    import torch

    texts, labels = flatten(TRAIN)
    swapped = ["music" if label == "weather" else label for label in labels]
    refit = make_method(name, backbone=minilm, seed=0, **params).fit(texts, swapped).fit(texts, labels)
    fresh = make_method(name, backbone=minilm, seed=0, **params).fit(texts, labels)
    mine, theirs = _weights(refit), _weights(fresh)
    assert mine.keys() == theirs.keys()
    assert all(torch.equal(torch.as_tensor(mine[k]), torch.as_tensor(theirs[k])) for k in mine), name
    assert refit.backbone.origin is minilm and fresh.backbone.origin is minilm
