"""ONNX graphs exported by these tests go to one temporary cache for the session, never the user's; so do the
bundled causal LMs these tests convert."""

from __future__ import annotations

import contextlib
import json

import pytest

from agileclf.backbones import bundled


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(autouse=True)
def _onnx_cache_env(onnx_cache, monkeypatch):
    monkeypatch.setenv("AGILECLF_ONNX_CACHE", str(onnx_cache))


@contextlib.contextmanager
def _converted(tmp_path_factory, name: str):
    """(cache, folder): bundled model `name` converted into a new temporary cache, which stays set meanwhile."""
    cache = tmp_path_factory.mktemp("agileclf-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGILECLF_CACHE", str(cache))
        patch.setattr(bundled, "_verified", {})
        yield cache, bundled.ensure_folder(name)


@pytest.fixture(scope="module")
def smollm2_cache(tmp_path_factory):
    """SmolLM2 converted once per module (about 20 s on 2 cores)."""
    with _converted(tmp_path_factory, "smollm2-135m") as converted:
        yield converted


@pytest.fixture(scope="module")
def gemma3_cache(tmp_path_factory):
    """Gemma 3 270M converted once per module (about a minute: its chunks are joined first)."""
    with _converted(tmp_path_factory, "gemma3-270m") as converted:
        yield converted


@pytest.fixture(scope="module")
def sst2(shared_data):
    """The first 20 SST-2 test sentences and their labels."""
    rows = [json.loads(line) for line in (shared_data / "sst2" / "test.jsonl").open()]
    return [r["text"] for r in rows[:20]], [r["label"] for r in rows[:20]]


@pytest.fixture(scope="module")
def sst2_train(shared_data):
    """The first 4 training sentences of each label (what the prompt search reads)."""
    rows = [json.loads(line) for line in (shared_data / "sst2" / "train.jsonl").open()]
    picked = [r for label in ("negative", "positive") for r in [r for r in rows if r["label"] == label][:4]]
    return [r["text"] for r in picked], [r["label"] for r in picked]
