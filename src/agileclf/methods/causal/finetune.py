"""Full fine-tuning of a causal LM with the loss on the label tokens only; the artifact stores the model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agileclf.artifact import BACKBONE_DIR
from agileclf.methods.base import param
from agileclf.methods.causal.training import TrainConfig, TrainedCausalMethod
from agileclf.methods.registry import register


@dataclass
class FinetuneConfig(TrainConfig):
    # lr 2e-5 x 60 updates, 15 per label, over the loop's 1e-4 x 100: on dev rows (SmolLM2-135M, 8 shots, seeds
    # 0-4) TREC +3.1 [-1.3, +7.4], SST-2 +1.0 [-2.2, +5.0], AG News +2.9 [-0.2, +5.7], in half to 9/10 of the fit
    # (benchmarks/causal_finetune_dev.py, sessions 30-31)
    lr: float = param(2e-5, "AdamW learning rate of every weight")
    min_steps: int = param(60, "with epochs=0, the number of optimizer updates to aim for")
    steps_per_label: int = param(15, "with epochs=0, at least this many updates per label (over min_steps)")


@register
class CausalFinetune(TrainedCausalMethod):
    """Every weight of a private copy of the model is tuned; the shared backbone is untouched."""

    name = "finetune"
    config_class = FinetuneConfig
    stores_backbone = True

    def _start_training(self):
        self.model = self.backbone.load_model()
        self.model.requires_grad_(True)
        return self.model, None, [p for p in self.model.parameters() if p.requires_grad]

    @property
    def lm(self):
        return self.model if hasattr(self, "model") else self.backbone.model

    def _snapshot(self):
        return {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}

    def _load_snapshot(self, snapshot) -> None:
        self.model.load_state_dict(snapshot)

    def _finish_training(self) -> None:
        self.model.requires_grad_(False)
        self.model.eval()
        self.backbone = self.backbone.with_model(self.model)  # the tuned copy; the shared backbone is untouched

    def _save_files(self, directory: Path) -> None:
        self.backbone.save(directory / BACKBONE_DIR)
