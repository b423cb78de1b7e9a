"""Static embeddings for bulk labelling: an encoder distilled into one vector per token with model2vec.

model2vec runs the encoder once on every token of its vocabulary (offline, from the loaded model; about a minute for
MiniLM on 2 cores) and keeps those vectors; a text's embedding is then the weighted mean of its tokens' vectors, a
table lookup with no transformer at prediction time.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from agileclf.errors import BackboneError

NEEDS = "the static method needs model2vec and skeletoken: pip install 'agileclf[static]' (make setup has them)"


class StaticEncoder:
    """A model2vec StaticModel behind the encoder's `embed` interface."""

    def __init__(self, model):
        self.model = model

    @property
    def dim(self) -> int:
        return int(self.model.embedding.shape[1])

    def embed(self, texts: list[str], batch_size: int = 1024, normalize: bool = False) -> np.ndarray:
        vectors = np.asarray(self.model.encode(list(texts), batch_size=batch_size, show_progress_bar=False))
        vectors = vectors.astype(np.float32, copy=False)
        if normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
        return vectors

    def save(self, directory: str | Path) -> Path:
        self.model.save_pretrained(str(directory))
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path) -> StaticEncoder:
        try:
            from model2vec import StaticModel
        except ImportError as err:
            raise BackboneError(f"{NEEDS} ({err})") from err
        if not (Path(directory) / "config.json").exists():
            raise BackboneError(f"{directory}: no static embedding model here (config.json missing)")
        return cls(StaticModel.from_pretrained(str(directory)))


def distill_encoder(backbone, pca_dims: int = 0) -> StaticEncoder:
    """A static model distilled from an encoder backbone's current weights (a tuned copy included).

    pca_dims=0 keeps the encoder's dimension (the vectors stay in the space its sentence embeddings live in)."""
    try:
        from model2vec.distill import distill_from_model
    except ImportError as err:  # model2vec's distillation needs skeletoken, which model2vec does not require
        raise BackboneError(f"{NEEDS} ({err})") from err
    sentence_model = backbone.model
    if not hasattr(sentence_model[0], "auto_model"):
        raise BackboneError(f"{backbone.ref}: static distillation needs a transformer encoder")
    logging.getLogger("model2vec").setLevel(logging.WARNING)
    transformer = sentence_model[0].auto_model
    if not Path(str(transformer.name_or_path)).exists():  # model2vec asks the Hub for a model card otherwise
        transformer.config._name_or_path = str(backbone.path if Path(str(backbone.path)).exists() else Path.cwd())
    model = distill_from_model(
        transformer,
        sentence_model.tokenizer,
        pca_dims=pca_dims or None,
        device=str(next(sentence_model.parameters()).device),
    )
    return StaticEncoder(model)
