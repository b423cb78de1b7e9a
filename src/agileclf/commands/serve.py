"""`agileclf serve` and `agileclf loadtest` (the logic lives in agileclf.serve)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from agileclf.commands.common import err, out, setup


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
    workers: int = typer.Option(1, "--workers", help="server processes, each with its own batcher (one per core)"),
    threads: int = typer.Option(None, "--threads", help="torch threads per worker (default: cores / workers)"),
) -> None:
    """Serve saved classifiers over HTTP: POST /v1/classify, GET /v1/models, /healthz, /readyz, /metrics, /docs."""
    setup(True)
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
    run_server(
        model_dirs, host, port, limits, api_key, device, access_log, echo=err.print, workers=workers, threads=threads
    )


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
    from agileclf.data import read_texts
    from agileclf.serve.loadtest import run_loadtest

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
