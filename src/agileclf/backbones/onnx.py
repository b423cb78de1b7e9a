"""ONNX Runtime prediction path: the (tuned) sentence-transformers encoder exported once and int8-quantised.

`onnx` runs the exported fp32 graph; `onnx-int8` adds ONNX Runtime's dynamic quantisation (int8 weights per
output channel, uint8 activations per tensor) and the tanh approximation of GELU. The session applies ONNX
Runtime's own graph fusions when it loads the graph; the offline BERT fusions of onnxruntime.transformers (fused
Attention, SkipLayerNorm, EmbedLayerNorm) measured 15-20% slower on SST-2 sentences and 6-16% slower on AG News
texts (docs/prediction-speed.md), so only the GELU one is used.
The graph is rebuilt from the model's weights when needed and cached in the user's cache folder (~/.cache/agileclf/onnx,
see `default_cache_dir`) keyed by a hash of those weights, least recently used graphs pruned past a size bound, so
artifacts stay safetensors-only and never need onnxruntime to save.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import re
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from agileclf.backbones.encoder import EncoderBackbone
from agileclf.errors import ConfigError
from agileclf.progress import progress

ONNX_PRECISIONS = ("onnx", "onnx-int8")
RECIPE = "3"  # bump when the export/quantise recipe changes, so stale cached graphs are not reused
OPSET = 17
TOKENIZER_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Regular expressions over node names left in fp32 by int8 quantisation (empty: every MatMul with a weight is
# int8); bench.speed --onnx-keep-fp32 measures alternatives, e.g. r"layer\.\d+/output/dense" for FFN outputs.
KEEP_FP32: tuple[str, ...] = ()


def require_onnxruntime():
    """The onnxruntime module, or a ConfigError that says how to install it."""
    try:
        import onnxruntime
    except ImportError as err:
        raise ConfigError(
            "inference=onnx / onnx-int8 needs onnxruntime and onnx: pip install 'agileclf[fast]' "
            f"(import failed: {err})"
        ) from err
    return onnxruntime


CACHE_MAX_BYTES = 2 << 30  # a MiniLM graph is 23 MB (int8) or 90 MB (fp32); $AGILECLF_ONNX_CACHE_MAX_MB overrides


def default_cache_dir() -> Path:
    """Where exported graphs are kept between runs: $AGILECLF_ONNX_CACHE, else the user's cache folder
    ($XDG_CACHE_HOME or ~/.cache)/agileclf/onnx; never the shared temp folder, which any local user can write."""
    if os.environ.get("AGILECLF_ONNX_CACHE"):
        return Path(os.environ["AGILECLF_ONNX_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "agileclf" / "onnx"


def cache_limit() -> int:
    """Bytes the graph cache may hold ($AGILECLF_ONNX_CACHE_MAX_MB, default 2 GiB)."""
    value = os.environ.get("AGILECLF_ONNX_CACHE_MAX_MB")
    try:
        return int(float(value) * (1 << 20)) if value else CACHE_MAX_BYTES
    except ValueError:
        raise ConfigError(f"AGILECLF_ONNX_CACHE_MAX_MB must be a number of megabytes, not {value!r}") from None


def prune_cache(cache_dir: Path, keep: Path, limit: int | None = None) -> list[Path]:
    """Delete the least recently used graphs until the cache holds at most `limit` bytes; `keep` stays."""
    limit = cache_limit() if limit is None else limit
    graphs = sorted(cache_dir.glob("*.onnx"), key=lambda g: g.stat().st_mtime)  # oldest first
    total = sum(g.stat().st_size for g in graphs)
    removed = []
    for graph in graphs:
        if total <= limit:
            break
        if graph == keep:
            continue
        total -= graph.stat().st_size
        graph.unlink(missing_ok=True)
        graph.with_suffix(".inputs").unlink(missing_ok=True)
        removed.append(graph)
    return removed


def weights_key(model, precision: str, keep_fp32: tuple[str, ...]) -> str:
    """A hash of everything the exported graph depends on: weights, max length, recipe, library versions."""
    import onnxruntime
    import torch

    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    meta = [precision, RECIPE, str(model.max_seq_length), torch.__version__, onnxruntime.__version__, *keep_fp32]
    digest.update("|".join(meta).encode())
    return digest.hexdigest()[:24]


def _sentence_embedding_module(model, input_names: tuple[str, ...]):
    """Wraps a SentenceTransformer so torch.onnx.export sees tensors in, sentence_embedding out."""
    import torch

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            # every module of the model runs (transformer, pooling, normalisation), exactly as in encode()
            return self.model(dict(zip(input_names, tensors, strict=True)))["sentence_embedding"]

    return SentenceEmbedding().eval()


def export_fp32(model, path: Path) -> tuple[str, ...]:
    """torch.onnx.export of the whole SentenceTransformer with dynamic batch and sequence axes; its input names."""
    import torch

    model = copy.deepcopy(model).cpu().eval()
    transformer = model[0].auto_model
    # eager attention exports plain MatMul/Softmax nodes (SDPA's export adds IsNaN/Where mask handling per layer)
    transformer.set_attn_implementation("eager")
    sample = model.preprocess(["a short text", "a somewhat longer text to give the sample real padding"])
    names = tuple(name for name in TOKENIZER_INPUTS if name in sample)
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes on shape checks that hold for every input, and deprecations
        torch.onnx.export(
            _sentence_embedding_module(model, names),
            tuple(sample[name] for name in names),
            str(path),
            input_names=list(names),
            output_names=["sentence_embedding"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter needs no onnxscript and handles the dynamic axes here
        )
    return names


def approximate_gelu(source: Path, target: Path) -> None:
    """GELU as ONNX Runtime's FastGelu (tanh form): 9% less CPU time for int8 MiniLM, cosine to fp32 unchanged."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    for name in vars(options):
        if name.startswith("enable_"):
            setattr(options, name, False)  # only this fusion: the others measured slower (see the module note)
    options.enable_gelu = options.enable_gelu_approximation = True
    optimized = optimize_model(str(source), model_type="bert", opt_level=0, optimization_options=options)
    optimized.save_model_to_file(str(target))


