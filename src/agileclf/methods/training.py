"""The one training loop under every method that tunes weights (encoder fine-tuning, multi-task, causal LMs).

It runs through accelerate, so device placement, mixed precision, gradient accumulation and multi-process
training (`accelerate launch agileclf train ...`) come from here: AdamW or Adafactor are built by the caller, the
linear warm-up schedule, gradient clipping, periodic validation with the best checkpoint kept, and early stopping
live here. A method supplies the module (whose forward the loss calls), its batches and how to score and
snapshot itself.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from agileclf.methods.base import MethodConfig, param
from agileclf.progress import progress

MIXED_PRECISIONS = ("no", "fp16", "bf16")


def check_mixed_precision(setting: str) -> None:
    """A config's `mixed_precision`: 'auto' or one of MIXED_PRECISIONS."""
    if setting not in ("auto", *MIXED_PRECISIONS):
        raise ValueError(f"mixed_precision must be one of auto, {', '.join(MIXED_PRECISIONS)}, not {setting!r}")


@dataclass
class AccelerateConfig(MethodConfig):
    """How the loop runs; every method that trains weights has these parameters."""

    mixed_precision: str = param(
        "no",
        "autocast while training, 'no', 'bf16' or 'fp16' (GPU only); bf16 is faster only where the CPU (AVX512-BF16, "
        "AMX) or GPU multiplies bfloat16 natively; 'auto': bf16 there, else 'no'",
    )
    grad_accumulation: int = param(1, "batches whose gradients are summed before one optimizer update")

    def __post_init__(self) -> None:
        check_mixed_precision(self.mixed_precision)
        if self.grad_accumulation < 1:
            raise ValueError(f"grad_accumulation must be at least 1, not {self.grad_accumulation}")


@dataclass
class Validation:
    """Score the model (higher is better) every `every` updates (0: after every epoch); keep the best snapshot;
    stop after `patience` checks without improvement (0: never stop early)."""

    score: Callable[[], float]
    snapshot: Callable[[], Any]
    restore: Callable[[Any], None]
    every: int = 0
    patience: int = 0


@dataclass
class LowLossStop:
    """End training after `patience` updates in a row whose loss (the mean over processes) was below `threshold`,
    the examples being fitted; `updates` records how many were made. It saves time at a price: on SmolLM2's 8-shot
    dev rows the updates after that point still raised accuracy by 0.8-1.5 points (README): no default stops early."""

    threshold: float
    patience: int
    run: int = 0
    updates: int = 0

    def should_stop(self, loss: float, step: int) -> bool:
        self.updates = step
        self.run = self.run + 1 if loss < self.threshold else 0
        return self.run >= self.patience


