"""Label names as data: a linear probe fused with the label-name zero-shot prior, the weight chosen by CV.

The zero-shot method's label-name similarities are a prior that the few-shot head alone throws away. Here the
two are combined as a product of experts, p(y|x) ∝ p_head(y|x) * p_names(y|x)^w, i.e. the head's logits plus
w times the zero-shot logits: still one linear layer on the frozen embedding. w is chosen from PRIOR_WEIGHTS by
out-of-fold log-loss on the training examples (w = 0 is the plain linear probe; a large w is zero-shot), so
labels whose names say nothing (`0`, `LOC`) get w near 0 and meaningful names keep the prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from agileclf.errors import DataError
from agileclf.methods.base import Method, MethodConfig, param, softmax
from agileclf.methods.heads import fit_logistic_head, head_tensors
from agileclf.methods.inference import FastInference, check_inference, inference_param
from agileclf.methods.registry import register

PRIOR_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
NO_CV_WEIGHT = 1.0  # with a label of a single example there are no folds: head and names weigh alike


@dataclass
class PriorProbeConfig(MethodConfig):
    prior_weight: float | None = param(None, "weight of the label-name prior; None picks it by cross-validation")
    c: float | None = param(None, "head's inverse regularisation; None picks it by cross-validation")
    template: str = param("{label}", "text embedded for each label; {label} is its name or description")
    temperature: float = param(0.05, "temperature of the label-name similarities (as zero-shot's)")
    folds: int = param(5, "cross-validation folds for the prior weight (capped by the smallest label's count)")
    inference: str = inference_param()

    def __post_init__(self) -> None:
        check_inference(self.inference)
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.prior_weight is not None and self.prior_weight < 0:
            raise ValueError(f"prior_weight must be >= 0, got {self.prior_weight}")


def fuse(head_logits: np.ndarray, name_logits: np.ndarray, weight: float) -> np.ndarray:
    """softmax(head logits + weight * label-name logits), the product of the two experts' distributions."""
    return softmax(head_logits + weight * name_logits)


class _FrozenHead:
    """A logistic head on precomputed embeddings behind the fit / predict_proba interface, so the prior weight
    is cross-validated by evaluate.crossval without embedding the texts again in every fold."""

    def __init__(self, table: dict[str, np.ndarray], c: float, seed: int):
        self.table, self.c, self.seed = table, c, seed

    def fit(self, texts, labels, label_set):
        features = np.stack([self.table[t] for t in texts])
        y = label_set.encode(list(labels))
        self.weight, self.bias, _ = fit_logistic_head(features, y, len(label_set), self.c, self.seed)
        return self

    def predict_proba(self, texts):
        return softmax(np.stack([self.table[t] for t in texts]) @ self.weight.T + self.bias)


@register
class PriorProbe(FastInference, Method):
    """Frozen embeddings; a logistic head fused with the label-name zero-shot prior, weight chosen by CV."""

    name = "prior-probe"
    kinds = ("encoder",)
    config_class = PriorProbeConfig
    cheap_cv = True
    FIT_CHOICES = {"chosen_c": "c", "prior_weight": "prior_weight"}

    def _name_logits(self, features: np.ndarray) -> np.ndarray:
        return features @ self.label_embeddings.T / self.config.temperature

    def _fit(self, texts, y, valid) -> None:
        cfg = self.config
        prompts = [cfg.template.format(label=self.labels.describe(n)) for n in self.labels.names]
        self.label_embeddings = self.backbone.embed(prompts, normalize=True)
        features = self.backbone.embed(texts, normalize=True)
        self.weight, self.bias, self.chosen_c = fit_logistic_head(features, y, len(self.labels), cfg.c, cfg.seed)
        if cfg.prior_weight is not None:
            self.prior_weight, self.weight_cv = cfg.prior_weight, {}
        else:
            self.prior_weight, self.weight_cv = self._choose_weight(texts, y, features)

    def _choose_weight(self, texts: list[str], y: np.ndarray, features: np.ndarray) -> tuple[float, dict]:
        from agileclf.evaluate.crossval import cross_val_proba

        labels = [self.labels.names[i] for i in y]
        table = dict(zip(texts, features, strict=True))
        try:  # C as chosen on all examples: one logistic fit per fold, not a nested search
            oof = cross_val_proba(
                lambda: _FrozenHead(table, self.chosen_c, self.config.seed),
                texts,
                labels,
                self.labels,
                n_splits=self.config.folds,
                seed=self.config.seed,
            )
        except DataError:
            return NO_CV_WEIGHT, {}
        head = np.log(np.clip(oof.proba.astype(np.float64), 1e-12, 1.0))
        prior = self._name_logits(features).astype(np.float64)  # needs no training: the same in every fold
        losses = {}
        for w in PRIOR_WEIGHTS:
            p = fuse(head, prior, w)[np.arange(len(y)), y]
            losses[w] = float(-np.log(np.clip(p, 1e-12, 1.0)).mean())
        best = min(losses, key=lambda w: (losses[w], w))
        return best, {str(w): round(v, 4) for w, v in losses.items()}

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        features = self._prediction_features(texts, normalize=True)
        return fuse(features @ self.weight.T + self.bias, self._name_logits(features), self.prior_weight)

    def _state_tensors(self):
        return {
            **head_tensors(self.weight, self.bias),
            "label_embeddings": torch.from_numpy(self.label_embeddings),
            "prior_weight": torch.tensor([self.prior_weight], dtype=torch.float32),
        }

    def _load_state_tensors(self, tensors) -> None:
        self.weight, self.bias = tensors["head.weight"].numpy(), tensors["head.bias"].numpy()
        self.label_embeddings = tensors["label_embeddings"].numpy()
        self.prior_weight = float(tensors["prior_weight"][0])
