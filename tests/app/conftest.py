"""Fixtures for the web app: apps on a fresh data folder (the real MiniLM, shared), and a trained classifier."""

from __future__ import annotations

import pytest
from webapp_helpers import create_classifier, train


@pytest.fixture()
def make_client(tmp_path, minilm):
    """make_client(data_dir=None, **settings) -> a started TestClient; closed at the end of the test."""
    from fastapi.testclient import TestClient

    from agileclf.app import AppSettings, create_app

    clients = []

    def make(data_dir=None, **settings):
        settings.setdefault("backbone", minilm)
        settings.setdefault("allowed_hosts", ["testserver"])  # TestClient's Host header
        app = create_app(AppSettings(data_dir=data_dir or tmp_path / "data", **settings))
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def trained(tmp_path_factory, minilm):
    """One app with one trained classifier (24 examples, one planted mislabel), shared by the app tests."""
    from fastapi.testclient import TestClient

    from agileclf.app import AppSettings, create_app

    data_dir = tmp_path_factory.mktemp("trained") / "data"
    client = TestClient(create_app(AppSettings(data_dir=data_dir, backbone=minilm, allowed_hosts=["testserver"])))
    with client:
        cid = create_classifier(client)
        job = train(client, cid)
        assert job["status"] == "done", job
        yield {"client": client, "cid": cid, "version_id": job["model_version_id"], "data_dir": data_dir}
