"""Endpoint tests through FastAPI's test client: results, every kind of bad input, auth, metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agileclf.serve.config import Limits

GOOD = {"model": "tickets", "texts": ["my card was charged twice", "my parcel never arrived"]}


def test_classify_gives_label_probability_and_top_k(client, served_models):
    response = client.post("/v1/classify", json={**GOOD, "top_k": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "tickets"
    expected = served_models["tickets"].classifier.predict_proba(GOOD["texts"])
    names = served_models["tickets"].labels
    assert [r["label"] for r in body["results"]] == ["billing", "shipping"]
    for result, row in zip(body["results"], expected, strict=True):
        assert result["label"] == names[int(row.argmax())]
        assert result["probability"] == pytest.approx(float(row.max()), abs=1e-5)
        top = [t["probability"] for t in result["top_k"]]
        assert len(top) == 3 and top == sorted(top, reverse=True)
        assert result["top_k"][0]["label"] == result["label"]


def test_top_k_defaults_to_one(client):
    body = client.post("/v1/classify", json=GOOD).json()
    assert all(len(r["top_k"]) == 1 for r in body["results"])


def test_model_may_be_left_out_only_when_one_is_served(make_client, served_models):
    one = make_client().post("/v1/classify", json={"texts": ["my parcel is late"]})
    assert one.status_code == 200 and one.json()["model"] == "tickets"
    two = make_client(models={"tickets": served_models["tickets"], "copy": served_models["tickets"]})
    unnamed = two.post("/v1/classify", json={"texts": ["my parcel is late"]})
    assert unnamed.status_code == 422
    assert unnamed.json()["error"] == {
        "field": "model", "message": "model: name one of the served models: copy, tickets", "type": "missing"
    }  # fmt: skip
    assert two.post("/v1/classify", json={"model": "copy", "texts": ["hi"]}).json()["model"] == "copy"


def too_many(n):
    return json.dumps({"model": "tickets", "texts": ["hi"] * n})


BAD_INPUTS = [
    # (case, raw body, content type, status, field)
    ("broken json", '{"model": "tickets", "texts": [', "application/json", 400, "body"),
    ("empty body", "", "application/json", 422, "body"),
    ("not an object", '["a", "b"]', "application/json", 422, "body"),
    ("null body", "null", "application/json", 422, "body"),
    ("missing texts", '{"model": "tickets"}', "application/json", 422, "texts"),
    ("empty list", '{"model": "tickets", "texts": []}', "application/json", 422, "texts"),
    ("texts is a string", '{"model": "tickets", "texts": "hi"}', "application/json", 422, "texts"),
    ("non-string text", '{"model": "tickets", "texts": ["ok", 7]}', "application/json", 422, "texts[1]"),
    ("null text", '{"model": "tickets", "texts": [null]}', "application/json", 422, "texts[0]"),
    ("too many texts", too_many(9), "application/json", 422, "texts"),
    ("text too long", json.dumps({"model": "tickets", "texts": ["x" * 41]}), "application/json", 422, "texts[0]"),
    ("top_k zero", '{"model": "tickets", "texts": ["hi"], "top_k": 0}', "application/json", 422, "top_k"),
    ("top_k a string", '{"model": "tickets", "texts": ["hi"], "top_k": "2"}', "application/json", 422, "top_k"),
    ("top_k over labels", '{"model": "tickets", "texts": ["hi"], "top_k": 4}', "application/json", 422, "top_k"),
    ("unknown field", '{"model": "tickets", "texts": ["hi"], "topk": 2}', "application/json", 422, "topk"),
    ("unknown model", '{"model": "nope", "texts": ["hi"]}', "application/json", 404, "model"),
    ("model not a string", '{"model": 3, "texts": ["hi"]}', "application/json", 422, "model"),
    ("wrong content type", '{"model": "tickets", "texts": ["hi"]}', "text/plain", 415, "Content-Type"),
    ("body too large", too_many(2000), "application/json", 413, "body"),
]


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "field"), [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_gives_4xx_json_naming_the_field(make_client, raw, content_type, status, field):
    client = make_client(limits=Limits(max_texts=8, max_text_chars=40, max_queued_texts=64))
    response = client.post("/v1/classify", content=raw.encode(), headers={"content-type": content_type})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field
    assert field.split("[")[0] in error["message"]
    # the server is still healthy and answers the next good request
    assert client.post("/v1/classify", json={"model": "tickets", "texts": ["hi"]}).status_code == 200


def test_unknown_path_and_method_are_json_errors(client):
    assert client.get("/v2/nothing").json()["error"]["type"] == "http_error"
    response = client.get("/v1/classify")
    assert response.status_code == 405 and "error" in response.json()


def test_models_lists_method_labels_backbone_and_metrics(client):
    (model,) = client.get("/v1/models").json()["models"]
    assert model["name"] == "tickets"
    assert model["method"] == "linear-probe"
    assert model["labels"] == ["billing", "shipping", "technical"]
    assert model["backbone"]["kind"] == "encoder"
    assert model["metrics"] == {"data": "in-test", "accuracy": 1.0}


def test_health_ready_and_openapi(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "models": ["tickets"]}
    schema = client.get("/openapi.json").json()
    assert "/v1/classify" in schema["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/docs-static/swagger-ui-bundle.js" in docs.text  # offline: no CDN
    assert "cdn" not in docs.text.lower()
    assert client.get("/docs-static/swagger-ui-bundle.js").status_code == 200


def test_not_ready_before_start_up(served_models):
    from fastapi.testclient import TestClient

    from agileclf.serve.app import create_app

    client = TestClient(create_app(served_models))  # no `with`: lifespan (batchers) not started
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503


def test_api_key_guards_everything_but_health_checks(make_client):
    client = make_client(api_key="s3cret")
    for path in ("/v1/models", "/metrics", "/openapi.json", "/docs"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["field"] == "Authorization"
        assert response.headers["www-authenticate"] == "Bearer"
    assert client.post("/v1/classify", json=GOOD).status_code == 401
    wrong = client.post("/v1/classify", json=GOOD, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = client.post("/v1/classify", json=GOOD, headers={"Authorization": "Bearer s3cret"})
    assert right.status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_no_api_key_means_open(client):
    assert client.get("/v1/models").status_code == 200


def test_metrics_count_statuses_latency_and_batches(client):
    client.post("/v1/classify", json=GOOD)
    client.post("/v1/classify", json={"model": "tickets", "texts": []})
    text = client.get("/metrics").text
    assert 'agileclf_requests_total{endpoint="/v1/classify",status="200"} 1.0' in text
    assert 'agileclf_requests_total{endpoint="/v1/classify",status="422"} 1.0' in text
    assert 'agileclf_request_seconds_count{endpoint="/v1/classify"} 2.0' in text
    assert 'agileclf_batch_texts_sum{model="tickets"} 2.0' in text
    assert 'agileclf_texts_total{model="tickets"} 2.0' in text


def test_model_failure_is_a_json_500_and_the_server_survives(make_client, served_models, counting):
    from agileclf.serve.models import ServedModel

    counting.fail = True
    client = make_client(models={"tickets": ServedModel("tickets", counting)})
    response = client.post("/v1/classify", json=GOOD)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "internal"
    counting.fail = False
    assert client.post("/v1/classify", json=GOOD).status_code == 200


def test_results_match_direct_predictions_for_many_texts(client, served_models):
    texts = [f"order {i} was charged twice" if i % 2 else f"parcel {i} is late" for i in range(40)]
    body = client.post("/v1/classify", json={"model": "tickets", "texts": texts, "top_k": 2}).json()
    expected = served_models["tickets"].classifier.predict_proba(texts)
    got = np.array([r["probability"] for r in body["results"]])
    np.testing.assert_allclose(got, expected.max(axis=1), atol=1e-5)


def test_slow_model_gives_503_after_the_request_timeout(make_client, counting):
    from agileclf.serve.models import ServedModel

    counting.delay_s = 1.0
    client = make_client(models={"tickets": ServedModel("tickets", counting)}, limits=Limits(request_timeout_s=0.2))
    response = client.post("/v1/classify", json=GOOD)
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "timeout" and response.headers["retry-after"] == "1"


def test_cli_loadtest_refuses_a_remote_target():
    from typer.testing import CliRunner

    from agileclf.cli import app
    from agileclf.errors import ConfigError

    result = CliRunner().invoke(app, ["loadtest", "http://10.0.0.1:8000", "--requests", "1"])
    assert isinstance(result.exception, ConfigError) and "loopback" in str(result.exception)
