"""Training shared by prompt tuning, IPT, LoRA and fine-tuning: LM loss on the label tokens only.

The loop is the one every method shares (agileclf.methods.training, on accelerate), so `accelerate launch agileclf
train ...` runs the same code on several GPUs or CPU processes (data-parallel: each process takes its shard of
every epoch in batches of train_batch_size / N, so an update still sees train_batch_size examples and the
schedule is the one-process schedule; every process evaluates the small validation set itself). The checkpoint
with the best validation accuracy is kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from agileclf.backbones.scoring import embed_inputs
from agileclf.data.sampling import stratified_holdout
from agileclf.methods.base import param
from agileclf.methods.causal.common import CausalConfig, CausalMethod, Demos
from agileclf.methods.training import (
    AccelerateConfig,
    LowLossStop,
    Validation,
    epochs_for,
    run_loop,
    updates_per_epoch,
    world_size,
)

IGNORE = -100  # label id that cross-entropy skips: every prompt token


@dataclass
class LoopConfig(AccelerateConfig):
    """The training loop's parameters, shared by every causal method that learns (and the JSON multitask one)."""

    epochs: int = param(0, "passes over the data; 0 picks enough epochs for about min_steps updates")
    min_steps: int = param(100, "with epochs=0, the number of optimizer updates to aim for")
    steps_per_label: int = param(0, "with epochs=0, at least this many updates per label (over min_steps)")
    max_epochs: int = param(100, "with epochs=0, the most epochs to run")
    train_batch_size: int = param(8, "examples per update")
    optimizer: str = param("adamw", "'adamw', or 'adafactor' (updates relative to each parameter's scale)")
    lr: float = param(1e-4, "learning rate")
    weight_decay: float = param(0.0, "AdamW weight decay")
    warmup_ratio: float = param(0.06, "fraction of updates with a linearly rising learning rate")
    max_grad_norm: float = param(1.0, "gradient clipping norm (0: none)")
    evaluations: int = param(8, "validation checks over training; the best checkpoint is kept")
    holdout_min_per_class: int = param(16, "with no validation set, hold back a slice when every class has this many")
    holdout_fraction: float = param(0.15, "share of examples held back for validation")
    stop_after_low_loss: int = param(
        0, "stop after this many updates in a row with the label loss below low_loss (0: make every update)"
    )
    low_loss: float = param(0.01, "with stop_after_low_loss, the loss under which the examples count as fitted")

    def __post_init__(self) -> None:
        AccelerateConfig.__post_init__(self)
        if self.optimizer not in ("adamw", "adafactor"):
            raise ValueError(f"optimizer must be 'adamw' or 'adafactor', not {self.optimizer!r}")
        if self.stop_after_low_loss < 0 or self.low_loss <= 0:
            raise ValueError(
                f"stop_after_low_loss must be >= 0 and low_loss > 0, got {self.stop_after_low_loss}, {self.low_loss}"
            )


@dataclass
class TrainConfig(LoopConfig, CausalConfig):
    """A causal classifier's prompting parameters plus the training loop's."""

    def __post_init__(self) -> None:
        CausalConfig.__post_init__(self)
        LoopConfig.__post_init__(self)


class LabelLoss(nn.Module):
    """Mean cross-entropy of the label tokens given the prompt (and a soft prompt in front, when given)."""

    def __init__(self, lm: nn.Module, soft_prompt: nn.Parameter | None = None):
        super().__init__()
        self.lm = lm
        self.soft_prompt = soft_prompt

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.soft_prompt is not None:
            n, width = input_ids.shape[0], self.soft_prompt.shape[0]
            attention_mask = torch.cat([attention_mask.new_ones((n, width)), attention_mask], dim=1)
            labels = torch.cat([labels.new_full((n, width), IGNORE), labels], dim=1)
        embeds = embed_inputs(self.lm, input_ids, self.soft_prompt)
        # The LM head runs only where some row predicts a label token: vocabulary logits at every position cost more
        # than the rest of a step on large vocabularies (Gemma's 262k) and are thrown away by the loss.
        keep = predicting_positions(labels)
        targets = labels[:, 1:]
        logits = self.lm(inputs_embeds=embeds, attention_mask=attention_mask, logits_to_keep=keep).logits
        gold = targets[:, keep].to(logits.device)
        return nn.functional.cross_entropy(logits.float().flatten(0, 1), gold.flatten(), ignore_index=IGNORE)


def predicting_positions(labels: torch.Tensor) -> torch.Tensor:
    """Positions whose next token is a label token in some row of the batch (where the LM head must run)."""
    return (labels[:, 1:] != IGNORE).any(dim=0).nonzero().squeeze(-1)


