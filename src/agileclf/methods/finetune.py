"""Full fine-tuning of an encoder with a linear head (AdamW, dynamic padding, optional early stopping)."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from agileclf.artifact import BACKBONE_DIR
from agileclf.data.sampling import stratified_holdout
from agileclf.methods.base import Method, param
from agileclf.methods.heads import (
    check_class_weight,
    class_weight_param,
    class_weights,
    head_arrays,
    head_proba,
    head_tensors,
    weighted_cross_entropy,
)
from agileclf.methods.inference import FastInference, check_inference, inference_param
from agileclf.methods.registry import register
from agileclf.methods.training import (
    AccelerateConfig,
    Validation,
    epochs_for,
    module_device,
    run_loop,
    shuffled_batches,
    updates_per_epoch,
)


@dataclass
class FinetuneConfig(AccelerateConfig):
    epochs: int = param(0, "passes over the data; 0 picks enough epochs for about min_steps updates")
    min_steps: int = param(80, "with epochs=0, the number of optimizer updates to aim for")
    max_epochs: int = param(40, "with epochs=0, the most epochs to run")
    batch_size: int = param(16, "examples per update")
    lr: float = param(5e-5, "AdamW learning rate of the encoder")
    head_lr: float = param(1e-2, "AdamW learning rate of the head")
    weight_decay: float = param(0.01, "AdamW weight decay")
    warmup_ratio: float = param(0.1, "fraction of updates with a linearly rising learning rate")
    max_length: int = param(128, "tokens per text; longer texts are truncated")
    head_init: str = param("zeros", "head start: 'label-names' (zero-shot prior) or 'zeros'")
    head_scale: float = param(20.0, "logit scale of the label-name head start (1 / temperature)")
    holdout_min_per_class: int = param(16, "hold back a slice for early stopping when every class has this many")
    holdout_fraction: float = param(0.15, "share of examples held back for early stopping")
    patience: int = param(3, "epochs without validation improvement before stopping")
    class_weight: str | dict | None = class_weight_param()
    inference: str = inference_param()

    def __post_init__(self) -> None:
        super().__post_init__()
        check_inference(self.inference)
        check_class_weight(self.class_weight)
        if self.head_init not in ("label-names", "zeros"):
            raise ValueError(f"head_init must be 'label-names' or 'zeros', not {self.head_init!r}")


@register
class EncoderFinetune(FastInference, Method):
    """Every encoder weight is tuned together with the head; the artifact stores the tuned encoder."""

    name = "finetune"
    tunes_backbone = True
    kinds = ("encoder",)
    config_class = FinetuneConfig
    stores_backbone = True

    def _fit(self, texts, y, valid) -> None:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        rng = np.random.Generator(np.random.PCG64(cfg.seed))
        if valid is None:
            texts, y, valid = self._holdout(texts, y, rng)

        base = self.backbone.origin  # a refit starts from the untuned encoder, like a fresh object
        model = base.trainable_copy(cfg.max_length)
        base.warn_truncated(texts, cfg.max_length, self.name)
        network = SentenceClassifier(model, self._initial_head(base, model.get_embedding_dimension()))
        optimizer = torch.optim.AdamW(
            [
                {"params": model.parameters(), "lr": cfg.lr},
                {"params": network.head.parameters(), "lr": cfg.head_lr},
            ],
            weight_decay=cfg.weight_decay,
        )
        per_epoch = updates_per_epoch(math.ceil(len(texts) / cfg.batch_size), cfg.grad_accumulation)
        epochs = epochs_for(cfg.epochs, cfg.min_steps, cfg.max_epochs, per_epoch)
        labels = self._targets(y)
        batch_loss = self._batch_loss(y)

        def loss_of(module, batch) -> torch.Tensor:
            logits = module([texts[i] for i in batch])
            return batch_loss(logits, labels[batch])

        validation = None
        if valid is not None:
            validation = Validation(
                score=lambda: self._validation_score(network, valid),
                snapshot=lambda: copy.deepcopy(network.state_dict()),
                restore=network.load_state_dict,
                patience=cfg.patience,
            )
        best_score = run_loop(
            network, optimizer, shuffled_batches(rng, len(texts), cfg.batch_size), loss_of, epochs=epochs,
            batches_per_epoch=math.ceil(len(texts) / cfg.batch_size), warmup_ratio=cfg.warmup_ratio,
            validation=validation, mixed_precision=cfg.mixed_precision, grad_accumulation=cfg.grad_accumulation,
            desc=f"finetune {len(texts)} examples",
        )  # fmt: skip
        self.validation_accuracy = best_score
        self.backbone = base.with_model(model)  # the tuned copy; `base` stays untouched
        self.head_weight, self.head_bias = head_arrays(network.head)

    # ---- what differs between one label and several per text (methods.multilabel.finetune) -------------------
    def _holdout(self, texts: list[str], y: np.ndarray, rng: np.random.Generator):
        cfg = self.config
        return stratified_holdout(texts, y, cfg.holdout_fraction, cfg.holdout_min_per_class, rng)

    def _targets(self, y: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(y)

    def _batch_loss(self, y: np.ndarray):
        """loss(logits, targets) of a batch: cross-entropy, class-weighted as configured."""
        weights = class_weights(self.config.class_weight, y, self.labels.names)
        return lambda logits, targets: weighted_cross_entropy(logits, targets, weights)

    def _validation_score(self, network, valid) -> float:
        """Higher is better; the epoch with the best score is kept (accuracy here)."""
        return _accuracy(network, valid)

    def _initial_head(self, backbone, dim: int) -> nn.Linear:
        head = nn.Linear(dim, len(self.labels), device=backbone.model.device)
        nn.init.zeros_(head.bias)
        if self.config.head_init == "label-names":
            names = [self.labels.describe(n) for n in self.labels.names]
            with torch.no_grad():
                names_vectors = torch.from_numpy(backbone.embed(names, normalize=True)).to(head.weight.device)
                head.weight.copy_(names_vectors * self.config.head_scale)
        else:
            nn.init.zeros_(head.weight)
        return head

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        return head_proba(self._prediction_features(texts), self.head_weight, self.head_bias)

    def _state_tensors(self):
        return head_tensors(self.head_weight, self.head_bias)

    def _load_state_tensors(self, tensors) -> None:
        self.head_weight, self.head_bias = tensors["head.weight"].numpy(), tensors["head.bias"].numpy()

    def _save_files(self, directory: Path) -> None:
        self.backbone.save(directory / BACKBONE_DIR)


class SentenceClassifier(nn.Module):
    """A SentenceTransformer and a linear head: texts in, logits out (tokenized to the batch's longest text);
    `normalize` scales each embedding to unit length before the head (as a head fitted on normalized ones needs)."""

    def __init__(self, model, head: nn.Linear, normalize: bool = False):
        super().__init__()
        self.model, self.head, self.normalize = model, head, normalize

    def forward(self, texts: list[str]) -> torch.Tensor:
        features = self.model.preprocess(texts)
        device = module_device(self.head)
        features = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}
        embeddings = self.model(features)["sentence_embedding"]
        return self.head(nn.functional.normalize(embeddings, dim=-1) if self.normalize else embeddings)


@torch.no_grad()
def validation_logits(network: SentenceClassifier, texts: list[str]) -> torch.Tensor:
    network.eval()
    return torch.cat([network(texts[start : start + 64]).cpu() for start in range(0, len(texts), 64)])


def _accuracy(network: SentenceClassifier, valid: tuple[list[str], np.ndarray]) -> float:
    texts, y = valid
    return float((validation_logits(network, texts).argmax(1).numpy() == y).mean())
