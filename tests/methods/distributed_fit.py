"""Run by the multi-process tests, as `python distributed_fit.py ...` or under `accelerate launch`: fit one method
on a JSONL file, save it (the library writes only from the main process) and record what this process did."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("method")
    parser.add_argument("train")
    parser.add_argument("test")
    parser.add_argument("out")
    parser.add_argument("--backbone", default=None)
    parser.add_argument("--params", default="{}")
    parser.add_argument("--valid", default=None)
    args = parser.parse_args()

    from agileclf.backbones import load_backbone
    from agileclf.data import read_examples
    from agileclf.methods import make_method

    train, test = read_examples(args.train), read_examples(args.test)
    valid = None
    if args.valid:
        rows = read_examples(args.valid)
        valid = (rows.texts, rows.labels)
    clf = make_method(args.method, backbone=load_backbone(args.backbone), **json.loads(args.params))
    start = time.perf_counter(), time.process_time()
    clf.fit(train.texts, train.labels, valid=valid)
    fit_wall, fit_cpu = time.perf_counter() - start[0], time.process_time() - start[1]
    out = Path(args.out)
    clf.save(out / "classifier")
    rank = int(os.environ.get("RANK", "0"))
    proba = clf.predict_proba(test.texts)
    accuracy = float(np.mean(np.array(clf.labels.names)[proba.argmax(axis=1)] == np.array(test.labels)))
    record = {
        "rank": rank,
        "world": int(os.environ.get("WORLD_SIZE", "1")),
        "examples_seen": clf.examples_seen,
        "accuracy": accuracy,
        "proba": proba.round(6).tolist(),
        "fit_wall_s": round(fit_wall, 2),
        "fit_cpu_s": round(fit_cpu, 2),
    }
    (out / f"rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main()
