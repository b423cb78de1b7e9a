"""End to end through the real `agileclf` console script, as a user runs it."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "src" / "agileclf" / "demo_data"
AGILECLF = [sys.executable, "-m", "agileclf.cli"]


def run(*args, stdin=None, check=True):
    env = {**os.environ, "AGILECLF_QUIET": "1"}
    result = subprocess.run([*AGILECLF, *map(str, args)], capture_output=True, text=True, input=stdin, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}")
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "probe"
    run("train", DEMO / "support_train.jsonl", "--method", "linear-probe", "--shots", "6", "--seed", "1", "--out", out)
    return out


def test_train_writes_an_artifact_with_data_provenance(trained):
    meta = json.loads((trained / "agileclf.json").read_text())
    assert meta["method"] == "linear-probe"
    assert meta["data"]["shots"] == 6 and meta["data"]["rows_used"] == 48
    assert meta["params"]["seed"] == 1


def test_train_without_a_method_runs_auto_and_says_so(tmp_path):
    result = run("train", DEMO / "support_train.jsonl", "--shots", "4", "--out", tmp_path / "m",
                 "-p", "candidates=zero-shot,prior-probe")  # fmt: skip
    assert "method: auto, the default" in result.stderr
    meta = json.loads((tmp_path / "m" / "agileclf.json").read_text())
    assert meta["auto"]["chosen"] == meta["method"] in ("zero-shot", "prior-probe")  # auto ships its choice


def test_evaluate_json_and_report_dir(trained, tmp_path):
    result = run("evaluate", trained, DEMO / "support_test.jsonl", "--json", "--report-dir", tmp_path / "rep")
    metrics = json.loads(result.stdout)
    assert {"accuracy", "macro_f1", "n", "ms_per_example", "roc_auc"} <= set(metrics)
    assert metrics["n"] == 80 and metrics["accuracy"] > 0.85
    assert (tmp_path / "rep" / "confusion_matrix.png").is_file()
    assert json.loads((tmp_path / "rep" / "metrics.json").read_text())["accuracy"] == metrics["accuracy"]
    assert json.loads((trained / "agileclf.json").read_text())["metrics"]["accuracy"] == metrics["accuracy"]


def test_predict_from_stdin_and_file(trained, tmp_path):
    stdin = '{"text": "I was charged twice", "id": 9}\nmy parcel is lost\n'
    result = run("predict", trained, "--top-k", "2", stdin=stdin)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["label"] for r in rows] == ["double_charge", "delivery_late"]
    assert rows[0]["id"] == 9 and len(rows[0]["top_k"]) == 2
    assert abs(sum(rows[0]["probabilities"].values()) - 1) < 1e-4
    table = tmp_path / "pred.csv"  # CSV chosen by the suffix; JSONL to stdout above
    run("predict", trained, "--input", DEMO / "support_test.jsonl", "--output", table, "--top-k", "1")
    with table.open(newline="") as handle:
        csv_rows = list(csv.DictReader(handle))
    assert len(csv_rows) == 80 and {"text", "label", "probability", "p(double_charge)", "top_k"} <= set(csv_rows[0])
    assert abs(sum(float(v) for k, v in csv_rows[0].items() if k.startswith("p(")) - 1) < 1e-4
    positional = run("predict", trained, DEMO / "support_test.jsonl")  # the input may be named like evaluate's
    assert [json.loads(line)["label"] for line in positional.stdout.splitlines()] == [r["label"] for r in csv_rows]
    both = run("predict", trained, DEMO / "support_test.jsonl", "--input", table, check=False)
    assert both.returncode == 2 and "two inputs" in both.stderr


def test_predict_checks_a_file_before_loading_the_classifier(tmp_path):
    model = tmp_path / "model"  # a classifier directory that would fail to load: the input's error comes first
    model.mkdir()
    (model / "agileclf.json").write_text(json.dumps({"format_version": 1, "method": "linear-probe"}))
    (tmp_path / "in.jsonl").write_text('{"text": "fine"}\n{"text": 3}\n')
    result = run("predict", model, tmp_path / "in.jsonl", check=False)
    assert result.returncode == 2 and f"{tmp_path / 'in.jsonl'}:2: field 'text' must be a string" in result.stderr


def test_conflicting_duplicates_are_told_once(tmp_path):
    lines = (DEMO / "support_train.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    other = next(json.loads(line)["label"] for line in lines if json.loads(line)["label"] != first["label"])
    (tmp_path / "train.jsonl").write_text("\n".join([*lines, json.dumps({"text": first["text"], "label": other})]))
    result = run("train", tmp_path / "train.jsonl", "-m", "zero-shot", "--out", tmp_path / "m")
    assert result.stderr.count("conflicting labels") == 1, result.stderr
    assert f"(line 1 '{first['label']}', line {len(lines) + 1} '{other}')" in " ".join(result.stderr.split())


def test_a_warning_is_one_line_said_once(tmp_path):
    rows = [("a wonderful, moving film", 1), ("dull and far too long", 0), ("I loved it", 1), ("a waste", 0)]
    (tmp_path / "ints.jsonl").write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows))
    result = run("train", tmp_path / "ints.jsonl", "-m", "zero-shot", "--out", tmp_path / "m")
    said = [line for line in result.stderr.splitlines() if "have no words" in line]
    assert said == [said[0]] and said[0].startswith("warning: zero-shot compares texts"), result.stderr
    assert "UserWarning" not in result.stderr and ".py:" not in result.stderr


def test_same_seed_same_metrics(tmp_path):
    # through the library jobs the CLI calls (train_from_file, evaluate_file): same seed, same sample, same metrics
    from agileclf.workflow import evaluate_file, train_from_file

    metrics = []
    for name in ("a", "b"):
        train_from_file(DEMO / "support_train.jsonl", "linear-probe", tmp_path / name, shots=3, seed=4)
        result = evaluate_file(tmp_path / name, DEMO / "support_test.jsonl")
        metrics.append({k: v for k, v in result.items() if k in ("accuracy", "macro_f1", "roc_auc")})
    assert metrics[0] == metrics[1] and len(metrics[0]) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text": "a", "label": "x"}\n{"text": "b", "label": \n', "bad.jsonl:2: malformed JSON"),
        ('{"text": "a", "label": "x"}\n{"text": "b"}\n', "bad.jsonl:2: field 'label' is missing"),
        ('{"text": "a", "label": "x"}\n{"text": "b", "label": "x"}\n', "has 1 class(es)"),
        (b'{"text": "\xff", "label": "x"}\n', "bad.jsonl:1: not valid UTF-8"),
    ],
)
def test_bad_input_exits_2_with_one_readable_message(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run("train", path, "--method", "linear-probe", "--out", tmp_path / "out", check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_method_backbone_and_model_dir_exit_2(tmp_path):
    data = DEMO / "support_train.jsonl"
    for args, message in [
        (("train", data, "-m", "magic", "-o", tmp_path / "o"), "unknown method 'magic'"),
        (("train", data, "-m", "linear-probe", "-b", tmp_path / "nope", "-o", tmp_path / "o"), "no such folder"),
        (("train", data, "-m", "linear-probe", "-p", "c", "-o", tmp_path / "o"), "--param expects key=value"),
        (("train", data, "-m", "linear-probe", "-k", "0", "-o", tmp_path / "o"), "--shots 0: sampling 0 examples"),
        (("evaluate", tmp_path, data), "no agileclf.json"),
    ]:
        result = run(*args, check=False)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr


def test_methods_lists_every_method_with_parameters():
    result = run("methods")
    for name in ("zero-shot", "linear-probe", "finetune", "head_lr", "temperature"):
        assert name in result.stdout


def test_every_command_is_registered_and_speed_is_one_of_them():
    from typer.testing import CliRunner

    from agileclf.cli import app

    runner = CliRunner()
    names = {command.name or command.callback.__name__ for command in app.registered_commands}
    assert names >= {"train", "evaluate", "predict", "methods", "demo", "synthesize", "serve", "loadtest", "bench",
                     "bench-cost", "bench-multitask", "speed"}  # fmt: skip
    result = runner.invoke(app, ["speed", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--onnx-keep-fp32" in result.output and "--precisions" in result.output
    predict_help = runner.invoke(app, ["predict", "--help"], env={"COLUMNS": "200"}).output
    assert "--device" in predict_help and "--format" in predict_help
