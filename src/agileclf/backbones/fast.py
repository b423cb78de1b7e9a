"""Faster prediction paths: PyTorch dynamic int8 of the encoder's Linear layers, or ONNX Runtime (backbones.onnx).

MiniLM spends almost all its inference FLOPs in Linear layers; PyTorch's dynamic int8 kernels (fbgemm)
run them 2-4x faster on CPU than fp32 matmuls, at a small accuracy cost that `agileclf bench` measures.
"""

from __future__ import annotations

import copy
import warnings

from agileclf.backbones.encoder import EncoderBackbone
from agileclf.backbones.onnx import ONNX_PRECISIONS, OnnxEncoder
from agileclf.errors import ConfigError

PRECISIONS = ("fp32", "int8", *ONNX_PRECISIONS)


def quantize_dynamic_int8(model):
    """A copy of a SentenceTransformer whose nn.Linear layers run int8 weights and activations."""
    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch announces a future move of these kernels to torchao
        return quantize_dynamic(copy.deepcopy(model).cpu().eval(), {torch.nn.Linear}, dtype=torch.qint8)


def int8_encoder(backbone: EncoderBackbone) -> EncoderBackbone:
    """The backbone with an int8 copy of its model (CPU only); embed() is the same code."""
    return backbone.with_model(quantize_dynamic_int8(backbone.model))


def embedder_for(backbone, precision: str):
    """The object whose .embed() a method should call for prediction at `precision` (one of PRECISIONS)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"inference precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "fp32":
        return backbone
    if precision == "int8":
        return int8_encoder(backbone)
    return OnnxEncoder(backbone, precision)
