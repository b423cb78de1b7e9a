"""Encoder fine-tuning under `accelerate launch --multi_gpu --num_processes 2` on CPUs (gloo): each process
trains on its half of every batch, the two reach the quality of one process, and only the main process writes the
artifact."""

import json
import shutil
from pathlib import Path

import numpy as np
from launch_fit import launch

DEMO = Path(__file__).resolve().parents[2] / "src" / "agileclf" / "demo_data"
PARAMS = json.dumps({"min_steps": 12, "seed": 0})


def test_two_processes_finetune_like_one(tmp_path):
    train, test = DEMO / "support_train.jsonl", DEMO / "support_test.jsonl"
    one = launch(1, "finetune", train, test, tmp_path / "one", "--params", PARAMS)
    two = launch(2, "finetune", train, test, tmp_path / "two", "--params", PARAMS)
    print("accuracy 1 process:", one[0]["accuracy"], "2 processes:", [r["accuracy"] for r in two])
    assert abs(two[0]["accuracy"] - one[0]["accuracy"]) <= 0.01
    assert two[0]["proba"] == two[1]["proba"]  # DDP keeps the replicas identical
    gap = np.abs(np.array(two[0]["proba"]) - np.array(one[0]["proba"])).max()
    print("largest probability difference, 2 vs 1 process:", gap)
    assert gap < 0.05  # the same updates up to float summation order
    seen = [r["examples_seen"] for r in two]
    print("training rows seen, 1 process:", one[0]["examples_seen"], "2 processes:", seen)
    assert one[0]["examples_seen"] > 0
    assert sum(seen) == one[0]["examples_seen"] and min(seen) >= 0.4 * one[0]["examples_seen"]
    written = sorted(p.name for p in (tmp_path / "two").iterdir())
    assert written == ["classifier", "rank0.json", "rank1.json"]  # one artifact, no stray temporary folder
    assert json.loads((tmp_path / "two" / "classifier" / "agileclf.json").read_text())["method"] == "finetune"
    shutil.rmtree(tmp_path)
