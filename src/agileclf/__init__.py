"""agileclf: a few labelled examples in, a measured, saved, served text classifier out."""

import os

# Offline always: set before anything imports huggingface_hub, so no code path can reach a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

__version__ = "0.1.0"

from agileclf.errors import AgileclfError  # noqa: E402

__all__ = ["AgileclfError", "__version__", "load_classifier", "make_method"]


def __getattr__(name: str):
    # Lazy, so `import agileclf` stays cheap and torch loads only when a method is used.
    if name == "make_method":
        from agileclf.methods import make_method

        return make_method
    if name == "load_classifier":
        from agileclf.methods import load_classifier

        return load_classifier
    raise AttributeError(name)
