"""Instruction prompt tuning (IPT): a soft prompt plus retrieved demonstrations in the text prompt.

The demonstrations are the training examples most similar to the input (by an encoder's embeddings), both
while the prompt is trained (never the example itself) and at inference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from agileclf.backbones.kinds import BUNDLED_MINILM
from agileclf.methods.base import param
from agileclf.methods.causal.demos import nearest, retriever
from agileclf.methods.causal.prompt_tuning import CausalPromptTuning, PromptTuningConfig
from agileclf.methods.registry import register


@dataclass
class IPTConfig(PromptTuningConfig):
    num_demos: int = param(1, "retrieved demonstrations in each prompt")
    retriever: str = param(BUNDLED_MINILM, "encoder folder whose embeddings rank demonstrations")
    max_context_tokens: int = param(0, "prompt budget in tokens; demonstrations are dropped to fit (0: model max)")


@register
class CausalIPT(CausalPromptTuning):
    """Prompt tuning whose prompts also hold the most similar training examples as demonstrations."""

    name = "ipt"
    config_class = IPTConfig

    def _before_training(self, texts, y) -> None:
        self.pool_texts, self.pool_y = list(texts), np.asarray(y)
        self.pool_vectors = retriever(self.config.retriever).embed(self.pool_texts, normalize=True)

    def train_demos(self, texts, y):
        return [
            self._demos(nearest(v, self.pool_vectors, self.pool_y, total=self.config.num_demos, exclude=i))
            for i, v in enumerate(self.pool_vectors)
        ]

    def demos_for(self, texts):
        queries = retriever(self.config.retriever).embed(texts, normalize=True)
        return [self._demos(nearest(q, self.pool_vectors, self.pool_y, total=self.config.num_demos)) for q in queries]

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
