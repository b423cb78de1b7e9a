"""Storage of a classifier directory (agileclf.json + safetensors), written atomically and verified on read.

Storage only: no method or backbone code. Turning a method into such a directory and back lives in
`agileclf.methods.persistence`."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from agileclf.errors import ArtifactError

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


def check_output_path(path: str | Path, option: str, folder: bool) -> None:
    """Raise when `path` exists as the wrong kind for a command's output (a file where a folder goes, or the
    reverse): checked before the command's work, not when it writes its results."""
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise ArtifactError(f"{path} exists and is a file; {option} takes a folder")
    if not folder and path.is_dir():
        raise ArtifactError(f"{path} is a folder; {option} takes a file")


def check_replaceable(path: str | Path) -> None:
    """Raise unless `path` is free, an empty folder or a classifier directory (which a save replaces): a command
    checks its --out this way before it trains, not after."""
    path = Path(path)
    if path.exists() and not (path / META_FILE).is_file() and (not path.is_dir() or any(path.iterdir())):
        raise ArtifactError(
            f"{path} exists and is not an agileclf classifier; refusing to overwrite it. Choose another --out"
        )


def write_directory_atomic(path: str | Path, fill: Callable[[Path], None]) -> Path:
    """Build a directory in a temporary sibling, then swap it in; an earlier directory survives a failure."""
    path = Path(path)
    check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
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


def write_artifact(
    path: str | Path, tensors: dict[str, Any], write_files: Callable[[Path], None], meta: dict[str, Any]
) -> Path:
    """Write a classifier directory atomically: tensors to weights.safetensors, `write_files(dir)` for the rest,
    then agileclf.json = `meta` + format version, creation time and every file's sha256."""
    from safetensors.torch import save_file

    def fill(directory: Path) -> None:
        cpu_tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        if cpu_tensors:
            save_file(cpu_tensors, str(directory / WEIGHTS_FILE))
        write_files(directory)
        files = {str(p.relative_to(directory)): sha256_file(p) for p in sorted(directory.rglob("*")) if p.is_file()}
        full = {"format_version": FORMAT_VERSION, **meta, "files": files}
        full.setdefault("versions", library_versions())
        full.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        write_json_atomic(directory / META_FILE, full)

    return write_directory_atomic(path, fill)


def read_weights(path: str | Path) -> dict[str, Any]:
    """The tensors of weights.safetensors in a classifier directory ({} when the method saved none)."""
    from safetensors.torch import load_file

    weights = Path(path) / WEIGHTS_FILE
    return load_file(str(weights)) if weights.is_file() else {}


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


def update_meta(path: str | Path, **fields: Any) -> None:
    """Add fields (e.g. evaluation metrics) to agileclf.json, atomically; weights stay untouched."""
    path = Path(path)
    meta = read_meta(path, verify=False)
    meta.update(fields)
    write_json_atomic(path / META_FILE, meta)


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file through a temporary file and a rename."""
    with open_atomic(path) as handle:
        handle.write(text)


@contextmanager
def open_atomic(path: Path) -> Iterator[TextIO]:
    """A text file to write piece by piece; it appears at `path` only when the block ends without an error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
