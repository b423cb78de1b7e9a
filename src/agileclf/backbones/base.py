"""What every local backbone shares: where it lives, its fingerprints, tuned copies, and which load errors are
the user's (a missing file, a wrong format or kind) rather than a bug or an out-of-memory that must propagate."""

from __future__ import annotations

import copy
from functools import cached_property
from pathlib import Path
from typing import Any

from agileclf.backbones.kinds import fingerprint, reference_of, resolve_path, weights_fingerprint


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions a broken or foreign model folder raises while loading (missing files, bad JSON or safetensors,
    an unknown architecture); anything else (out of memory, a bug) is not wrapped."""
    from safetensors import SafetensorError

    return (OSError, ValueError, KeyError, SafetensorError)


class LocalBackbone:
    """A model loaded lazily from a local folder; subclasses set `kind` and define `model` and `save`."""

    kind: str

    def __init__(self, path: str | Path | None):
        self.path = resolve_path(path)
        self.ref = reference_of(path)

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint(self.path)

    @cached_property
    def weights_fingerprint(self) -> str:
        return weights_fingerprint(self.path)

    @property
    def origin(self) -> LocalBackbone:
        """The backbone as loaded, before any method tuned it (itself when untuned)."""
        return self.__dict__.get("_origin", self)

    def with_model(self, model: Any) -> LocalBackbone:
        """A copy of this backbone holding `model` (a tuned copy of its weights); `origin` stays this one's."""
        tuned = copy.copy(self)
        tuned.__dict__["model"] = model  # replaces the cached (lazily loaded) model in the copy only
        tuned.__dict__["_origin"] = self.origin
        return tuned

    def save(self, directory: str | Path) -> Path:
        """Write the model (and tokenizer) as a folder this class loads again (a tuned model in an artifact)."""
        raise NotImplementedError
