"""In-context learning: k labelled demonstrations per class in the prompt, picked at random or by similarity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from agileclf.backbones.kinds import BUNDLED_MINILM
from agileclf.methods.base import param
from agileclf.methods.causal import prompt_search
from agileclf.methods.causal.common import CausalConfig, CausalMethod, Demos
from agileclf.methods.causal.demos import nearest, random_per_class, retriever, text_seed
from agileclf.methods.registry import register


@dataclass
class ICLConfig(CausalConfig):
    demos_per_class: int = param(1, "demonstrations of each class in the prompt (k)")
    demo_selection: str = param("random", "'random' (one draw by seed for all inputs) or 'similar' (per input)")
    retriever: str = param(BUNDLED_MINILM, "encoder folder whose embeddings rank 'similar' demonstrations")
    max_context_tokens: int = param(0, "prompt budget in tokens; demonstrations are dropped to fit (0: model max)")
    search_draws: int = param(
        1, "random demonstration draws the prompt search compares, each with every candidate prompt ('random' only)"
    )
    demo_draw: int = param(0, "which random draw of the seed gives the demonstrations (set by the search)")
    search_scoring: str = param(
        "deployed",
        "how the prompt search scores a candidate: 'deployed' (each example with the demonstrations a prediction "
        "would give it, itself excluded) or 'folds' (2 folds, each drawing its own demonstrations)",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.demo_selection not in ("random", "similar"):
            raise ValueError(f"demo_selection must be 'random' or 'similar', not {self.demo_selection!r}")
        if self.search_scoring not in ("deployed", "folds"):
            raise ValueError(f"search_scoring must be 'deployed' or 'folds', not {self.search_scoring!r}")
        if self.demos_per_class < 0:
            raise ValueError("demos_per_class must be >= 0")
        if self.search_draws < 1 or self.demo_draw < 0:
            raise ValueError("search_draws must be >= 1 and demo_draw >= 0")


@register
class CausalICL(CausalMethod):
    """The training examples are the context: no weights change; predictions read demonstrations."""

    name = "icl"
    config_class = ICLConfig

    @property
    def search_folds(self) -> int | str:
        return prompt_search.DEPLOYED if self.config.search_scoring == "deployed" else 2

    def search_variants(self) -> tuple[dict, ...]:
        """Each random draw of demonstrations the search compares (one with 'similar': there is no draw)."""
        if self.config.demo_selection != "random" or self.config.search_draws == 1:
            return ({},)
        return tuple({"demo_draw": draw} for draw in range(self.config.search_draws))

    def _fit(self, texts, y, valid) -> None:
        self._choose_prompt(list(texts), np.asarray(y))
        self._setup_prompting()
        self.pool_texts, self.pool_y = list(texts), np.asarray(y)
        self._index_pool()

    def _index_pool(self) -> None:
        cfg = self.config
        if cfg.demo_selection == "similar":
            self.pool_vectors = retriever(cfg.retriever).embed(self.pool_texts, normalize=True)
            self.fixed = None
        else:
            self.fixed = random_per_class(self.pool_y, cfg.demos_per_class, cfg.seed, cfg.demo_draw)

    def demos_for(self, texts: list[str]) -> list[Demos]:
        cfg = self.config
        if cfg.demo_selection == "random":
            return [[(self.pool_texts[i], int(self.pool_y[i])) for i in self.fixed] for _ in texts]
        queries = retriever(cfg.retriever).embed(texts, normalize=True)
        picks = [nearest(q, self.pool_vectors, self.pool_y, per_class=cfg.demos_per_class) for q in queries]
        return [[(self.pool_texts[i], int(self.pool_y[i])) for i in rows] for rows in picks]

    def search_demos(self) -> tuple[list[int], list[Demos]]:
        """(training rows, their demonstrations) for the prompt search's 'deployed' scoring: each example with the
        demonstrations a prediction would give it, never itself (rows in the random draw are not scored)."""
        cfg = self.config
        if cfg.demo_selection == "random":
            drawn = set(self.fixed)
            rows = [i for i in range(len(self.pool_texts)) if i not in drawn]
            return rows, self.demos_for([self.pool_texts[i] for i in rows])
        picks = [
            nearest(self.pool_vectors[i], self.pool_vectors, self.pool_y, per_class=cfg.demos_per_class, exclude=i)
            for i in range(len(self.pool_texts))
        ]
        demos = [[(self.pool_texts[j], int(self.pool_y[j])) for j in rows] for rows in picks]
        return list(range(len(self.pool_texts))), demos

    def display_order(self, demos: Demos) -> Demos:
        """Shuffled by seed (fixed per input text) so the order carries no label or similarity pattern."""
        if len(demos) < 2:
            return demos
        rng = text_seed(self.config.seed, "\n".join(t for t, _ in demos))
        return [demos[i] for i in rng.permutation(len(demos))]

    def context_budget(self) -> int:
        return self.config.max_context_tokens or self.backbone.max_positions

    def _state_json(self) -> dict:
        return {"pool_texts": self.pool_texts, "pool_y": self.pool_y.tolist()}

    def _state_tensors(self) -> dict:
        if self.config.demo_selection == "similar":
            return {"pool_vectors": torch.from_numpy(self.pool_vectors)}
        return {}

    def _restore(self, state: dict, tensors: dict) -> None:
        self.pool_texts, self.pool_y = list(state["pool_texts"]), np.asarray(state["pool_y"], dtype=np.int64)
        if "pool_vectors" in tensors:
            self.pool_vectors, self.fixed = tensors["pool_vectors"].numpy(), None
        else:
            self._index_pool()
