"""Fixtures for the serving tests: a small real linear-probe classifier saved once, and apps around it."""

from __future__ import annotations

import time

import pytest

TRAIN = [
    ("my card was charged twice for one order", "billing"),
    ("why is there an extra fee on my invoice", "billing"),
    ("I want a refund for the duplicate payment", "billing"),
    ("the bill amount is wrong this month", "billing"),
    ("my parcel has not arrived after two weeks", "shipping"),
    ("where is my package, tracking shows nothing", "shipping"),
    ("the courier delivered to the wrong address", "shipping"),
    ("how long does delivery take to Canada", "shipping"),
    ("the app crashes when I open settings", "technical"),
    ("I get an error 500 when logging in", "technical"),
    ("the website will not load on my phone", "technical"),
    ("password reset link does not work", "technical"),
]


@pytest.fixture(scope="session")
def probe_dir(tmp_path_factory, minilm):
    """A linear-probe classifier (3 labels) trained on 12 in-test examples, saved once per session."""
    from agileclf.methods import make_method

    texts, labels = zip(*TRAIN, strict=True)
    classifier = make_method("linear-probe", backbone=minilm, seed=0)
    classifier.fit(list(texts), list(labels))
    path = tmp_path_factory.mktemp("serve") / "tickets"
    classifier.save(path, extra={"metrics": {"data": "in-test", "accuracy": 1.0}})
    return path


@pytest.fixture(scope="session")
def served_models(probe_dir, minilm):
    """{'tickets': ServedModel} loaded through the verified artifact path (backbone object reused)."""
    from agileclf.serve.models import load_models

    return load_models({"tickets": probe_dir}, backbone=minilm)


@pytest.fixture()
def make_client(served_models):
    """Build a TestClient (lifespan running) for an app with the given limits / api key; closed after the test."""
    from fastapi.testclient import TestClient

    from agileclf.serve.app import create_app

    clients = []

    def make(models=None, **kwargs) -> TestClient:
        client = TestClient(create_app(models or served_models, **kwargs), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture()
def client(make_client):
    return make_client()


class CountingClassifier:
    """Wraps a real classifier: counts predict_proba calls and batch sizes, and can be told to fail."""

    def __init__(self, inner, fail: bool = False, delay_s: float = 0.0):
        self.inner = inner
        self.delay_s = delay_s
        self.name = inner.name
        self.labels = inner.labels
        self.meta = inner.meta
        self.fail = fail
        self.batch_sizes: list[int] = []

    def predict_proba(self, texts):
        self.batch_sizes.append(len(texts))
        time.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("model exploded")
        return self.inner.predict_proba(texts)


@pytest.fixture()
def counting(served_models):
    """A CountingClassifier around the session's real classifier."""
    return CountingClassifier(served_models["tickets"].classifier)
