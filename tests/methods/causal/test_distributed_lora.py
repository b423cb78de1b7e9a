"""LoRA on the tiny causal LM under `accelerate launch --multi_gpu --num_processes 2` on CPUs (gloo): the shared
causal training loop shards every epoch, the two processes reach the quality of one, only rank 0 writes."""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from causal_synthetic import task_split  # noqa: E402
from launch_fit import launch  # noqa: E402

# the tiny model knows one prompt layout (classify, no chat), so the prompt search is off as in test_learning.py
PARAMS = json.dumps({"min_steps": 80, "lr": 1e-2, "target_modules": ["all-linear"], "seed": 0, "prompt_search": "off"})


def write_split(path: Path, split) -> Path:
    texts, labels = split
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels, strict=True)))
    return path


def test_two_processes_train_lora_like_one(tiny_lm, task, tmp_path):
    (train_split, valid_split, _) = task
    train, valid = (
        write_split(tmp_path / "train.jsonl", train_split),
        write_split(tmp_path / "valid.jsonl", valid_split),
    )
    test = write_split(tmp_path / "test.jsonl", task_split(100, seed=5))  # 400 texts: 1 point is 4 of them
    options = ("--backbone", str(tiny_lm), "--params", PARAMS, "--valid", str(valid))
    one = launch(1, "lora", train, test, tmp_path / "one", *options)
    two = launch(2, "lora", train, test, tmp_path / "two", *options)
    print("accuracy 1 process:", one[0]["accuracy"], "2 processes:", [r["accuracy"] for r in two])
    assert one[0]["accuracy"] >= 0.9  # the task is learned at all
    # not bit-identical: each process averages its own label tokens, so unequal token counts weigh a little
    # differently than in one process's batch
    assert abs(two[0]["accuracy"] - one[0]["accuracy"]) <= 0.01 + 1e-9  # one point (4 texts), float-safe
    assert two[0]["proba"] == two[1]["proba"]
    seen = [r["examples_seen"] for r in two]
    assert one[0]["examples_seen"] == 80 * 8  # 80 updates of 8 rows (the count once missed LoRA's own model copy)
    assert sum(seen) == one[0]["examples_seen"] and seen[0] == seen[1]  # 32 examples: two shards of 16 per epoch
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["classifier", "rank0.json", "rank1.json"]
    gap = np.abs(np.array(two[0]["proba"]) - np.array(one[0]["proba"])).max()
    print("largest probability difference, 2 vs 1 process:", gap)


def test_two_processes_stop_on_low_loss_together(tiny_lm, task, tmp_path):
    train = write_split(tmp_path / "train.jsonl", task[0])
    params = {**json.loads(PARAMS), "stop_after_low_loss": 3, "low_loss": 100.0}  # every update's loss is low
    two = launch(2, "lora", train, train, tmp_path / "two", "--backbone", str(tiny_lm), "--params", json.dumps(params))
    assert [r["fitted"]["updates"] for r in two] == [3, 3]  # of 80: neither process waits for the other in vain
    assert [r["examples_seen"] for r in two] == [12, 12]  # 3 updates of 8 examples, 4 in each process
