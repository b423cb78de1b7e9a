"""Ray Data over sharded files on a local Ray instance started here: the same labels as one process."""

import json
import shutil
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from agileclf.data import read_examples

ray = pytest.importorskip("ray", reason="Ray Data is an optional extra: pip install 'agileclf[ray]'")

DEMO = Path(__file__).resolve().parents[2] / "src" / "agileclf" / "demo_data"


@pytest.fixture(scope="module")
def local_ray():
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp)
    yield
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def probe(minilm, tmp_path_factory):
    from agileclf import make_method

    data = read_examples(DEMO / "support_train.jsonl")
    out = tmp_path_factory.mktemp("ray") / "probe"
    make_method("linear-probe", backbone=minilm, seed=0).fit(data.texts, data.labels).save(out)
    return out


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    texts = read_examples(DEMO / "support_test.jsonl").texts + read_examples(DEMO / "support_train.jsonl").texts
    folder = tmp_path_factory.mktemp("shards")
    for shard in range(3):
        rows = [{"id": i, "text": t} for i, t in enumerate(texts) if i % 3 == shard]
        (folder / f"part-{shard}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder, texts


def single_process(probe, texts, inference=None):
    from agileclf.methods import load_classifier
    from agileclf.predictions import set_inference

    classifier = load_classifier(probe)
    if inference:
        set_inference(classifier, inference)
    proba = classifier.predict_proba(texts)
    return [classifier.labels.names[i] for i in proba.argmax(axis=1)], proba


def test_two_actors_label_like_one_process(local_ray, probe, shards, tmp_path):
    from agileclf.integrations.ray import predict_files

    folder, texts = shards
    run = predict_files(str(folder / "*.jsonl"), tmp_path / "out", probe, actors=2, batch_size=16)
    rows = sorted(
        (json.loads(line) for path in (tmp_path / "out").iterdir() for line in path.read_text().splitlines()),
        key=lambda r: r["id"],
    )
    labels, proba = single_process(probe, texts)
    assert run.rows == len(texts) == len(rows) and run.actors == 2
    assert [r["text"] for r in rows] == texts
    assert [r["label"] for r in rows] == labels
    assert max(abs(r["probability"] - p.max()) for r, p in zip(rows, proba, strict=True)) < 1e-5


def test_cli_ray_engine_with_int8_and_parquet_shards(local_ray, probe, shards, tmp_path):
    from typer.testing import CliRunner

    from agileclf.cli import app

    folder, texts = shards
    out = tmp_path / "labelled"
    args = ["predict", str(probe), "--engine", "ray", "--input", str(folder), "--output", str(out)]
    args += ["--actors", "1", "--batch-size", "64", "--inference", "int8", "--format", "parquet", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = sorted((r for p in out.iterdir() for r in pq.read_table(p).to_pylist()), key=lambda r: r["id"])
    labels, _ = single_process(probe, texts, "int8")
    _, fp32 = single_process(probe, texts)
    # dynamic int8 scales activations per batch (padding included), so Ray's batches move near-ties and
    # probabilities: nearly every label the same as one int8 process, and int8 really used (not fp32's numbers)
    assert len(rows) == len(texts)
    assert sum(r["label"] == label for r, label in zip(rows, labels, strict=True)) >= 0.9 * len(texts)
    assert max(abs(r["probability"] - p.max()) for r, p in zip(rows, fp32, strict=True)) > 1e-4
    again = CliRunner().invoke(app, args)
    assert "not empty" in str(again.exception)  # the console script prints it and exits 2
