"""The store and the data routes: classifiers, labels, examples, uploads, edits, undo, history, concurrency."""

from __future__ import annotations

import threading

from webapp_helpers import LABELS, create_classifier, example_rows


def test_migrations_create_the_schema_the_models_describe(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import agileclf.app.models  # noqa: F401
    from agileclf.app.db import database_url, make_engine, migrate

    engine = make_engine(database_url(tmp_path))
    migrate(engine)
    migrate(engine)  # idempotent: start-up runs it every time
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == "0002"
        assert compare_metadata(context, SQLModel.metadata) == []


def test_an_older_database_is_upgraded_in_place(tmp_path):
    from alembic import command
    from sqlalchemy import text

    from agileclf.app.db import alembic_config, database_url, make_engine, migrate

    engine = make_engine(database_url(tmp_path))
    with engine.begin() as connection:
        config = alembic_config(str(engine.url))
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        old_classifier = "INSERT INTO classifier (name, description, data_version, created_at) VALUES "
        connection.execute(text(old_classifier + "('old', '', 0, '2026-01-01')"))
        old_job = (
            "INSERT INTO job (classifier_id, method, params, status, progress, message, cancel_requested, "
            "created_at) VALUES (1, 'linear-probe', '{}', 'done', 1, 'done', 0, '2026-01-01')"
        )
        connection.execute(text(old_job))
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT kind FROM job")).scalar_one() == "train"
        assert connection.execute(text("SELECT name FROM classifier")).scalar_one() == "old"


def test_classifier_crud(make_client):
    client = make_client()
    created = client.post("/api/classifiers", json={"name": "tickets", "description": "route them", "labels": LABELS})
    assert created.status_code == 201
    cid = created.json()["id"]
    assert [x["name"] for x in created.json()["labels"]] == ["billing", "shipping", "account"]
    assert client.post("/api/classifiers", json={"name": "tickets"}).status_code == 409
    assert client.post("/api/classifiers", json={"name": "  "}).status_code == 422
    assert client.get("/api/classifiers").json()["classifiers"][0]["name"] == "tickets"
    assert client.patch(f"/api/classifiers/{cid}", json={"name": "support"}).json()["name"] == "support"
    assert client.get("/api/classifiers/999").status_code == 404
    assert client.delete(f"/api/classifiers/{cid}").status_code == 200
    assert client.get(f"/api/classifiers/{cid}").status_code == 404


def test_labels_add_edit_and_refuse_duplicates(make_client):
    client = make_client()
    cid = client.post("/api/classifiers", json={"name": "t", "labels": LABELS[:2]}).json()["id"]
    added = client.post(f"/api/classifiers/{cid}/labels", json={"name": "account", "description": "log-in"})
    assert added.status_code == 201
    assert client.post(f"/api/classifiers/{cid}/labels", json={"name": "account"}).status_code == 409
    edited = client.patch(f"/api/classifiers/{cid}/labels/{added.json()['id']}", json={"description": "policy text"})
    assert edited.json()["description"] == "policy text"
    assert client.patch(f"/api/classifiers/{cid}/labels/999", json={"description": "x"}).status_code == 404


def test_add_refuses_unknown_labels_and_empty_texts_whole(make_client):
    client = make_client()
    cid = create_classifier(client, rows=example_rows()[:3])
    bad = client.post(
        f"/api/classifiers/{cid}/examples",
        json={"examples": [{"text": "ok", "label": "billing"}, {"text": "x", "label": "nope"}]},
    )
    assert bad.status_code == 422 and "'nope' is not a label" in bad.json()["error"]["message"]
    empty = client.post(f"/api/classifiers/{cid}/examples", json={"examples": [{"text": "  ", "label": "billing"}]})
    assert empty.status_code == 422
    assert len(client.get(f"/api/classifiers/{cid}/examples").json()["examples"]) == 3


def test_paste_adds_one_example_per_line(make_client):
    client = make_client()
    cid = create_classifier(client, rows=example_rows()[:1])
    pasted = client.post(f"/api/classifiers/{cid}/examples/paste", json={"label": "shipping", "text": "a\n\n b \nc\n"})
    assert pasted.status_code == 201 and pasted.json()["added"] == 3
    texts = [e["text"] for e in client.get(f"/api/classifiers/{cid}/examples").json()["examples"]]
    assert texts[-3:] == ["a", "b", "c"]


def test_upload_names_bad_rows_by_line_and_keeps_the_rest(make_client):
    client = make_client()
    cid = create_classifier(client, rows=example_rows()[:1])
    csv = b"text,label\nfine one,billing\nbroken row\n,shipping\nunknown,refunds\nfine two,account\n"
    result = client.post(f"/api/classifiers/{cid}/examples/upload", files={"file": ("t.csv", csv, "text/csv")})
    assert result.status_code == 201, result.text
    body = result.json()
    assert body["added"] == 2
    assert body["errors"] == [
        "t.csv:3: 1 columns where the header has 2",
        "t.csv:4: field 'text' is empty",
        "t.csv:5: label 'refunds' is not a label of this classifier",
    ]
    jsonl = b'{"text": "a", "label": "billing"}\n{oops\n"just a string"\n{"text": "b", "label": "refunds"}\n\xff\n'
    result = client.post(
        f"/api/classifiers/{cid}/examples/upload",
        files={"file": ("u.jsonl", jsonl)},
        data={"add_labels": "true"},
    ).json()
    assert result["added"] == 2 and result["new_labels"] == ["refunds"]
    assert [e.split(":")[1] for e in result["errors"]] == ["2", "3", "5"]
    assert "not valid UTF-8" in result["errors"][2]


def test_repeated_texts_are_named_not_stored_twice(make_client):
    client = make_client()
    cid = create_classifier(client, rows=[{"text": "where is my parcel", "label": "shipping"}])
    base = f"/api/classifiers/{cid}"
    again = client.post(f"{base}/examples", json={"examples": [{"text": " where is my parcel ", "label": "billing"}]})
    assert again.status_code == 409 and "already an example (label 'shipping')" in again.json()["error"]["message"]
    pasted = client.post(
        f"{base}/examples/paste", json={"label": "billing", "text": "refund\nrefund\nwhere is my parcel"}
    )
    assert pasted.json()["added"] == 1 and pasted.json()["skipped"] == 1
    upload = b"text,label\nwhere is my parcel,shipping\nnew one,billing\nnew one,billing\nnew one,account\n"
    body = client.post(f"{base}/examples/upload", files={"file": ("t.csv", upload)}).json()
    assert body["added"] == 1
    assert body["errors"] == [
        "t.csv:2: already an example (label 'shipping'); skipped",
        "t.csv:4: repeats line 3; skipped",
        "t.csv:5: same text as line 3, which says 'billing'; kept the first",
    ]


def test_upload_refuses_wrong_type_empty_file_and_oversize(make_client):
    client = make_client(max_upload_bytes=1000)
    cid = create_classifier(client, rows=example_rows()[:1])
    url = f"/api/classifiers/{cid}/examples/upload"
    assert client.post(url, files={"file": ("t.xlsx", b"PK..")}).status_code == 422
    assert client.post(url, files={"file": ("t.csv", b"  \n")}).status_code == 422
    assert client.post(url, files={"file": ("t.csv", b"text,label\n" + b"x" * 2000 + b",billing\n")}).status_code == 413
    missing_field = client.post(url, files={"file": ("t.csv", b"utt,label\nhi,billing\n")}).json()
    assert missing_field["added"] == 0 and "field 'text' is missing" in missing_field["errors"][0]


def test_edit_relabel_delete_undo_are_history(make_client):
    client = make_client()
    cid = create_classifier(client, rows=example_rows()[:2])
    base = f"/api/classifiers/{cid}"
    first = client.get(f"{base}/examples").json()["examples"][0]
    start = client.get(base).json()["data_version"]
    relabelled = client.patch(
        f"{base}/examples/{first['id']}", json={"label": "account", "revision": first["revision"]}
    )
    assert relabelled.json()["label"] == "account" and relabelled.json()["revision"] == 2
    stale = client.patch(f"{base}/examples/{first['id']}", json={"text": "other", "revision": 1})
    assert stale.status_code == 409  # someone else's edit is not overwritten
    assert client.patch(f"{base}/examples/{first['id']}", json={"label": "nope"}).status_code == 422
    assert client.delete(f"{base}/examples/{first['id']}").status_code == 200
    assert len(client.get(f"{base}/examples").json()["examples"]) == 1
    assert client.post(f"{base}/undo").json()["undone_version"] == start + 2  # brings the deletion back
    assert client.post(f"{base}/undo").json()["undone_version"] == start + 1  # and the relabel
    restored = client.get(f"{base}/examples").json()["examples"]
    assert [e["label"] for e in restored] == [first["label"], "billing"]
    ops = [c["op"] for c in client.get(f"{base}/changes").json()["changes"]]
    assert ops[:4] == ["undo", "undo", "delete", "edit"]
    at = client.get(f"{base}/dataset", params={"version": start + 1}).json()["examples"]
    assert at[0]["label"] == "account" and len(at) == 2  # the history replays to any version
    assert client.get(f"{base}/dataset", params={"version": 9999}).status_code == 422
    assert client.delete(f"{base}/examples/12345").status_code == 404


def test_undo_reverses_an_upload_as_one_step(make_client):
    client = make_client()
    cid = create_classifier(client, rows=example_rows()[:1])
    upload = b"text,label\na,billing\nb,shipping\nc,account\n"
    client.post(f"/api/classifiers/{cid}/examples/upload", files={"file": ("t.csv", upload)})
    client.post(f"/api/classifiers/{cid}/undo")
    assert len(client.get(f"/api/classifiers/{cid}/examples").json()["examples"]) == 1


def test_nothing_to_undo_is_a_conflict(make_client):
    client = make_client()
    cid = client.post("/api/classifiers", json={"name": "empty"}).json()["id"]
    assert client.post(f"/api/classifiers/{cid}/undo").status_code == 409


def test_concurrent_writers_never_share_a_data_version(make_client):
    client = make_client()
    cid = create_classifier(client, rows=example_rows()[:1])
    store = client.app.state.ctx.store
    results, errors = [], []

    def writer(n: int) -> None:
        for i in range(5):
            for _attempt in range(20):  # a Conflict on the version claim means "try again"
                try:
                    results.append(store.add_examples(cid, [(f"writer {n} row {i}", "billing")]))
                    break
                except Exception as error:  # noqa: BLE001 - collected and checked below
                    if "try again" not in str(error):
                        errors.append(error)
                        break

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 20
    versions = [c.version for c in store.changes(cid, 1000) if c.op == "add"]
    assert len(versions) == len(set(versions)) == 21
    assert len(store.examples(cid)) == 21


def test_concurrent_edits_of_one_example_keep_one_and_refuse_the_other(make_client):
    client = make_client()
    cid = create_classifier(client, rows=example_rows()[:1])
    example = client.get(f"/api/classifiers/{cid}/examples").json()["examples"][0]
    url = f"/api/classifiers/{cid}/examples/{example['id']}"
    codes = []
    barrier = threading.Barrier(2)

    def edit(label: str) -> None:
        barrier.wait()
        codes.append(client.patch(url, json={"label": label, "revision": example["revision"]}).status_code)

    threads = [threading.Thread(target=edit, args=(label,)) for label in ("shipping", "account")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 409]
