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
from agileclf.methods.base import Method, MethodConfig, param
from agileclf.methods.distributed import make_accelerator, shard
from agileclf.methods.heads import head_proba, head_tensors
from agileclf.methods.inference import FastInference, check_inference, inference_param
from agileclf.methods.registry import register
from agileclf.progress import progress, quiet_loading


@dataclass
class FinetuneConfig(MethodConfig):
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
    inference: str = inference_param()

    def __post_init__(self) -> None:
        check_inference(self.inference)
        if self.head_init not in ("label-names", "zeros"):
            raise ValueError(f"head_init must be 'label-names' or 'zeros', not {self.head_init!r}")


@register
class EncoderFinetune(FastInference, Method):
    """Every encoder weight is tuned together with the head; the artifact stores the tuned encoder."""

    name = "finetune"
    kinds = ("encoder",)
    config_class = FinetuneConfig
    stores_backbone = True

    def _fit(self, texts, y, valid) -> None:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        rng = np.random.Generator(np.random.PCG64(cfg.seed))
        if valid is None:
            texts, y, valid = stratified_holdout(texts, y, cfg.holdout_fraction, cfg.holdout_min_per_class, rng)

        base = self.backbone
        model = copy.deepcopy(base.model)  # never change a backbone that other methods may share
        model.max_seq_length = cfg.max_length
        head = self._initial_head(base, model.get_embedding_dimension())
        steps_per_epoch = math.ceil(len(texts) / cfg.batch_size)
        epochs = cfg.epochs or min(cfg.max_epochs, max(1, math.ceil(cfg.min_steps / steps_per_epoch)))
        optimizer = torch.optim.AdamW(
            [
                {"params": model.parameters(), "lr": cfg.lr},
                {"params": head.parameters(), "lr": cfg.head_lr},
            ],
            weight_decay=cfg.weight_decay,
        )
        total = epochs * steps_per_epoch
        from transformers import get_linear_schedule_with_warmup

        schedule = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total), total)
        # Under `accelerate launch` the pair runs as DDP and each process embeds its share of every batch (same
        # order, same updates as one process); with one process prepare() changes nothing.
        accelerator = make_accelerator(model.device.type)
        tuned, optimizer = accelerator.prepare(_EncoderWithHead(model, head), optimizer)
        best, best_score, stale, seen = None, -math.inf, 0, 0
        labels = torch.as_tensor(y)
        bar = progress(total=total, desc=f"finetune {len(texts)} examples")
        for _ in range(epochs):
            model.train()
            order = rng.permutation(len(texts))
            for start in range(0, len(order), cfg.batch_size):
                part, weight = shard(order[start : start + cfg.batch_size])
                seen += len(part) if weight else 0
                logits = tuned(_features(model, [texts[i] for i in part]))
                loss = nn.functional.cross_entropy(logits, labels[part].to(logits.device)) * weight
                accelerator.backward(loss)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}")
            if valid is not None:
                score = _accuracy(model, head, valid)
                if score > best_score:
                    best_score, stale = score, 0
                    best = (copy.deepcopy(model.state_dict()), copy.deepcopy(head.state_dict()))
                else:
                    stale += 1
                    if stale >= cfg.patience:
                        break
        bar.close()
        if best is not None:
            model.load_state_dict(best[0])
            head.load_state_dict(best[1])
        model.eval()
        accelerator.free_memory()
        self.examples_seen = seen  # by this process: its shard of every batch
        self.validation_accuracy = None if valid is None else best_score
        self.backbone = copy.copy(base)
        self.backbone.__dict__["model"] = model  # the tuned copy replaces the cached frozen model
        self.head_weight = head.weight.detach().numpy().copy()
        self.head_bias = head.bias.detach().numpy().copy()

    def _initial_head(self, backbone, dim: int) -> nn.Linear:
        head = nn.Linear(dim, len(self.labels))
        nn.init.zeros_(head.bias)
        if self.config.head_init == "label-names":
            names = [self.labels.describe(n) for n in self.labels.names]
            with torch.no_grad():
                head.weight.copy_(torch.from_numpy(backbone.embed(names, normalize=True)) * self.config.head_scale)
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
        with quiet_loading():
            self.backbone.model.save(str(directory / BACKBONE_DIR), create_model_card=False)


def _features(model, texts: list[str]) -> dict:
    """Tokenized texts on the model's device; tokenize pads to the longest text of the batch only."""
    features = model.preprocess(texts)
    return {k: v.to(model.device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}


def _embed_batch(model, texts: list[str]) -> torch.Tensor:
    """Sentence embeddings with gradients."""
    return model(_features(model, texts))["sentence_embedding"]


class _EncoderWithHead(nn.Module):
    """Encoder and head as one module, so DDP synchronises both in one backward pass."""

    def __init__(self, encoder: nn.Module, head: nn.Linear):
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, features: dict) -> torch.Tensor:
        return self.head(self.encoder(features)["sentence_embedding"])


@torch.no_grad()
def _accuracy(model, head: nn.Module, valid: tuple[list[str], np.ndarray]) -> float:
    model.eval()
    texts, y = valid
    correct = 0
    for start in range(0, len(texts), 64):
        logits = head(_embed_batch(model, texts[start : start + 64]))
        correct += int((logits.argmax(1).numpy() == y[start : start + 64]).sum())
    return correct / len(texts)
