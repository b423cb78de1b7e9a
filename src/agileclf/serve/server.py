"""`agileclf serve`: load and verify the classifiers, then run the app under uvicorn (one or several workers)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Callable

from agileclf.errors import ConfigError
from agileclf.serve.config import Limits, is_loopback_host, parse_model_specs, require_serve_extra

WORKER_CONFIG_ENV = "AGILECLF_SERVE_WORKER_CONFIG"  # how `--workers N` hands the settings to each worker process
WORKER_HEALTHCHECK_S = 60  # seconds a worker may take to answer uvicorn's liveness ping


def run_server(
    specs: list[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    limits: Limits | None = None,
    api_key: str | None = None,
    device: str | None = None,
    access_log: bool = False,
    echo: Callable[[str], None] = print,
    workers: int = 1,
    threads: int | None = None,
) -> None:
    """Serve the classifier directories in `specs` (`DIR` or `name=DIR`) until interrupted.

    With `workers` > 1, uvicorn starts that many processes on one port; each loads the classifiers and runs its
    own micro-batcher with `threads` torch threads (default: the CPU count / workers), so N workers use N cores
    without oversubscribing them; /metrics sums the counts of all workers, whichever one answers it."""
    require_serve_extra()
    import uvicorn

    from agileclf.serve.app import create_app
    from agileclf.serve.metrics import SHARED_DIR_ENV
    from agileclf.serve.models import load_models

    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be 0..65535, got {port}")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    model_dirs = parse_model_specs(specs)
    if not is_loopback_host(host):
        echo(f"warning: listening on {host}, reachable from other machines")
        if not api_key:
            echo("warning: no API key set (--api-key or AGILECLF_API_KEY); anyone who can reach it can use it")
    # Keep idle connections longer than clients' pools do (httpx: 5 s); equal timeouts race and reset requests.
    options = {
        "host": host,
        "port": port,
        "access_log": access_log,
        "log_level": "info",
        "timeout_keep_alive": 30,
        "timeout_graceful_shutdown": 5,
    }
    limits = limits or Limits()
    if workers == 1:
        models = load_models(model_dirs, device=device)  # refuses missing or tampered artifacts before binding
        for model in models.values():
            echo(f"serving {model.name!r}: {model.classifier.name}, {len(model.labels)} labels")
        uvicorn.run(create_app(models, limits, api_key=api_key or None), **options)
        return
    _verify(model_dirs)  # fail here, once, rather than in every worker
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    os.environ[WORKER_CONFIG_ENV] = json.dumps(
        {
            "models": {name: str(path) for name, path in model_dirs.items()},
            "limits": dataclasses.asdict(limits),
            "api_key": api_key or None,
            "device": device,
            "threads": threads,
        }
    )
    echo(f"serving {', '.join(map(repr, model_dirs))} with {workers} workers, {threads} torch thread(s) each")
    # uvicorn's 5 s default kills a worker still importing torch on a busy machine, and restarts it in a loop
    options["timeout_worker_healthcheck"] = WORKER_HEALTHCHECK_S
    own_metrics_dir = not os.environ.get(SHARED_DIR_ENV)  # a directory the user set is theirs to keep
    if own_metrics_dir:
        os.environ[SHARED_DIR_ENV] = tempfile.mkdtemp(prefix="agileclf-metrics-")
    try:
        uvicorn.run("agileclf.serve.server:worker_app", factory=True, workers=workers, **options)
    finally:
        if own_metrics_dir:
            shutil.rmtree(os.environ.pop(SHARED_DIR_ENV), ignore_errors=True)


def worker_app():
    """The app of one `--workers` process: its own copy of the classifiers and micro-batchers."""
    from pathlib import Path

    import torch

    from agileclf.serve.app import create_app
    from agileclf.serve.models import load_models

    settings = json.loads(os.environ[WORKER_CONFIG_ENV])
    torch.set_num_threads(settings["threads"])
    models = load_models({n: Path(p) for n, p in settings["models"].items()}, device=settings["device"])
    return create_app(models, Limits(**settings["limits"]), api_key=settings["api_key"])


def _verify(model_dirs) -> None:
    from agileclf.artifact import read_meta
    from agileclf.errors import AgileclfError

    for name, path in model_dirs.items():
        try:
            read_meta(path)  # format version and every file's checksum
        except AgileclfError as error:
            raise type(error)(f"cannot serve {name!r}: {error}") from None
