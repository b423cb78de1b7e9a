"""Two saved intent+slots models on the same file: each one's intent accuracy, slot F1 and frame exact match, and
the first minus the second with the paired bootstrap 95% interval over the utterances that `bench-multitask` uses.
For choosing settings on a dev split (e.g. MASSIVE's `-p token_weight`), not for reading a test split twice.

    python benchmarks/compare_frames.py bench-out/massive-dev-e10-tw2/consolidated \
        bench-out/massive-dev-e10/consolidated ../shared/data/massive_en/dev.jsonl
"""

from __future__ import annotations

import argparse
import json

from agileclf.bench.multitask import paired_differences
from agileclf.evaluate.slots import evaluate_frames
from agileclf.methods.multitask.workflow import check_task, read_task_data
from agileclf.methods.persistence import load_classifier

SHOWN = ("accuracy", "slot_precision", "slot_recall", "slot_f1", "frame_exact_match")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("data", help="JSONL with text, intent and annot_utt (MASSIVE's fields)")
    args = parser.parse_args()
    data = read_task_data(args.data, "intent+slots", "text", "intent", "annot_utt")
    result = {}
    for name in ("first", "second"):
        classifier = check_task(load_classifier(getattr(args, name)), "intent+slots")
        scores = evaluate_frames(classifier, data.texts, data.labels, data.tags)
        result[name] = scores["predicted_labels"], scores["predicted_tags"]
        print(name, getattr(args, name), json.dumps({k: round(100 * scores[k], 2) for k in SHOWN}))
    difference = paired_differences(data, result["first"], result["second"])
    shown = {name: [round(value, 2) for value in interval] for name, interval in difference.items()}
    print("first - second, points [95% interval]:", json.dumps(shown))


if __name__ == "__main__":
    main()
