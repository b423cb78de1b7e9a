"""The `agileclf` command line: parses arguments, calls `agileclf.workflow`, prints. No ML logic here.

train / evaluate / predict / methods / demo live here; the other families are in `agileclf.commands`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from agileclf.commands import app as app_commands
from agileclf.commands import bench as bench_commands
from agileclf.commands import serve as serve_commands
from agileclf.commands import synth as synth_commands
from agileclf.commands.common import (
    DEVICE,
    LABEL_FIELD,
    LABEL_SEP,
    QUIET,
    SLOT_FIELD,
    TASK,
    TEXT_FIELD,
    THRESHOLD,
    err,
    err_line,
    note,
    out,
    setup,
)
from agileclf.errors import AgileclfError

app = typer.Typer(
    name="agileclf",
    help="Agile text classification: a few labelled examples in, a measured, saved classifier out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def train(
    data: Path = typer.Argument(..., help="labelled examples: .jsonl, .csv or .tsv"),
    method: str = typer.Option(
        None, "--method", "-m", help="a method from `agileclf methods` (default: auto; label lists: contrastive)"
    ),
    out_dir: Path = typer.Option(..., "--out", "-o", help="classifier directory to write"),
    shots: int = typer.Option(None, "--shots", "-k", help="sample K examples per class (default: every row)"),
    seed: int = typer.Option(0, "--seed", help="seed of the sample and of the method"),
    backbone: str = typer.Option(None, "--backbone", "-b", help="local model folder (default: bundled MiniLM)"),
    text_field: str = TEXT_FIELD,
    label_field: str = LABEL_FIELD,
    labels_file: Path = typer.Option(None, "--labels", help="JSON {label: description} used by zero-shot"),
    valid: Path = typer.Option(None, "--valid", help="validation file for early stopping"),
    on_conflict: str = typer.Option("keep-first", help="same text with different labels: keep-first|drop|error"),
    params: list[str] = typer.Option([], "--param", "-p", help="method parameter key=value (repeatable)"),
    device: str = DEVICE,
    task: str = TASK,
    epochs: int = typer.Option(None, "--epochs", help="passes over the data (methods that train for epochs)"),
    slot_field: str = SLOT_FIELD,
    parent_sep: str = typer.Option(".", "--parent-sep", help="label+parent: separator of parent and child label"),
    augment: Path = typer.Option(None, "--augment", help="synthetic rows (from `synthesize`) added to the real ones"),
    augment_cap: int = typer.Option(0, "--augment-cap", help="synthetic rows per class at most (0: no cap)"),
    augment_ratio: float = typer.Option(0.0, "--augment-ratio", help="synthetic per real row of a class (0: any)"),
    label_sep: str = LABEL_SEP,
    allow_empty: bool = typer.Option(False, "--allow-empty", help="multilabel: an empty label list is valid"),
    thresholds: str = typer.Option("auto", "--thresholds", help="multilabel: auto | cv | dev (--valid) | fixed"),
    cv_folds: int = typer.Option(3, "--cv-folds", help="multilabel: folds of the threshold cross-validation"),
    quiet: bool = QUIET,
) -> None:
    """Train a classifier on labelled examples and save it as a directory (label lists: multi-label)."""
    setup(quiet)
    from agileclf.params import parse_params
    from agileclf.workflow import train_from_file

    values = {"epochs": epochs} if epochs is not None else {}
    if task not in ("label", "multilabel"):
        values["parent_sep"] = parent_sep
    values.update(parse_params(params))
    result = train_from_file(
        data, method, out_dir, shots=shots, seed=seed, backbone=backbone, text_field=text_field,
        label_field=label_field, labels_file=labels_file, valid=valid, on_conflict=on_conflict, params=values,
        device=device, task=task, slot_field=slot_field, augment=augment, augment_cap=augment_cap,
        augment_ratio=augment_ratio, label_sep=label_sep, allow_empty=allow_empty, thresholds=thresholds,
        cv_folds=cv_folds, note=note, log=err_line,
    )  # fmt: skip
    if result.path is not None:  # None in the other processes of an `accelerate launch` job
        extra = "".join(f", {n}" for n in result.notes if n.startswith("thresholds:"))
        err.print(f"saved {result.path} ({result.rows_used} examples, fit {result.fit_s:.1f} s{extra})")


@app.command()
def predict(
    model_dir: Path = typer.Argument(..., help="classifier directory"),
    source: str = typer.Argument(None, help="the input, as --input (`agileclf predict m new.jsonl`)"),
    input_path: str = typer.Option("-", "--input", "-i", help="JSONL, CSV/TSV, Parquet or text lines; - for stdin"),
    output_path: str = typer.Option("-", "--output", "-o", help=".jsonl, .csv, .tsv or .parquet out; - for stdout"),
    output_format: str = typer.Option(None, "--format", help="jsonl, csv or parquet (default: from --output)"),
    text_field: str = TEXT_FIELD,
    top_k: int = typer.Option(0, "--top-k", help="also list the k most probable labels"),
    backbone: str = typer.Option(None, "--backbone", "-b", help="override the recorded backbone path"),
    device: str = DEVICE,
    task: str = TASK,
    chunk_rows: int = typer.Option(1024, "--chunk-rows", help="rows read, labelled and written at a time"),
    overwrite: bool = typer.Option(False, "--overwrite", help="start the output again instead of continuing it"),
    inference: str = typer.Option(None, "--inference", help="prediction precision: fp32, int8, onnx, onnx-int8"),
    engine: str = typer.Option("local", "--engine", help="local (this process) | ray (Ray Data over sharded files)"),
    actors: int = typer.Option(1, "--actors", help="ray: labelling actors"),
    batch_size: int = typer.Option(256, "--batch-size", help="ray: rows per batch an actor labels"),
    cpus_per_actor: float = typer.Option(1.0, "--cpus-per-actor", help="ray: CPUs each actor reserves (= threads)"),
    gpus_per_actor: float = typer.Option(0.0, "--gpus-per-actor", help="ray: GPUs each actor reserves"),
    ray_address: str = typer.Option(None, "--ray-address", envvar="RAY_ADDRESS", help="ray: cluster (default: local)"),
    threshold: float = THRESHOLD,
    quiet: bool = QUIET,
) -> None:
    """Label new texts; each output row has the label (multi-label: labels), probabilities (or the slots).

    Reads and writes in chunks (bounded memory); an existing .jsonl/.csv output is continued after its last
    complete row. `--engine ray --input DIR_OR_GLOB --output DIR` labels sharded files on a Ray cluster."""
    setup(quiet)
    if source is not None:
        if input_path not in ("-", source):
            raise AgileclfError(f"two inputs: {source} and --input {input_path}; give one")
        input_path = source
    if engine == "ray":
        from agileclf.integrations.ray import predict_files

        if input_path == "-" or output_path == "-":
            raise AgileclfError("--engine ray reads --input DIR_OR_GLOB and writes --output DIR (no stdin/stdout)")
        run = predict_files(
            input_path, output_path, model_dir, actors, batch_size, cpus_per_actor, gpus_per_actor, text_field,
            top_k, backbone, inference, output_format or "jsonl", ray_address,
        )  # fmt: skip
        err.print(f"labelled {run.rows:,} rows into {run.output} in {run.wall_s:.1f} s ({run.rows_per_s:,.0f} rows/s)")
        return
    if engine != "local":
        raise AgileclfError(f"--engine must be local or ray, not {engine!r}")
    from agileclf.artifact import check_output_path
    from agileclf.data.streaming import check_first_rows

    check_first_rows(input_path, text_field)  # a malformed file fails before the imports and the model load
    if output_path != "-":
        check_output_path(output_path, "--output", folder=False)
    from agileclf.methods import load_classifier
    from agileclf.workflow import predict_file

    classifier = load_classifier(model_dir, backbone=backbone, device=device)
    result = predict_file(
        classifier, input_path, output_path, text_field=text_field, top_k=top_k, task=task, chunk_rows=chunk_rows,
        resume=not overwrite, fmt=output_format, inference=inference, threshold=threshold,
    )  # fmt: skip
    if output_path != "-":
        if result.truncated_bytes:
            err.print(f"cut a torn last row ({result.truncated_bytes} bytes) off {output_path}")
        resumed = f" after the {result.skipped:,} already there" if result.skipped else ""
        err.print(f"wrote {result.written:,} predictions to {output_path}{resumed}")


@app.command()
def evaluate(
    model_dir: Path = typer.Argument(..., help="classifier directory"),
    data: Path = typer.Argument(..., help="labelled test file"),
    text_field: str = TEXT_FIELD,
    label_field: str = LABEL_FIELD,
    as_json: bool = typer.Option(False, "--json", help="print one JSON object to stdout"),
    report_dir: Path = typer.Option(None, "--report-dir", help="write confusion_matrix.png and metrics.json"),
    positive_label: str = typer.Option(None, "--positive-label", help="positive class of a binary task"),
    max_test: int = typer.Option(0, "--max-test", help="evaluate on a reproducible sample of N rows (0: all)"),
    seed: int = typer.Option(0, "--seed", help="seed of the --max-test sample"),
    backbone: str = typer.Option(None, "--backbone", "-b", help="override the recorded backbone path"),
    device: str = DEVICE,
    task: str = TASK,
    slot_field: str = SLOT_FIELD,
    label_sep: str = LABEL_SEP,
    threshold: float = THRESHOLD,
    quiet: bool = QUIET,
) -> None:
    """Measure a classifier on labelled data: accuracy, F1, ROC-AUC, latency (multi-label: micro/macro/samples
    F1, subset accuracy, Hamming loss, LRAP; slot F1, frame match by task)."""
    setup(quiet)
    from agileclf.workflow import evaluate_file

    result = evaluate_file(
        model_dir, data, text_field=text_field, label_field=label_field, positive_label=positive_label,
        max_test=max_test, seed=seed, backbone=backbone, device=device, report_dir=report_dir, task=task,
        slot_field=slot_field, label_sep=label_sep, threshold=threshold, note=note,
    )  # fmt: skip
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    elif result.get("task") == "multilabel":
        _print_multilabel_metrics(result)
    elif task != "label":
        _print_table(f"multitask {task} on {data} (n={result['n']})", result, [k for k, v in result.items()
                     if isinstance(v, float)])  # fmt: skip
    else:
        _print_metrics(result)


def _print_table(title: str, values: dict, keys: list[str]) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in keys:
        if key in values:
            table.add_row(key, f"{values[key]:.4f}" if key != "examples_per_s" else f"{values[key]:.1f}")
    out.print(table)


def _print_multilabel_metrics(result: dict) -> None:
    keys = ["micro_f1", "macro_f1", "samples_f1", "subset_accuracy", "hamming_loss", "roc_auc", "label_ranking_ap",
            "labels_per_row", "ms_per_example", "examples_per_s"]  # fmt: skip
    title = f"{result['method']} (multilabel, thresholds: {result['threshold_source']}) on {result['data']}"
    _print_table(f"{title} (n={result['n']})", result, keys)
    per_label = Table(title="per label")
    for column in ("label", "precision", "recall", "f1", "support"):
        per_label.add_column(column, justify="right" if column != "label" else "left")
    for label, row in result["per_label"].items():
        per_label.add_row(label, *(f"{row[k]:.3f}" for k in ("precision", "recall", "f1")), str(row["support"]))
    out.print(per_label)


def _print_metrics(result: dict) -> None:
    keys = ["accuracy", "macro_f1", "binary_f1", "roc_auc", "log_loss", "brier", "ece", "no_match_rate", "load_s"]
    keys += ["ms_per_example", "examples_per_s"]
    _print_table(f"{result['method']} on {result['data']} (n={result['n']})", result, keys)
    per_class = Table(title="per class")
    for column in ("label", "precision", "recall", "f1", "support"):
        per_class.add_column(column, justify="right" if column != "label" else "left")
    for label, row in result.get("per_class", {}).items():
        per_class.add_row(label, *(f"{row[k]:.3f}" for k in ("precision", "recall", "f1-score")), str(row["support"]))
    out.print(per_class)


@app.command()
def methods() -> None:
    """List the methods, the backbone kinds each takes, and their parameters."""
    from agileclf.methods.registry import describe_config, method_classes, method_names, task_method_names
    from agileclf.methods.registry import task_method_classes as variants

    multilabel = set(task_method_names("multilabel"))
    for name in method_names():
        classes = dict(method_classes(name))
        if name in multilabel:  # --task multilabel picks these
            classes |= {f"{kind} multilabel": cls for kind, cls in variants("multilabel", name).items()}
        table = Table(title=f"{name}  ({', '.join(sorted(classes))})", title_justify="left")
        for column in ("kind", "parameter", "default", "help"):
            table.add_column(column)
        for kind, cls in sorted(classes.items()):
            table.caption = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
            for pname, default, help_text in describe_config(cls.config_class):
                table.add_row(kind, pname, default, help_text)
        out.print(table)


@app.command()
def demo(
    out_dir: Path = typer.Option(Path("agileclf-demo"), "--out", "-o", help="folder for artifacts and reports"),
    quiet: bool = QUIET,
) -> None:
    """Train four methods on the bundled support-ticket data, compare them, and ship what auto chose by CV."""
    setup(quiet)
    from agileclf.demo import run_demo

    run_demo(out_dir, out, err)


app.command()(synth_commands.synthesize)
app.command()(serve_commands.serve)
app.command()(serve_commands.loadtest)
app.command("app")(app_commands.web_app)
app.command()(bench_commands.bench)
app.command("bench-cost")(bench_commands.bench_cost)
app.command("bench-multitask")(bench_commands.bench_multitask)
app.command()(bench_commands.speed)


def main() -> None:
    """Console entry point: user errors print one readable message and exit 2."""
    try:
        app()
    except AgileclfError as error:
        from rich.text import Text

        err.print(Text("error: ", style="bold red") + Text(str(error)), highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