def collate(batch: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded prompt + label ids; only label positions carry a target."""
    width = max(len(p) + len(a) for p, a in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    for row, (prompt, answer) in enumerate(batch):
        seq = prompt + answer
        ids[row, : len(seq)] = torch.as_tensor(seq)
        mask[row, : len(seq)] = 1
        labels[row, len(prompt) : len(seq)] = torch.as_tensor(answer)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


class TrainedCausalMethod(CausalMethod):
    """A causal method that learns parameters: subclasses say which (`_start_training`) and how to snapshot."""

    config_class = TrainConfig
    tunes_backbone = True
    FIT_CHOICES = {**CausalMethod.FIT_CHOICES, "updates": "updates"}  # fewer than planned when stop_after_low_loss ends

    def _start_training(self) -> tuple[nn.Module, nn.Parameter | None, list[nn.Parameter]]:
        """(model to run, soft prompt or None, parameters to optimise)."""
        raise NotImplementedError

    def _snapshot(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _load_snapshot(self, snapshot: dict[str, torch.Tensor]) -> None:
        raise NotImplementedError

    def _finish_training(self) -> None:
        return None

    search_calibration = False  # trained weights change the label bias; calibration stays as configured

    def _search_clone(self, overrides: dict):
        """The prompt is chosen as the frozen model reads it best (zero-shot on the training examples)."""
        return self._zero_shot_clone(overrides)

    def train_demos(self, texts: list[str], y: np.ndarray) -> list[Demos]:
        """Demonstrations in each training prompt (none unless a method puts some there)."""
        return [[] for _ in texts]

    def _fit(self, texts, y, valid) -> None:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        rng = np.random.Generator(np.random.PCG64(cfg.seed))
        self._choose_prompt(texts, y)
        self._setup_prompting()
        if valid is None:
            texts, y, valid = stratified_holdout(texts, y, cfg.holdout_fraction, cfg.holdout_min_per_class, rng)
        self._before_training(texts, y)
        lm, soft, parameters = self._start_training()
        demos = self.train_demos(texts, y)
        examples = [(self.prompt_ids(t, d), self.label_ids[int(k)]) for t, d, k in zip(texts, demos, y, strict=True)]
        score = None if valid is None else (lambda: accuracy(self, valid))
        self.validation_accuracy, self.updates = run_training(
            self, LabelLoss(lm, soft), parameters, examples, score, n_labels=len(self.labels)
        )
        self._finish_training()

    def _before_training(self, texts: list[str], y: np.ndarray) -> None:
        return None


def run_training(
    method, module: LabelLoss, parameters, examples, score: Callable[[], float] | None = None, n_labels: int = 0
) -> tuple[float | None, int]:
    """Optimise `parameters` on `examples` ((prompt ids, target ids) pairs) with the shared loop
    (agileclf.methods.training); with a `score` (validation, higher is better) keep the best checkpoint. `method`
    needs `config` (a LoopConfig), `name`, `backbone.tokenizer`, `_snapshot()` and `_load_snapshot()`; `n_labels`
    scales the update floor by `steps_per_label`. Returns (best validation score or None, updates made)."""
    cfg = method.config
    pad_id = method.backbone.tokenizer.pad_token_id
    loader = torch.utils.data.DataLoader(
        examples,
        batch_size=max(1, cfg.train_batch_size // world_size()),  # accelerate gives each process its shard
        shuffle=True,
        generator=torch.Generator().manual_seed(cfg.seed),
        collate_fn=lambda batch: collate(batch, pad_id),
    )
    accumulation = cfg.grad_accumulation
    batches = math.ceil(len(loader) / world_size())  # what one process's shard yields (accelerate evens them out)
    aim = max(cfg.min_steps, cfg.steps_per_label * n_labels)
    epochs = epochs_for(cfg.epochs, aim, cfg.max_epochs, updates_per_epoch(batches, accumulation))
    total = epochs * updates_per_epoch(batches, accumulation)
    validation = None
    if score is not None:
        every = max(1, math.ceil(total / max(cfg.evaluations, 1)))
        validation = Validation(score, method._snapshot, method._load_snapshot, every=every)
    stop = LowLossStop(cfg.low_loss, cfg.stop_after_low_loss) if cfg.stop_after_low_loss else None
    best = run_loop(
        module, make_optimizer(parameters, cfg), loader, lambda prepared, batch: prepared(**batch), epochs=epochs,
        batches_per_epoch=batches, warmup_ratio=cfg.warmup_ratio, max_grad_norm=cfg.max_grad_norm,
        validation=validation, mixed_precision=cfg.mixed_precision, grad_accumulation=accumulation,
        desc=f"{method.name} {len(examples)} examples", low_loss_stop=stop,
    )  # fmt: skip
    return best, stop.updates if stop else total  # nothing else ends this loop early (no validation patience)


def make_optimizer(parameters, cfg: LoopConfig) -> torch.optim.Optimizer:
    """AdamW, or Adafactor with parameter-relative steps (Lester et al.'s prompt-tuning recipe: lr 0.3)."""
    if cfg.optimizer == "adafactor":
        from transformers.optimization import Adafactor

        return Adafactor(
            parameters,
            lr=cfg.lr,
            scale_parameter=True,
            relative_step=False,
            warmup_init=False,
            weight_decay=cfg.weight_decay,
        )
    return torch.optim.AdamW(parameters, lr=cfg.lr, weight_decay=cfg.weight_decay)


def accuracy(method: CausalMethod, valid: tuple[list[str], np.ndarray]) -> float:
    texts, y = valid
    return float((method._predict_proba(list(texts)).argmax(axis=1) == np.asarray(y)).mean())
