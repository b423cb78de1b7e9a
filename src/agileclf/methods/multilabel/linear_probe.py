"""Multi-label linear probe: frozen encoder embeddings and one-vs-rest logistic heads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agileclf.methods.linear_probe import LinearProbe, LinearProbeConfig
from agileclf.methods.multilabel.base import MultiLabelFields, MultiLabelMethod, sigmoid
from agileclf.methods.multilabel.heads import fit_binary_heads
from agileclf.methods.registry import register


@dataclass
class MultiLabelLinearProbeConfig(LinearProbeConfig, MultiLabelFields):
    pass


@register
class MultiLabelLinearProbe(MultiLabelMethod, LinearProbe):
    """The encoder stays frozen; one binary logistic head per label (C per label by cross-validation)."""

    config_class = MultiLabelLinearProbeConfig

    def _fit(self, texts, y, valid) -> None:
        features = self._features(texts)
        self.weight, self.bias, self.chosen_c = fit_binary_heads(features, y, self.config.c, self.config.seed)

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        return sigmoid(self._prediction_features(texts, self.config.normalize) @ self.weight.T + self.bias)