def native_bf16(device: torch.device) -> bool:
    """Whether `device` multiplies bfloat16 natively (CUDA with bf16; a CPU with AVX512-BF16 or AMX), where bf16
    autocast is faster; elsewhere bf16 is emulated and slower than fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    # torch has no public query for the CPU's bf16 instructions; these private ones exist since torch 2.1
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return device.type == "cpu" and any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def resolve_mixed_precision(setting: str, device: torch.device) -> str:
    """The autocast to train with on `device`: 'auto' is 'bf16' where it multiplies bfloat16 natively (native_bf16),
    else 'no'; 'fp16' on a CPU is 'no' (there are no fp16 CPU kernels to speak of); any other setting as given."""
    if setting == "auto":
        return "bf16" if native_bf16(device) else "no"
    return "no" if setting == "fp16" and device.type == "cpu" else setting


def prepare_mixed_precision(setting: str, device: torch.device) -> str:
    """resolve_mixed_precision, with this process's next Accelerator allowed to use it: accelerate keeps one
    AcceleratorState per process and refuses an Accelerator whose mixed precision differs from the first one's,
    while each fit here picks its own (a bf16 contrastive tuning, then an fp32 fine-tuning). The state is cleared
    only when it holds another precision, and its distributed part (PartialState) is kept."""
    from accelerate.state import AcceleratorState

    precision = resolve_mixed_precision(setting, device)
    held = AcceleratorState._shared_state.get("_mixed_precision")
    if held is not None and held != precision:
        AcceleratorState._reset_state()
    return precision


def drop_autocast(module: nn.Module) -> None:
    """Undo accelerate's mixed-precision wrapper: under bf16 or fp16 it wraps the module's forward in autocast and
    leaves it there after training, so the trained module would predict in half precision while a saved-then-loaded
    copy predicts in fp32."""
    from accelerate.utils import extract_model_from_parallel

    extract_model_from_parallel(module, keep_fp32_wrapper=False)


def is_main_process() -> bool:
    """False in every process but the first of an `accelerate launch` / torchrun job (which alone writes files)."""
    return int(os.environ.get("RANK") or os.environ.get("LOCAL_RANK") or 0) == 0


def world_size() -> int:
    """Processes training together (WORLD_SIZE, set by accelerate launch and torchrun; 1 otherwise)."""
    return int(os.environ.get("WORLD_SIZE") or 1)


def module_device(module: nn.Module) -> torch.device:
    """Where the module's weights are (CPU for a module without any)."""
    parameter = next(module.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def updates_per_epoch(batches_per_epoch: int, grad_accumulation: int = 1) -> int:
    return max(1, math.ceil(batches_per_epoch / max(grad_accumulation, 1)))


def epochs_for(epochs: int, min_steps: int, max_epochs: int, per_epoch: int) -> int:
    """`epochs` if set, else enough epochs for about `min_steps` updates, at most `max_epochs`."""
    return epochs or min(max_epochs, max(1, math.ceil(min_steps / per_epoch)))


def shuffled_batches(rng: np.random.Generator, n: int, batch_size: int) -> Callable[[], list[np.ndarray]]:
    """run_loop's `epoch_batches` for n rows: each call, a fresh shuffle of the row indices cut into batches."""

    def epoch_batches() -> list[np.ndarray]:
        order = rng.permutation(n)
        return [order[start : start + batch_size] for start in range(0, n, batch_size)]

    return epoch_batches


def _shard(batch, accelerator):
    """This process's share of a batch of examples (the whole batch when it has fewer rows than processes)."""
    if len(batch) < accelerator.num_processes:
        return batch
    return batch[accelerator.process_index :: accelerator.num_processes]


def run_loop(
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Callable[[], Iterable[Any]] | torch.utils.data.DataLoader,
    loss_of: Callable[[nn.Module, Any], torch.Tensor],
    *,
    epochs: int,
    batches_per_epoch: int,
    warmup_ratio: float,
    max_grad_norm: float = 0.0,
    validation: Validation | None = None,
    mixed_precision: str = "no",
    grad_accumulation: int = 1,
    desc: str = "training",
    low_loss_stop: LowLossStop | None = None,
) -> float | None:
    """Train `module` for `epochs` (fewer when `low_loss_stop` ends it); returns the best validation score (None
    without validation).

    `batches` is a DataLoader (accelerate shards it across processes) or a callable giving one epoch's batches;
    `loss_of(prepared_module, batch)` computes the loss by calling the prepared module (so DDP and autocast
    wrap it). The learning rate rises linearly over the first `warmup_ratio` of the updates, then falls to 0.
    """
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from transformers import get_linear_schedule_with_warmup

    device = module_device(module)
    precision = prepare_mixed_precision(mixed_precision, device)
    accelerator = Accelerator(
        cpu=device.type == "cpu",
        mixed_precision=precision,
        gradient_accumulation_steps=grad_accumulation,
        # encoders compute outputs no loss reads (BERT's pooler), which plain DDP refuses under several processes
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )
    total = epochs * updates_per_epoch(batches_per_epoch, grad_accumulation)
    schedule = get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * total), total)
    if isinstance(batches, torch.utils.data.DataLoader):
        prepared, optimizer, loader = accelerator.prepare(module, optimizer, batches)
        epoch_batches: Callable[[], Iterable[Any]] = lambda: loader  # noqa: E731
    else:
        prepared, optimizer = accelerator.prepare(module, optimizer)
        epoch_batches = batches
        if accelerator.num_processes > 1:  # each process takes its slice of every batch; DDP averages the gradients
            epoch_batches = lambda: (_shard(b, accelerator) for b in batches())  # noqa: E731
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    best_score, best, stale, step = -math.inf, None, 0, 0
    bar = progress(total=total, desc=desc)

    def check() -> bool:
        """Validate; True when training should stop."""
        nonlocal best_score, best, stale
        value = validation.score()
        if value > best_score:
            best_score, best, stale = value, validation.snapshot(), 0
            return False
        stale += 1
        return bool(validation.patience) and stale >= validation.patience

    stop = False
    for _ in range(epochs):
        for batch in epoch_batches():
            prepared.train()
            with accelerator.accumulate(prepared):
                loss = loss_of(prepared, batch)
                accelerator.backward(loss)
                if accelerator.sync_gradients and max_grad_norm:
                    accelerator.clip_grad_norm_(parameters, max_grad_norm)
                optimizer.step()
                optimizer.zero_grad()
            if not accelerator.sync_gradients:
                continue
            schedule.step()
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
            if validation is not None and validation.every and (step % validation.every == 0 or step == total):
                stop = check()
                if stop:
                    break
            if low_loss_stop is not None:
                mean_loss = accelerator.reduce(loss.detach(), reduction="mean").item()  # every process stops together
                stop = low_loss_stop.should_stop(mean_loss, step)
                if stop:
                    if validation is not None and not (validation.every and step % validation.every == 0):
                        check()  # the last weights are judged too, unless they just were
                    break
        if stop:
            break
        if validation is not None and not validation.every:
            stop = check()
            if stop:
                break
    bar.close()
    drop_autocast(module)
    module.eval()
    if best is not None:
        validation.restore(best)
    accelerator.free_memory()
    return None if validation is None else best_score
