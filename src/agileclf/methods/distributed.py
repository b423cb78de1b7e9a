"""Data-parallel training across processes (`accelerate launch --num_processes N`, torchrun): which process this
is, its share of each batch, and the accelerate set-up the training loops share. With one process every helper
is the identity, so one code path trains on one CPU, one GPU or many."""

from __future__ import annotations

import os

import numpy as np


def world_size() -> int:
    """Processes training together (WORLD_SIZE, set by accelerate launch and torchrun; 1 otherwise)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def process_rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """The process that writes artifacts and reports (rank 0, or the only one)."""
    return process_rank() == 0


def per_process_batch(batch_size: int) -> int:
    """Each process's batch, so that one update still sees `batch_size` examples in all (the same schedule and
    the same quality as one process)."""
    return max(1, batch_size // world_size())


def shard(indices: np.ndarray) -> tuple[np.ndarray, float]:
    """This process's part of one global batch and the weight of its mean loss (its share of the batch x the
    number of processes): DDP averages gradients over processes, so the weighted means add up to the mean over
    the whole batch. A process left without examples repeats one with weight 0 (DDP needs every process to run
    the forward pass)."""
    world = world_size()
    if world == 1:
        return indices, 1.0
    part = np.array_split(indices, world)[process_rank()]
    if len(part) == 0:
        return indices[:1], 0.0
    return part, len(part) * world / len(indices)


def make_accelerator(device_type: str, **kwargs):
    """An Accelerator for a model on `device_type`; DDP tolerates parameters a forward pass leaves unused (a
    BERT pooler under mean pooling, frozen towers)."""
    from accelerate import Accelerator, DistributedDataParallelKwargs

    handlers = [DistributedDataParallelKwargs(find_unused_parameters=True)] if world_size() > 1 else []
    return Accelerator(cpu=device_type == "cpu", kwargs_handlers=handlers, **kwargs)
