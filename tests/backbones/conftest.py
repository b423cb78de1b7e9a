"""ONNX graphs exported by these tests go to one temporary cache for the session, never the user's."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(autouse=True)
def _onnx_cache_env(onnx_cache, monkeypatch):
    monkeypatch.setenv("AGILECLF_ONNX_CACHE", str(onnx_cache))
