"""The multi-label contract: fit on label lists; predict_proba gives independent per-label probabilities;
predict gives label sets through per-label decision thresholds that are saved with the classifier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from agileclf.data.labels import LabelSet
from agileclf.data.multilabel import check_label_lists, label_matrix
from agileclf.errors import ConfigError, DataError
from agileclf.methods.base import Method, param


@dataclass
class MultiLabelFields:
    """Fields every multi-label config adds to its single-label one."""

    threshold: float = param(0.5, "decision threshold of every label until per-label ones are chosen (CV or dev)")
    allow_empty: bool = param(False, "an empty label set is a valid answer; if not, the top label is always kept")


class MultiLabelMethod(Method):
    """Mixin placed before a single-label method class: the same backbone, embeddings and training code with
    a multi-hot target. Subclasses implement `_fit(texts, Y, valid)` with Y an (n, n_labels) 0/1 matrix and
    `_predict_proba` returning per-label probabilities (rows need not sum to 1)."""

    task: ClassVar[str] = "multilabel"

    def __init__(self, backbone=None, config=None):
        super().__init__(backbone, config)
        self.thresholds: np.ndarray | None = None
        self.top_ratio = 0.0  # a label also needs this fraction of its row's top probability (0: off)
        self.threshold_source = "default"

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[Sequence[str]],
        valid: tuple[Sequence[str], Sequence[Sequence[str]]] | None = None,
        label_set: LabelSet | None = None,
    ) -> MultiLabelMethod:
        """Learn from texts and label lists; with `valid`, per-label thresholds are chosen on it (and `finetune`
        stops early on its loss)."""
        from agileclf.data.readers import Dataset

        texts = list(texts)
        lists = check_label_lists(labels, allow_empty=True)
        if len(texts) != len(lists):
            raise DataError(f"{len(texts)} texts but {len(lists)} label lists")
        if not self.config.allow_empty and any(not row for row in lists):
            raise DataError("some rows have an empty label list; pass allow_empty=True if 'no label' is valid")
        self.labels = label_set or LabelSet.from_labels(label for row in lists for label in row)
        if len(self.labels) < 2:
            raise DataError(f"a multi-label classifier needs at least 2 labels, got {self.labels.names}")
        if self.needs_training_data and not texts:
            raise DataError(f"method '{self.name}' needs training examples")
        y = label_matrix(self.labels, lists)
        self.train_fingerprint = Dataset(texts, lists, list(range(len(texts)))).fingerprint()
        self.train_size = len(texts)
        self.thresholds = np.full(len(self.labels), self.config.threshold, dtype=np.float32)
        self.top_ratio, self.threshold_source = 0.0, "default"
        truth = None if valid is None else label_matrix(self.labels, check_label_lists(valid[1], allow_empty=True))
        self._fit(texts, y, None if valid is None else (list(valid[0]), truth))  # finetune: early stopping on it
        if valid is not None:
            from agileclf.evaluate.multilabel import best_decision_rule

            keep_top = not self.config.allow_empty
            thresholds, top_ratio = best_decision_rule(truth, self.predict_proba(list(valid[0])), keep_top)
            self.set_thresholds(thresholds, "dev", top_ratio)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, n_labels) independent probabilities in `self.labels` order."""
        return super().predict_proba(texts)

    def predict(
        self, texts: Sequence[str], threshold: float | None = None, top_k: int | None = None
    ) -> list[list[str]]:
        """The label set of each text: labels at or above their threshold and the top ratio (`threshold`
        overrides both), or the `top_k` most probable."""
        return self.decide(self.predict_proba(texts), threshold, top_k)

    def decide(self, proba: np.ndarray, threshold: float | None = None, top_k: int | None = None) -> list[list[str]]:
        """Label sets from probabilities; without allow_empty a row keeps its most probable label."""
        names = self.labels.names
        if top_k:
            order = np.argsort(-proba, axis=1, kind="stable")[:, :top_k]
            return [[names[j] for j in sorted(row)] for row in order]
        from agileclf.evaluate.multilabel import decisions

        keep_top = not self.config.allow_empty
        if threshold is None:
            chosen = decisions(proba, self.decision_thresholds(), self.top_ratio, keep_top)
        else:
            chosen = decisions(proba, threshold, 0.0, keep_top)
        return [[names[j] for j in np.flatnonzero(row)] for row in chosen]

    def decision_thresholds(self) -> np.ndarray:
        if self.thresholds is None:
            return np.full(len(self.labels), self.config.threshold, dtype=np.float32)
        return self.thresholds

    def set_thresholds(self, thresholds: np.ndarray, source: str, top_ratio: float = 0.0) -> None:
        """Per-label thresholds (in `self.labels` order), the top ratio (a label also needs at least this
        fraction of its row's highest probability; 0: off) and where they came from ('cv', 'dev', 'user')."""
        thresholds = np.asarray(thresholds, dtype=np.float32)
        if thresholds.shape != (len(self.labels),) or not np.all((thresholds >= 0) & (thresholds <= 1)):
            raise ConfigError(f"need {len(self.labels)} thresholds in [0, 1], got {thresholds.tolist()}")
        if not 0 <= top_ratio <= 1:
            raise ConfigError(f"top_ratio must be in [0, 1], got {top_ratio}")
        self.thresholds, self.top_ratio, self.threshold_source = thresholds, float(top_ratio), source

    def save(self, path: str | Path, extra: dict | None = None) -> Path:
        thresholds = dict(zip(self.labels.names, self.decision_thresholds().round(4).tolist(), strict=True))
        info = {"thresholds": thresholds, "top_ratio": self.top_ratio, "threshold_source": self.threshold_source}
        return super().save(path, extra={"task": self.task, "multilabel": info, **(extra or {})})

    def _state_tensors(self):
        rule = {
            "thresholds": torch.from_numpy(self.decision_thresholds().copy()),
            "top_ratio": torch.tensor([self.top_ratio]),
        }
        return {**super()._state_tensors(), **rule}

    def _load_state_tensors(self, tensors) -> None:
        tensors = dict(tensors)
        self.thresholds = tensors.pop("thresholds").numpy()
        self.top_ratio = float(tensors.pop("top_ratio", torch.zeros(1))[0])  # 0 in artifacts made before it
        self.threshold_source = getattr(self, "meta", {}).get("multilabel", {}).get("threshold_source", "saved")
        super()._load_state_tensors(tensors)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))).astype(np.float32)
