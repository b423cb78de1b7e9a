"""Serving settings: request limits, batching bounds, auth, and which classifier directories to serve."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

from agileclf.errors import ConfigError

API_KEY_ENV = "AGILECLF_API_KEY"


@dataclass(frozen=True)
class Limits:
    """Bounds on one request and on the work queued behind a model; each is a `serve` flag."""

    max_texts: int = 64  # texts in one request
    max_text_chars: int = 2000  # characters in one text
    max_top_k: int = 100  # top_k asked for (also capped by the number of labels)
    max_batch_texts: int = 64  # texts in one predict_proba call
    max_wait_ms: float = 5.0  # how long the first request of a batch waits for company
    max_queued_texts: int = 4096  # texts waiting per model; beyond this requests get 503
    request_timeout_s: float = 30.0  # a request not answered by then gets 503

    def __post_init__(self) -> None:
        for name in ("max_texts", "max_text_chars", "max_top_k", "max_batch_texts", "max_queued_texts"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_wait_ms < 0:
            raise ConfigError(f"max_wait_ms must be >= 0, got {self.max_wait_ms}")
        if self.request_timeout_s <= 0:
            raise ConfigError(f"request_timeout_s must be > 0, got {self.request_timeout_s}")
        if self.max_queued_texts < self.max_texts:
            raise ConfigError(f"max_queued_texts ({self.max_queued_texts}) must be >= max_texts ({self.max_texts})")

    @property
    def max_body_bytes(self) -> int:
        """Largest request body accepted: every text at its limit, 4 bytes per character (UTF-8 worst case)."""
        return self.max_texts * (self.max_text_chars * 4 + 16) + 4096


def parse_model_specs(specs: list[str]) -> dict[str, Path]:
    """`DIR` or `name=DIR` -> {name: DIR}; the name defaults to the folder name and must be unique."""
    if not specs:
        raise ConfigError("give at least one classifier directory to serve")
    models: dict[str, Path] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = Path(spec).resolve().name, spec
        name = name.strip()
        if not name or not path:
            raise ConfigError(f"expected DIR or name=DIR, got {spec!r}")
        if name in models:
            raise ConfigError(f"two classifiers are named {name!r}; name them with name=DIR")
        models[name] = Path(path)
    return models


def is_loopback_host(host: str) -> bool:
    """True when every address `host` resolves to is a loopback address (127.0.0.0/8, ::1)."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def require_serve_extra() -> None:
    """Fail with the install command when the optional `serve` dependencies are missing."""
    from importlib.util import find_spec

    missing = [name for name in ("fastapi", "uvicorn", "prometheus_client", "httpx") if find_spec(name) is None]
    if missing:
        raise ConfigError(f"serving needs {', '.join(missing)}: pip install 'agileclf[serve]'")
