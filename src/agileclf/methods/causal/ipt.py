"""Instruction prompt tuning (IPT): a soft prompt plus retrieved demonstrations in the text prompt.

The demonstrations are the training examples most similar to the input (by an encoder's embeddings), or drawn at
random (Sun et al. 2023 compare the two), both while the prompt is trained (never the example itself) and at
inference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from agileclf.backbones.kinds import BUNDLED_MINILM
from agileclf.methods.base import param
from agileclf.methods.causal.demos import nearest, retriever, text_seed
from agileclf.methods.causal.prompt_tuning import CausalPromptTuning, PromptTuningConfig
from agileclf.methods.registry import register


@dataclass
class IPTConfig(PromptTuningConfig):
    num_demos: int = param(1, "demonstrations in each prompt")
    demo_selection: str = param("similar", "'similar' (the nearest training examples) or 'random' (fixed per input)")
    retriever: str = param(BUNDLED_MINILM, "encoder folder whose embeddings rank 'similar' demonstrations")
    max_context_tokens: int = param(0, "prompt budget in tokens; demonstrations are dropped to fit (0: model max)")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.demo_selection not in ("similar", "random"):
            raise ValueError(f"demo_selection must be 'similar' or 'random', not {self.demo_selection!r}")


@register
class CausalIPT(CausalPromptTuning):
    """Prompt tuning whose prompts also hold the most similar training examples as demonstrations."""

    name = "ipt"
    config_class = IPTConfig

    def _before_training(self, texts, y) -> None:
        self.pool_texts, self.pool_y = list(texts), np.asarray(y)
        self.pool_vectors = self._embed(self.pool_texts)

    def train_demos(self, texts, y):
        pairs = zip(self.pool_vectors, self.pool_texts, strict=True)  # the pool is the training set itself
        return [self._demos(self._pick(v, t, exclude=i)) for i, (v, t) in enumerate(pairs)]

    def demos_for(self, texts):
        return [self._demos(self._pick(q, t)) for q, t in zip(self._embed(texts), texts, strict=True)]

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Retriever embeddings for 'similar'; for 'random', empty rows (nothing to rank by)."""
        if self.config.demo_selection == "random":
            return np.zeros((len(texts), 0), dtype=np.float32)
        return retriever(self.config.retriever).embed(texts, normalize=True)

    def _pick(self, vector: np.ndarray, text: str, exclude: int | None = None) -> list[int]:
        cfg = self.config
        if cfg.demo_selection == "similar":
            return nearest(vector, self.pool_vectors, self.pool_y, total=cfg.num_demos, exclude=exclude)
        rows = [i for i in text_seed(cfg.seed, text).permutation(len(self.pool_texts)) if i != exclude]
        return [int(i) for i in rows[: cfg.num_demos]]

    def _demos(self, rows: list[int]):
        return [(self.pool_texts[i], int(self.pool_y[i])) for i in rows]

    def context_budget(self) -> int:
        return self.config.max_context_tokens or self.backbone.max_positions

    def _state_json(self) -> dict:
        return {"pool_texts": self.pool_texts, "pool_y": self.pool_y.tolist()}

    def _state_tensors(self):
        return {**super()._state_tensors(), "pool_vectors": torch.from_numpy(self.pool_vectors)}

    def _restore(self, state, tensors) -> None:
        super()._restore(state, tensors)
        self.pool_texts, self.pool_y = list(state["pool_texts"]), np.asarray(state["pool_y"], dtype=np.int64)
        self.pool_vectors = tensors["pool_vectors"].numpy()
