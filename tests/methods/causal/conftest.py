"""A tiny Llama-style model and byte-level BPE tokenizer, built and "pretrained" once per test session."""

from __future__ import annotations

import pytest
from causal_synthetic import build_untrained, committed_pretrained, single_torch_thread, task_split  # noqa: I001


@pytest.fixture(scope="package", autouse=True)
def _one_thread():
    with single_torch_thread():
        yield


@pytest.fixture(scope="package")
def tiny_lm(tmp_path_factory, _one_thread):
    """Folder of the pretrained tiny causal LM (save_pretrained layout), a copy the tests may write into."""
    return committed_pretrained(tmp_path_factory.mktemp("tiny-llama"), steps=2400)


@pytest.fixture(scope="session")
def other_lm(tmp_path_factory):
    """A different tiny causal LM (another width), for wrong-base-model errors."""
    return build_untrained(tmp_path_factory.mktemp("other-llama"), hidden=32)


@pytest.fixture(scope="session")
def task():
    """Train (8 per class), validation (4 per class) and test (20 per class) splits of the synthetic task."""
    return task_split(8, seed=1), task_split(4, seed=3), task_split(20, seed=2)
