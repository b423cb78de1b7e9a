"""A fitted method to a classifier directory and back (the storage itself is `agileclf.artifact`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agileclf.artifact import BACKBONE_DIR, read_meta, read_weights, write_artifact
from agileclf.errors import BackboneError


def save_classifier(method, path: str | Path, extra: dict | None = None) -> Path:
    """Save a fitted method: its tensors, any extra files, and agileclf.json listing every file's sha256.

    Under a multi-process launch only the main process writes (the others trained the same weights)."""
    from agileclf.methods.training import is_main_process

    if not is_main_process():
        return Path(path)
    backbone = method.backbone
    meta = {
        "method": method.name,
        "backbone": {
            "kind": backbone.kind,
            "ref": backbone.ref,
            "fingerprint": backbone.fingerprint,
            "weights_fingerprint": backbone.weights_fingerprint,
            "stored": method.stores_backbone,
        },
        "labels": method.labels.to_json(),
        "params": method.params,
        "train": {"sha256": method.train_fingerprint, "size": method.train_size},
        **(extra or {}),
    }
    return write_artifact(path, method._state_tensors(), method._save_files, meta)


def load_classifier(path: str | Path, backbone: Any = None, device: str | None = None):
    """Rebuild a saved classifier; `backbone` overrides the recorded backbone path (same model required)."""
    from agileclf.backbones import load_backbone
    from agileclf.data.labels import LabelSet
    from agileclf.methods.registry import build_config, method_class

    path = Path(path)
    meta = read_meta(path)
    recorded = meta["backbone"]
    if recorded.get("stored"):
        backbone = load_backbone(path / BACKBONE_DIR, device=device)
        backbone.ref = recorded["ref"]
    else:
        backbone = load_backbone(backbone if backbone is not None else recorded["ref"], device=device)
        _check_same_backbone(path, recorded, backbone)
    cls = method_class(meta["method"], recorded["kind"], meta.get("task", "label"))
    method = cls(backbone=backbone, config=build_config(cls.config_class, meta["params"]))
    method.labels = LabelSet.from_json(meta["labels"])
    method.train_fingerprint = meta.get("train", {}).get("sha256")
    method.train_size = meta.get("train", {}).get("size", 0)
    method.meta = meta
    method._load_state_tensors(read_weights(path))
    method._load_files(path)
    return method


def _check_same_backbone(path: Path, recorded: dict, backbone) -> None:
    if backbone.fingerprint != recorded["fingerprint"]:
        raise BackboneError(
            f"{path}: was trained on backbone {recorded['ref']}, but {backbone.path} is a different model "
            "(config fingerprint differs); pass the original backbone"
        )
    recorded_weights = recorded.get("weights_fingerprint")  # absent in artifacts saved before it was recorded
    if recorded_weights and backbone.weights_fingerprint != recorded_weights:
        raise BackboneError(
            f"{path}: was trained on backbone {recorded['ref']}, but {backbone.path} holds different weights "
            "(same architecture, another checkpoint); pass the original backbone"
        )
