"""Multi-label jobs, once, in the library: train from a file (thresholds by CV or dev), evaluate a file,
predict records. The CLI and the server call these; they hold no ML logic."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agileclf.data.multilabel import MultiLabelDataset, read_multilabel_examples, sample_multilabel
from agileclf.errors import ConfigError, DataWarning

THRESHOLD_MODES = ("auto", "cv", "dev", "fixed")


def resolve_task(
    data: str | Path, task: str, label_field: str, note: Callable[[str], None] = lambda message: None
) -> tuple[str, str]:
    """(task, label field): a JSONL file whose label field holds lists is multi-label without being told, and
    with the default field name 'label' absent, a list under 'labels' is used (GoEmotions-style files)."""
    from agileclf.data.multilabel import looks_multilabel

    if task in ("label", "multilabel") and label_field == "label" and looks_multilabel(data, "labels"):
        label_field = "labels"
    if task == "label" and looks_multilabel(data, label_field):
        note(f"field '{label_field}' holds lists: training a multi-label classifier (--task multilabel)")
        task = "multilabel"
    return task, label_field


def read_training_file(
    data: str | Path,
    text_field: str = "text",
    label_field: str = "labels",
    label_sep: str | None = None,
    allow_empty: bool = False,
    on_conflict: str = "keep-first",
    shots: int = 0,
    seed: int = 0,
    log: Callable[[str], None] = lambda message: None,
) -> MultiLabelDataset:
    """The training rows (a sample of at least `shots` rows per label when shots > 0), notes sent to `log`."""
    with warnings.catch_warnings():  # its notes are logged below, once
        warnings.simplefilter("ignore", DataWarning)
        dataset = read_multilabel_examples(data, text_field, label_field, None, label_sep, allow_empty, on_conflict, 2)
    for note in dataset.notes:
        log(f"note: {note}")
    if shots:
        sample = sample_multilabel(dataset.labels, shots, seed)
        log(f"sample: {sample.describe(shots)}")
        dataset = dataset.subset(sample.indices)
    return dataset


def check_thresholds(thresholds: str, has_valid: bool) -> None:
    """A clear error for an unknown threshold mode, or `dev` without validation data."""
    if thresholds not in THRESHOLD_MODES:
        raise ConfigError(f"--thresholds must be one of {', '.join(THRESHOLD_MODES)}, not {thresholds!r}")
    if thresholds == "dev" and not has_valid:
        raise ConfigError("--thresholds dev needs a --valid file")


def fit_multilabel(
    texts: list[str],
    labels: list[list[str]],
    method: str,
    backbone: Any = None,
    params: dict | None = None,
    valid: tuple[list[str], list[list[str]]] | None = None,
    thresholds: str = "auto",
    cv_folds: int = 3,
    seed: int = 0,
    allow_empty: bool = False,
    log: Callable[[str], None] = lambda message: None,
) -> tuple[Any, dict]:
    """Fit a multi-label classifier on in-memory examples; per-label thresholds come from `valid` (`dev`, the
    default when it is given), from cross-validation on the examples (`cv`, the default otherwise) or stay at
    the `threshold` parameter (`fixed`). Returns the classifier and what was done (fit seconds, CV metrics)."""
    from agileclf.backbones import load_backbone
    from agileclf.evaluate.multilabel import cv_thresholds
    from agileclf.methods.registry import make_task_method

    check_thresholds(thresholds, valid is not None)
    validation = valid if thresholds in ("auto", "dev") else None
    backbone = load_backbone(backbone)
    values = {"seed": seed, "allow_empty": allow_empty, **(params or {})}

    def make():
        return make_task_method("multilabel", method, backbone, **values)

    classifier = make()
    n_labels = len({label for row in labels for label in row})
    log(f"training {method} (multilabel) on {len(texts)} examples, {n_labels} labels")
    start = time.perf_counter()
    classifier.fit(texts, labels, valid=validation)
    info: dict = {"fit_s": round(time.perf_counter() - start, 3)}
    if validation is None and thresholds in ("auto", "cv"):
        log(f"choosing per-label thresholds by {cv_folds}-fold cross-validation on the training rows")
        start = time.perf_counter()
        chosen, cv_metrics = cv_thresholds(make, texts, labels, classifier.labels, cv_folds, seed)
        classifier.set_thresholds(chosen, "cv", cv_metrics["top_ratio"])
        info["cv"] = {**cv_metrics, "seconds": round(time.perf_counter() - start, 3)}
        ratio = cv_metrics["top_ratio"]
        log(f"out-of-fold macro-F1 {cv_metrics['macro_f1']:.3f} at those thresholds and top ratio {ratio}")
    return classifier, info


def train_multilabel(
    data: str | Path,
    method: str,
    out_dir: str | Path | None,
    backbone: Any = None,
    text_field: str = "text",
    label_field: str = "labels",
    label_sep: str | None = None,
    allow_empty: bool = False,
    shots: int = 0,
    seed: int = 0,
    params: dict | None = None,
    valid: str | Path | None = None,
    thresholds: str = "auto",
    cv_folds: int = 3,
    on_conflict: str = "keep-first",
    log: Callable[[str], None] = lambda message: None,
) -> tuple[Path, dict]:
    """Fit a multi-label classifier on a file (fit_multilabel) and save it (out_dir None: do not). Returns the
    path and what was done (with the fitted `classifier`)."""
    check_thresholds(thresholds, valid is not None)
    dataset = read_training_file(data, text_field, label_field, label_sep, allow_empty, on_conflict, shots, seed, log)
    validation = None
    if valid is not None and thresholds in ("auto", "dev"):
        v = read_multilabel_examples(valid, text_field, label_field, None, label_sep, allow_empty, "keep-all")
        validation = (v.texts, v.labels)
    classifier, info = fit_multilabel(
        dataset.texts, dataset.labels, method, backbone, params, validation, thresholds, cv_folds, seed,
        allow_empty, log,
    )  # fmt: skip
    data_info = {
        "path": str(Path(data).resolve()),
        "rows_used": len(dataset),
        "shots": shots or None,
        "seed": seed,
        "text_field": text_field,
        "label_field": label_field,
        "label_sep": dataset.label_sep,
    }
    path = classifier.save(out_dir, extra={"data": data_info, **info}) if out_dir is not None else None
    return path, {**info, "rows": len(dataset), "threshold_source": classifier.threshold_source,
                  "classifier": classifier}  # fmt: skip


def read_multilabel_test(
    data: str | Path,
    meta: dict,
    text_field: str = "text",
    label_field: str | None = None,
    label_sep: str | None = None,
    max_test: int = 0,
    seed: int = 0,
) -> MultiLabelDataset:
    """The labelled rows to evaluate a saved multi-label classifier on, read with the label field, separator and
    allow_empty its agileclf.json (`meta`) records unless given (every row kept; an unknown label or an empty list
    the classifier does not allow is an error naming file and line). Read before the classifier is loaded, so a bad
    file fails in a second."""
    from agileclf.data.sampling import sample_rows

    recorded = meta.get("data", {})
    label_field = label_field or recorded.get("label_field") or "labels"
    label_sep = label_sep or recorded.get("label_sep")
    allow_empty = bool(meta.get("params", {}).get("allow_empty", False))
    dataset = read_multilabel_examples(data, text_field, label_field, None, label_sep, allow_empty, "keep-all")
    if max_test:
        dataset = dataset.subset(sample_rows(len(dataset), max_test, seed))
    return dataset


def evaluate_multilabel_rows(
    classifier, dataset: MultiLabelDataset, threshold: float | None = None, report_dir: str | Path | None = None
) -> dict:
    """Metrics of a loaded multi-label classifier on rows from `read_multilabel_test`."""
    from agileclf.evaluate.multilabel import evaluate_multilabel

    where = [f"{dataset.path}:{line}" for line in dataset.lines]
    result = evaluate_multilabel(classifier, dataset.texts, dataset.labels, threshold, report_dir, where)
    return {"method": classifier.name, "task": "multilabel", "data": str(dataset.path), **result}


def predict_multilabel_records(
    classifier, records: list[dict], texts: list[str], threshold: float | None = None, top_k: int = 0
) -> list[dict]:
    """Each record with `labels` (the predicted set), `probabilities` (every label's own) and `top_k`."""
    proba = classifier.predict_proba(texts)
    names = classifier.labels.names
    sets = classifier.decide(proba, threshold)
    results = []
    for record, row, chosen in zip(records, proba, sets, strict=True):
        result = dict(record)
        result["labels"] = chosen
        result["probabilities"] = {n: round(float(p), 6) for n, p in zip(names, row, strict=True)}
        if top_k:
            order = row.argsort()[::-1][:top_k]
            result["top_k"] = [{"label": names[i], "probability": round(float(row[i]), 6)} for i in order]
        results.append(result)
    return results
