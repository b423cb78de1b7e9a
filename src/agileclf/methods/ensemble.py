"""Soft-voting ensemble: several methods fitted on the same examples, their probabilities averaged.

Contrastive tuning and fine-tuning with a head err on different examples at a few shots per class; averaging
their probabilities is the cheapest variance reduction there is (cost: the members' fits added up).
Each member is saved as a full classifier directory under members/<i>-<name>/ and loaded back as one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agileclf.methods.base import Method, MethodConfig, param
from agileclf.methods.registry import make_method, method_class, register

MEMBERS_DIR = "members"


@dataclass
class EnsembleConfig(MethodConfig):
    members: str = param("contrastive,finetune", "comma-separated methods fitted on the same examples")
    weights: str = param("", "comma-separated weight per member (default: equal)")

    def __post_init__(self) -> None:
        names = self.member_names()
        if len(names) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {self.members!r}")
        if "ensemble" in names:
            raise ValueError("an ensemble cannot contain an ensemble")
        if self.weights and len(self.member_weights()) != len(names):
            raise ValueError(f"give one weight per member ({len(names)}), got {self.weights!r}")

    def member_names(self) -> list[str]:
        return [name.strip() for name in self.members.split(",") if name.strip()]

    def member_weights(self) -> np.ndarray:
        if not self.weights:
            return np.full(len(self.member_names()), 1.0 / len(self.member_names()))
        weights = np.asarray([float(w) for w in self.weights.split(",")], dtype=np.float64)
        if (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(f"ensemble weights must be >= 0 and not all 0, got {self.weights!r}")
        return weights / weights.sum()


@register
class Ensemble(Method):
    """Average of the probabilities of several methods (default: contrastive + finetune) on the same data."""

    name = "ensemble"
    kinds = ("encoder",)
    config_class = EnsembleConfig

    def __init__(self, backbone=None, config=None):
        super().__init__(backbone, config)
        for name in self.config.member_names():
            method_class(name, "encoder")  # an unknown or encoder-less member fails before any fitting
        self.members: list[Method] = []

    def _fit(self, texts, y, valid) -> None:
        labels = [self.labels.names[i] for i in y]
        if valid is not None:
            valid = (valid[0], [self.labels.names[i] for i in valid[1]])
        self.members = [
            make_method(name, backbone=self.backbone, seed=self.config.seed).fit(texts, labels, valid, self.labels)
            for name in self.config.member_names()
        ]

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        weights = self.config.member_weights()
        members = zip(weights, self.members, strict=True)
        proba = sum(w * member.predict_proba(texts).astype(np.float64) for w, member in members)
        return (proba / proba.sum(axis=1, keepdims=True)).astype(np.float32)

    def _save_files(self, directory: Path) -> None:
        for i, member in enumerate(self.members):
            member.save(directory / MEMBERS_DIR / f"{i}-{member.name}")

    def _load_files(self, directory: Path) -> None:
        from agileclf.artifact import load_classifier

        names = self.config.member_names()
        self.members = [
            load_classifier(directory / MEMBERS_DIR / f"{i}-{name}", backbone=self.backbone)
            for i, name in enumerate(names)
        ]
