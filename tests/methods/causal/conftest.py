"""A tiny Llama-style model and byte-level BPE tokenizer, built and "pretrained" once per test session."""

from __future__ import annotations

import pytest
from causal_synthetic import build_model, build_pretrained, build_tokenizer, pretraining_document, task_split  # noqa: I001


@pytest.fixture(scope="package", autouse=True)
def _one_thread():
    """One torch thread for these tests: the tiny model and its training are then bit-identical on every run of
    the same machine type (thread count changes float summation order), and tiny matrices gain nothing from more."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="package")
def tiny_lm(tmp_path_factory, _one_thread):
    """Folder of the pretrained tiny causal LM (save_pretrained layout)."""
    return build_pretrained(tmp_path_factory.mktemp("tiny-llama"), steps=800)


@pytest.fixture(scope="session")
def other_lm(tmp_path_factory):
    """A different tiny causal LM (another width), for wrong-base-model errors."""
    import random

    directory = tmp_path_factory.mktemp("other-llama")
    corpus = [pretraining_document(random.Random(i)) for i in range(300)]
    tokenizer = build_tokenizer(corpus, directory)
    build_model(len(tokenizer), hidden=32).save_pretrained(str(directory))
    return directory


@pytest.fixture(scope="session")
def task():
    """Train (8 per class), validation (4 per class) and test (20 per class) splits of the synthetic task."""
    return task_split(8, seed=1), task_split(4, seed=3), task_split(20, seed=2)
