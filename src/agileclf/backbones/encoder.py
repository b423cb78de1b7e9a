"""Sentence encoders (sentence-transformers or plain Hugging Face folders) and their embeddings."""

from __future__ import annotations

import copy
import warnings
from functools import cached_property
from pathlib import Path

import numpy as np

from agileclf.backbones.base import LocalBackbone, user_errors
from agileclf.backbones.kinds import ENCODER
from agileclf.errors import BackboneError
from agileclf.progress import is_quiet, quiet_loading


class EncoderBackbone(LocalBackbone):
    """A sentence encoder loaded lazily from a local folder (default: the bundled all-MiniLM-L6-v2)."""

    kind = ENCODER

    def __init__(self, path: str | Path | None = None, device: str | None = None, max_length: int | None = None):
        super().__init__(path)
        self.device = device
        self.max_length = max_length

    @cached_property
    def model(self):
        """The SentenceTransformer; a plain Hugging Face encoder gets mean pooling."""
        from sentence_transformers import SentenceTransformer

        with quiet_loading():
            try:
                model = SentenceTransformer(str(self.path), device=self.device, local_files_only=True)
            except user_errors() as err:  # a broken or foreign folder: say which; anything else propagates
                raise BackboneError(f"backbone {self.path}: could not load an encoder ({err})") from err
        if self.max_length:
            model.max_seq_length = self.max_length
        return model

    @property
    def tokenizer(self):
        return self.model.tokenizer

    def trainable_copy(self, max_length: int | None = None):
        """A private copy of the untuned model (`origin`'s) to train: the shared backbone never changes, and a
        refit starts again from the untuned weights, as a fresh object would."""
        model = copy.deepcopy(self.origin.model)
        if max_length:
            model.max_seq_length = max_length
        return model

    def save(self, directory: str | Path) -> Path:
        """Write the model as a sentence-transformers folder (a tuned encoder inside a classifier artifact)."""
        with quiet_loading():
            self.model.save(str(directory), create_model_card=False)
        return Path(directory)

    def warn_truncated(self, texts: list[str], max_length: int | None = None, what: str = "") -> int:
        """Warn with the count of texts longer than `max_length` tokens (default: the model's), which the
        encoder cuts; returns that count."""
        limit = max_length or self.model.max_seq_length
        return warn_truncated(self.tokenizer, texts, limit, what)

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    def embed(self, texts: list[str], batch_size: int = 32, normalize: bool = False) -> np.ndarray:
        """Embeddings as float32 (n, dim).

        sentence-transformers' encode sorts texts by length and pads each batch to its longest text only
        (length bucketing), which is the 2.5-3.5x speed-up over fixed-length padding. Batches of 32 (its default,
        and SetFit's) ran 12-15% faster than 64 on AG News' texts at one and two threads, and level on SST-2's.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.model.eval()
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=normalize,
            show_progress_bar=not is_quiet() and len(texts) > 4 * batch_size,
        )
        return vectors.astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"EncoderBackbone({self.ref!r})"


def average_models(models: list):
    """The first model holding the mean of every model's floating-point weights (a uniform model soup: copies of one
    pretrained model tuned on different data average into one at no cost at prediction; Wortsman et al. 2022)."""
    import torch

    states = [model.state_dict() for model in models]
    with torch.no_grad():
        averaged = {
            key: torch.stack([state[key] for state in states]).mean(0) if value.is_floating_point() else value
            for key, value in states[0].items()
        }
    models[0].load_state_dict(averaged)
    return models[0]


def count_truncated(tokenizer, texts: list[str], max_length: int) -> int:
    """How many texts have more than `max_length` tokens (special tokens included), i.e. lose their end."""
    if not texts:
        return 0
    lengths = tokenizer(list(texts), add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
    return sum(len(ids) > max_length for ids in lengths)


def warn_truncated(tokenizer, texts: list[str], max_length: int, what: str = "") -> int:
    """A warning naming how many texts are cut at `max_length` tokens (nothing when none is)."""
    count = count_truncated(tokenizer, texts, max_length)
    if count:
        where = f"{what}: " if what else ""
        warnings.warn(
            f"{where}{count} of {len(texts)} texts are longer than max_length={max_length} tokens and are "
            "truncated; raise -p max_length=N to keep more of them",
            stacklevel=3,
        )
    return count
