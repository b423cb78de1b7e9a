"""Training in the background: metrics, queueing, cancelling, failures, a crash, and a restart after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from webapp_helpers import PLANTED, create_classifier, example_rows, train, wait_job

REPO = Path(__file__).resolve().parents[2]


def test_methods_come_from_the_registry(trained):
    from agileclf.methods import method_classes, method_names

    listed = [m["name"] for m in trained["client"].get("/api/methods").json()["methods"]]
    assert listed == [name for name in method_names() if "encoder" in method_classes(name)]
    assert "linear-probe" in listed


def test_a_version_has_cv_metrics_diagnostics_and_its_data_version(trained):
    client, cid = trained["client"], trained["cid"]
    version = client.get(f"/api/versions/{trained['version_id']}").json()
    assert version["method"] == "linear-probe" and version["n_examples"] == 24 and version["n_splits"] == 5
    assert version["data_version"] == client.get(f"/api/classifiers/{cid}").json()["data_version"]
    assert 0.6 <= version["accuracy"] <= 1.0 and 0 < version["macro_f1"] <= 1.0
    diagnostics = version["diagnostics"]
    assert sum(map(sum, diagnostics["confusion"])) == 24
    assert diagnostics["label_issues"][0]["text"] == PLANTED  # the planted mislabel ranks first
    assert diagnostics["label_issues"][0]["suggested"] == "shipping"
    assert any(row["text"] == PLANTED for row in diagnostics["worst_errors"])
    folder = Path(version["artifact_path"])
    meta = json.loads((folder / "agileclf.json").read_text())
    assert meta["metrics"]["cross_validated"]["accuracy"] == version["accuracy"]
    assert len((folder.parent / "train.jsonl").read_text().splitlines()) == 24


def test_predict_gives_the_label_and_every_probability(trained):
    client = trained["client"]
    result = client.post(f"/api/versions/{trained['version_id']}/predict", json={"texts": ["my parcel is late"]})
    body = result.json()["results"][0]
    assert body["label"] == "shipping"
    assert set(body["probabilities"]) == {"billing", "shipping", "account"}
    assert abs(sum(body["probabilities"].values()) - 1) < 1e-5
    assert client.post(f"/api/versions/{trained['version_id']}/predict", json={"texts": [" "]}).status_code == 422
    assert client.post("/api/versions/999/predict", json={"texts": ["x"]}).status_code == 404


def test_job_events_stream_until_the_job_is_done(trained):
    client, cid = trained["client"], trained["cid"]
    job = client.get(f"/api/classifiers/{cid}/jobs").json()["jobs"][-1]
    with client.stream("GET", f"/api/jobs/{job['id']}/events") as stream:
        events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    assert events[-1]["status"] == "done" and events[-1]["model_version_id"] == trained["version_id"]


def test_label_next_ranks_the_uncertain_first_and_labels_in_place(trained):
    client, cid = trained["client"], trained["cid"]
    texts = "my parcel arrived broken and I want my money back\nwhere is my parcel\nreset my password please"
    assert client.post(f"/api/classifiers/{cid}/pool", json={"text": texts}).json()["added"] == 3
    items = client.get(f"/api/classifiers/{cid}/next").json()["items"]
    scores = [item["uncertainty"] for item in items]
    assert scores == sorted(scores, reverse=True) and len(items) == 3
    labelled = client.post(f"/api/classifiers/{cid}/pool/{items[0]['id']}/label", json={"label": "billing"})
    assert labelled.status_code == 201
    assert len(client.get(f"/api/classifiers/{cid}/next").json()["items"]) == 2
    again = client.post(f"/api/classifiers/{cid}/pool/{items[0]['id']}/label", json={"label": "billing"})
    assert again.status_code == 409
    client.post(f"/api/classifiers/{cid}/undo")  # leave the shared classifier's examples as they were


def test_a_test_file_is_reported_separately(trained):
    client = trained["client"]
    test = b'{"text": "I paid twice", "label": "billing"}\n{"text": "lost parcel", "label": "shipping"}\n'
    result = client.post(f"/api/versions/{trained['version_id']}/test", files={"file": ("held.jsonl", test)})
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["test_metrics"]["n"] == 2 and body["test_metrics"]["file"] == "held.jsonl"
    assert body["metrics"]["n"] == 24  # the cross-validated numbers are untouched


def test_download_is_a_loadable_classifier_directory(trained, tmp_path):
    import io
    import zipfile

    from agileclf import load_classifier

    response = trained["client"].get(f"/api/versions/{trained['version_id']}/download")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    zipfile.ZipFile(io.BytesIO(response.content)).extractall(tmp_path)
    (folder,) = tmp_path.iterdir()
    assert folder.name == "tickets-v1"
    assert load_classifier(folder).predict(["reset my password"]) == ["account"]


def test_serve_uses_the_serving_layer(trained):
    import httpx

    client = trained["client"]
    served = client.post(f"/api/versions/{trained['version_id']}/serve", json={})
    assert served.status_code == 200, served.text
    answer = httpx.post(served.json()["classify"], json={"model": served.json()["name"], "texts": ["refund me"]})
    assert answer.status_code == 200 and answer.json()["results"][0]["label"] == "billing"
    assert client.delete(f"/api/versions/{trained['version_id']}/serve").status_code == 200
    assert client.delete(f"/api/versions/{trained['version_id']}/serve").status_code == 404


def test_unknown_method_or_parameter_is_refused_before_queueing(trained):
    client, cid = trained["client"], trained["cid"]
    bad = client.post(f"/api/classifiers/{cid}/train", json={"method": "nope"})
    assert bad.status_code == 422 and "unknown method 'nope'" in bad.json()["error"]["message"]
    bad = client.post(f"/api/classifiers/{cid}/train", json={"method": "linear-probe", "params": {"zzz": 1}})
    assert bad.status_code == 422 and "zzz" in bad.json()["error"]["message"]


def test_too_few_examples_is_refused_before_queueing_and_keeps_the_data(make_client):
    client = make_client(start_worker=False)
    cid = create_classifier(client, rows=example_rows()[:9])  # 'shipping' has 1, 'account' 0
    for path, body in [("train", {"method": "linear-probe"}), ("compare", {"methods": ["zero-shot"]})]:
        refused = client.post(f"/api/classifiers/{cid}/{path}", json=body)
        assert refused.status_code == 422, refused.text
        message = refused.json()["error"]["message"]
        assert "every label needs at least 2 examples" in message and "'account' has 0" in message
    assert client.get(f"/api/classifiers/{cid}/jobs").json()["jobs"] == []
    assert len(client.get(f"/api/classifiers/{cid}/examples").json()["examples"]) == 9


def test_a_job_whose_examples_were_deleted_while_queued_fails_with_a_message(make_client):
    client = make_client(start_worker=False)
    cid = create_classifier(client)
    queued = client.post(f"/api/classifiers/{cid}/train", json={"method": "linear-probe"})
    assert queued.status_code == 202, queued.text
    examples = client.get(f"/api/classifiers/{cid}/examples").json()["examples"]
    for example in [e for e in examples if e["label"] == "account"][1:]:
        assert client.delete(f"/api/classifiers/{cid}/examples/{example['id']}").status_code == 200
    assert client.app.state.ctx.jobs.run_next(timeout=1)
    job = client.get(f"/api/jobs/{queued.json()['id']}").json()
    assert job["status"] == "failed" and "'account' has 1" in job["error"]


def test_second_request_is_queued_and_compare_trains_each_method(make_client):
    client = make_client(start_worker=False)
    queue = client.app.state.ctx.jobs
    cid = create_classifier(client)
    first = client.post(f"/api/classifiers/{cid}/train", json={"method": "linear-probe", "params": {"c": "2"}}).json()
    compared = client.post(f"/api/classifiers/{cid}/compare", json={"methods": ["zero-shot", "linear-probe"]}).json()
    assert [j["status"] for j in compared["jobs"]] == ["queued", "queued"]
    assert "queued behind" in compared["jobs"][1]["message"]
    cancelled = client.post(f"/api/jobs/{compared['jobs'][1]['id']}/cancel").json()
    assert cancelled["status"] == "cancelled"
    while queue.run_next(timeout=0.1):
        pass
    statuses = {j["id"]: j["status"] for j in client.get(f"/api/classifiers/{cid}/jobs").json()["jobs"]}
    assert statuses == {first["id"]: "done", compared["jobs"][0]["id"]: "done", compared["jobs"][1]["id"]: "cancelled"}
    versions = client.get(f"/api/classifiers/{cid}/versions").json()["versions"]
    assert [v["method"] for v in versions] == ["zero-shot", "linear-probe"]
    assert versions[1]["params"]["c"] == 2.0 and "normalize" in versions[1]["params"]  # the whole config
    assert versions[0]["data_version"] == versions[1]["data_version"]  # a fair side-by-side comparison
    assert client.post(f"/api/jobs/{first['id']}/cancel").status_code == 409


def test_cancel_while_running_saves_nothing(make_client, monkeypatch):
    client = make_client(start_worker=False)
    queue = client.app.state.ctx.jobs
    cid = create_classifier(client)
    job = client.post(f"/api/classifiers/{cid}/train", json={"method": "linear-probe"}).json()
    from agileclf.evaluate import crossval

    original = crossval.cross_val_proba

    def cancel_after_first_fold(*args, on_fold=None, **kwargs):
        if on_fold is None:  # a method's own CV inside fit (calibration, auto), not the app's folds
            return original(*args, **kwargs)

        def hook(done, total):
            client.post(f"/api/jobs/{job['id']}/cancel")
            on_fold(done, total)

        return original(*args, on_fold=hook, **kwargs)

    monkeypatch.setattr(crossval, "cross_val_proba", cancel_after_first_fold)
    queue.run_next(timeout=1)
    assert client.get(f"/api/jobs/{job['id']}").json()["status"] == "cancelled"
    assert client.get(f"/api/classifiers/{cid}/versions").json()["versions"] == []


def test_a_crash_mid_training_keeps_the_data_and_earlier_versions(make_client, monkeypatch):
    from agileclf import load_classifier
    from agileclf.methods.linear_probe import LinearProbe

    client = make_client()
    cid = create_classifier(client)
    first = train(client, cid)
    client.post(f"/api/classifiers/{cid}/examples", json={"examples": [{"text": "refund please", "label": "billing"}]})

    def crash(self, texts, y, valid):
        raise RuntimeError("out of memory (simulated)")

    monkeypatch.setattr(LinearProbe, "_fit", crash)
    failed = train(client, cid)
    assert failed["status"] == "failed" and "out of memory (simulated)" in failed["error"]
    monkeypatch.undo()
    versions = client.get(f"/api/classifiers/{cid}/versions").json()["versions"]
    assert [v["id"] for v in versions] == [first["model_version_id"]]
    assert len(client.get(f"/api/classifiers/{cid}/examples").json()["examples"]) == 25
    folder = Path(client.get(f"/api/versions/{first['model_version_id']}").json()["artifact_path"])
    assert load_classifier(folder).predict(["where is my parcel"]) == ["shipping"]
    assert sorted(p.name for p in folder.parent.parent.iterdir()) == ["v1"]  # no half-written version


KILLED_WORKER = """
import os, signal, sys
from agileclf.app import AppSettings
from agileclf.app.server import build_context
from agileclf.evaluate import crossval

