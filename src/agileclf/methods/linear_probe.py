"""Linear probe: frozen encoder embeddings and a logistic-regression head."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agileclf.methods.base import Method, MethodConfig, param
from agileclf.methods.heads import (
    LogisticHeadState,
    check_class_weight,
    class_weight_param,
    class_weights,
    fit_logistic_head,
    head_proba,
)
from agileclf.methods.inference import FastInference, check_inference, inference_param
from agileclf.methods.registry import register


@dataclass
class LinearProbeConfig(MethodConfig):
    c: float | None = param(None, "inverse regularisation strength; None picks it by cross-validation")
    normalize: bool = param(True, "L2-normalise embeddings before the head")
    batch_size: int = param(32, "texts per encoder batch while fitting")
    class_weight: str | dict | None = class_weight_param()
    inference: str = inference_param()

    def __post_init__(self) -> None:
        check_inference(self.inference)
        check_class_weight(self.class_weight)


@register
class LinearProbe(LogisticHeadState, FastInference, Method):
    """The encoder stays frozen; only a (n_labels x dim) head is learned, in seconds."""

    name = "linear-probe"
    kinds = ("encoder",)
    config_class = LinearProbeConfig
    cheap_cv = True  # refits take a frozen-encoder embedding and a logistic head: seconds

    def _features(self, texts: list[str]) -> np.ndarray:
        return self.backbone.embed(texts, batch_size=self.config.batch_size, normalize=self.config.normalize)

    def _fit(self, texts, y, valid) -> None:
        self.backbone.warn_truncated(texts, what=self.name)
        features = self._features(texts)
        weights = class_weights(self.config.class_weight, y, self.labels.names)
        self.weight, self.bias, self.chosen_c = fit_logistic_head(
            features, y, len(self.labels), c=self.config.c, seed=self.config.seed, class_weight=weights
        )

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        return head_proba(self._prediction_features(texts, self.config.normalize), self.weight, self.bias)
