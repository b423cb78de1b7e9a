"""What the label-only LM head saves in a training step of the causal methods, on the bundled LMs (CPU).

    python benchmarks/label_loss_speed.py                       # smollm2-135m, and gemma3-270m when installed
    python benchmarks/label_loss_speed.py --models smollm2-135m --data ../shared/data/ag_news --reps 5

One forward and backward pass of the training loss on a batch of 8 training rows (prompt + answer word, right
padded as the loop pads them), in two ways, interleaved: the model's own loss (`labels=`, vocabulary logits at
every position), and agileclf's LabelLoss (the LM head only at positions that predict a label token). Prints the
median CPU seconds (all threads) and wall seconds per pass and checks both give the same loss. The optimizer
step, the same for both, is not timed. Run from the repository root; figures (session 37) in the README's
causal-LM paragraph under "Methods".
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from agileclf.backbones import load_backbone
from agileclf.backbones.bundled import BUNDLED_CAUSAL
from agileclf.data import read_examples
from agileclf.errors import BackboneError
from agileclf.methods.causal.training import LabelLoss, collate, predicting_positions

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def batch_of(tokenizer, data: Path, size: int) -> dict[str, torch.Tensor]:
    """The first `size` training rows as `Text: ...\\nLabel:` prompts with their label word as the answer."""
    rows = read_examples(data / "train.jsonl")
    pairs = []
    for text, label in list(zip(rows.texts, rows.labels, strict=True))[:size]:
        prompt = tokenizer(f"Text: {text}\nLabel:")["input_ids"]
        pairs.append((prompt, tokenizer(f" {label}", add_special_tokens=False)["input_ids"]))
    return collate(pairs, tokenizer.pad_token_id)


def timed(step) -> tuple[float, float, float]:
    """(CPU s, wall s, loss) of one forward + backward pass."""
    cpu, wall = time.process_time(), time.perf_counter()
    loss = step()
    loss.backward()
    return time.process_time() - cpu, time.perf_counter() - wall, float(loss.detach())


def measure(name: str, data: Path, size: int, reps: int) -> None:
    """Print the two ways' median cost per pass for one bundled model (or why it was skipped)."""
    try:
        backbone = load_backbone(name)
        lm = backbone.load_model(torch.float32)
    except BackboneError as err:
        print(f"{name}: skipped ({err})")
        return
    lm.train()
    batch = batch_of(backbone.tokenizer, data, size)
    ways = {"every position": lambda: lm(**batch).loss, "label positions": lambda: LabelLoss(lm)(**batch)}
    times: dict[str, list[tuple[float, float, float]]] = {way: [] for way in ways}
    for _ in range(reps + 1):  # the first round warms up and is dropped
        for way, step in ways.items():
            lm.zero_grad(set_to_none=True)
            times[way].append(timed(step))
    kept = len(predicting_positions(batch["labels"]))
    print(
        f"{name} ({sum(p.numel() for p in lm.parameters()) / 1e6:.0f}M parameters, vocabulary "
        f"{lm.config.vocab_size:,}), {data.name}: batch {tuple(batch['input_ids'].shape)}, the head at "
        f"{kept} of {batch['input_ids'].shape[1]} positions"
    )
    for way, runs in times.items():
        cpu = statistics.median(r[0] for r in runs[1:])
        wall = statistics.median(r[1] for r in runs[1:])
        print(f"  {way:>16}: {cpu:6.2f} CPU s, {wall:5.2f} s wall per pass; loss {runs[-1][2]:.5f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(BUNDLED_CAUSAL))
    parser.add_argument("--data", type=Path, default=SHARED / "sst2")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    for name in args.models.split(","):
        measure(name, args.data, args.batch, args.reps)


if __name__ == "__main__":
    main()
