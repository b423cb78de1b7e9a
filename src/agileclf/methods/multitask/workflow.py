"""File-to-artifact steps of the multi-task commands (`train/predict/evaluate --task ...`), kept out of cli.py."""

from __future__ import annotations

import time
from pathlib import Path

from agileclf.data.labels import LabelSet
from agileclf.data.sampling import sample_few_shot
from agileclf.data.slots import FrameDataset, read_frames
from agileclf.errors import ConfigError
from agileclf.methods.multitask.causal import MultitaskCausalLM
from agileclf.methods.multitask.encoder import TASKS, MultitaskEncoder, frame_of
from agileclf.methods.registry import make_method

MultitaskModel = MultitaskEncoder | MultitaskCausalLM


def task_fields(task: str, label_field: str, slot_field: str) -> tuple[str | None, str | None]:
    """Which fields a task reads: (label field or None, slot markup field or None)."""
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; use label, {', '.join(TASKS)}")
    return (None if task == "slots" else label_field), (slot_field if "slots" in task else None)


def read_task_data(path: str | Path, task: str, text_field: str, label_field: str, slot_field: str) -> FrameDataset:
    """Read the texts, labels and slot markup a task needs (file:line errors on broken markup)."""
    labels, slots = task_fields(task, label_field, slot_field)
    return read_frames(path, text_field, labels, slots)


def train_task(
    data_path: str | Path,
    task: str,
    out_dir: str | Path,
    backbone=None,
    text_field: str = "text",
    label_field: str = "intent",
    slot_field: str = "annot_utt",
    shots: int = 0,
    seed: int = 0,
    params: dict | None = None,
) -> tuple[Path, float, int]:
    """Read, train a `multitask` model for `task`, save it; returns (path, fit seconds, rows used)."""
    data = read_task_data(data_path, task, text_field, label_field, slot_field)
    if shots:
        if data.labels[0] is None:
            raise ConfigError("--shots samples per label; a slots-only task has no label to sample by")
        data = data.subset(sample_few_shot(data.labels, shots, seed).indices)
    classifier = make_method("multitask", backbone=backbone, **{"seed": seed, **(params or {}), "task": task})
    label_set = None if task == "slots" else LabelSet.from_labels(data.labels)
    start = time.perf_counter()
    classifier.fit(data.texts, None if task == "slots" else data.labels, label_set=label_set, tags=data.tags)
    fit_s = time.perf_counter() - start
    info = {
        "path": str(Path(data_path).resolve()),
        "rows_used": len(data),
        "shots": shots or None,
        "seed": seed,
        "task": task,
        "text_field": text_field,
        "label_field": label_field,
        "slot_field": slot_field,
    }
    path = classifier.save(out_dir, extra={"data": info, "fit_s": round(fit_s, 3)})
    return path, fit_s, len(data)


def check_task(classifier, task: str) -> MultitaskModel:
    """The loaded classifier, if it was trained for `task`; else a clear error."""
    trained = getattr(getattr(classifier, "config", None), "task", "label")
    if not isinstance(classifier, MultitaskModel) or trained != task:
        raise ConfigError(f"this classifier was trained for task '{trained}', not '{task}'; pass --task {trained}")
    return classifier


def predict_records(
    classifier: MultitaskEncoder | MultitaskCausalLM, records: list[dict], texts: list[str]
) -> list[dict]:
    """Input records extended with the label, its probability, the slot spans and the parent."""
    outputs = classifier.predict_outputs(texts)
    return [
        {**record, **frame_of(classifier, outputs, i, text)}
        for i, (record, text) in enumerate(zip(records, texts, strict=True))
    ]


def evaluate_task_file(
    model_dir: str | Path,
    data_path: str | Path,
    task: str,
    text_field: str = "text",
    label_field: str = "intent",
    slot_field: str = "annot_utt",
    max_test: int = 0,
    seed: int = 0,
    backbone=None,
    device: str | None = None,
) -> dict:
    """Metrics of a saved multi-task classifier on a labelled file: accuracy, slot_f1, frame_exact_match..."""
    from agileclf.data.sampling import sample_rows
    from agileclf.evaluate.slots import evaluate_frames
    from agileclf.methods.persistence import load_classifier

    data = read_task_data(data_path, task, text_field, label_field, slot_field)
    if max_test:
        data = data.subset(sample_rows(len(data), max_test, seed))
    classifier = check_task(load_classifier(model_dir, backbone=backbone, device=device), task)
    result = evaluate_frames(classifier, data.texts, None if task == "slots" else data.labels, data.tags)
    result = {k: v for k, v in result.items() if not k.startswith("predicted_")}
    return {"model": str(model_dir), "method": classifier.name, "data": str(data_path), **result}
