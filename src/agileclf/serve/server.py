"""`agileclf serve`: load and verify the classifiers, then run the app under uvicorn."""

from __future__ import annotations

from collections.abc import Callable

from agileclf.errors import ConfigError
from agileclf.serve.config import Limits, is_loopback_host, parse_model_specs, require_serve_extra


def run_server(
    specs: list[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    limits: Limits | None = None,
    api_key: str | None = None,
    device: str | None = None,
    access_log: bool = False,
    echo: Callable[[str], None] = print,
) -> None:
    """Serve the classifier directories in `specs` (`DIR` or `name=DIR`) until interrupted."""
    require_serve_extra()
    import uvicorn

    from agileclf.serve.app import create_app
    from agileclf.serve.models import load_models

    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be 0..65535, got {port}")
    model_dirs = parse_model_specs(specs)
    models = load_models(model_dirs, device=device)  # refuses missing or tampered artifacts before binding
    for model in models.values():
        echo(f"serving {model.name!r}: {model.classifier.name}, {len(model.labels)} labels")
    if not is_loopback_host(host):
        echo(f"warning: listening on {host}, reachable from other machines")
        if not api_key:
            echo("warning: no API key set (--api-key or AGILECLF_API_KEY); anyone who can reach it can use it")
    app = create_app(models, limits or Limits(), api_key=api_key or None)
    # Keep idle connections longer than clients' pools do (httpx: 5 s); equal timeouts race and reset requests.
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=access_log,
        log_level="info",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=5,
    )
