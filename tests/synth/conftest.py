"""A tiny causal LM (untrained 2-layer Llama, byte-level BPE tokenizer) and few-shot data for the synthesis tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "methods" / "causal"))
from causal_synthetic import build_untrained, single_torch_thread, task_split  # noqa: E402


@pytest.fixture(scope="package", autouse=True)
def _one_thread():
    with single_torch_thread():
        yield


@pytest.fixture(scope="package")
def tiny_writer(tmp_path_factory):
    """Folder of an untrained tiny causal LM: it samples arbitrary token strings, which is all the loop needs."""
    return build_untrained(tmp_path_factory.mktemp("tiny-writer"), hidden=32)


@pytest.fixture()
def few_shot_file(tmp_path):
    """4 real examples per class of the synthetic task, as JSONL with ids."""
    texts, labels = task_split(4, seed=5)
    path = tmp_path / "real.jsonl"
    pairs = enumerate(zip(texts, labels, strict=True))
    rows = [json.dumps({"id": f"r{i}", "text": t, "label": y}) for i, (t, y) in pairs]
    path.write_text("\n".join(rows) + "\n")
    return path
