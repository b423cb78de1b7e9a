"""Pages render every step, escape every text, and the app is safe by default."""

from __future__ import annotations

from webapp_helpers import LABELS, create_classifier, example_rows

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def test_every_page_renders(trained):
    client, cid = trained["client"], trained["cid"]
    for path, marker in [
        ("/", "Your classifiers"),
        (f"/c/{cid}", "Add examples"),
        (f"/c/{cid}/train", 'id="cv-accuracy"'),
        (f"/c/{cid}/try", 'id="try-form"'),
        (f"/c/{cid}/next", "What to label next"),
        (f"/c/{cid}/versions", 'id="version-list"'),
    ]:
        page = client.get(path, headers={"accept": "text/html"})
        assert page.status_code == 200 and marker in page.text, path
    missing = client.get("/c/999", headers={"accept": "text/html"})
    assert missing.status_code == 404 and "no classifier with id 999" in missing.text


def test_hostile_texts_are_escaped_everywhere(make_client):
    client = make_client()
    labels = [{**LABELS[0], "description": HOSTILE}, *LABELS[1:]]
    cid = client.post("/api/classifiers", json={"name": HOSTILE, "labels": labels}).json()["id"]
    rows = example_rows()
    rows[0]["text"] = HOSTILE
    client.post(f"/api/classifiers/{cid}/examples", json={"examples": rows})
    for path in ("/", f"/c/{cid}", f"/c/{cid}/train", f"/c/{cid}/versions"):
        html = client.get(path).text
        assert "<script>alert(1)" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
    stored = client.get(f"/api/classifiers/{cid}/examples").json()["examples"][0]["text"]
    assert stored == HOSTILE  # kept as written; only its display is escaped


def test_scripts_never_insert_html(make_client):
    from pathlib import Path

    import agileclf.app

    script = (Path(agileclf.app.__file__).parent / "static" / "app.js").read_text()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script


def test_cross_site_writes_are_refused(make_client):
    client = make_client()
    body = {"name": "t", "labels": LABELS}
    evil = client.post("/api/classifiers", json=body, headers={"origin": "http://evil.example"})
    assert evil.status_code == 403
    same = client.post("/api/classifiers", json=body, headers={"origin": "http://testserver"})
    assert same.status_code == 201


def test_only_our_own_host_names_are_served(make_client):
    client = make_client(allowed_hosts=None)  # bound to loopback: loopback names only (DNS rebinding)
    assert client.get("/api/classifiers", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/api/classifiers", headers={"host": "127.0.0.1:8765"}).status_code == 200
    assert client.get("/", headers={"host": "localhost:8765"}).status_code == 200


def test_a_token_guards_every_route_when_set(make_client):
    client = make_client(token="s3cret")
    assert client.get("/api/classifiers").status_code == 401
    assert client.get("/").status_code == 401
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/classifiers", headers={"authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/api/classifiers", headers={"authorization": "Bearer wrong"}).status_code == 401
    link = client.get("/?token=s3cret", follow_redirects=False)
    assert link.status_code == 303 and "httponly" in link.headers["set-cookie"].lower()
    assert client.get("/").status_code == 200  # the cookie from the link


def test_binding_beyond_loopback_always_makes_a_token(monkeypatch, tmp_path):
    import uvicorn

    from agileclf.app import AppSettings, run_app

    settings = AppSettings(data_dir=tmp_path, host="0.0.0.0", start_worker=False)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    printed = []
    run_app(settings, echo=printed.append)
    assert settings.token and any(f"?token={settings.token}" in line for line in printed)


def test_request_bodies_are_size_limited(make_client):
    client = make_client(max_upload_bytes=1000)
    cid = create_classifier(client, rows=example_rows()[:1])
    big = client.post(f"/api/classifiers/{cid}/examples/paste", json={"label": "billing", "text": "x\n" * 40_000})
    assert big.status_code == 413


def test_openapi_documents_the_api(trained):
    paths = trained["client"].get("/openapi.json").json()["paths"]
    for path in (
        "/api/classifiers",
        "/api/classifiers/{classifier_id}/examples/upload",
        "/api/classifiers/{classifier_id}/undo",
        "/api/classifiers/{classifier_id}/train",
        "/api/jobs/{job_id}/events",
        "/api/versions/{version_id}/predict",
        "/api/versions/{version_id}/download",
        "/api/versions/{version_id}/serve",
        "/api/classifiers/{classifier_id}/next",
    ):
        assert path in paths, path
    assert not any(path.startswith("/c/") for path in paths)  # pages stay out of the API document
    docs = trained["client"].get("/docs")
    assert docs.status_code == 200 and "/docs-static/swagger-ui-bundle.js" in docs.text  # offline: no CDN
    assert trained["client"].get("/docs-static/swagger-ui-bundle.js").status_code == 200


def test_cli_app_command_is_a_thin_entry(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import agileclf.app.server as server
    from agileclf.cli import app

    seen = {}
    monkeypatch.setattr(server, "run_app", lambda settings, open_browser, echo: seen.update(s=settings, o=open_browser))
    result = CliRunner().invoke(app, ["app", "--data-dir", str(tmp_path), "--port", "9001", "--no-open"])
    assert result.exit_code == 0, result.output
    assert seen["s"].data_dir == tmp_path and seen["s"].port == 9001 and seen["s"].host == "127.0.0.1"
    assert seen["o"] is False


def test_the_train_page_picks_up_a_running_job_after_a_reload(make_client):
    client = make_client(start_worker=False)
    cid = create_classifier(client)
    job = client.post(f"/api/classifiers/{cid}/train", json={"method": "linear-probe"}).json()
    page = client.get(f"/c/{cid}/train").text
    assert f'data-active-job="{job["id"]}"' in page  # the script reconnects to its progress events
    assert "Training is running in the background" in client.get(f"/c/{cid}").text