context = build_context(AppSettings(data_dir=sys.argv[1]))
original = crossval.cross_val_proba
def killed(*args, on_fold=None, **kwargs):
    if on_fold is None:  # a method's own CV inside fit, not the app's folds
        return original(*args, **kwargs)
    def hook(done, total):
        if done == 2:
            os.kill(os.getpid(), signal.SIGKILL)  # the process dies mid-training, as under `kill -9`
        on_fold(done, total)
    return original(*args, on_fold=hook, **kwargs)
crossval.cross_val_proba = killed
cid = context.store.classifiers()[0].id
job = context.jobs.submit(cid, "linear-probe", {})
context.jobs.run_next(timeout=1)
"""


def test_restart_after_a_kill_finds_every_saved_version(make_client, tmp_path):
    data_dir = tmp_path / "data"
    client = make_client(data_dir=data_dir)
    cid = create_classifier(client)
    first = train(client, cid)
    client.close()
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED_WORKER))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, str(script), str(data_dir)], env=env, capture_output=True, timeout=180)
    assert run.returncode == -signal.SIGKILL, run.stderr.decode()[-2000:]

    restarted = make_client(data_dir=data_dir)
    jobs = restarted.get(f"/api/classifiers/{cid}/jobs").json()["jobs"]
    assert jobs[0]["status"] == "failed" and "stopped while this job was running" in jobs[0]["error"]
    versions = restarted.get(f"/api/classifiers/{cid}/versions").json()["versions"]
    assert [v["id"] for v in versions] == [first["model_version_id"]]
    assert len(restarted.get(f"/api/classifiers/{cid}/examples").json()["examples"]) == 24
    answer = restarted.post(f"/api/versions/{versions[0]['id']}/predict", json={"texts": ["reset my password"]})
    assert answer.json()["results"][0]["label"] == "account"
    again = train(restarted, cid)  # and training works again, as version 2
    assert again["status"] == "done"
    assert restarted.get(f"/api/versions/{again['model_version_id']}").json()["number"] == 2
    assert wait_job(restarted, again["id"])["status"] == "done"


def test_suggestions_are_refused_without_a_generator(trained):
    client, cid = trained["client"], trained["cid"]
    assert client.get("/api/methods").json()["suggestions"] is False
    refused = client.post(f"/api/classifiers/{cid}/suggest", json={"per_class": 2})
    assert refused.status_code == 409 and "--generator" in refused.json()["error"]["message"]


def test_suggestions_from_a_causal_lm_wait_with_their_label(make_client, tmp_path):
    sys.path.insert(0, str(REPO / "tests" / "methods" / "causal"))
    from causal_synthetic import build_untrained, single_torch_thread

    writer = build_untrained(tmp_path / "writer", hidden=32)  # an untrained tiny LM writes arbitrary strings
    client = make_client(generator=str(writer))
    cid = create_classifier(client)
    with single_torch_thread():
        job = client.post(f"/api/classifiers/{cid}/suggest", json={"per_class": 2, "label_filter": False}).json()
        done = wait_job(client, job["id"])
    assert done["status"] == "done", done
    items = client.get(f"/api/classifiers/{cid}/pool").json()["items"]
    assert items and all(item["source"] == "suggested" for item in items)
    assert {item["suggested_label"] for item in items} <= {"billing", "shipping", "account"}
    assert len(client.get(f"/api/classifiers/{cid}/examples").json()["examples"]) == 24  # only waiting, not added


def test_a_served_version_takes_the_apps_token(make_client):
    import httpx

    client = make_client(token="s3cret")
    client.headers["authorization"] = "Bearer s3cret"
    cid = create_classifier(client)
    version_id = train(client, cid)["model_version_id"]
    served = client.post(f"/api/versions/{version_id}/serve", json={}).json()
    body = {"model": served["name"], "texts": ["refund me"]}
    assert httpx.post(served["classify"], json=body).status_code == 401
    answer = httpx.post(served["classify"], json=body, headers={"authorization": "Bearer s3cret"})
    assert answer.status_code == 200
    client.delete(f"/api/versions/{version_id}/serve")


def test_jobs_still_queued_at_a_stop_run_after_the_restart(make_client, tmp_path):
    data_dir = tmp_path / "data"
    client = make_client(data_dir=data_dir, start_worker=False)
    cid = create_classifier(client)
    job = client.post(f"/api/classifiers/{cid}/train", json={"method": "linear-probe"}).json()
    client.close()  # the app stops before the worker took the job
    restarted = make_client(data_dir=data_dir, start_worker=False)
    assert restarted.app.state.ctx.jobs.run_next(timeout=1)
    assert restarted.get(f"/api/jobs/{job['id']}").json()["status"] == "done"
