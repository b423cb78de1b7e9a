"""A multi-label model served over real HTTP (uvicorn on a loopback port): label sets, probabilities, schema."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

REVIEWS_FILE = Path(__file__).resolve().parents[1] / "multilabel_reviews.jsonl"  # 12 restaurant reviews, 5 labels
ROWS = [(r["text"], r["labels"]) for r in map(json.loads, REVIEWS_FILE.read_text().splitlines())]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory, minilm, served_models):
    import uvicorn

    from agileclf.methods.registry import make_task_method
    from agileclf.serve.app import create_app
    from agileclf.serve.models import load_models

    classifier = make_task_method("multilabel", "linear-probe", minilm, seed=0)
    classifier.fit([t for t, _ in ROWS], [labels for _, labels in ROWS])
    classifier.set_thresholds(np.full(5, 0.4), "cv")
    path = classifier.save(tmp_path_factory.mktemp("serve-ml") / "reviews")
    models = {**served_models, **load_models({"reviews": path}, backbone=minilm)}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(models), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", classifier
    server.should_exit = True
    thread.join(10)


def test_classify_answers_label_sets_and_per_label_probabilities(base_url):
    base, classifier = base_url
    texts = ["cheap and tasty pizza", "the staff was rude"]
    response = httpx.post(f"{base}/v1/classify", json={"model": "reviews", "texts": texts, "top_k": 2}, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["task"] == "multilabel"
    for result, expected, row in zip(body["results"], classifier.predict(texts), classifier.predict_proba(texts),
                                     strict=True):  # fmt: skip
        assert result["labels"] == expected
        assert result["probabilities"] == pytest.approx(
            dict(zip(classifier.labels.names, row.tolist(), strict=True)), abs=1e-5
        )
        assert len(result["top_k"]) == 2 and result["label"] == result["top_k"][0]["label"]
    everything = httpx.post(f"{base}/v1/classify", json={"model": "reviews", "texts": ["ok"], "threshold": 0.0})
    assert everything.json()["results"][0]["labels"] == classifier.labels.names


def test_bad_multilabel_requests_get_clear_errors(base_url):
    base, _ = base_url
    single = httpx.post(f"{base}/v1/classify", json={"model": "tickets", "texts": ["hi"], "threshold": 0.3})
    assert single.status_code == 422 and single.json()["error"]["field"] == "threshold"
    assert httpx.get(f"{base}/v1/classify").status_code == 405
    out_of_range = httpx.post(f"{base}/v1/classify", json={"model": "reviews", "texts": ["hi"], "threshold": 2})
    assert out_of_range.status_code == 422 and out_of_range.json()["error"]["field"] == "threshold"
    as_string = httpx.post(f"{base}/v1/classify", json={"model": "reviews", "texts": "hi"})
    assert as_string.status_code == 422 and as_string.json()["error"]["field"] == "texts"


def test_openapi_and_models_document_the_multilabel_shape(base_url):
    base, _ = base_url
    schema = httpx.get(f"{base}/openapi.json").json()["components"]["schemas"]
    assert {"labels", "probabilities"} <= set(schema["TextResult"]["properties"])
    assert "threshold" in schema["ClassifyRequest"]["properties"] and "task" in schema["ClassifyResponse"]["properties"]
    models = {m["name"]: m for m in httpx.get(f"{base}/v1/models").json()["models"]}
    assert models["reviews"]["task"] == "multilabel" and models["reviews"]["thresholds"]["food"] == pytest.approx(0.4)
    assert models["reviews"]["top_ratio"] == 0.0
    assert models["tickets"]["task"] == "label"
