"""Serving a saved version with the same layer as `agileclf serve` (agileclf.serve), in a thread of the app."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from agileclf.app.errors import AppError


@dataclass
class RunningServer:
    name: str
    host: str
    port: int
    server: object
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def describe(self) -> dict:
        return {"name": self.name, "url": self.url, "classify": f"{self.url}/v1/classify", "docs": f"{self.url}/docs"}

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def start_server(name: str, artifact: Path, host: str, port: int | None, api_key: str | None, backbone=None):
    """Load and verify the classifier, then serve it on host:port (a free port when None) until stopped."""
    import uvicorn

    from agileclf.serve.app import create_app
    from agileclf.serve.config import Limits
    from agileclf.serve.models import load_models

    models = load_models({name: artifact}, backbone=backbone)
    port = port or free_port(host)
    config = uvicorn.Config(
        create_app(models, Limits(), api_key=api_key), host=host, port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"agileclf-serve-{name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise AppError(f"could not serve on {host}:{port} (is the port taken?)")
        time.sleep(0.05)
    return RunningServer(name, host, port, server, thread)
