"""A faster prediction path: the encoder's Linear layers dynamically quantised to int8.

MiniLM spends almost all its inference FLOPs in Linear layers; PyTorch's dynamic int8 kernels (fbgemm)
run them 2-4x faster on CPU than fp32 matmuls, at a small accuracy cost that `agileclf bench` measures.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np

from agileclf.errors import ConfigError
from agileclf.progress import is_quiet

PRECISIONS = ("fp32", "int8")


def quantize_dynamic_int8(model):
    """A copy of a SentenceTransformer whose nn.Linear layers run int8 weights and activations."""
    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch announces a future move of these kernels to torchao
        return quantize_dynamic(copy.deepcopy(model).cpu().eval(), {torch.nn.Linear}, dtype=torch.qint8)


class FastEncoder:
    """The embedding side of an EncoderBackbone, served by an int8 copy of its model (CPU only)."""

    def __init__(self, backbone):
        self.backbone = backbone
        self.model = quantize_dynamic_int8(backbone.model)

    def embed(self, texts: list[str], batch_size: int = 64, normalize: bool = False) -> np.ndarray:
        """Embeddings as float32 (n, dim), length-bucketed batches as in EncoderBackbone.embed."""
        import torch

        if not texts:
            return np.zeros((0, self.backbone.dim), dtype=np.float32)
        with torch.inference_mode():
            vectors = self.model.encode(
                list(texts),
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=normalize,
                show_progress_bar=not is_quiet() and len(texts) > 4 * batch_size,
            )
        return vectors.astype(np.float32, copy=False)


def embedder_for(backbone, precision: str):
    """The object whose .embed() a method should call for prediction at `precision` ('fp32' or 'int8')."""
    if precision not in PRECISIONS:
        raise ConfigError(f"inference precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    return backbone if precision == "fp32" else FastEncoder(backbone)
