"""Two saved intent+slots models on the same file: each one's intent accuracy, slot F1 and frame exact match, and
the first minus the second with the paired bootstrap 95% interval over the utterances that `bench-multitask` uses.
For choosing settings on a dev split (e.g. MASSIVE's `-p token_weight`), not for reading a test split twice.
`--pooled-with FIRST SECOND` (repeatable) adds another seed's pair of models: each model's scores are printed, and
the difference and its interval are pooled over the pairs (the same utterances resampled for every pair).

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
    parser.add_argument("--pooled-with", nargs=2, action="append", default=[], metavar=("FIRST", "SECOND"))
    args = parser.parse_args()
    data = read_task_data(args.data, "intent+slots", "text", "intent", "annot_utt")

    def predicted(name: str, path: str) -> tuple:
        scores = evaluate_frames(check_task(load_classifier(path), "intent+slots"), data.texts, data.labels, data.tags)
        print(name, path, json.dumps({k: round(100 * scores[k], 2) for k in SHOWN}))
        return scores["predicted_labels"], scores["predicted_tags"]

    pairs = [(predicted("first", a), predicted("second", b)) for a, b in [(args.first, args.second), *args.pooled_with]]
    difference = paired_differences(data, *pairs[0], *pairs[1:])
    shown = {name: [round(value, 2) for value in interval] for name, interval in difference.items()}
    print("first - second, points [95% interval]:", json.dumps(shown))


if __name__ == "__main__":
    main()
