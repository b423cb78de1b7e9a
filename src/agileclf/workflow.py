"""The jobs, once, in the library: train (from examples or a file), evaluate a file, predict a stream, bench a grid.

The command line, the HTTP server and the web app call these and only parse input and render output.
Messages for the user (a class with fewer examples than asked, unknown test labels) go to `note`, progress lines
to `log`: callables taking one line; by default both are logged on the `agileclf` logger.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agileclf.errors import ConfigError, DataWarning
from agileclf.predictions import (  # noqa: F401 - re-exported: the front ends' one import
    OUTPUT_FORMATS,
    format_rows,
    output_format,
    prediction_rows,
    write_predictions,
)

Note = Callable[[str], None]
TASKS = ("label", "multilabel", "intent", "slots", "intent+slots", "label+parent")

_log = logging.getLogger("agileclf")
_log_note: Note = _log.info


@dataclass
class TrainResult:
    """A fitted classifier, where it was saved (if it was), its fit time and what the user should know.

    `classifier` is None for a multi-task model trained from a file (`task` other than label): load it from `path`.
    """

    classifier: Any
    fit_s: float
    path: Path | None = None
    rows_used: int = 0
    notes: list[str] = field(default_factory=list)


def fit_classifier(
    texts: Sequence[str],
    labels: Sequence[str] | Sequence[Sequence[str]],
    method: str,
    backbone: Any = None,
    params: dict[str, Any] | None = None,
    label_set=None,
    valid: tuple[Sequence[str], Sequence[str]] | None = None,
    seed: int = 0,
    device: str | None = None,
) -> TrainResult:
    """Fit `method` on in-memory examples (what the web app trains on); `params` may hold strings ('5').

    Labels that are lists (or tuples) make a multi-label classifier, per-label thresholds chosen on `valid`
    when given, else by cross-validation on the examples (multilabel_workflow.fit_multilabel)."""
    from agileclf.backbones import load_backbone
    from agileclf.methods import make_method

    backbone = load_backbone(backbone, device=device)
    if labels and all(isinstance(label, list | tuple) for label in labels):
        from agileclf.multilabel_workflow import fit_multilabel

        start = time.perf_counter()
        lists = [list(label) for label in labels]
        valid_lists = None if valid is None else (list(valid[0]), [list(v) for v in valid[1]])
        classifier, _ = fit_multilabel(list(texts), lists, method, backbone, params, valid_lists, seed=seed)
        return TrainResult(classifier, time.perf_counter() - start, rows_used=len(texts))
    classifier = make_method(method, backbone=backbone, **{"seed": seed, **(params or {})})
    start = time.perf_counter()
    classifier.fit(texts, labels, valid=valid, label_set=label_set)
    return TrainResult(classifier, time.perf_counter() - start, rows_used=len(texts))


def train_from_file(
    data: str | Path,
    method: str | None,
    out_dir: str | Path | None,
    *,
    shots: int | None = None,
    seed: int = 0,
    backbone: Any = None,
    text_field: str = "text",
    label_field: str = "label",
    labels_file: str | Path | None = None,
    valid: str | Path | None = None,
    on_conflict: str = "keep-first",
    params: dict[str, Any] | None = None,
    device: str | None = None,
    task: str = "label",
    slot_field: str = "annot_utt",
    augment: str | Path | None = None,
    augment_cap: int = 0,
    augment_ratio: float = 0.0,
    label_sep: str | None = None,
    allow_empty: bool = False,
    thresholds: str = "auto",
    cv_folds: int = 3,
    note: Note = _log_note,
    log: Note = _log_note,
) -> TrainResult:
    """Read and validate `data`, sample `shots` per class, add synthetic rows, build the label set, read the
    validation file, fit, record where the data came from, and save to `out_dir` (None: do not save). `method`
    None fits the task's default (`auto` for single labels; methods.registry.default_method), and says so.

    A file whose label field holds lists (or `task="multilabel"`) trains a multi-label classifier
    (agileclf.multilabel_workflow: label lists, `label_sep`, `allow_empty`, per-label `thresholds`)."""
    from agileclf.artifact import check_replaceable
    from agileclf.data import LabelSet, read_examples, read_label_descriptions, sample_few_shot
    from agileclf.data.labels import description_mismatches
    from agileclf.multilabel_workflow import resolve_task

    params = dict(params or {})
    check_shots(shots)
    if out_dir is not None:
        check_replaceable(out_dir)
    task, label_field = resolve_task(data, task, label_field, note)
    if method is None and task != "label":
        method = _default_method(task, note)
    if task == "multilabel":
        if augment or labels_file:
            raise ConfigError("--augment and --labels work with single-label tasks only, not multilabel")
        from agileclf.multilabel_workflow import train_multilabel

        if device:
            from agileclf.backbones import load_backbone

            backbone = load_backbone(backbone, device=device)
        path, info = train_multilabel(data, method, out_dir, backbone, text_field, label_field, label_sep,
                                      allow_empty, shots, seed, params, valid, thresholds, cv_folds, on_conflict,
                                      log=log)  # fmt: skip
        return TrainResult(info.pop("classifier"), info["fit_s"], path, info["rows"], notes=[
            f"thresholds: {info['threshold_source']}"])  # fmt: skip
    if task != "label":
        log(f"training {method} for task {task} on {data}")
        return _train_task(data, method, out_dir, task, shots, seed, backbone, text_field, label_field, slot_field,
                           params, device, augment)  # fmt: skip
    notes: list[str] = []

    def tell(message: str) -> None:
        notes.append(message)
        note(message)

    with warnings.catch_warnings():  # its notes are told below, once
        warnings.simplefilter("ignore", DataWarning)
        dataset = read_examples(data, text_field, label_field, on_conflict=on_conflict, min_classes=2)
    for message in dataset.notes:
        tell(message)
    if shots:
        sample = sample_few_shot(dataset.labels, shots, seed)
        if sample.short_classes:
            tell(sample.describe(shots))
        dataset = dataset.subset(sample.indices)
    texts, labels, synthetic = dataset.texts, dataset.labels, None
    if augment:  # real rows always kept; synthetic ones added per class (agileclf.synth.augment)
        from agileclf.synth.augment import augment as add_synthetic

        mixed = add_synthetic(texts, labels, Path(augment), augment_cap, augment_ratio, seed)
        for message in mixed.notes:
            tell(message)
        texts, labels = mixed.texts, mixed.labels
        synthetic = {"path": str(Path(augment).resolve()), "added": mixed.added, "cap": augment_cap,
                     "ratio": augment_ratio}  # fmt: skip
    descriptions = read_label_descriptions(labels_file) if labels_file else None
    label_set = LabelSet.from_labels(dataset.labels, descriptions)
    if descriptions:
        for message in description_mismatches(labels_file, set(dataset.labels), set(descriptions)):
            tell(message)
    validation = None
    if valid:
        held = read_examples(valid, text_field, label_field, on_conflict=on_conflict)
        validation = (held.texts, held.labels)
    # after the files (read at once; a user's mistake there is the common one), before any model loads: the
    # registry imports every method, seconds
    from agileclf.methods.registry import check_method_params

    if method is None:
        method = _default_method(task, note)
    check_method_params(method, backbone, {"seed": seed, **params})
    log(f"training {method} on {len(texts)} examples, {len(label_set)} labels")
    result = fit_classifier(texts, labels, method, backbone, params, label_set, validation, seed, device)
    if getattr(result.classifier, "choice", None):  # `auto`: what it chose, and the CV estimate
        from agileclf.methods.auto import describe_choice

        tell(describe_choice(result.classifier.choice))
    elif choices := result.classifier.fit_choices():  # e.g. the head's C and the label-anchor gate, by the examples
        tell(f"{method} chose from the examples: " + ", ".join(f"{k}={v}" for k, v in choices.items()))
    result.rows_used, result.notes = len(dataset), notes
    from agileclf.methods.training import is_main_process

    if out_dir is not None and is_main_process():  # under `accelerate launch`, one process writes the artifact
        info = {"path": str(Path(data).resolve()), "rows_used": len(dataset), "shots": shots or None, "seed": seed,
                "text_field": text_field, "label_field": label_field}  # fmt: skip
        if synthetic:
            info["synthetic"] = synthetic
        result.path = result.classifier.save(out_dir, extra={"data": info, "fit_s": round(result.fit_s, 3)})
    return result


def _default_method(task: str, note: Note) -> str:
    from agileclf.methods.registry import default_method

    method = default_method(task)
    note(f"method: {method}, the default for this task (-m names another; `agileclf methods` lists them)")
    return method


def check_shots(shots: int | None) -> None:
    """`shots` is None (every row) or a count >= 1; 0 is refused, since a user may have meant zero-shot."""
    if shots is not None and shots < 1:
        raise ConfigError(
            f"--shots {shots}: sampling {shots} examples per class leaves nothing to learn from. Leave --shots out "
            "to train on every row; for a classifier without training examples use --method zero-shot "
            "(label names, or --labels descriptions)"
        )


def _train_task(data, method, out_dir, task, shots, seed, backbone, text_field, label_field, slot_field, params,
                device, augment) -> TrainResult:  # fmt: skip
    from agileclf.backbones import load_backbone
    from agileclf.methods.multitask.workflow import train_task

    check_task_name(task)
    if augment:
        raise ConfigError("--augment works with --task label only")
    if method != "multitask":
        raise ConfigError(f"--task {task} trains the 'multitask' method; pass --method multitask")
    if out_dir is None:
        raise ConfigError("a multi-task model is trained from a file into a directory; give out_dir")
    path, fit_s, rows = train_task(data, task, out_dir, load_backbone(backbone, device=device), text_field,
                                   label_field, slot_field, shots, seed, params)  # fmt: skip
    return TrainResult(None, fit_s, path, rows)


def check_task_name(task: str) -> str:
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    return task


def evaluate_file(
    model_dir: str | Path,
    data: str | Path,
    *,
    text_field: str = "text",
    label_field: str = "label",
    positive_label: str | None = None,
    max_test: int = 0,
    seed: int = 0,
    backbone: Any = None,
    device: str | None = None,
    report_dir: str | Path | None = None,
    task: str = "label",
    slot_field: str = "annot_utt",
    record: bool = True,
    label_sep: str | None = None,
    threshold: float | None = None,
    note: Note = _log_note,
) -> dict:
    """Metrics of a saved classifier on a labelled file; recorded in its agileclf.json (`record`), written with a
    confusion matrix to `report_dir`."""
    from agileclf.artifact import check_output_path, read_meta, update_meta, write_json_atomic

    if report_dir:
        check_output_path(report_dir, "--report-dir", folder=True)
    meta = read_meta(model_dir, verify=False)
    if meta.get("task") == "multilabel":
        from agileclf.multilabel_workflow import evaluate_multilabel_rows, read_multilabel_test

        field = None if label_field == "label" else label_field
        dataset = read_multilabel_test(data, meta, text_field, field, label_sep, max_test, seed)
        from agileclf.methods import load_classifier  # a bad file fails before this slow import

        classifier = load_classifier(model_dir, backbone=backbone, device=device)
        result = {"model": str(model_dir), **evaluate_multilabel_rows(classifier, dataset, threshold, report_dir)}
        summary = {k: v for k, v in result.items() if k != "per_label"}
    elif check_task_name(task) not in ("label", "multilabel"):
        from agileclf.methods.multitask.workflow import evaluate_task_file

        result = evaluate_task_file(model_dir, data, task, text_field, label_field, slot_field, max_test, seed,
                                    backbone, device)  # fmt: skip
        summary = result
    else:
        from agileclf.data import read_examples

        dataset = read_examples(data, text_field, label_field)  # a bad file fails before the slow imports below
        from agileclf.bench.runner import capped_rows
        from agileclf.evaluate import evaluate_classifier
        from agileclf.methods import load_classifier

        if max_test:  # stratified: every class keeps a row
            dataset = dataset.subset(capped_rows(dataset.labels, max_test, seed))
        classifier = load_classifier(model_dir, backbone=backbone, device=device)
        result = evaluate_classifier(classifier, dataset.texts, dataset.labels, positive_label, report_dir)
        result = {"model": str(model_dir), "method": classifier.name, "data": str(data), **result}
        if result["n_unknown_label"]:
            note(
                f"{result['n_unknown_label']} row(s) have labels this classifier does not know "
                f"({', '.join(result['unknown_labels'][:5])}); they count as errors in every metric"
            )
        summary = {"data": str(data), **{k: v for k, v in result.items() if k != "per_class"}}
    if record:
        update_meta(model_dir, metrics=summary)
    if report_dir:
        write_json_atomic(Path(report_dir) / "metrics.json", result)
    return result


# ---- prediction -------------------------------------------------------------------------------------------------
def predict_stream(
    classifier,
    records: Iterable[dict],
    text_field: str = "text",
    top_k: int = 0,
    task: str = "label",
    batch_size: int = 256,
    threshold: float | None = None,
) -> Iterator[dict]:
    """Each input record extended with `label`, `probability`, `probabilities` (and `top_k`), or for a
    multi-task model with its frame (slots, parent), or for a multi-label model with `labels` (a list) and
    per-label `probabilities` (`threshold` overrides its saved thresholds); `batch_size` records at a time."""
    if getattr(classifier, "task", "label") == "multilabel":
        task = "multilabel"
    elif threshold is not None:
        raise ConfigError("--threshold applies to multi-label classifiers; this one predicts one label per text")
    if check_task_name(task) not in ("label", "multilabel"):
        from agileclf.methods.multitask.workflow import check_task

        check_task(classifier, task)
    batch: list[dict] = []
    for record in records:
        batch.append(record)
        if len(batch) == batch_size:
            yield from _predict_batch(classifier, batch, text_field, top_k, task, threshold)
            batch = []
    if batch:
        yield from _predict_batch(classifier, batch, text_field, top_k, task, threshold)


def _predict_batch(classifier, records, text_field: str, top_k: int, task: str, threshold=None) -> list[dict]:
    texts = [record[text_field] for record in records]
    if task == "multilabel":
        from agileclf.multilabel_workflow import predict_multilabel_records

        return predict_multilabel_records(classifier, records, texts, threshold, top_k)
    if task != "label":
        from agileclf.methods.multitask.workflow import predict_records

        return predict_records(classifier, records, texts)
    rows = prediction_rows(classifier.predict_proba(texts), classifier.labels.names, top_k)
    return [{**record, **row} for record, row in zip(records, rows, strict=True)]


def predict_file(
    classifier, input_path=None, output_path=None, text_field: str = "text", top_k: int = 0, task: str = "label",
    threshold: float | None = None, **options,
):  # fmt: skip
    """Label a file (JSONL, CSV/TSV, Parquet, text lines; None or '-': stdin) into a file or stdout in chunks:
    bounded memory, a progress bar, and an existing JSONL/CSV output continued after its last complete row.
    Each chunk is labelled by `predict_stream`; `options`: those of `agileclf.predictions.label_stream`
    (chunk_rows, resume, fmt, inference)."""
    from agileclf.predictions import label_stream

    def labeller(records: list[dict]) -> list[dict]:
        return list(predict_stream(classifier, records, text_field, top_k, task, len(records), threshold))

    return label_stream(classifier, input_path, output_path, text_field, top_k, task, labeller=labeller, **options)


# ---- benchmarks -------------------------------------------------------------------------------------------------
@dataclass
class BenchResult:
    rows: list[dict]
    report: Path
    plots: list[Path]


def bench_from_config(
    out_dir: str | Path,
    config: str | Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    resume: bool = False,
    backbone: Any = None,
    log: Note = _log_note,
) -> BenchResult:
    """Run every grid of a TOML file (or one grid from `overrides` alone) into `out_dir`; `overrides` (BenchGrid
    fields, e.g. {"shots": [8]}) win over the file in every grid; `params` ({name: {key: value}}, name is a
    method, a peer, `name@dataset`, or `synthetic`) are routed to method, peer and synthesis settings."""
    from agileclf.bench import load_grid_file, run_grid
    from agileclf.bench.grid import grid_spec
    from agileclf.bench.multilabel import multilabel_grid, run_multilabel_grid, write_multilabel_report
    from agileclf.bench.plots import write_plots
    from agileclf.bench.report import write_report

    grids = [{**grid, **(overrides or {})} for grid in (load_grid_file(config) if config else [{}])]
    specs = [grid_spec(grid, params or {}) for grid in grids]
    multilabel = [multilabel_grid(spec, "methods" in grid) for spec, grid in zip(specs, grids, strict=True)]
    out_dir = Path(out_dir)
    rows: list[dict] = []
    for number, spec in enumerate(specs):  # later grids of one file resume into the rows of the earlier ones
        if multilabel[number]:  # label lists: agileclf's multi-label methods and SetFit one-vs-rest
            rows = run_multilabel_grid(multilabel[number], out_dir, resume or number > 0, backbone, log)
            continue
        rows = run_grid(spec, out_dir, resume=resume or number > 0, backbone=backbone, log=log)
    if any(multilabel):
        return BenchResult(rows, write_multilabel_report(rows, out_dir), [])
    return BenchResult(rows, write_report(rows, out_dir), write_plots(rows, out_dir))
