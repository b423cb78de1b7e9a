"""A real `agileclf serve` process on a free loopback port: start, classify, batch, load-test, stop; tampering."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from agileclf.serve.loadtest import run_loadtest

START_TIMEOUT_S = 180  # importing torch and loading the encoder is slow on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "agileclf.cli", "serve", *args]


@contextmanager
def running_server(probe_dir):
    """`agileclf serve tickets=DIR --api-key k` on a free port; yields (base URL, process), stops it afterwards."""
    port = free_port()
    env = {**os.environ, "AGILECLF_API_KEY": "k"}
    process = subprocess.Popen(
        serve_command(f"tickets={probe_dir}", "--port", str(port), "--max-wait-ms", "20"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"server not ready after {START_TIMEOUT_S} s:\n{process.stdout.read()}")
        time.sleep(0.25)
    try:
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(30)


@pytest.fixture(scope="module")
def server(probe_dir):
    """One server shared by the tests that only send requests."""
    with running_server(probe_dir) as running:
        yield running


AUTH = {"Authorization": "Bearer k"}


def test_real_server_classifies_and_guards_with_the_env_api_key(server):
    base, _ = server
    payload = {"model": "tickets", "texts": ["I was charged twice"], "top_k": 2}
    assert httpx.post(f"{base}/v1/classify", json=payload).status_code == 401
    response = httpx.post(f"{base}/v1/classify", json=payload, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["results"][0]["label"] == "billing"
    assert httpx.get(f"{base}/healthz").status_code == 200


def batch_calls(base: str) -> tuple[float, float]:
    """(predict_proba calls, texts) so far, read from the server's Prometheus metrics."""
    calls = texts = 0.0
    for line in httpx.get(f"{base}/metrics", headers=AUTH).text.splitlines():
        if line.startswith('agileclf_batch_texts_count{model="tickets"}'):
            calls = float(line.split()[-1])
        if line.startswith('agileclf_batch_texts_sum{model="tickets"}'):
            texts = float(line.split()[-1])
    return calls, texts


def test_concurrent_http_requests_are_merged_into_fewer_predict_calls(server):
    base, _ = server
    calls_before, texts_before = batch_calls(base)
    with httpx.Client(headers=AUTH, timeout=60) as client, ThreadPoolExecutor(16) as pool:

        def one(i: int) -> int:
            body = {"model": "tickets", "texts": [f"my parcel {i} is late"]}
            return client.post(f"{base}/v1/classify", json=body).status_code

        statuses = list(pool.map(one, range(48)))
    assert statuses == [200] * 48
    calls, texts = batch_calls(base)
    assert texts - texts_before == 48
    assert calls - calls_before < 48 / 2, calls - calls_before


def test_loadtest_against_the_real_server(server):
    base, _ = server
    result = run_loadtest(base, concurrency=4, requests=40, duration_s=60, api_key="k")
    summary = result.summary()
    assert summary["requests"] == 40 and summary["errors"] == 0, summary
    assert summary["texts_per_s"] > 0 and 0 < summary["p50_ms"] <= summary["p95_ms"] <= summary["p99_ms"]
    wrong_key = run_loadtest(base, concurrency=2, requests=6, duration_s=60, model="tickets", api_key="nope")
    assert wrong_key.summary()["errors"] == 6 and wrong_key.errors == {"HTTP 401": 6}


def test_server_stops_cleanly_on_interrupt(probe_dir):
    with running_server(probe_dir) as (_, process):  # its own server: the shared one must outlive this test
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0


def test_tampered_artifact_is_refused_at_start_up(probe_dir, tmp_path):
    tampered = tmp_path / "tampered"
    shutil.copytree(probe_dir, tampered)
    weights = tampered / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in a weight
    weights.write_bytes(bytes(data))
    done = subprocess.run(
        serve_command(str(tampered), "--port", str(free_port())), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2, done.stderr
    assert "checksum" in done.stderr and "weights.safetensors" in done.stderr and "refusing" in done.stderr
