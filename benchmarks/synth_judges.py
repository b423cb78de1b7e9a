"""How often each synthesis label judge (`agileclf synthesize --judge`) gives real rows their true label.

Each judge is fitted on the K-per-class sample `synthesize --shots K --seed S` draws, with the same LM, then
labels `--held-out` other rows of the same training pool (never the test split):
    python benchmarks/synth_judges.py --data ../shared/data/sst2
    python benchmarks/synth_judges.py --data ../shared/data/trec --verbalizer benchmarks/verbalizers/trec.json
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np

from agileclf.backbones import load_backbone
from agileclf.data import read_examples, sample_few_shot
from agileclf.methods import make_method
from agileclf.synth.run import JUDGES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="dataset folder with train.jsonl")
    parser.add_argument("--backbone", default="smollm2-135m")
    parser.add_argument("--judges", default=",".join(JUDGES))
    parser.add_argument("--shots", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--held-out", type=int, default=300)
    parser.add_argument("--judge-demos", type=int, default=4)
    parser.add_argument("--verbalizer", default="")
    args = parser.parse_args()

    pool = read_examples(f"{args.data}/train.jsonl", min_classes=2)
    drawn = sample_few_shot(pool.labels, args.shots, args.seed).indices
    rest = np.setdiff1d(np.arange(len(pool)), drawn)
    held = np.random.Generator(np.random.PCG64(args.seed)).choice(rest, args.held_out, replace=False)
    texts, truth = [pool.texts[i] for i in held], np.array([pool.labels[i] for i in held])
    sample, lm = pool.subset(drawn), load_backbone(args.backbone)
    for judge in args.judges.split(","):
        extra = {"demos_per_class": args.judge_demos} if judge == "icl" else {}
        start = time.process_time()
        clf = make_method(judge, backbone=lm, seed=args.seed, verbalizer=args.verbalizer, **extra)
        clf.fit(sample.texts, sample.labels)
        fit_cpu = time.process_time() - start
        predicted = np.array(clf.predict(texts))
        answers = ", ".join(f"{label} {n}" for label, n in sorted(Counter(predicted.tolist()).items()))
        print(f"{judge}: accuracy {(predicted == truth).mean():.3f} on {len(texts)} held-out rows; "
              f"fit {fit_cpu:.0f} CPU s; answers: {answers}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
