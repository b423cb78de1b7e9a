"""Loading backbones (encoders, causal LMs) from local folders."""

from __future__ import annotations

from pathlib import Path

from agileclf.backbones.encoder import EncoderBackbone
from agileclf.backbones.kinds import BUNDLED_MINILM, CAUSAL_LM, ENCODER, detect_kind, resolve_path
from agileclf.errors import BackboneError

__all__ = ["BUNDLED_MINILM", "CAUSAL_LM", "ENCODER", "EncoderBackbone", "load_backbone"]


def load_backbone(path: str | Path | None = None, device: str | None = None, **options):
    """A backbone object for a local folder (None: the bundled MiniLM); its kind is read from its config."""
    if path is not None and not isinstance(path, str | Path):
        return path  # already a backbone object
    kind = detect_kind(resolve_path(path))
    if kind == ENCODER:
        return EncoderBackbone(path, device=device, **options)
    try:
        from agileclf.backbones.causal import CausalLMBackbone
    except ImportError as err:
        raise BackboneError(f"backbone {path} is a causal LM, which needs agileclf's causal extras ({err})") from err
    return CausalLMBackbone(path, device=device, **options)
