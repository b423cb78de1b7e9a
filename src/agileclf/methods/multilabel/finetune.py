"""Multi-label fine-tuning: the encoder and a sigmoid head, binary cross-entropy per label."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from agileclf.methods.finetune import EncoderFinetune, FinetuneConfig, validation_logits
from agileclf.methods.multilabel.base import MultiLabelFields, MultiLabelMethod, sigmoid
from agileclf.methods.registry import register


@dataclass
class MultiLabelFinetuneConfig(FinetuneConfig, MultiLabelFields):
    pass


@register
class MultiLabelFinetune(MultiLabelMethod, EncoderFinetune):
    """Every encoder weight is tuned with a sigmoid head (BCE); early stopping on held-back BCE."""

    config_class = MultiLabelFinetuneConfig

    def _holdout(self, texts, y, rng):
        # a random slice, held back only when every label keeps holdout_min_per_class rows in it and outside
        cfg = self.config
        take = rng.permutation(len(texts))[: int(round(len(texts) * cfg.holdout_fraction))]
        if y.sum(axis=0).min() < cfg.holdout_min_per_class / cfg.holdout_fraction or not len(take):
            return texts, y, None
        keep = np.setdiff1d(np.arange(len(texts)), take)
        return [texts[i] for i in keep], y[keep], ([texts[i] for i in take], y[take])

    def _targets(self, y):
        return torch.as_tensor(y, dtype=torch.float32)

    def _batch_loss(self, y):
        return nn.functional.binary_cross_entropy_with_logits

    def _validation_score(self, network, valid) -> float:
        texts, y = valid
        logits = validation_logits(network, texts)
        return -float(nn.functional.binary_cross_entropy_with_logits(logits, torch.as_tensor(y, dtype=torch.float32)))

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        return sigmoid(self._prediction_features(texts) @ self.head_weight.T + self.head_bias)
