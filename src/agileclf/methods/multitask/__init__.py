"""Multi-task classification: intent + slots or label + parent from one shared model (or two single-task ones)."""

from agileclf.methods.multitask.causal import MultitaskCausalConfig, MultitaskCausalLM
from agileclf.methods.multitask.encoder import TASKS, FramePrediction, MultitaskConfig, MultitaskEncoder

__all__ = [
    "TASKS",
    "FramePrediction",
    "MultitaskCausalConfig",
    "MultitaskCausalLM",
    "MultitaskConfig",
    "MultitaskEncoder",
]
