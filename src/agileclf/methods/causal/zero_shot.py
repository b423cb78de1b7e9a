"""Zero-shot prompting of a causal LM: the instruction with the label list, each label's words scored."""

from __future__ import annotations

from agileclf.methods.causal.common import CausalConfig, CausalMethod
from agileclf.methods.registry import register


@register
class CausalZeroShot(CausalMethod):
    """No training: the prompt names the labels and the model's probability of each label's words decides."""

    name = "zero-shot"
    config_class = CausalConfig
    needs_training_data = False

    def _fit(self, texts, y, valid) -> None:
        self._choose_prompt(texts, y)  # the examples, when given, only choose the prompt
        self._setup_prompting()
