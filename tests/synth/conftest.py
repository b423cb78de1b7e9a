"""A tiny causal LM (untrained 2-layer Llama, byte-level BPE tokenizer) and few-shot data for the synthesis tests."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "methods" / "causal"))
from causal_synthetic import build_model, build_tokenizer, pretraining_document, task_split  # noqa: E402


@pytest.fixture(scope="package", autouse=True)
def _one_thread():
    """One torch thread: tiny matrices gain nothing from more, and sampling is then bit-reproducible."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="package")
def tiny_writer(tmp_path_factory):
    """Folder of an untrained tiny causal LM: it samples arbitrary token strings, which is all the loop needs."""
    directory = tmp_path_factory.mktemp("tiny-writer")
    corpus = [pretraining_document(random.Random(i)) for i in range(300)]
    tokenizer = build_tokenizer(corpus, directory)
    build_model(len(tokenizer), hidden=32).save_pretrained(str(directory))
    return directory


@pytest.fixture()
def few_shot_file(tmp_path):
    """4 real examples per class of the synthetic task, as JSONL with ids."""
    texts, labels = task_split(4, seed=5)
    path = tmp_path / "real.jsonl"
    pairs = enumerate(zip(texts, labels, strict=True))
    rows = [json.dumps({"id": f"r{i}", "text": t, "label": y}) for i, (t, y) in pairs]
    path.write_text("\n".join(rows) + "\n")
    return path
