"""The optional second real LLM: Gemma 3 270M (base) from its four chunk wheels, when the user installed them.

Never a default dependency (Gemma Terms of Use), so CI skips this module; where the chunks are installed it checks
what only the real chunks show: they join, in order, into the GGUF whose sha256 keys the cache, the converted
folder reads as a base model (no chat template, BOS added), and zero-shot on 20 SST-2 sentences beats chance.
Conversion takes about a minute on 2 cores (253 MB joined, then dequantised).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from agileclf.backbones import bundled, load_backbone
from agileclf.methods import make_method

GEMMA = bundled.BUNDLED_CAUSAL["gemma3-270m"]
MISSING = GEMMA.missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"optional: {MISSING}")


@pytest.fixture(scope="module")
def gemma(gemma3_cache):
    backbone = load_backbone("gemma3-270m")  # from the temporary cache gemma3_cache keeps set
    backbone.model  # noqa: B018 - load once here
    return gemma3_cache[1], backbone


def test_the_chunks_join_into_the_cached_gguf(gemma):
    folder, backbone = gemma
    parts = GEMMA.gguf_parts()
    assert [p.name[-2:] for p in parts] == ["00", "01", "02", "03"]  # .gguf.part00 ... part03, in order
    with parts[0].open("rb") as head:
        assert head.read(4) == b"GGUF"
    manifest = json.loads((folder / bundled.MANIFEST).read_text())
    assert manifest["gguf_sha256"] == bundled.sha256_files(parts) and folder.name.endswith(manifest["gguf_sha256"][:16])
    assert backbone.ref == "gemma3-270m" and backbone.model.config.num_hidden_layers == 18


def test_it_reads_as_a_base_model(gemma):
    _, backbone = gemma
    assert not backbone.has_chat_template
    ids = backbone.tokenizer("The capital of France is")["input_ids"]
    assert ids[0] == backbone.tokenizer.bos_token_id  # Gemma reads garbage without its BOS


def test_zero_shot_on_sst2_is_above_chance(gemma, sst2, sst2_train):
    texts, labels = sst2
    clf = make_method("zero-shot", backbone=gemma[1]).fit(*sst2_train)  # the examples choose the prompt only
    accuracy = float(np.mean(np.array(clf.predict(texts)) == np.array(labels)))
    assert accuracy >= 0.7, (accuracy, clf.config)  # constant answers get 0.35 or 0.65
