"""The ONNX Runtime path: fp32 graph equal to PyTorch, int8 close to it, cached export, artifacts without ONNX."""

from __future__ import annotations

import sys
from collections import Counter

import numpy as np
import onnx
import pytest

from agileclf.backbones import onnx as onnx_path
from agileclf.backbones.fast import embedder_for
from agileclf.backbones.onnx import OnnxEncoder
from agileclf.errors import ConfigError
from agileclf.methods import make_method
from agileclf.methods.persistence import load_classifier

TEXTS = [
    "hi",
    "how do i reset my password",
    "the weather is lovely today, so we walked along the river until the light faded " * 3,
    "refund my last order please",
    "word " * 400,  # longer than the model's 256 tokens: truncated exactly as sentence-transformers does
]
TRAIN = ["i loved this film", "a wonderful, moving story", "great acting", "brilliant and funny"]
TRAIN += ["i hated this film", "a dull, boring mess", "terrible acting", "a complete waste of time"]
LABELS = ["positive"] * 4 + ["negative"] * 4


@pytest.fixture(scope="module")
def onnx_fp32(minilm, onnx_cache):
    return OnnxEncoder(minilm, "onnx", cache_dir=onnx_cache)


@pytest.fixture(scope="module")
def onnx_int8(minilm, onnx_cache):
    return OnnxEncoder(minilm, "onnx-int8", cache_dir=onnx_cache)


def _ops(encoder) -> Counter:
    return Counter(node.op_type for node in onnx.load(str(encoder.graph_path)).graph.node)


def test_onnx_fp32_embeddings_equal_pytorch_batched_and_one_by_one(minilm, onnx_fp32):
    reference = minilm.embed(TEXTS)
    batched = onnx_fp32.embed(TEXTS)
    single = np.vstack([onnx_fp32.embed([text]) for text in TEXTS])
    pairs = onnx_fp32.embed(TEXTS, batch_size=2)
    assert batched.shape == (len(TEXTS), minilm.dim) and batched.dtype == np.float32
    for vectors in (batched, single, pairs):
        assert np.abs(vectors - reference).max() < 1e-4
    assert onnx_fp32.embed([]).shape == (0, minilm.dim)


def test_onnx_int8_embeddings_stay_close_to_fp32(minilm, onnx_int8):
    reference = minilm.embed(TEXTS, normalize=True)
    quantized = onnx_int8.embed(TEXTS, normalize=True)
    cosine = np.sum(reference * quantized, axis=1)
    assert cosine.mean() > 0.98 and cosine.min() > 0.95
    ops = _ops(onnx_int8)
    assert ops["MatMulInteger"] == 6 * 6  # q, k, v, attention output, FFN in and out of each of the 6 layers
    assert ops["FastGelu"] == 6
    np.testing.assert_allclose(np.linalg.norm(quantized, axis=1), 1.0, rtol=1e-5)


def test_export_happens_once_per_model(minilm, onnx_int8, onnx_cache, monkeypatch):
    def no_export(*args, **kwargs):
        raise AssertionError("the cached graph should have been reused")

    monkeypatch.setattr(onnx_path, "export_fp32", no_export)
    again = OnnxEncoder(minilm, "onnx-int8", cache_dir=onnx_cache)
    assert again.graph_path == onnx_int8.graph_path
    np.testing.assert_array_equal(again.embed(TEXTS[:2]), onnx_int8.embed(TEXTS[:2]))


def test_onnx_int8_classifier_saves_without_onnxruntime_then_loads_and_predicts_the_same(minilm, tmp_path, monkeypatch):
    clf = make_method(
        "contrastive",
        backbone=minilm,
        min_steps=3,
        steps_per_label=0,
        passes=1,
        batch_size=8,
        lr=1e-4,
        seed=0,
        inference="onnx-int8",
    ).fit(TRAIN, LABELS)
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now fails as if not installed
        saved = clf.save(tmp_path / "clf")  # saving needs no onnxruntime
        with pytest.raises(ConfigError, match=r"pip install 'agileclf\[fast\]'"):
            clf.predict(TRAIN)
        with pytest.raises(ConfigError, match="onnxruntime"):
            embedder_for(minilm, "onnx")
    assert not [p for p in saved.rglob("*") if p.suffix in (".onnx", ".pkl", ".pt", ".bin")]
    expected = clf.predict_proba(TRAIN)
    loaded = load_classifier(saved)
    assert loaded.config.inference == "onnx-int8"
    np.testing.assert_allclose(loaded.predict_proba(TRAIN), expected, atol=1e-6)
    assert loaded._embedder.graph_path == clf._embedder.graph_path  # rebuilt from the saved weights: same graph
    assert loaded.predict(TRAIN).tolist() == clf.predict(TRAIN).tolist() == LABELS
