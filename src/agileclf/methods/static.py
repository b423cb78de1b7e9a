"""`static`: the bulk-labelling tier. A teacher method tunes the encoder on the examples; its encoder is distilled
into static token vectors (model2vec, backbones.static) and a logistic head is fitted on the examples' static
embeddings. Prediction is a table lookup and a matrix product: no transformer runs, tens of times faster than
the encoder, at an accuracy cost that `agileclf bench` measures beside the teacher.

With `unlabeled` texts (the bulk the tier is for, or any in-domain text), the teacher labels them and the head
learns from those labels too (each row weighted by the teacher's confidence): a few examples teach a head on
static vectors little, the teacher's answers on thousands of texts teach it what the tuned encoder knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agileclf.backbones.static import StaticEncoder, distill_encoder
from agileclf.errors import ConfigError
from agileclf.methods.base import Method, MethodConfig, param
from agileclf.methods.heads import (
    LogisticHeadState,
    check_class_weight,
    class_weight_param,
    class_weights,
    fit_logistic_head,
    head_proba,
)
from agileclf.methods.registry import register

STATIC_DIR = "static"
# teachers whose fitted `backbone` is the encoder they embed with (tuned or frozen); finetune's network is not
TEACHERS = ("contrastive", "linear-probe", "prior-probe")


@dataclass
class StaticConfig(MethodConfig):
    teacher: str = param("contrastive", f"method whose encoder is distilled: {', '.join(TEACHERS)}")
    teacher_params: dict = param({}, 'parameters of the teacher, e.g. {"passes": 8}')
    pca_dims: int = param(0, "PCA dimensions of the static vectors (0: keep the encoder's)")
    unlabeled: str = param("", "texts the teacher labels for the head (JSONL/CSV/TSV field `text`, or .txt)")
    max_unlabeled: int = param(5000, "at most this many of them, a seeded sample")
    c: float | None = param(None, "head's inverse regularisation; None picks it by cross-validation")
    class_weight: str | dict | None = class_weight_param()

    def __post_init__(self) -> None:
        if self.teacher not in TEACHERS:
            raise ValueError(f"teacher must be one of {', '.join(TEACHERS)}, not {self.teacher!r}")
        if not isinstance(self.teacher_params, dict):
            raise ValueError(f"teacher_params must be a JSON object, not {self.teacher_params!r}")
        if self.max_unlabeled < 1:
            raise ValueError(f"max_unlabeled must be >= 1, got {self.max_unlabeled}")
        if self.pca_dims < 0:
            raise ValueError(f"pca_dims must be >= 0, got {self.pca_dims}")
        check_class_weight(self.class_weight)


@register
class Static(LogisticHeadState, Method):
    """A teacher's encoder distilled to static token vectors, with a logistic head on them."""

    name = "static"
    tunes_backbone = True
    kinds = ("encoder",)
    config_class = StaticConfig
    unlabeled_used = 0
    FIT_CHOICES = {"chosen_c": "c", "teacher_choices": "teacher", "unlabeled_used": "unlabeled_texts"}

    @property
    def teacher_steps(self) -> int | None:
        """The teacher's encoder updates (None for a teacher that tunes nothing), from its recorded choices."""
        return self.fit_choices().get("teacher", {}).get("steps")

    def _fit(self, texts, y, valid) -> None:
        from agileclf.methods.registry import make_method

        cfg = self.config
        extra = unlabeled_texts(cfg.unlabeled, cfg.max_unlabeled, cfg.seed, set(texts)) if cfg.unlabeled else []
        teacher = make_method(cfg.teacher, backbone=self.backbone, seed=cfg.seed, **cfg.teacher_params)
        teacher.fit(texts, [self.labels.names[i] for i in y], label_set=self.labels)  # a bad file failed already
        self.learn_from(teacher, texts, y, extra)

    def learn_from(self, teacher: Method, texts: list[str], y: np.ndarray, unlabeled: list[str] = ()) -> Static:
        """Distil a fitted teacher's encoder and fit the head on the examples (and the teacher's answers on
        `unlabeled`, each weighted by its confidence)."""
        cfg = self.config
        self.labels = self.labels or teacher.labels
        self.encoder = distill_encoder(teacher.backbone, cfg.pca_dims)
        self.teacher_choices = teacher.fit_choices()
        rows, targets, confidence = list(texts), np.asarray(y), np.ones(len(texts))
        if len(unlabeled):
            proba = teacher.predict_proba(list(unlabeled))
            rows += list(unlabeled)
            targets = np.concatenate([targets, proba.argmax(axis=1)])
            confidence = np.concatenate([confidence, proba.max(axis=1)])
            self.unlabeled_used = len(unlabeled)
        weights = class_weights(cfg.class_weight, np.asarray(y), self.labels.names)
        self.weight, self.bias, self.chosen_c = fit_logistic_head(
            self.encoder.embed(rows, normalize=True), targets, len(self.labels), cfg.c, cfg.seed,
            class_weight=weights, sample_weight=confidence,
        )  # fmt: skip
        return self

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        return head_proba(self.encoder.embed(texts, normalize=True), self.weight, self.bias)

    def _save_files(self, directory: Path) -> None:
        self.encoder.save(directory / STATIC_DIR)

    def _load_files(self, directory: Path) -> None:
        self.encoder = StaticEncoder.load(directory / STATIC_DIR)


def unlabeled_texts(path: str, limit: int, seed: int, exclude: set[str]) -> list[str]:
    """Up to `limit` distinct texts of a file (labels, if any, unread), not among `exclude`, a seeded sample."""
    from agileclf.data import read_texts, sample_rows

    if not Path(path).is_file():
        raise ConfigError(f"unlabeled: {path} is not a file")
    texts = [t for t in dict.fromkeys(read_texts(path)) if t not in exclude]
    if not texts:
        raise ConfigError(f"unlabeled: {path} has no texts beyond the training examples")
    return [texts[i] for i in sample_rows(len(texts), limit, seed)]
