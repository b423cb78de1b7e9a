"""Dual (intent-only + slots-only models) against consolidated (one intent+slots model) on one data set."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from agileclf.artifact import META_FILE, read_meta, write_json_atomic, write_text_atomic
from agileclf.evaluate.bootstrap import pooled_paired_bootstrap, pooled_paired_bootstrap_f1
from agileclf.evaluate.slots import frame_exact_match, frame_matches, slot_counts, slot_scores
from agileclf.methods.multitask.encoder import MultitaskConfig
from agileclf.methods.multitask.workflow import check_task, read_task_data, train_task
from agileclf.methods.persistence import load_classifier

MODELS = {"consolidated": "intent+slots", "intent": "intent", "slots": "slots"}


def trained_model(out_dir: Path, name: str, train_path, epochs: int, fields: dict, params: dict, seed: int, log):
    """The model `out_dir/name`: reused when it already exists (so an interrupted comparison resumes)."""
    path = out_dir / name
    task = MODELS[name]
    if (path / META_FILE).is_file():
        meta = read_meta(path, verify=False)
        if meta["params"].get("task") != task:
            raise ValueError(f"{path} holds a {meta['params'].get('task')} model, expected {task}")
        log(f"reusing {path} (trained in {meta['fit_s'] / 60:.1f} min)")
        return path, float(meta["fit_s"])
    log(f"training {name} ({task}) on {train_path}")
    _, fit_s, _ = train_task(train_path, task, path, seed=seed, params={**params, "epochs": epochs}, **fields)
    return path, fit_s


def timed_outputs(classifier, texts: list[str], single: int) -> tuple[object, float, float]:
    """Outputs, batched ms per utterance, and median ms of `single` one-utterance calls."""
    start = time.perf_counter()
    outputs = classifier.predict_outputs(texts)
    batched = 1000.0 * (time.perf_counter() - start) / max(len(texts), 1)
    samples = []
    for text in texts[:single]:
        start = time.perf_counter()
        classifier.predict_outputs([text])
        samples.append(1000.0 * (time.perf_counter() - start))
    return outputs, batched, float(np.median(samples)) if samples else float("nan")


def compare_dual_consolidated(
    train_path: str | Path,
    test_path: str | Path,
    out_dir: str | Path,
    epochs: int | None = None,
    text_field: str = "text",
    label_field: str = "intent",
    slot_field: str = "annot_utt",
    params: dict | None = None,
    seed: int = 0,
    single: int = 100,
    log=print,
) -> dict:
    """Train (or reuse) the three models, score both setups on the test file, write results.json + report.md.

    `epochs`: every model's passes over the data (None: the method's default)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    epochs = MultitaskConfig().epochs if epochs is None else epochs
    fields = {"text_field": text_field, "label_field": label_field, "slot_field": slot_field}
    test = read_task_data(test_path, "intent+slots", text_field, label_field, slot_field)
    runs = {}
    for name, task in MODELS.items():
        path, fit_s = trained_model(out_dir, name, train_path, epochs, fields, params or {}, seed, log)
        classifier = check_task(load_classifier(path), task)
        outputs, batched_ms, single_ms = timed_outputs(classifier, test.texts, single)
        labels = None
        if outputs.proba is not None:
            labels = [classifier.labels.names[i] for i in outputs.proba.argmax(axis=1)]
        runs[name] = {"labels": labels, "tags": outputs.tags, "fit_s": fit_s, "ms": batched_ms, "single": single_ms}

    def row(labels, tags, fit_s, ms, single_ms, calls):
        accuracy = float(np.mean([t == p for t, p in zip(test.labels, labels, strict=True)]))
        return {
            "accuracy": accuracy,
            **slot_scores(test.tags, tags),
            "frame_exact_match": frame_exact_match(test.labels, labels, test.tags, tags),
            "train_minutes": fit_s / 60,
            "ms_per_utterance": ms,
            "single_call_ms_p50": single_ms,
            "model_calls": calls,
        }

    c, i, s = runs["consolidated"], runs["intent"], runs["slots"]
    results = {
        "train": str(train_path),
        "test": str(test_path),
        "n_test": len(test),
        "epochs": epochs,
        "dual": row(i["labels"], s["tags"], i["fit_s"] + s["fit_s"], i["ms"] + s["ms"], i["single"] + s["single"], 2),
        "consolidated": row(c["labels"], c["tags"], c["fit_s"], c["ms"], c["single"], 1),
        "consolidated_minus_dual": paired_differences(test, (c["labels"], c["tags"]), (i["labels"], s["tags"])),
    }
    write_json_atomic(out_dir / "results.json", results)
    write_text_atomic(out_dir / "report.md", report_markdown(results))
    return results


def paired_differences(test, first: tuple, second: tuple, *more_pairs: tuple[tuple, tuple]) -> dict:
    """first - second in points, with a paired bootstrap 95% interval over the test utterances: intent accuracy,
    slot F1 (recomputed from span counts on each resample) and frame exact match. Each of `first` and `second` is
    (labels, tags); `more_pairs` (first, second) pool further seeds' models, scored on the same utterances, into the
    mean and the interval (the same utterances resampled for every pair)."""

    def per_utterance(labels, tags):
        correct = np.asarray([t == p for t, p in zip(test.labels, labels, strict=True)])
        return correct, slot_counts(test.tags, tags), frame_matches(test.labels, labels, test.tags, tags)

    scored = [(per_utterance(*a), per_utterance(*b)) for a, b in [(first, second), *more_pairs]]
    points = {
        "accuracy": pooled_paired_bootstrap([(a[0], b[0]) for a, b in scored], resample_pairs=False),
        "slot_f1": pooled_paired_bootstrap_f1([(a[1], b[1]) for a, b in scored]),
        "frame_exact_match": pooled_paired_bootstrap([(a[2], b[2]) for a, b in scored], resample_pairs=False),
    }
    return {name: [100 * value for value in interval] for name, interval in points.items()}


def report_markdown(results: dict) -> str:
    """The comparison as a Markdown table."""
    lines = [
        f"# dual vs consolidated: {results['train']} -> {results['test']} (n={results['n_test']}, "
        f"{results['epochs']} epochs)",
        "",
        "| setup | intent acc | slot F1 | frame exact match | train min | ms/utt (batched) | ms/utt (single) | calls |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in ("dual", "consolidated"):
        r = results[name]
        lines.append(
            f"| {name} | {100 * r['accuracy']:.2f} | {100 * r['slot_f1']:.2f} | {100 * r['frame_exact_match']:.2f} "
            f"| {r['train_minutes']:.1f} | {r['ms_per_utterance']:.2f} | {r['single_call_ms_p50']:.2f} "
            f"| {r['model_calls']} |"
        )
    if "consolidated_minus_dual" in results:
        shown = ", ".join(
            f"{name.replace('_', ' ')} {d:+.2f} [{low:+.2f}, {high:+.2f}]"
            for name, (d, low, high) in results["consolidated_minus_dual"].items()
        )
        lines += ["", f"consolidated - dual, points (paired bootstrap 95% over the test utterances): {shown}"]
    return "\n".join(lines) + "\n\n```json\n" + json.dumps(results, indent=2) + "\n```\n"
