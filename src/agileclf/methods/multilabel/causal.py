"""Multi-label zero-shot and ICL with a causal LM: the model's distribution over the label words, one pass per text;
a label is on where its share reaches that label's threshold (chosen on the examples by the caller's CV, or on a
dev split), and the top label is always kept unless `allow_empty`.

A prompt's answer is one label, so what the examples decide (the prompt search, ICL's demonstrations) reads the rows
that carry exactly one label; rows with several labels still choose the thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from agileclf.methods.causal import prompt_search
from agileclf.methods.causal.common import CausalConfig
from agileclf.methods.causal.icl import CausalICL, ICLConfig
from agileclf.methods.causal.zero_shot import CausalZeroShot
from agileclf.methods.multilabel.base import MultiLabelFields, MultiLabelMethod
from agileclf.methods.registry import register


class SingleLabelRows(MultiLabelMethod):
    """Fits its single-label parent on the rows with exactly one label; prompt-search clones are that parent."""

    single_label_class: ClassVar[type]

    def _search_clone(self, overrides: dict):
        return prompt_search.clone_as(self.single_label_class, self.backbone, self.config, overrides)

    def _fit(self, texts, y, valid) -> None:
        single = np.flatnonzero(y.sum(axis=1) == 1)
        super()._fit([texts[i] for i in single], y[single].argmax(axis=1).astype(np.int64), None)


@dataclass
class MultiLabelCausalZeroShotConfig(CausalConfig, MultiLabelFields):
    pass


@register
class MultiLabelCausalZeroShot(SingleLabelRows, CausalZeroShot):
    """No training: the label words' probabilities after the instruction (the prompt chosen on one-label rows)."""

    config_class = MultiLabelCausalZeroShotConfig
    single_label_class = CausalZeroShot


@dataclass
class MultiLabelCausalICLConfig(ICLConfig, MultiLabelFields):
    pass


@register
class MultiLabelCausalICL(SingleLabelRows, CausalICL):
    """Demonstrations drawn from the one-label rows; the label words' probabilities after them."""

    config_class = MultiLabelCausalICLConfig
    single_label_class = CausalICL
