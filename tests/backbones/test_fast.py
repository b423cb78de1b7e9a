"""The int8 prediction path: same embeddings up to quantisation noise, int8 Linear layers, fp32 by default."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agileclf.backbones.fast import embedder_for, int8_encoder
from agileclf.errors import ConfigError

TEXTS = ["how do i reset my password", "the weather is lovely today", "refund my last order please"]


def test_int8_embeddings_stay_close_to_fp32(minilm):
    fast = int8_encoder(minilm)
    reference = minilm.embed(TEXTS, normalize=True)
    quantized = fast.embed(TEXTS, normalize=True)
    assert quantized.shape == reference.shape and quantized.dtype == np.float32
    cosine = np.sum(reference * quantized, axis=1)
    assert cosine.min() > 0.85
    kinds = {type(m) for m in fast.model.modules()}
    assert torch.nn.Linear not in kinds  # every fp32 Linear was swapped for its int8 dynamic version
    assert torch.ao.nn.quantized.dynamic.Linear in kinds
    assert fast.embed([]).shape == (0, minilm.dim)


def test_fp32_is_the_backbone_itself_and_unknown_precisions_are_errors(minilm):
    assert embedder_for(minilm, "fp32") is minilm
    with pytest.raises(ConfigError, match="fp32, int8"):
        embedder_for(minilm, "fp4")
