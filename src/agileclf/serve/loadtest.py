"""`agileclf loadtest`: a bounded load generator for a local agileclf server (loopback addresses only)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np

from agileclf.errors import ConfigError
from agileclf.serve.config import is_loopback_host, require_serve_extra

MAX_REQUESTS = 1_000_000
MAX_CONCURRENCY = 512
MAX_DURATION_S = 3600.0


@dataclass
class LoadTestResult:
    """What one load test measured; latencies in milliseconds, one per finished request."""

    url: str
    model: str
    concurrency: int
    texts_per_request: int
    wall_s: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    stopped_by_time: bool = False

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def ok(self) -> int:
        return self.requests - sum(self.errors.values())

    def summary(self) -> dict:
        """Throughput (successful requests and texts per second), latency percentiles, and errors by kind."""
        lat = np.asarray(self.latencies_ms) if self.latencies_ms else np.zeros(1)
        p50, p95, p99 = np.percentile(lat, [50, 95, 99])
        return {
            "url": self.url,
            "model": self.model,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "texts_per_request": self.texts_per_request,
            "errors": sum(self.errors.values()),
            "errors_by_kind": dict(self.errors),
            "wall_s": round(self.wall_s, 3),
            "requests_per_s": round(self.ok / self.wall_s, 1) if self.wall_s else 0.0,
            "texts_per_s": round(self.ok * self.texts_per_request / self.wall_s, 1) if self.wall_s else 0.0,
            "p50_ms": round(float(p50), 2),
            "p95_ms": round(float(p95), 2),
            "p99_ms": round(float(p99), 2),
            "max_ms": round(float(lat.max()), 2),
            "stopped_by_time": self.stopped_by_time,
        }


def check_target(url: str) -> tuple[str, str]:
    """(base URL, classify URL) of a loopback http(s) server; anything else is refused."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"loadtest: URL must be http:// or https://, got {url!r}")
    if not parts.hostname or not is_loopback_host(parts.hostname):
        raise ConfigError(f"loadtest only targets loopback addresses (127.0.0.1, ::1, localhost); got {url!r}")
    path = parts.path.rstrip("/")
    if path.endswith("/v1/classify"):
        path = path[: -len("/v1/classify")]
    base = f"{parts.scheme}://{parts.netloc}{path}"
    return base, f"{base}/v1/classify"


def default_texts() -> list[str]:
    """The bundled demo support messages: short, realistic texts."""
    from agileclf.data import read_examples
    from agileclf.demo import demo_data_dir

    return read_examples(demo_data_dir() / "support_test.jsonl").texts


def run_loadtest(
    url: str,
    concurrency: int = 1,
    requests: int = 1000,
    duration_s: float = 120.0,
    texts: list[str] | None = None,
    texts_per_request: int = 1,
    model: str | None = None,
    api_key: str | None = None,
    timeout_s: float = 30.0,
) -> LoadTestResult:
    """Send `requests` classify requests from `concurrency` clients; stop early after `duration_s`."""
    if not 1 <= requests <= MAX_REQUESTS:
        raise ConfigError(f"--requests must be 1..{MAX_REQUESTS}, got {requests}")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ConfigError(f"--concurrency must be 1..{MAX_CONCURRENCY}, got {concurrency}")
    if not 0 < duration_s <= MAX_DURATION_S:
        raise ConfigError(f"--duration must be in (0, {MAX_DURATION_S:.0f}] seconds, got {duration_s}")
    if texts_per_request < 1:
        raise ConfigError(f"--batch must be at least 1, got {texts_per_request}")
    base, classify_url = check_target(url)
    require_serve_extra()
    texts = texts or default_texts()
    return asyncio.run(
        _drive(
            base, classify_url, concurrency, requests, duration_s, texts, texts_per_request, model, api_key, timeout_s
        )
    )


async def _drive(
    base, classify_url, concurrency, n_requests, duration_s, texts, per_request, model, api_key, timeout_s
):
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    pool = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(headers=headers, limits=pool, timeout=timeout_s, trust_env=False) as client:
        model = model or await _first_model(client, base)
        result = LoadTestResult(classify_url, model, concurrency, per_request, 0.0)
        issued = 0
        start = time.perf_counter()
        deadline = start + duration_s

        async def worker() -> None:
            nonlocal issued
            while issued < n_requests:
                if time.perf_counter() >= deadline:
                    result.stopped_by_time = True
                    return
                first = (issued * per_request) % len(texts)
                issued += 1
                batch = [texts[(first + i) % len(texts)] for i in range(per_request)]
                sent = time.perf_counter()
                try:
                    response = await client.post(classify_url, json={"model": model, "texts": batch})
                    if response.status_code != 200:
                        result.errors[f"HTTP {response.status_code}"] += 1
                except httpx.HTTPError as error:
                    result.errors[type(error).__name__] += 1
                result.latencies_ms.append((time.perf_counter() - sent) * 1000)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.wall_s = time.perf_counter() - start
    return result


async def _first_model(client, base: str) -> str:
    import httpx

    try:
        response = await client.get(f"{base}/v1/models")
    except httpx.HTTPError as error:
        raise ConfigError(f"loadtest: cannot reach {base} ({type(error).__name__}: {error})") from None
    if response.status_code != 200:
        raise ConfigError(f"loadtest: GET {base}/v1/models answered {response.status_code}: {response.text[:200]}")
    names = [m["name"] for m in response.json()["models"]]
    if not names:
        raise ConfigError(f"loadtest: {base} serves no models")
    return names[0]
