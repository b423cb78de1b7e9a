"""`agileclf predict` streams: labels for a slow producer's first rows come back before it closes stdin, and an
interrupted run is continued, through the real console script."""

import csv
import io
import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agileclf.data import read_examples

DEMO = Path(__file__).resolve().parents[1] / "src" / "agileclf" / "demo_data"
AGILECLF = [sys.executable, "-m", "agileclf.cli"]


@pytest.fixture(scope="module")
def probe(minilm, tmp_path_factory):
    from agileclf import make_method

    data = read_examples(DEMO / "support_train.jsonl")
    out = tmp_path_factory.mktemp("stream") / "probe"
    make_method("linear-probe", backbone=minilm, seed=0).fit(data.texts, data.labels).save(out)
    return out


def test_a_slow_producer_sees_labels_before_it_closes_stdin(probe):
    env = {**os.environ, "AGILECLF_QUIET": "1"}
    proc = subprocess.Popen(
        [*AGILECLF, "predict", str(probe)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        proc.stdin.write(b'{"text": "I was charged twice this month", "id": 1}\nmy parcel never arrived\n')
        proc.stdin.flush()
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        deadline, received = time.monotonic() + 60, b""
        while received.count(b"\n") < 2 and time.monotonic() < deadline:
            if selector.select(timeout=1):
                received += os.read(proc.stdout.fileno(), 65536)  # unbuffered: select sees every byte
        lines = received.splitlines()
        assert proc.poll() is None  # still running: stdin is open
        assert [json.loads(line)["label"] for line in lines] == ["double_charge", "delivery_late"]
        proc.stdin.write(b"please reset my password\n")
        proc.stdin.close()
        rest = proc.stdout.read().decode().splitlines()
        assert proc.wait(timeout=60) == 0
        assert [json.loads(line)["label"] for line in rest] == ["login_problem"]
    finally:
        proc.kill()


def test_predict_continues_an_interrupted_output(probe, tmp_path):
    out = tmp_path / "pred.csv"
    env = {**os.environ, "AGILECLF_QUIET": "1"}
    source = DEMO / "support_test.jsonl"
    args = [*AGILECLF, "predict", str(probe), "--input", str(source), "--output", str(out), "--chunk-rows", "10"]
    subprocess.run(args, check=True, env=env, capture_output=True)
    full = out.read_bytes()
    out.write_bytes(full[: len(full) // 2])  # as if killed halfway through a write
    result = subprocess.run(args, check=True, env=env, capture_output=True, text=True)
    assert "torn last row" in result.stderr and "after the" in result.stderr
    # the same rows; the last digit of a probability may differ (a resumed run batches the texts differently)
    before, after = (list(csv.DictReader(io.StringIO(raw))) for raw in (full.decode(), out.read_text()))
    assert [r["text"] for r in after] == [r["text"] for r in before] and len(after) == 80
    assert [r["label"] for r in after] == [r["label"] for r in before]
    gaps = [abs(float(a[k]) - float(b[k])) for a, b in zip(after, before, strict=True) for k in a if k.startswith("p(")]
    assert max(gaps) < 1e-4
