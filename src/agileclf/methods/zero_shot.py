"""Zero-shot with an encoder: cosine similarity between a text and each label's name or description."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from agileclf.methods.base import Method, MethodConfig, param, softmax
from agileclf.methods.registry import register


@dataclass
class ZeroShotConfig(MethodConfig):
    template: str = param("{label}", "text embedded for each label; {label} is its name or description")
    temperature: float = param(0.05, "softmax temperature over cosine similarities (lower: sharper)")

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if "{label}" not in self.template:
            raise ValueError("template must contain {label}")


@register
class EncoderZeroShot(Method):
    """No training: each label is embedded once; a text goes to the label it is most similar to."""

    name = "zero-shot"
    kinds = ("encoder",)
    config_class = ZeroShotConfig
    cheap_cv = True  # nothing to train: out-of-fold probabilities cost one embedding pass
    needs_training_data = False

    def _fit(self, texts, y, valid) -> None:
        if wordless := self.labels.wordless():
            warnings.warn(
                f"zero-shot compares texts with the label names, and {', '.join(map(repr, wordless[:5]))} "
                f"{'have no words of their' if len(wordless) > 1 else 'has no words of its'} own, so it can only "
                "guess there; give each label a description (--labels FILE)",
                stacklevel=3,
            )
        prompts = [self.config.template.format(label=self.labels.describe(n)) for n in self.labels.names]
        self.label_embeddings = self.backbone.embed(prompts, normalize=True)

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        embeddings = self.backbone.embed(texts, normalize=True)
        return softmax(embeddings @ self.label_embeddings.T / self.config.temperature)

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        return {"label_embeddings": torch.from_numpy(self.label_embeddings)}

    def _load_state_tensors(self, tensors) -> None:
        self.label_embeddings = tensors["label_embeddings"].numpy()