def quantize_int8(source: Path, target: Path, keep_fp32: tuple[str, ...] = KEEP_FP32) -> None:
    """Dynamic int8 quantisation: per-channel int8 weights; nodes whose name matches a keep_fp32 pattern stay fp32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    names = [node.name for node in onnx.load(str(source), load_external_data=False).graph.node]
    excluded = [name for name in names if any(re.search(pattern, name) for pattern in keep_fp32)]
    with _quiet_logging():
        quantize_dynamic(
            str(source),
            str(target),
            per_channel=True,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=excluded,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # FastGelu has no ONNX shape inference
        )


def build_graph(model, precision: str, cache_dir: Path | None = None, keep_fp32: tuple[str, ...] = KEEP_FP32):
    """Path of the cached ONNX graph for `model` at `precision`, exporting it first if needed; plus input names."""
    require_onnxruntime()
    if precision not in ONNX_PRECISIONS:
        raise ConfigError(f"ONNX precision must be one of {', '.join(ONNX_PRECISIONS)}, not {precision!r}")
    cache_dir = Path(cache_dir or default_cache_dir())
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = weights_key(model, precision, keep_fp32)
    final = cache_dir / f"{key}-{precision}.onnx"
    names_file = final.with_suffix(".inputs")
    if not (final.is_file() and names_file.is_file()):
        with tempfile.TemporaryDirectory(prefix=".export-", dir=cache_dir) as tmp:
            built = Path(tmp) / "fp32.onnx"
            names = export_fp32(model, built)
            if precision == "onnx-int8":
                approximate_gelu(built, Path(tmp) / "gelu.onnx")
                quantize_int8(Path(tmp) / "gelu.onnx", Path(tmp) / "int8.onnx", keep_fp32)
                built = Path(tmp) / "int8.onnx"
            (Path(tmp) / "inputs").write_text("\n".join(names))
            os.replace(Path(tmp) / "inputs", names_file)
            os.replace(built, final)  # atomic: a concurrent reader sees the whole graph or none
        prune_cache(cache_dir, keep=final)
    else:
        os.utime(final)  # recently used: pruned last
    return final, tuple(names_file.read_text().split())


class OnnxEncoder(EncoderBackbone):
    """An EncoderBackbone whose embed() runs an ONNX Runtime session built from another's (tuned) weights."""

    def __init__(
        self,
        backbone: EncoderBackbone,
        precision: str = "onnx-int8",
        cache_dir: Path | None = None,
        keep_fp32: tuple[str, ...] = KEEP_FP32,
    ):
        ort = require_onnxruntime()
        import torch

        self.__dict__.update(backbone.__dict__)  # path, ref, device, the cached model and fingerprint
        self.backbone = backbone
        self.precision = precision
        self.graph_path, self.input_names = build_graph(backbone.model, precision, cache_dir, keep_fp32)
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(str(self.graph_path), options, providers=["CPUExecutionProvider"])

    def embed(self, texts: list[str], batch_size: int = 8, normalize: bool = False) -> np.ndarray:
        """Embeddings as float32 (n, dim): texts sorted by token count, each batch padded to its longest.

        Small batches of near-equal length waste no compute on padding; on one thread 8 measured faster than
        16, 32 or 64 (larger activations spill out of cache).
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # sentence-transformers' own tokenisation, padded once, as numpy (torch tensors from lists cost 2x more)
        features = self.model.preprocess(list(texts), processing_kwargs={"common": {"return_tensors": "np"}})
        arrays = {name: features[name].astype(np.int64, copy=False) for name in self.input_names}
        lengths = arrays["attention_mask"].sum(axis=1)
        right_padded = self.tokenizer.padding_side == "right"
        order = np.argsort(-lengths, kind="stable")
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        for start in starts if len(texts) <= 32 * batch_size else progress(starts, desc="embed"):
            rows = order[start : start + batch_size]
            width = int(lengths[rows].max())
            columns = slice(None, width) if right_padded else slice(-width, None)
            vectors[rows] = self.session.run(None, {name: array[rows, columns] for name, array in arrays.items()})[0]
        if normalize:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def __repr__(self) -> str:
        return f"OnnxEncoder({self.ref!r}, {self.precision!r})"


@contextmanager
def _quiet_logging():
    """onnxruntime.quantization logs a pre-processing suggestion through the root logger on every call."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
