"""Prediction precision shared by the encoder methods: fp32, or a faster int8 / ONNX Runtime path."""

from __future__ import annotations

import numpy as np

from agileclf.backbones.fast import PRECISIONS, embedder_for
from agileclf.methods.base import param


def inference_param():
    """The `inference` config field: which embedder predict() uses (training is always fp32 PyTorch)."""
    return param("fp32", f"prediction precision: {', '.join(PRECISIONS)} (int8, onnx-int8: faster)")


def check_inference(value: str) -> None:
    if value not in PRECISIONS:
        raise ValueError(f"inference must be one of {', '.join(PRECISIONS)}, not {value!r}")


class FastInference:
    """Mixin for methods whose predict() embeds texts with `self.backbone` at `self.config.inference`."""

    _embedder = None
    _embedder_key: tuple | None = None

    def _prediction_embedder(self):
        # rebuilt when a refit swapped the backbone or the precision was changed on a loaded classifier; the key
        # holds the backbone itself (compared by identity), so a freed backbone's id can never match by accident
        key = (self.backbone, self.config.inference)
        if self._embedder is None or self._embedder_key != key:
            self._embedder, self._embedder_key = embedder_for(self.backbone, self.config.inference), key
        return self._embedder

    def use_embedder(self, embedder) -> None:
        """Predict with an embedder built elsewhere (e.g. an ONNX variant) until the backbone or precision changes."""
        self._embedder, self._embedder_key = embedder, (self.backbone, self.config.inference)

    def _prediction_features(self, texts: list[str], normalize: bool = False) -> np.ndarray:
        return self._prediction_embedder().embed(texts, normalize=normalize)  # each embedder's own batch size
