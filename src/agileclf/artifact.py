"""A classifier on disk: a directory with agileclf.json and safetensors weights, written atomically."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agileclf.errors import ArtifactError, BackboneError

FORMAT_VERSION = 1
META_FILE = "agileclf.json"
WEIGHTS_FILE = "weights.safetensors"
BACKBONE_DIR = "backbone"


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in ("agileclf", "torch", "transformers", "sentence-transformers", "peft", "scikit-learn", "numpy"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return versions


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json_atomic(path: Path, payload: dict) -> None:
    """Write JSON through a temporary file and a rename, so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_directory_atomic(path: str | Path, fill: Callable[[Path], None]) -> Path:
    """Build a directory in a temporary sibling, then swap it in; an earlier directory survives a failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not (path / META_FILE).is_file() and (not path.is_dir() or any(path.iterdir())):
        raise ArtifactError(
            f"{path} exists and is not an agileclf classifier; refusing to overwrite it. Choose another --out"
        )
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        fill(tmp)
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}-{time.time_ns()}")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def save_classifier(method, path: str | Path, extra: dict | None = None) -> Path:
    """Save a fitted method: its tensors, any extra files, and agileclf.json listing every file's sha256."""
    from safetensors.torch import save_file

    def fill(directory: Path) -> None:
        tensors = {k: v.detach().cpu().contiguous() for k, v in method._state_tensors().items()}
        if tensors:
            save_file(tensors, str(directory / WEIGHTS_FILE))
        method._save_files(directory)
        files = {str(p.relative_to(directory)): sha256_file(p) for p in sorted(directory.rglob("*")) if p.is_file()}
        meta = {
            "format_version": FORMAT_VERSION,
            "method": method.name,
            "backbone": {
                "kind": method.backbone.kind,
                "ref": method.backbone.ref,
                "fingerprint": method.backbone.fingerprint,
                "weights_fingerprint": method.backbone.weights_fingerprint,
                "stored": method.stores_backbone,
            },
            "labels": method.labels.to_json(),
            "params": method.params,
            "train": {"sha256": method.train_fingerprint, "size": method.train_size},
            "versions": library_versions(),
            "files": files,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        meta.update(extra or {})
        write_json_atomic(directory / META_FILE, meta)

    return write_directory_atomic(path, fill)


def read_meta(path: str | Path, verify: bool = True) -> dict:
    """agileclf.json of a classifier directory, after checking format version and (optionally) checksums."""
    path = Path(path)
    meta_path = path / META_FILE
    if not path.is_dir():
        raise ArtifactError(f"{path}: no such classifier directory")
    if not meta_path.is_file():
        raise ArtifactError(f"{path}: no {META_FILE}; this is not an agileclf classifier directory")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArtifactError(f"{meta_path}: not valid JSON ({err})") from None
    for key in ("format_version", "method", "backbone", "labels", "params", "files"):
        if key not in meta:
            raise ArtifactError(f"{meta_path}: field '{key}' is missing")
    if meta["format_version"] != FORMAT_VERSION:
        raise ArtifactError(
            f"{meta_path}: format version {meta['format_version']}, but this agileclf reads version "
            f"{FORMAT_VERSION}; retrain, or use the agileclf version that wrote it ({meta.get('versions', {})})"
        )
    if verify:
        verify_files(path, meta)
    return meta


def verify_files(path: Path, meta: dict) -> None:
    """Refuse a directory whose files are missing or differ from the checksums recorded at save."""
    for name, expected in meta["files"].items():
        file = path / name
        if not file.is_file():
            raise ArtifactError(f"{path}: file '{name}' is missing")
        if sha256_file(file) != expected:
            raise ArtifactError(
                f"{path}: file '{name}' does not match the checksum recorded when it was saved "
                "(modified or corrupted); refusing to load it"
            )


def load_classifier(path: str | Path, backbone: Any = None, device: str | None = None):
    """Rebuild a saved classifier; `backbone` overrides the recorded backbone path (same model required)."""
    from safetensors.torch import load_file

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
    cls = method_class(meta["method"], recorded["kind"], meta.get("task", "label"))
    method = cls(backbone=backbone, config=build_config(cls.config_class, meta["params"]))
    method.labels = LabelSet.from_json(meta["labels"])
    method.train_fingerprint = meta.get("train", {}).get("sha256")
    method.train_size = meta.get("train", {}).get("size", 0)
    method.meta = meta
    weights = path / WEIGHTS_FILE
    method._load_state_tensors(load_file(str(weights)) if weights.is_file() else {})
    return method


def update_meta(path: str | Path, **fields: Any) -> None:
    """Add fields (e.g. evaluation metrics) to agileclf.json, atomically; weights stay untouched."""
    path = Path(path)
    meta = read_meta(path, verify=False)
    meta.update(fields)
    write_json_atomic(path / META_FILE, meta)


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
