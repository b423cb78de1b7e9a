"""The `agileclf` command line: parses arguments, calls the layers below, prints. No ML logic here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from agileclf.errors import AgileclfError

app = typer.Typer(
    name="agileclf",
    help="Agile text classification: a few labelled examples in, a measured, saved classifier out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True, soft_wrap=True)  # never break a file:line message across lines

TEXT_FIELD = typer.Option("text", "--text-field", help="field (JSONL) or column (CSV/TSV) holding the text")
LABEL_FIELD = typer.Option("label", "--label-field", help="field or column holding the label (MASSIVE: intent)")
QUIET = typer.Option(False, "--quiet", "-q", help="no progress bars")
TASK = typer.Option("label", "--task", help="label (one label per text) | intent | slots | intent+slots | label+parent")
SLOT_FIELD = typer.Option("annot_utt", "--slot-field", help="field with \\[slot : value] markup (slot tasks)")


def _setup(quiet: bool) -> None:
    from agileclf.progress import set_quiet

    set_quiet(quiet)


def _parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        if "=" not in pair:
            raise AgileclfError(f"--param expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        params[key.strip().replace("-", "_")] = value.strip()
    return params


@app.command()
def train(
    data: Path = typer.Argument(..., help="labelled examples: .jsonl, .csv or .tsv"),
    method: str = typer.Option(..., "--method", "-m", help="a method name from `agileclf methods`"),
    out_dir: Path = typer.Option(..., "--out", "-o", help="classifier directory to write"),
    shots: int = typer.Option(0, "--shots", "-k", help="sample K examples per class (0: use all)"),
    seed: int = typer.Option(0, "--seed", help="seed of the sample and of the method"),
    backbone: str = typer.Option(None, "--backbone", "-b", help="local model folder (default: bundled MiniLM)"),
    text_field: str = TEXT_FIELD,
    label_field: str = LABEL_FIELD,
    labels_file: Path = typer.Option(None, "--labels", help="JSON {label: description} used by zero-shot"),
    valid: Path = typer.Option(None, "--valid", help="validation file for early stopping"),
    on_conflict: str = typer.Option("keep-first", help="same text with different labels: keep-first|drop|error"),
    params: list[str] = typer.Option([], "--param", "-p", help="method parameter key=value (repeatable)"),
    device: str = typer.Option(None, "--device", help="cpu, cuda, cuda:1, mps (default: best available)"),
    task: str = TASK,
    epochs: int = typer.Option(None, "--epochs", help="passes over the data (methods that train for epochs)"),
    slot_field: str = SLOT_FIELD,
    parent_sep: str = typer.Option(".", "--parent-sep", help="label+parent: separator of parent and child label"),
    augment: Path = typer.Option(None, "--augment", help="synthetic rows (from `synthesize`) added to the real ones"),
    augment_cap: int = typer.Option(0, "--augment-cap", help="synthetic rows per class at most (0: no cap)"),
    augment_ratio: float = typer.Option(0.0, "--augment-ratio", help="synthetic per real row of a class (0: any)"),
    quiet: bool = QUIET,
) -> None:
    """Train a classifier on labelled examples and save it as a directory."""
    _setup(quiet)
    extra_params = {"epochs": epochs} if epochs is not None else {}
    if task != "label":
        from agileclf.backbones import load_backbone
        from agileclf.methods.multitask.workflow import train_task

        if augment:
            raise AgileclfError("--augment works with --task label only")
        if method != "multitask":
            raise AgileclfError(f"--task {task} trains the 'multitask' method; pass --method multitask")
        extra_params.update(parent_sep=parent_sep, **_parse_params(params))
        err.print(f"training [bold]multitask[/] for task {task} on {data}")
        path, fit_s, rows = train_task(
            data, task, out_dir, load_backbone(backbone, device=device), text_field, label_field, slot_field,
            shots, seed, extra_params,
        )  # fmt: skip
        err.print(f"saved {path} ({rows} examples, fit {fit_s:.1f} s)")
        return
    from agileclf.backbones import load_backbone
    from agileclf.data import LabelSet, read_examples, read_label_descriptions, sample_few_shot
    from agileclf.methods import make_method

    dataset = read_examples(data, text_field, label_field, on_conflict=on_conflict, min_classes=2)
    for note in dataset.notes:
        err.print(f"[yellow]note:[/] {note}")
    if shots:
        sample = sample_few_shot(dataset.labels, shots, seed)
        if sample.short_classes:
            err.print(f"[yellow]note:[/] {sample.describe(shots)}")
        dataset = dataset.subset(sample.indices)
    train_texts, train_labels, synthetic_info = dataset.texts, dataset.labels, None
    if augment:  # real rows always kept; synthetic ones added per class (agileclf.synth.augment)
        from agileclf.synth.augment import augment as add_synthetic

        mixed = add_synthetic(train_texts, train_labels, augment, augment_cap, augment_ratio, seed)
        for note in mixed.notes:
            err.print(f"[yellow]note:[/] {note}")
        train_texts, train_labels = mixed.texts, mixed.labels
        synthetic_info = {"path": str(augment.resolve()), "added": mixed.added, "cap": augment_cap,
                          "ratio": augment_ratio}  # fmt: skip
    descriptions = read_label_descriptions(labels_file) if labels_file else None
    label_set = LabelSet.from_labels(dataset.labels, descriptions)
    validation = None
    if valid:
        v = read_examples(valid, text_field, label_field, on_conflict=on_conflict)
        validation = (v.texts, v.labels)
    param_values = {"seed": seed, **extra_params, **_parse_params(params)}
    classifier = make_method(method, backbone=load_backbone(backbone, device=device), **param_values)
    err.print(f"training [bold]{method}[/] on {len(train_texts)} examples, {len(label_set)} labels")
    import time

    start = time.perf_counter()
    classifier.fit(train_texts, train_labels, valid=validation, label_set=label_set)
    fit_s = time.perf_counter() - start
    data_info = {
        "path": str(Path(data).resolve()),
        "rows_used": len(dataset),
        "shots": shots or None,
        "seed": seed,
        "text_field": text_field,
        "label_field": label_field,
    }
    if synthetic_info:
        data_info["synthetic"] = synthetic_info
    path = classifier.save(out_dir, extra={"data": data_info, "fit_s": round(fit_s, 3)})
    err.print(f"saved {path} (fit {fit_s:.1f} s)")


# ---- synthetic data (agileclf.synth) ----------------------------------------------------------------------------
@app.command()
def synthesize(
    data: Path = typer.Argument(..., help="the few real labelled examples: .jsonl, .csv or .tsv"),
    backbone: str = typer.Option(..., "--backbone", "-b", help="local causal LM folder that writes and judges"),
    per_class: int = typer.Option(..., "--per-class", "-n", help="synthetic examples to keep per class"),
    out_path: Path = typer.Option(..., "--out", "-o", help="JSONL of kept rows (dropped rows: .dropped.jsonl)"),
    shots: int = typer.Option(0, "--shots", "-k", help="sample K real examples per class first (0: use all)"),
    seed: int = typer.Option(0, "--seed", help="seed of the sample, prompt shuffles, sampling and the judge"),
    temperature: float = typer.Option(1.0, "--temperature", help="sampling temperature"),
    top_p: float = typer.Option(0.95, "--top-p", help="nucleus sampling mass"),
    max_new_tokens: int = typer.Option(48, "--max-new-tokens", help="tokens generated per example at most"),
    batch_size: int = typer.Option(16, "--batch-size", help="prompts per generate call"),
    task_desc: str = typer.Option("texts", "--task-desc", help="what the examples are, e.g. 'movie reviews'"),
    label_kind: str = typer.Option("label", "--label-kind", help="what a label is, e.g. 'sentiment' or 'intent'"),
    max_rounds: int = typer.Option(10, "--max-rounds", help="rounds of generate + filter at most (this run)"),
    budget: int = typer.Option(0, "--budget", help="candidates generated per class at most (0: 20 x per-class)"),
    oversample: float = typer.Option(2.0, "--oversample", help="candidates per missing example in a round"),
    malformed: bool = typer.Option(True, "--malformed/--no-malformed", help="drop empty texts and prompt echoes"),
    length: bool = typer.Option(True, "--length/--no-length", help="drop texts outside the length bounds"),
    min_length_ratio: float = typer.Option(0.5, "--min-length-ratio", help="x the shortest real example (words)"),
    max_length_ratio: float = typer.Option(2.0, "--max-length-ratio", help="x the longest real example (words)"),
    duplicate: bool = typer.Option(True, "--dedupe/--no-dedupe", help="drop exact and near duplicates"),
    near_duplicate: float = typer.Option(0.8, "--near-duplicate", help="word-set Jaccard that counts as a copy"),
    label_filter: bool = typer.Option(True, "--label-filter/--no-label-filter", help="drop texts ICL labels else"),
    judge_demos: int = typer.Option(4, "--judge-demos", help="ICL demonstrations per class of the label filter"),
    chat_template: bool = typer.Option(True, "--chat/--no-chat", help="use the tokenizer's chat template if any"),
    examples_per_prompt: int = typer.Option(0, "--examples-per-prompt", help="real examples per prompt (0: all)"),
    resume: bool = typer.Option(False, "--resume", help="continue the rows already in --out"),
    report_dir: Path = typer.Option(None, "--report-dir", help="reports folder (default: <out>.report/)"),
    device: str = typer.Option(None, "--device", help="cpu, cuda, cuda:1, mps (default: best available)"),
    text_field: str = TEXT_FIELD,
    label_field: str = LABEL_FIELD,
    quiet: bool = QUIET,
) -> None:
    """Write synthetic examples per class with a causal LM, filter them, and report what was kept."""
    _setup(quiet)
    from agileclf.backbones import load_backbone
    from agileclf.data import read_examples, sample_few_shot
    from agileclf.synth import FilterSettings, GenerationSettings
    from agileclf.synth.report import filter_table, write_reports
    from agileclf.synth.run import synthesize_with_lm

    dataset = read_examples(data, text_field, label_field, min_classes=2)
    if shots:
        dataset = dataset.subset(sample_few_shot(dataset.labels, shots, seed).indices)
    lm = load_backbone(backbone, device=device)
    generation = GenerationSettings(
        temperature, top_p, max_new_tokens, batch_size, task_desc, label_kind, chat_template, examples_per_prompt
    )  # fmt: skip
    filters = FilterSettings(malformed, length, duplicate, label_filter, min_length_ratio, max_length_ratio,
                             near_duplicate)  # fmt: skip
    err.print(f"synthesizing {per_class} per class for {len(dataset.classes)} classes from {len(dataset)} examples")
    result = synthesize_with_lm(
        dataset, lm, out_path, per_class, seed, generation, filters, judge_demos, max_rounds, budget, oversample,
        resume,
    )  # fmt: skip
    kept = read_examples(out_path, "text", "label") if out_path.is_file() and out_path.stat().st_size else None
    paths = write_reports(
        result, dataset.texts, dataset.labels, kept.texts if kept else [], kept.labels if kept else [],
        report_dir or out_path.with_name(out_path.stem + ".report"), seed,
    )  # fmt: skip
    plain = {"soft_wrap": True, "markup": False, "highlight": False}  # labels may hold [brackets]
    out.print(filter_table(result), **plain)
    (err.print if result.complete else out.print)(f"{'done' if result.complete else 'note'}: {result.stopped}", **plain)
    err.print(f"rows in {out_path}; reports in {paths['filters'].parent}")


@app.command()
def predict(
    model_dir: Path = typer.Argument(..., help="classifier directory"),
    input_path: str = typer.Option("-", "--input", "-i", help="JSONL, CSV/TSV, Parquet or text lines; - for stdin"),
    output_path: str = typer.Option("-", "--output", "-o", help="JSONL, .csv or .parquet out; - for stdout"),
    text_field: str = TEXT_FIELD,
    top_k: int = typer.Option(0, "--top-k", help="also list the k most probable labels"),
    backbone: str = typer.Option(None, "--backbone", "-b", help="override the recorded backbone path"),
    task: str = TASK,
    chunk_rows: int = typer.Option(1024, "--chunk-rows", help="rows read, labelled and written at a time"),
    overwrite: bool = typer.Option(False, "--overwrite", help="start the output again instead of continuing it"),
    inference: str = typer.Option(None, "--inference", help="prediction precision: fp32, int8, onnx, onnx-int8"),
    engine: str = typer.Option("local", "--engine", help="local (this process) | ray (Ray Data over sharded files)"),
    actors: int = typer.Option(1, "--actors", help="ray: labelling actors"),
    batch_size: int = typer.Option(256, "--batch-size", help="ray: rows per batch an actor labels"),
    cpus_per_actor: float = typer.Option(1.0, "--cpus-per-actor", help="ray: CPUs each actor reserves (= threads)"),
    gpus_per_actor: float = typer.Option(0.0, "--gpus-per-actor", help="ray: GPUs each actor reserves"),
    output_format: str = typer.Option("jsonl", "--output-format", help="ray: jsonl or parquet shards"),
    ray_address: str = typer.Option(None, "--ray-address", envvar="RAY_ADDRESS", help="ray: cluster (default: local)"),
    quiet: bool = QUIET,
) -> None:
    """Label new texts; each output line has the label, its probability and all probabilities (or the slots).

    Reads and writes in chunks (bounded memory); an existing .jsonl/.csv output is continued after its last
    complete row. `--engine ray --input DIR_OR_GLOB --output DIR` labels sharded files on a Ray cluster."""
    _setup(quiet)
    if engine == "ray":
        from agileclf.integrations.ray import predict_files

        if input_path == "-" or output_path == "-":
            raise AgileclfError("--engine ray reads --input DIR_OR_GLOB and writes --output DIR (no stdin/stdout)")
        run = predict_files(
            input_path, output_path, model_dir, actors, batch_size, cpus_per_actor, gpus_per_actor, text_field,
            top_k, backbone, inference, output_format, ray_address,
        )  # fmt: skip
        err.print(f"labelled {run.rows:,} rows into {run.output} in {run.wall_s:.1f} s ({run.rows_per_s:,.0f} rows/s)")
        return
    if engine != "local":
        raise AgileclfError(f"--engine must be local or ray, not {engine!r}")
    from agileclf.artifact import load_classifier
    from agileclf.prediction import label_stream, set_inference

    classifier = load_classifier(model_dir, backbone=backbone)
    if inference:
        set_inference(classifier, inference)
    result = label_stream(
        classifier, input_path, output_path, text_field, top_k, task, chunk_rows, resume=not overwrite
    )
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
    task: str = TASK,
    slot_field: str = SLOT_FIELD,
    quiet: bool = QUIET,
) -> None:
    """Measure a classifier on labelled data: accuracy, F1, ROC-AUC, latency (slot F1, frame match by task)."""
    _setup(quiet)
    from agileclf.artifact import load_classifier, update_meta, write_json_atomic
    from agileclf.data import read_examples, sample_rows
    from agileclf.evaluate import evaluate_classifier

    if task != "label":
        from agileclf.methods.multitask.workflow import evaluate_task_file

        result = evaluate_task_file(
            model_dir, data, task, text_field, label_field, slot_field, max_test, seed, backbone
        )
        update_meta(model_dir, metrics=result)
        if report_dir:
            write_json_atomic(Path(report_dir) / "metrics.json", result)
        if as_json:
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
            return
        table = Table(title=f"multitask {task} on {data} (n={result['n']})")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, value in result.items():
            if isinstance(value, float):
                table.add_row(key, f"{value:.4f}")
        out.print(table)
        return

    dataset = read_examples(data, text_field, label_field)
    if max_test:
        dataset = dataset.subset(sample_rows(len(dataset), max_test, seed))
    classifier = load_classifier(model_dir, backbone=backbone)
    result = evaluate_classifier(classifier, dataset.texts, dataset.labels, positive_label, report_dir)
    result = {"model": str(model_dir), "method": classifier.name, "data": str(data), **result}
    if result["n_unknown_label"]:
        err.print(
            f"[yellow]note:[/] {result['n_unknown_label']} row(s) have labels this classifier does not know "
            f"({', '.join(result['unknown_labels'][:5])}); they are left out of the metrics"
        )
    summary = {k: v for k, v in result.items() if k != "per_class"}
    update_meta(model_dir, metrics={"data": str(data), **summary})
    if report_dir:
        write_json_atomic(Path(report_dir) / "metrics.json", result)
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    _print_metrics(result)


@app.command("bench-multitask")
def bench_multitask(
    train_data: Path = typer.Argument(..., help="training file with labels and slot markup (MASSIVE train)"),
    test_data: Path = typer.Argument(..., help="test file with labels and slot markup"),
    out_dir: Path = typer.Option(Path("bench-out/multitask"), "--out", "-o", help="models, results.json, report.md"),
    epochs: int = typer.Option(3, "--epochs", help="passes over the data of every model"),
    text_field: str = TEXT_FIELD,
    label_field: str = typer.Option("intent", "--label-field", help="field holding the intent"),
    slot_field: str = SLOT_FIELD,
    params: list[str] = typer.Option([], "--param", "-p", help="multitask parameter key=value (repeatable)"),
    seed: int = typer.Option(0, "--seed", help="seed of every model"),
    quiet: bool = QUIET,
) -> None:
    """Dual (intent-only + slots-only models) vs consolidated (one intent+slots model): quality, calls, speed."""
    _setup(quiet)
    from agileclf.bench.multitask import compare_dual_consolidated

    results = compare_dual_consolidated(
        train_data, test_data, out_dir, epochs, text_field, label_field, slot_field, _parse_params(params), seed,
        log=lambda message: err.print(message),
    )  # fmt: skip
    out.print((out_dir / "report.md").read_text(encoding="utf-8").split("```")[0])
    err.print(f"wrote {out_dir / 'results.json'} (n={results['n_test']})")


def _print_metrics(result: dict) -> None:
    table = Table(title=f"{result['method']} on {result['data']} (n={result['n']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("accuracy", "macro_f1", "binary_f1", "roc_auc", "no_match_rate", "ms_per_example", "examples_per_s"):
        if key in result:
            table.add_row(key, f"{result[key]:.4f}" if key != "examples_per_s" else f"{result[key]:.1f}")
    out.print(table)
    per_class = Table(title="per class")
    for column in ("label", "precision", "recall", "f1", "support"):
        per_class.add_column(column, justify="right" if column != "label" else "left")
    for label, row in result.get("per_class", {}).items():
        per_class.add_row(label, *(f"{row[k]:.3f}" for k in ("precision", "recall", "f1-score")), str(row["support"]))
    out.print(per_class)


@app.command()
def methods() -> None:
    """List the methods, the backbone kinds each takes, and their parameters."""
    from agileclf.methods.registry import describe_config, method_classes, method_names

    for name in method_names():
        classes = method_classes(name)
        table = Table(title=f"{name}  ({', '.join(sorted(classes))})", title_justify="left")
        table.add_column("kind")
        table.add_column("parameter")
        table.add_column("default")
        table.add_column("help")
        for kind, cls in sorted(classes.items()):
            doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
            table.caption = doc
            for pname, default, help_text in describe_config(cls.config_class):
                table.add_row(kind, pname, default, help_text)
        out.print(table)


@app.command()
def demo(
    out_dir: Path = typer.Option(Path("agileclf-demo"), "--out", "-o", help="folder for artifacts and reports"),
    quiet: bool = QUIET,
) -> None:
    """Train zero-shot, linear-probe and finetune on the bundled support-ticket data and compare them."""
    _setup(quiet)
    from agileclf.demo import run_demo

    run_demo(out_dir, out, err)


# ---- serving: `serve` and `loadtest` (logic lives in agileclf.serve) --------------------------------------


@app.command()
def serve(
    model_dirs: list[str] = typer.Argument(..., help="classifier directories, each DIR or name=DIR"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to bind (default loopback only)"),
    port: int = typer.Option(8000, "--port", help="TCP port"),
    api_key: str = typer.Option(
        None, "--api-key", envvar="AGILECLF_API_KEY", help="require 'Authorization: Bearer KEY' (not on health checks)"
    ),
    max_texts: int = typer.Option(64, "--max-texts", help="most texts in one request"),
    max_text_chars: int = typer.Option(2000, "--max-text-chars", help="most characters in one text"),
    max_top_k: int = typer.Option(100, "--max-top-k", help="largest top_k a request may ask for"),
    max_batch_texts: int = typer.Option(64, "--max-batch", help="most texts in one batched predict_proba call"),
    max_wait_ms: float = typer.Option(5.0, "--max-wait-ms", help="how long a batch waits for more requests"),
    max_queued_texts: int = typer.Option(4096, "--max-queued", help="texts queued per model before 503"),
    request_timeout_s: float = typer.Option(30.0, "--request-timeout", help="seconds before a request gets 503"),
    device: str = typer.Option(None, "--device", help="cpu, cuda, cuda:1, mps (default: best available)"),
    access_log: bool = typer.Option(False, "--access-log", help="log every request"),
) -> None:
    """Serve saved classifiers over HTTP: POST /v1/classify, GET /v1/models, /healthz, /readyz, /metrics, /docs."""
    _setup(True)
    from agileclf.serve.config import Limits
    from agileclf.serve.server import run_server

    limits = Limits(
        max_texts=max_texts,
        max_text_chars=max_text_chars,
        max_top_k=max_top_k,
        max_batch_texts=max_batch_texts,
        max_wait_ms=max_wait_ms,
        max_queued_texts=max_queued_texts,
        request_timeout_s=request_timeout_s,
    )
    run_server(model_dirs, host, port, limits, api_key, device, access_log, echo=err.print)


@app.command()
def loadtest(
    url: str = typer.Argument("http://127.0.0.1:8000", help="a loopback agileclf server"),
    concurrency: int = typer.Option(1, "--concurrency", "-c", help="clients sending at once"),
    requests: int = typer.Option(1000, "--requests", "-n", help="requests to send in all"),
    duration_s: float = typer.Option(120.0, "--duration", help="stop after this many seconds even if not done"),
    texts_per_request: int = typer.Option(1, "--batch", help="texts per request"),
    model: str = typer.Option(None, "--model", help="served model name (default: the first one)"),
    texts_file: Path = typer.Option(None, "--texts", help="texts to send (default: bundled demo messages)"),
    api_key: str = typer.Option(None, "--api-key", envvar="AGILECLF_API_KEY", help="bearer token, if required"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object to stdout"),
) -> None:
    """Load-test a local server: throughput, p50/p95/p99 latency and errors (loopback only, bounded)."""
    from agileclf.serve.loadtest import read_texts, run_loadtest

    texts = read_texts(texts_file) if texts_file else None
    result = run_loadtest(url, concurrency, requests, duration_s, texts, texts_per_request, model, api_key)
    summary = result.summary()
    if as_json:
        sys.stdout.write(json.dumps(summary) + "\n")
        return
    table = Table(title=f"loadtest {summary['url']} model={summary['model']} concurrency={concurrency}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    shown = ("requests", "errors", "wall_s", "requests_per_s", "texts_per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms")
    for key in shown:
        table.add_row(key, str(summary[key]))
    out.print(table)
    if summary["errors_by_kind"]:
        err.print(f"[yellow]errors:[/] {summary['errors_by_kind']}")
    if summary["stopped_by_time"]:
        err.print(f"[yellow]note:[/] stopped after --duration {duration_s} s before all requests were sent")


# ---- causal-LM cost benchmark (issue 3) -----------------------------------------------------------------
@app.command("bench-cost")
def bench_cost(
    backbone: str = typer.Argument(..., help="local causal LM folder"),
    data: Path = typer.Option(None, "--data", help="labelled texts to time on (default: bundled support tickets)"),
    label_field: str = typer.Option("label", "--label-field", help="label field of --data (e.g. intent)"),
    n: int = typer.Option(32, "--n", help="texts per timing"),
    device: str = typer.Option(None, "--device", help="cpu, cuda, ... (default: best available)"),
    threads: int = typer.Option(1, "--threads", help="torch CPU threads while timing"),
    repeats: int = typer.Option(5, "--repeats", help="timings per cell of the label-scoring table (median)"),
    methods: bool = typer.Option(True, "--methods/--no-methods", help="also time each method (trains lora etc.)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object to stdout"),
    quiet: bool = QUIET,
) -> None:
    """Inference cost of the causal-LM methods (ms/example) and of scoring K labels vs one forward pass."""
    _setup(quiet)
    from agileclf.bench.causal_cost import run_cost

    result = run_cost(
        backbone,
        str(data) if data else None,
        n=n,
        device=device,
        label_field=label_field,
        threads=threads,
        methods=methods,
        repeats=repeats,
    )
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    where = f"{result['device']} ({result['dtype']}, {result['threads']} thread(s)), n={n}"
    if result["methods"]:
        table = Table(title=f"ms per example on {where}")
        table.add_column("method")
        table.add_column("ms/example", justify="right")
        for row in result["methods"]:
            table.add_row(row["method"], f"{row['ms_per_example']:.2f}")
        out.print(table)
    table = Table(title=f"exact scoring of K labels / one forward pass over the prompt, {where}, median of {repeats}")
    columns = ("labels", "prompt", "K", "label tok", "fed tok", "prompt tok", "forward ms/ex", "scoring ms/ex")
    for column in (*columns, "ratio", "cache path", "FLOP floor"):
        table.add_column(column, justify="right")
    for row in result["label_scoring"]:
        table.add_row(
            row["labels"],
            row["prompt"],
            str(row["K"]),
            f"{row['label_tokens']:.1f}",
            str(row["fed_tokens"]),
            f"{row['prompt_tokens']:.0f}",
            f"{row['forward_ms_per_example']:.2f}",
            f"{row['scoring_ms_per_example']:.2f}",
            f"{row['ratio']:.2f}x",
            f"{row['cache_ratio']:.2f}x",
            f"{row['flops_floor']:.2f}x",
        )
    out.print(table)


# ---- bench: grids of methods and peers over datasets, shots and seeds (issue 7) ---------------------------


def _csv(value: str, cast=str) -> list:
    try:
        return [cast(v.strip()) for v in value.split(",") if v.strip()]
    except ValueError:
        raise AgileclfError(f"cannot read {value!r} as a comma-separated list of {cast.__name__}") from None


def _bench_params(pairs: list[str]) -> dict[str, dict]:
    """`name.key=value` or `name@dataset.key=value` pairs into {name: {key: value}}."""
    table: dict[str, dict] = {}
    for pair in pairs:
        target, _, rest = pair.partition(".")
        if not rest or "=" not in rest:
            raise AgileclfError(f"--param expects name.key=value or name@dataset.key=value, got {pair!r}")
        table.setdefault(target, {}).update(_parse_params([rest]))
    return table


def _literal(value: str):
    """'20' -> 20, '0.5' -> 0.5, 'true' -> True; anything else stays a string."""
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


@app.command()
def bench(
    data: list[Path] = typer.Option([], "--data", "-d", help="dataset folder with train.jsonl, test.jsonl (repeat)"),
    config: Path = typer.Option(None, "--config", help="TOML grid file; flags given here override it"),
    methods_: str = typer.Option(None, "--methods", help="comma-separated methods (default: every encoder method)"),
    peers: str = typer.Option(None, "--peers", help="comma-separated peers: setfit,tfidf (default: none)"),
    shots: str = typer.Option(None, "--shots", help="examples per class, e.g. 8,64 (default: 8)"),
    seeds: str = typer.Option(None, "--seeds", help="sample/method seeds, e.g. 0,1,2 (default: 0,1,2,3,4)"),
    max_test: int = typer.Option(None, "--max-test", help="cap each test set at N reproducibly sampled rows"),
    out_dir: Path = typer.Option(..., "--out", "-o", help="folder for results.jsonl, report.md and plots"),
    resume: bool = typer.Option(False, "--resume", help="keep finished cells of --out and run the rest"),
    text_field: str = TEXT_FIELD,
    label_fields: list[str] = typer.Option(["label"], "--label-field", help="label field: one, or one per --data"),
    params: list[str] = typer.Option([], "--param", "-p", help="method.key=value or method@dataset.key=value"),
    backbone: str = typer.Option(None, "--backbone", "-b", help="local encoder folder (default: bundled MiniLM)"),
    augmented: str = typer.Option(None, "--augmented", help="methods also run on sample + synthetic rows, e.g. lora"),
    synthetic_per_class: int = typer.Option(None, "--synthetic-per-class", help="synthetic rows per class (21)"),
    augmented_shots: str = typer.Option(None, "--augmented-shots", help="shots the augmented variants run at (all)"),
    writer: str = typer.Option(None, "--writer", help="causal LM writing synthetic rows (default: --backbone)"),
    quiet: bool = QUIET,
) -> None:
    """Benchmark methods and peers on the same few-shot samples; write results.jsonl, report.md and plots."""
    _setup(quiet)
    from agileclf.bench import BenchGrid, DatasetSpec, load_grid_file, run_grid
    from agileclf.bench.peers import PEER_NAMES
    from agileclf.bench.plots import write_plots
    from agileclf.bench.report import write_report
    from agileclf.methods.registry import method_classes, method_names

    flags: dict = {}  # flags given here win over the grid file, in every [[grid]] of it
    if data:
        if len(label_fields) not in (1, len(data)):
            raise AgileclfError(f"give one --label-field, or one per --data ({len(data)}), not {len(label_fields)}")
        fields = label_fields * len(data) if len(label_fields) == 1 else label_fields
        pairs = zip(data, fields, strict=True)
        flags["datasets"] = [DatasetSpec(p, text_field=text_field, label_field=f) for p, f in pairs]
    listed = {"methods": methods_, "peers": peers, "augmented": augmented}  # synthetic settings: -p synthetic.k=v
    flags |= {key: _csv(value) for key, value in listed.items() if value is not None}
    numbers = {"shots": shots, "seeds": seeds, "augmented_shots": augmented_shots}
    flags |= {key: _csv(value, int) for key, value in numbers.items() if value is not None}
    scalars = {"max_test": max_test, "synthetic_per_class": synthetic_per_class, "writer": writer}
    flags |= {key: value for key, value in scalars.items() if value is not None}
    specs, named_params = [], _bench_params(params)
    for grid in load_grid_file(config) if config else [{}]:
        grid = {**grid, **flags}
        grid.setdefault("methods", [n for n in method_names() if "encoder" in method_classes(n)])
        grid.setdefault("datasets", [])
        unknown = set(grid.get("peers", [])) - set(PEER_NAMES)
        if unknown:
            raise AgileclfError(f"unknown peer(s) {', '.join(sorted(unknown))}; available: {', '.join(PEER_NAMES)}")
        for name in [*grid["methods"], *grid.get("augmented", [])]:
            method_classes(name)  # an unknown method fails now, not after an hour of other cells
        for name, values in named_params.items():
            if name == "synthetic":
                grid["synthetic_params"] = {**grid.get("synthetic_params", {}), **values}
                continue
            peer = name.partition("@")[0] in PEER_NAMES
            values = {k: _literal(v) for k, v in values.items()} if peer else values  # methods convert strings
            table = grid.get("peer_params" if peer else "method_params", {})
            grid["peer_params" if peer else "method_params"] = {**table, name: {**table.get(name, {}), **values}}
        specs.append(BenchGrid(**grid))
    rows = []
    for number, spec in enumerate(specs):  # later grids of one file resume into the rows of the earlier ones
        rows = run_grid(spec, out_dir, resume=resume or number > 0, backbone=backbone, log=_err_line)
    report = write_report(rows, out_dir)
    plots = write_plots(rows, out_dir)
    sys.stdout.write(report.read_text(encoding="utf-8"))  # raw Markdown: rich would wrap the table rows
    err.print(f"wrote {out_dir / 'results.jsonl'}, {report}, {', '.join(str(p) for p in plots)}")


def _err_line(line: str) -> None:
    err.print(line, highlight=False)


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
