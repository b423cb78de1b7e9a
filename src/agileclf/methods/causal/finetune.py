"""Full fine-tuning of a causal LM with the loss on the label tokens only; the artifact stores the model."""

from __future__ import annotations

from pathlib import Path

from agileclf.artifact import BACKBONE_DIR
from agileclf.methods.causal.training import TrainConfig, TrainedCausalMethod
from agileclf.methods.registry import register


@register
class CausalFinetune(TrainedCausalMethod):
    """Every weight of a private copy of the model is tuned; the shared backbone is untouched."""

    name = "finetune"
    config_class = TrainConfig
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
