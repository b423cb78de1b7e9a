"""agileclf.workflow, the jobs every front end calls: in-memory training, streamed prediction, output formats."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agileclf.artifact import FORMAT_VERSION
from agileclf.data import read_examples
from agileclf.errors import ArtifactError, ConfigError, DataError
from agileclf.workflow import (
    evaluate_file,
    fit_classifier,
    format_rows,
    output_format,
    predict_stream,
    train_from_file,
)

DEMO = Path(__file__).resolve().parents[1] / "src" / "agileclf" / "demo_data"


@pytest.fixture(scope="module")
def probe(minilm):
    train = read_examples(DEMO / "support_train.jsonl")
    return fit_classifier(train.texts, train.labels, "linear-probe", backbone=minilm, params={"seed": "1"})


def test_fit_classifier_trains_in_memory_and_converts_string_params(probe):
    assert probe.classifier.config.seed == 1 and probe.fit_s > 0 and probe.rows_used == 48
    assert probe.classifier.predict(["I was charged twice"]).tolist() == ["double_charge"]


def test_predict_stream_keeps_the_records_and_does_not_depend_on_the_batch_size(probe):
    records = [{"text": t, "id": i} for i, t in enumerate(read_examples(DEMO / "support_test.jsonl").texts[:7])]
    whole = list(predict_stream(probe.classifier, records, top_k=2, batch_size=256))
    pieces = list(predict_stream(probe.classifier, iter(records), top_k=2, batch_size=3))
    assert [r["id"] for r in whole] == list(range(7))
    assert [r["label"] for r in whole] == [r["label"] for r in pieces]
    np.testing.assert_allclose([r["probability"] for r in whole], [r["probability"] for r in pieces], atol=1e-5)
    assert len(whole[0]["top_k"]) == 2 and whole[0]["top_k"][0]["label"] == whole[0]["label"]


def test_csv_output_has_one_probability_column_per_label_and_json_for_nested_values():
    rows = [{"text": 'say "hi", then', "label": "a", "probabilities": {"a": 0.75, "b": 0.25}, "top_k": [{"x": 1}]}]
    table = list(csv.DictReader(io.StringIO("".join(format_rows(rows, "csv")))))
    assert table == [{"text": 'say "hi", then', "label": "a", "p(a)": "0.75", "p(b)": "0.25", "top_k": '[{"x": 1}]'}]
    assert json.loads("".join(format_rows(rows, "jsonl"))) == rows[0]
    assert output_format("out.csv") == "csv" and output_format("-") == "jsonl" and output_format("x", "csv") == "csv"
    with pytest.raises(ConfigError, match="unknown output format"):
        output_format("-", "parquet")


def test_train_from_file_records_provenance_and_reports_short_classes(minilm, tmp_path):
    notes = []
    result = train_from_file(DEMO / "support_train.jsonl", "zero-shot", tmp_path / "zs", shots=50, backbone=minilm,
                             note=notes.append, log=lambda line: None)  # fmt: skip
    meta = json.loads((tmp_path / "zs" / "agileclf.json").read_text())
    assert meta["data"]["shots"] == 50 and meta["data"]["rows_used"] == 48 and result.path == tmp_path / "zs"
    assert notes == [
        "8 class(es) have fewer than 50 examples and are used whole: app_bug (6), cancel_subscription (6), "
        "delivery_late (6), double_charge (6), item_damaged (6), login_problem (6), refund_request (6), "
        "wrong_item (6)"
    ]


def test_train_tells_and_saves_what_the_method_chose_from_the_examples(minilm, tmp_path):
    notes = []
    train_from_file(DEMO / "support_train.jsonl", "linear-probe", tmp_path / "lp", backbone=minilm,
                    note=notes.append, log=lambda line: None)  # fmt: skip
    fitted = json.loads((tmp_path / "lp" / "agileclf.json").read_text())["fitted"]
    assert fitted["c"] > 0  # the head's C, chosen by cross-validation on the examples
    assert notes[-1] == f"linear-probe chose from the examples: c={fitted['c']}"


def test_a_bad_parameter_fails_before_any_model_loads_or_training_is_announced(monkeypatch):
    import agileclf.backbones

    def no_load(*args, **kwargs):
        raise AssertionError("a model was loaded before the parameters were checked")

    monkeypatch.setattr(agileclf.backbones, "load_backbone", no_load)
    logged = []
    with pytest.raises(ConfigError, match="unknown parameter.*nonsense"):
        train_from_file(DEMO / "support_train.jsonl", "linear-probe", None, params={"nonsense": "1"},
                        log=logged.append)  # fmt: skip
    with pytest.raises(ConfigError, match="unknown method 'magic'"):
        train_from_file(DEMO / "support_train.jsonl", "magic", None, log=logged.append)
    with pytest.raises(ConfigError, match="does not work with a encoder backbone"):
        train_from_file(DEMO / "support_train.jsonl", "lora", None, log=logged.append)
    assert logged == []


def test_a_bad_data_file_fails_before_the_methods_are_imported(write_file, monkeypatch):
    import agileclf.methods.registry

    def no_check(*args, **kwargs):
        raise AssertionError("the methods were imported (seconds) before the data file was read")

    monkeypatch.setattr(agileclf.methods.registry, "check_method_params", no_check)
    bad = write_file("bad.jsonl", '{"text": "a", "label": "x"}\n{"text": "b"}\n')
    with pytest.raises(DataError, match="bad.jsonl:2: field 'label' is missing"):
        train_from_file(bad, "magic", None, params={"nonsense": "1"})


@pytest.mark.parametrize(
    "task, line, error",
    [
        ("label", '{"text": 3, "label": "x"}', "field 'text' must be a string, got int"),
        ("multilabel", '{"text": "b", "tags": []}', "field 'tags' is an empty list"),
    ],
)
def test_evaluate_reads_a_bad_data_file_before_importing_the_methods(write_file, tmp_path, task, line, error):
    # in a fresh process: this one has imported everything already; the imports cost about 3 s. The multi-label
    # file is read with the field and allow_empty that agileclf.json records.
    model = tmp_path / "model"
    model.mkdir()
    meta = {"format_version": FORMAT_VERSION, "method": "linear-probe", "backbone": {}, "labels": ["x"],
            "params": {"allow_empty": False}, "files": {}}  # fmt: skip
    if task == "multilabel":
        meta |= {"task": "multilabel", "data": {"label_field": "tags"}}
    (model / "agileclf.json").write_text(json.dumps(meta))
    first = '{"text": "a", "label": "x"}' if task == "label" else '{"text": "a", "tags": ["x"]}'
    bad = write_file("bad.jsonl", f"{first}\n{line}\n")
    script = (
        "import sys\nfrom agileclf.errors import DataError\nfrom agileclf.workflow import evaluate_file\n"
        f"try:\n    evaluate_file({str(model)!r}, {str(bad)!r}, record=False)\n"
        "except DataError as err:\n    print(err)\n"
        "print(sorted(m for m in ('sklearn', 'torch', 'agileclf.methods.registry') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{bad}:2: ") and error in lines[0], result.stdout + result.stderr
    assert lines[1] == "[]", result.stderr


def test_fit_classifier_with_label_lists_trains_a_multilabel_classifier_with_cv_thresholds(minilm):
    rows = [json.loads(line) for line in (Path(__file__).parent / "multilabel_reviews.jsonl").read_text().splitlines()]
    texts, labels = [r["text"] for r in rows], [r["labels"] for r in rows]
    result = fit_classifier(texts, labels, "linear-probe", backbone=minilm)
    classifier = result.classifier
    assert classifier.threshold_source == "cv" and result.rows_used == len(texts)
    assert sorted(classifier.labels.names) == sorted({label for row in labels for label in row})
    predicted = classifier.predict(texts[:3])
    assert all(isinstance(row, list | tuple) for row in predicted)
    proba = classifier.predict_proba(texts[:3])
    assert proba.shape == (3, len(classifier.labels.names)) and not np.allclose(proba.sum(axis=1), 1.0)


def test_train_refuses_an_out_path_it_cannot_replace_before_it_trains(tmp_path):
    taken = tmp_path / "notes.txt"
    taken.write_text("the user's own file")
    # the backbone is never loaded: the check comes first (it came after minutes of training before)
    with pytest.raises(ArtifactError, match="notes.txt exists and is not an agileclf classifier"):
        train_from_file(DEMO / "support_train.jsonl", "linear-probe", taken, backbone="no-such-backbone")
    assert taken.read_text() == "the user's own file"


def test_train_tells_when_the_labels_file_does_not_match_the_data(minilm, tmp_path):
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"refund_request": "getting money back", "refund_requst": "a misspelt name"}))
    told: list[str] = []
    result = train_from_file(DEMO / "support_train.jsonl", "zero-shot", None, backbone=minilm, labels_file=labels,
                             note=told.append)  # fmt: skip
    assert "refund_requst" in result.classifier.labels.names
    assert any("'refund_requst' not among the data's labels" in m and "refund_request" in m for m in told), told
    assert any("no description for 'app_bug'" in m and "'refund_request'" not in m for m in told), told


def test_evaluate_refuses_a_report_dir_that_is_a_file_before_it_reads_anything(tmp_path):
    taken = tmp_path / "report"
    taken.write_text("the user's own file")
    with pytest.raises(ArtifactError, match="report exists and is a file; --report-dir takes a folder"):
        evaluate_file(tmp_path / "no-model", tmp_path / "no-data.jsonl", report_dir=taken)
