"""Prometheus metrics of one app: request counts by status, request latency, batch sizes and batch time."""

from __future__ import annotations

import os
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
SHARED_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's multiprocess mode: workers write metrics here


class ServeMetrics:
    """Metrics in their own registry, so several apps (e.g. in tests) never share counters. Under `serve --workers
    N` (PROMETHEUS_MULTIPROC_DIR set before the workers start) each worker also writes them to that directory and
    /metrics reports the sum over all workers."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.shared_dir = os.environ.get(SHARED_DIR_ENV) or None
        self.requests = Counter(
            "agileclf_requests", "HTTP requests by endpoint and status", ["endpoint", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "agileclf_request_seconds",
            "HTTP request latency",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_texts = Histogram(
            "agileclf_batch_texts",
            "texts per predict_proba call (micro-batch size)",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "agileclf_batch_seconds",
            "time of one predict_proba call",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.texts = Counter("agileclf_texts", "texts classified", ["model"], registry=self.registry)

    def record_batch(self, model: str, n_texts: int, seconds: float) -> None:
        self.batch_texts.labels(model).observe(n_texts)
        self.batch_seconds.labels(model).observe(seconds)
        self.texts.labels(model).inc(n_texts)

    def render(self) -> bytes:
        if self.shared_dir is None:
            return generate_latest(self.registry)
        every_worker = CollectorRegistry()
        multiprocess.MultiProcessCollector(every_worker, path=self.shared_dir)
        return generate_latest(every_worker)


class MetricsMiddleware:
    """ASGI middleware counting every HTTP response (401s and 413s included) by its route and status."""

    def __init__(self, app, metrics: ServeMetrics, known_paths: set[str]):
        self.app = app
        self.metrics = metrics
        self.known_paths = known_paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_with_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            # Unknown paths share one label, so a scanner cannot blow up the number of series.
            endpoint = scope["path"] if scope["path"] in self.known_paths else "other"
            self.metrics.requests.labels(endpoint, str(status)).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - start)
