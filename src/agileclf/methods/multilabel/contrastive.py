"""Multi-label contrastive tuning: pair targets are the Jaccard similarity of the two label sets.

SetFit's multi-label mode (issue #500) counts a pair as positive only when the label sets are equal, so
`{joy, love}` and `{joy}` are pushed apart. Here the cosine of a pair is regressed to |A n B| / |A u B|. Batches
group rows by their rarest label (every batch holds rows that share a label); one-vs-rest heads follow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from agileclf.errors import DataError
from agileclf.methods.contrastive import Contrastive, ContrastiveConfig, _train, training_steps
from agileclf.methods.contrastive_losses import BatchCosineSimilarityLoss
from agileclf.methods.multilabel.base import MultiLabelFields, MultiLabelMethod, sigmoid
from agileclf.methods.multilabel.heads import fit_binary_heads
from agileclf.methods.registry import register


@dataclass
class MultiLabelContrastiveConfig(ContrastiveConfig, MultiLabelFields):
    loss: str = "batch-cosine"
    anchors: int | None = 0  # measured on single-label sets only (contrastive.AUTO_ANCHORS)
    # bf16 autocast where native (inherited) on GoEmotions' dev split, seeds 0-1: -0.1 [-0.2, +0.0] macro-F1 at
    # 71-79% of the wall seconds; fixed embeddings with it: -0.7 [-1.0, -0.5], so they stay tuned (docs/multilabel.md)
    tune_embeddings: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.loss != "batch-cosine":
            raise ValueError("multi-label contrastive uses loss=batch-cosine (Jaccard pair targets)")
        if self.anchors is None:
            raise ValueError("multi-label contrastive takes a number of anchors (0 or more), not None")
        if self.end_to_end:
            raise ValueError("end_to_end (cross-entropy over one label per text) is single-label only")


class JaccardCosineSimilarityLoss(BatchCosineSimilarityLoss):
    """BatchCosineSimilarityLoss with a graded target: the Jaccard similarity of two multi-hot rows."""

    @staticmethod
    def targets(labels: torch.Tensor) -> torch.Tensor:
        return jaccard(labels.float())


def jaccard(y: torch.Tensor) -> torch.Tensor:
    """(b, b) Jaccard similarity of multi-hot rows; two empty sets count as equal (1)."""
    inter = y @ y.T
    union = y.sum(1)[:, None] + y.sum(1)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(inter))


def rarest_label(y: np.ndarray) -> list[int]:
    """Each row's rarest label (by training count), the key that groups rows into batches; -1 for no label."""
    counts = y.sum(axis=0)
    rank = np.where(y > 0, counts[None, :], np.iinfo(np.int64).max)
    return [int(j) if y[i, j] else -1 for i, j in enumerate(rank.argmin(axis=1))]


def check_groups(groups: list[int], names: list[str]) -> None:
    """The group sampler needs two groups (rows keyed by their rarest label) with two or more rows each; without
    them tuning would be skipped and the result a linear probe under another name, so it is an error."""
    sizes = np.bincount(np.asarray(groups) + 1, minlength=len(names) + 1)
    if (sizes >= 2).sum() < 2:
        shown = ", ".join(f"{name} ({count})" for name, count in zip(["(none)", *names], sizes, strict=True) if count)
        raise DataError(
            "multi-label contrastive tuning needs at least two labels that are the rarest label of two or more rows "
            f"each; rows per rarest label: {shown}. Add examples, or use linear-probe or zero-shot"
        )


def grouped_sampler(groups: list[int]):
    """A batch-sampler factory for sentence-transformers' trainer: its group-by-label sampler over `groups`
    (the trainer's own label column holds the multi-hot rows the loss needs)."""
    from datasets import Dataset
    from sentence_transformers.base.sampler import GroupByLabelBatchSampler

    keys = Dataset.from_dict({"label": groups})

    def make(dataset, **kwargs):
        kwargs["valid_label_columns"] = ["label"]
        return GroupByLabelBatchSampler(keys, **kwargs)

    return make


@register
class MultiLabelContrastive(MultiLabelMethod, Contrastive):
    """Metric learning on in-batch pairs with Jaccard targets (linear cost), then one-vs-rest logistic heads."""

    config_class = MultiLabelContrastiveConfig

    def _train_encoder(self, model, texts: list[str], y: np.ndarray) -> int:
        groups = rarest_label(y)
        check_groups(groups, self.labels.names)
        steps = training_steps(len(texts), len(self.labels), self.config)
        anchor_texts, anchor_ids = self._anchors(texts, y)  # an anchor holds its one label, grouped under it
        targets = y.astype(np.float32).tolist() + np.eye(len(self.labels), dtype=np.float32)[anchor_ids].tolist()
        texts, groups = list(texts) + anchor_texts, groups + anchor_ids
        loss = JaccardCosineSimilarityLoss(model)
        return _train(model, texts, targets, self.config, steps, loss, grouped_sampler(groups))

    def _fit_head(self, features: np.ndarray, y: np.ndarray) -> None:
        self.weight, self.bias, self.chosen_c = fit_binary_heads(features, y, self.config.c, self.config.seed)

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        return sigmoid(self._prediction_features(texts, normalize=True) @ self.weight.T + self.bias)
