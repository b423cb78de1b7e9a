"""The benchmark commands: `bench` (grids), `bench-cost`, `bench-multitask`, `speed`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from agileclf.commands.common import LABEL_FIELD, QUIET, SLOT_FIELD, TEXT_FIELD, err, err_line, out, setup
from agileclf.errors import ConfigError


def bench(
    data: list[Path] = typer.Option([], "--data", "-d", help="dataset folder with train.jsonl, test.jsonl (repeat)"),
    config: Path = typer.Option(None, "--config", help="TOML grid file; flags given here override it"),
    methods_: str = typer.Option(None, "--methods", help="comma-separated methods (default: all that apply)"),
    peers: str = typer.Option(None, "--peers", help="comma-separated peers: setfit,tfidf (default: none)"),
    shots: str = typer.Option(None, "--shots", help="examples per class, e.g. 8,64 (default: 8)"),
    seeds: str = typer.Option(None, "--seeds", help="sample/method seeds, e.g. 0,1,2 (default: 0,1,2,3,4)"),
    max_test: int = typer.Option(None, "--max-test", help="cap each test set at N rows, stratified (default: all)"),
    out_dir: Path = typer.Option(..., "--out", "-o", help="folder for results.jsonl, report.md and plots"),
    resume: bool = typer.Option(False, "--resume", help="keep finished cells of --out and run the rest"),
    text_field: str = TEXT_FIELD,
    label_fields: list[str] = typer.Option(["label"], "--label-field", help="label field: one, or one per --data"),
    labels_files: list[Path] = typer.Option([], "--labels", help="labels file {label: description}, one per --data"),
    params: list[str] = typer.Option([], "--param", "-p", help="method.key=value or method@dataset.key=value"),
    backbone: str = typer.Option(None, "--backbone", "-b", help="local encoder folder (default: bundled MiniLM)"),
    augmented: str = typer.Option(None, "--augmented", help="methods also run on sample + synthetic rows, e.g. lora"),
    synthetic_per_class: int = typer.Option(None, "--synthetic-per-class", help="synthetic rows per class (21)"),
    augmented_shots: str = typer.Option(None, "--augmented-shots", help="shots the augmented variants run at (all)"),
    writer: str = typer.Option(None, "--writer", help="causal LM writing synthetic rows (default: --backbone)"),
    quiet: bool = QUIET,
) -> None:
    """Benchmark methods and peers on the same few-shot samples; write results.jsonl, report.md and plots."""
    setup(quiet)
    from agileclf.bench import DatasetSpec
    from agileclf.params import parse_list, parse_named_params
    from agileclf.workflow import bench_from_config

    flags: dict = {}  # flags given here win over the grid file, in every [[grid]] of it
    if data:
        if len(label_fields) not in (1, len(data)):
            raise ConfigError(f"give one --label-field, or one per --data ({len(data)}), not {len(label_fields)}")
        fields = label_fields * len(data) if len(label_fields) == 1 else label_fields
        if labels_files and len(labels_files) != len(data):
            raise ConfigError(f"give one --labels per --data ({len(data)}), not {len(labels_files)}")
        described = labels_files or [None] * len(data)
        flags["datasets"] = [
            DatasetSpec(p, text_field=text_field, label_field=f, labels=labels)
            for p, f, labels in zip(data, fields, described, strict=True)
        ]
    listed = {"methods": methods_, "peers": peers, "augmented": augmented}  # synthetic settings: -p synthetic.k=v
    flags |= {key: parse_list(value) for key, value in listed.items() if value is not None}
    numbers = {"shots": shots, "seeds": seeds, "augmented_shots": augmented_shots}
    flags |= {key: parse_list(value, int) for key, value in numbers.items() if value is not None}
    scalars = {"max_test": max_test, "synthetic_per_class": synthetic_per_class, "writer": writer}
    flags |= {key: value for key, value in scalars.items() if value is not None}
    result = bench_from_config(out_dir, config, overrides=flags, params=parse_named_params(params), resume=resume,
                               backbone=backbone, log=err_line)  # fmt: skip
    sys.stdout.write(result.report.read_text(encoding="utf-8"))  # raw Markdown: rich would wrap the table rows
    err.print(f"wrote {out_dir / 'results.jsonl'}, {result.report}, {', '.join(str(p) for p in result.plots)}")


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
    setup(quiet)
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
        table.add_column("load s", justify="right")
        table.add_column("first call s", justify="right")
        for row in result["methods"]:
            table.add_row(row["method"], f"{row['ms_per_example']:.2f}", f"{row['load_s']:.2f}",
                          f"{row['first_call_s']:.2f}")  # fmt: skip
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


def bench_multitask(
    train_data: Path = typer.Argument(..., help="training file with labels and slot markup (MASSIVE train)"),
    test_data: Path = typer.Argument(..., help="test file with labels and slot markup"),
    out_dir: Path = typer.Option(Path("bench-out/multitask"), "--out", "-o", help="models, results.json, report.md"),
    epochs: int = typer.Option(None, "--epochs", help="passes over the data of every model (default: the method's)"),
    text_field: str = TEXT_FIELD,
    label_field: str = typer.Option("intent", "--label-field", help="field holding the intent"),
    slot_field: str = SLOT_FIELD,
    params: list[str] = typer.Option([], "--param", "-p", help="multitask parameter key=value (repeatable)"),
    seed: int = typer.Option(0, "--seed", help="seed of every model"),
    quiet: bool = QUIET,
) -> None:
    """Dual (intent-only + slots-only models) vs consolidated (one intent+slots model): quality, calls, speed."""
    setup(quiet)
    from agileclf.bench.multitask import compare_dual_consolidated
    from agileclf.params import parse_params

    results = compare_dual_consolidated(
        train_data, test_data, out_dir, epochs, text_field, label_field, slot_field, parse_params(params), seed,
        log=err_line,
    )  # fmt: skip
    out.print((out_dir / "report.md").read_text(encoding="utf-8").split("```")[0])
    err.print(f"wrote {out_dir / 'results.json'} (n={results['n_test']})")


def speed(
    data: Path = typer.Option(..., "--data", "-d", help="dataset folder with train.jsonl and test.jsonl"),
    label_field: str = LABEL_FIELD,
    shots: int = typer.Option(8, "--shots", "-k", help="examples per class contrastive is fitted on"),
    seed: int = typer.Option(0, "--seed", help="seed of the sample and of the method"),
    rounds: int = typer.Option(3, "--rounds", help="timed rounds; the best one counts"),
    threads: int = typer.Option(1, "--threads", help="torch and ONNX Runtime threads, for every contender"),
    max_test: int = typer.Option(0, "--max-test", help="reproducible random test subset (0: all)"),
    chunks: int = typer.Option(8, "--chunks", help="test slices per round, each run by every contender"),
    precisions: str = typer.Option(
        "fp32,int8,onnx,onnx-int8", "--precisions", help="comma-separated; fp32 first; `static`: the static tier"
    ),
    keep_fp32: list[str] = typer.Option(
        [],
        "--onnx-keep-fp32",
        help="an extra onnx-int8 contender keeping nodes whose name matches any of these comma-separated regular "
        r"expressions in fp32 (e.g. 'layer\.\d+/output/dense' for the FFN outputs, 'attention/' for the "
        "attention blocks); repeatable",
    ),  # fmt: skip
    params: list[str] = typer.Option([], "--param", "-p", help="contrastive parameter key=value (repeatable)"),
) -> None:
    """Prediction throughput of agileclf's inference paths (fp32, int8, ONNX, static) against SetFit's, on one
    tuned model."""
    setup(True)
    from agileclf.bench.speed import measure
    from agileclf.params import parse_list, parse_params

    result = measure(
        data, label_field, shots, seed, rounds, parse_params(params), threads=threads, max_test=max_test,
        precisions=tuple(parse_list(precisions)), keep_fp32_variants=tuple(keep_fp32), chunks=chunks,
    )  # fmt: skip
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
