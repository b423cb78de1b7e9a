"""Synthetic training data from a few examples: generate with a causal LM, self-filter, report, augment."""

from agileclf.synth.filters import FilterSettings
from agileclf.synth.generate import GenerationSettings
from agileclf.synth.pipeline import SynthesisResult, synthesize

__all__ = ["FilterSettings", "GenerationSettings", "SynthesisResult", "synthesize"]
