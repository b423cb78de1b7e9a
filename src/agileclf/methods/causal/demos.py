"""Demonstration pools for ICL and IPT: random k per class, or nearest neighbours by an encoder's embeddings."""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

from agileclf.backbones.kinds import BUNDLED_MINILM, ENCODER


@lru_cache(maxsize=4)
def retriever(ref: str = BUNDLED_MINILM):
    """The encoder that embeds texts for similar-demonstration retrieval, loaded once per process."""
    from agileclf.backbones import load_backbone
    from agileclf.errors import BackboneError

    backbone = load_backbone(None if ref == BUNDLED_MINILM else ref)
    if backbone.kind != ENCODER:
        raise BackboneError(f"retriever {ref}: demonstrations are retrieved with an encoder, not a {backbone.kind}")
    return backbone


def text_seed(seed: int, text: str) -> np.random.Generator:
    """A generator fixed by the seed and the text, so one input always sees the same demonstration order."""
    digest = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    return np.random.Generator(np.random.PCG64([seed, digest]))


def random_per_class(y: np.ndarray, per_class: int, seed: int, draw: int = 0) -> list[int]:
    """Indices of `per_class` examples of each class (all of a smaller class), drawn by seed, interleaved.

    `draw` > 0 gives other draws for the same seed (ICL's prompt search compares a few).

    Interleaved by rank (one of each class, then the second of each, ...) so that dropping from the end for
    the context budget keeps the classes balanced.
    """
    rng = np.random.Generator(np.random.PCG64(seed if draw == 0 else [seed, draw]))
    picks = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        picks.append(rng.permutation(rows)[:per_class].tolist())
    return [rows[rank] for rank in range(per_class) for rows in picks if rank < len(rows)]


def nearest(
    query: np.ndarray,
    pool: np.ndarray,
    y: np.ndarray,
    per_class: int | None = None,
    total: int | None = None,
    exclude: int | None = None,
) -> list[int]:
    """Pool indices most similar (cosine) to one query: `per_class` of each class, or `total` over all.

    Most similar first; per class, interleaved by rank so dropping from the end keeps the classes balanced.
    """
    similarity = pool @ query
    if exclude is not None:
        similarity[exclude] = -np.inf
    order = np.argsort(-similarity, kind="stable")
    order = [int(i) for i in order if np.isfinite(similarity[i])]
    if per_class is None:
        return order[:total]
    ranked: dict[int, list[int]] = {}
    for i in order:
        ranked.setdefault(int(y[i]), []).append(i)
    best = [rows[:per_class] for rows in ranked.values()]
    picks = [(similarity[rows[r]], rows[r], r) for rows in best for r in range(len(rows))]
    picks.sort(key=lambda p: (p[2], -p[0]))  # rank first, then similarity within a rank
    return [i for _, i, _ in picks]
