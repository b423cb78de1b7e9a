"""Zhao et al.'s multi-task setting on a MASSIVE slice: intent + slots as one JSON frame from a causal LM with LoRA,
against the encoder's joint model (one shared encoder, intent and BIO heads), on the same rows.

    python benchmarks/massive_frames.py --out bench-out/massive-frames

The slice: the intents of the named scenarios (default: the first five in alphabetical order), `--shots` training
utterances per intent drawn by seed, and `--max-test` test rows of those intents drawn by seed. Both models use
their library defaults but for the training length, set by the 2-core budget and the slice's size (nothing here
is chosen on the test rows): LoRA `--causal-steps` updates, the encoder `--encoder-epochs` passes. A model
already in --out is reused, so an interrupted run resumes. Prints and writes report.md and results.json: intent
accuracy with a paired bootstrap interval, slot F1, frame exact match, fit seconds, ms per utterance (after a
warm-up), the JSON parse rates.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from agileclf.artifact import META_FILE, read_meta, write_json_atomic, write_text_atomic
from agileclf.data.sampling import sample_few_shot, sample_rows
from agileclf.evaluate.bootstrap import paired_bootstrap
from agileclf.evaluate.slots import evaluate_frames
from agileclf.methods.multitask.workflow import read_task_data, train_task
from agileclf.methods.persistence import load_classifier

TASK = "intent+slots"
KEYS = ("accuracy", "slot_f1", "frame_exact_match", "invalid_json_rate", "repaired_rate", "unreadable_rate")


def slice_rows(path: Path, scenarios: set[str]) -> list[str]:
    """The JSONL lines of `path` whose scenario is one of `scenarios`, in file order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and json.loads(line)["scenario"] in scenarios]


def write_slice(data: Path, out: Path, scenarios: set[str], shots: int, max_test: int, seed: int) -> tuple[Path, Path]:
    """train.jsonl (shots per intent) and test.jsonl (max_test rows) of the slice, under out/slice/."""
    train = slice_rows(data / "train.jsonl", scenarios)
    test = slice_rows(data / "test.jsonl", scenarios)
    intents = [json.loads(line)["intent"] for line in train]
    train = [train[i] for i in sample_few_shot(intents, shots, seed).indices]
    test = [test[i] for i in sample_rows(len(test), max_test, seed)] if max_test else test
    paths = out / "slice" / "train.jsonl", out / "slice" / "test.jsonl"
    for path, lines in zip(paths, (train, test), strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, "\n".join(lines) + "\n")
    return paths


def model(out: Path, name: str, train_path: Path, backbone, params: dict, seed: int) -> tuple[Path, float]:
    path = out / name
    if (path / META_FILE).is_file():
        return path, float(read_meta(path, verify=False)["fit_s"])
    print(f"training {name} on {train_path}", flush=True)
    path, fit_s, _ = train_task(train_path, TASK, path, backbone=backbone, seed=seed, params=params)
    return path, fit_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/massive_en"))
    parser.add_argument("--out", type=Path, default=Path("bench-out/massive-frames"))
    parser.add_argument("--scenarios", default="alarm,audio,calendar,cooking,datetime")
    parser.add_argument("--shots", type=int, default=16, help="training utterances per intent")
    parser.add_argument("--max-test", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--causal", default="smollm2-135m", help="the causal LM (bundled name or folder)")
    parser.add_argument("--causal-steps", type=int, default=60, help="LoRA updates (default 200: 10 s each here)")
    parser.add_argument("--encoder-epochs", type=int, default=30, help="joint encoder epochs (default 5 is sized for "
                        "the full 11.5k rows: 35 updates on a 212-row slice)")  # fmt: skip
    args = parser.parse_args()

    scenarios = set(args.scenarios.split(","))
    train_path, test_path = write_slice(args.data, args.out, scenarios, args.shots, args.max_test, args.seed)
    contenders = {
        "encoder-joint (MiniLM)": ("encoder", None, {"epochs": args.encoder_epochs}),
        "json-frames LoRA (SmolLM2)": ("causal", args.causal, {"adapter": "lora", "min_steps": args.causal_steps}),
    }
    test = read_task_data(test_path, TASK, "text", "intent", "annot_utt")
    results, correct = {}, {}
    for label, (name, backbone, params) in contenders.items():
        path, fit_s = model(args.out, name, train_path, backbone, params, args.seed)
        start = time.perf_counter()
        classifier = load_classifier(path)
        load_s = time.perf_counter() - start
        scores = evaluate_frames(classifier, test.texts, test.labels, test.tags)
        correct[label] = np.array([p == t for p, t in zip(scores["predicted_labels"], test.labels, strict=True)])
        results[label] = {
            **{k: scores[k] for k in KEYS if k in scores},
            "fit_s": fit_s,
            "load_s": load_s + scores["load_s"],
            "ms_per_example": scores["ms_per_example"],
        }
        print(label, json.dumps(results[label]), flush=True)
    (a, b) = list(correct)
    diff, low, high = paired_bootstrap(correct[b], correct[a])
    n_train = sum(1 for _ in train_path.open(encoding="utf-8"))
    lines = [
        f"# MASSIVE slice: scenarios {', '.join(sorted(scenarios))}; {n_train} training utterances "
        f"({args.shots} per intent, seed {args.seed}), {len(test)} test rows",
        "",
        "| model | intent acc | slot F1 | frame EM | fit s | ms/utt | invalid JSON |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in results.items():
        invalid = f"{100 * r['invalid_json_rate']:.1f}%" if "invalid_json_rate" in r else "-"
        lines.append(
            f"| {label} | {100 * r['accuracy']:.1f} | {100 * r['slot_f1']:.1f} | {100 * r['frame_exact_match']:.1f} "
            f"| {r['fit_s']:.0f} | {r['ms_per_example']:.0f} | {invalid} |"
        )
    lines += ["", f"intent accuracy, {b} - {a}: {100 * diff:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}] (paired)"]
    report = "\n".join(lines) + "\n"
    write_text_atomic(args.out / "report.md", report)
    settings = {k: str(v) for k, v in vars(args).items()} | {"n_train": n_train}
    write_json_atomic(args.out / "results.json", {"slice": settings, "results": results})
    print(report)


if __name__ == "__main__":
    main()
