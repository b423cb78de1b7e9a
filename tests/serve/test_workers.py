"""`agileclf serve --workers 2`: two uvicorn worker processes behind one port, each with its own classifier and
micro-batcher; the load test gets answers from both without errors, and /metrics counts the requests of both."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agileclf.serve.loadtest import run_loadtest

START_TIMEOUT_S = 180


def test_two_workers_serve_one_port(probe_dir):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "agileclf.cli", "serve", f"tickets={probe_dir}", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}:\n{process.stdout.read()}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server not ready"
            time.sleep(0.25)
        children = psutil.Process(process.pid).children()
        workers = [p for p in children if "spawn_main" in " ".join(p.cmdline())]  # not the resource tracker
        print("worker processes:", [p.pid for p in workers])
        assert len(workers) == 2, [p.cmdline() for p in children]
        summary = run_loadtest(base, concurrency=8, requests=64, duration_s=120).summary()
        assert summary["requests"] == 64 and summary["errors"] == 0, summary
        body = {"model": "tickets", "texts": ["my card was charged twice"]}
        assert httpx.post(f"{base}/v1/classify", json=body, timeout=30).json()["results"][0]["label"] == "billing"
        families = text_string_to_metric_families(httpx.get(f"{base}/metrics", timeout=30).text)
        requests = [f for f in families if f.name == "agileclf_requests"]
        answered = [s for f in requests for s in f.samples if s.name == "agileclf_requests_total"]
        classified = [s for s in answered if s.labels == {"endpoint": "/v1/classify", "status": "200"}]
        assert len(classified) == 1 and classified[0].value == 65, answered  # every worker's count
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(30)
