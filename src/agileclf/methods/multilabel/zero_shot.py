"""Multi-label zero-shot with an encoder: each label is on when the text is similar enough to its name."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agileclf.methods.base import param
from agileclf.methods.multilabel.base import MultiLabelFields, MultiLabelMethod, sigmoid
from agileclf.methods.registry import register
from agileclf.methods.zero_shot import EncoderZeroShot, ZeroShotConfig


@dataclass
class MultiLabelZeroShotConfig(ZeroShotConfig, MultiLabelFields):
    center: float = param(0.3, "cosine similarity that maps to probability 0.5")


@register
class MultiLabelZeroShot(MultiLabelMethod, EncoderZeroShot):
    """No training: probability sigmoid((cosine(text, label) - center) / temperature), per label."""

    config_class = MultiLabelZeroShotConfig

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        similarity = self.backbone.embed(texts, normalize=True) @ self.label_embeddings.T
        return sigmoid((similarity - self.config.center) / self.config.temperature)
