"""Multi-label end to end through the CLI (in-process): train with CV thresholds, evaluate, predict; bad input."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agileclf.cli import app, main

REVIEWS_FILE = Path(__file__).resolve().parents[0] / "multilabel_reviews.jsonl"  # 12 restaurant reviews, 5 labels
ROWS = [(r["text"], r["labels"]) for r in map(json.loads, REVIEWS_FILE.read_text().splitlines())]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def run_main(monkeypatch, capsys, *args) -> tuple[int, str]:
    """The console entry point as a user runs it: (exit code, stderr with line breaks folded)."""
    monkeypatch.setattr("sys.argv", ["agileclf", *map(str, args)])
    with pytest.raises(SystemExit) as stop:
        main()
    return stop.value.code, " ".join(capsys.readouterr().err.split())


def jsonl(rows):
    return "".join(json.dumps({"text": t, "labels": labels}) + "\n" for t, labels in rows)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, minilm):
    folder = tmp_path_factory.mktemp("ml")
    (folder / "train.jsonl").write_text(jsonl(ROWS))
    out = folder / "probe"
    result = invoke("train", folder / "train.jsonl", "-m", "linear-probe", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert "multi-label" in result.output and "thresholds: cv" in result.output
    return folder, out


def test_train_detects_lists_and_saves_cv_thresholds(trained):
    _, out = trained
    meta = json.loads((out / "agileclf.json").read_text())
    assert meta["task"] == "multilabel" and meta["multilabel"]["threshold_source"] == "cv"
    assert set(meta["multilabel"]["thresholds"]) == {"food", "negative", "positive", "price", "service"}
    assert meta["cv"]["n_splits"] == 3 and "macro_f1" in meta["cv"]


def test_evaluate_json_and_report_dir(trained, tmp_path):
    folder, out = trained
    (folder / "test.jsonl").write_text(jsonl([("cheap and tasty food", ["food", "positive", "price"]),
                                              ("the staff was rude", ["negative", "service"])]))  # fmt: skip
    result = invoke("evaluate", out, folder / "test.jsonl", "--json", "--report-dir", tmp_path / "rep", "--quiet")
    metrics = json.loads(result.stdout)
    assert {"micro_f1", "macro_f1", "samples_f1", "subset_accuracy", "hamming_loss", "label_ranking_ap"} <= set(metrics)
    assert metrics["n"] == 2 and metrics["threshold_source"] == "cv"
    assert (tmp_path / "rep" / "per_label_f1.png").is_file() and (tmp_path / "rep" / "metrics.json").is_file()
    table = invoke("evaluate", out, folder / "test.jsonl", "--threshold", "0.99", "--quiet")
    assert "samples_f1" in table.stdout and "user" in table.stdout


def test_predict_lines_carry_label_lists_and_probabilities(trained, tmp_path):
    _, out = trained
    result = CliRunner().invoke(app, ["predict", str(out), "--top-k", "2", "--quiet"], input="rude staff, cold soup\n")
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert isinstance(line["labels"], list) and line["labels"]
    assert set(line["probabilities"]) == {"food", "negative", "positive", "price", "service"}
    assert len(line["top_k"]) == 2
    everything = CliRunner().invoke(app, ["predict", str(out), "--threshold", "0", "--quiet"], input="hello\n")
    assert len(json.loads(everything.stdout.strip().splitlines()[-1])["labels"]) == 5


def test_csv_with_a_label_separator(tmp_path, minilm):
    rows = "".join(f'"{t}",{"|".join(labels)}\n' for t, labels in ROWS)
    (tmp_path / "train.csv").write_text("text,tags\n" + rows)
    result = invoke("train", tmp_path / "train.csv", "--task", "multilabel", "--label-field", "tags",
                    "--label-sep", "|", "-m", "zero-shot", "--out", tmp_path / "zs", "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "zs" / "agileclf.json").read_text())
    assert meta["data"]["label_sep"] == "|" and meta["multilabel"]["threshold_source"] == "cv"


def test_conflicting_label_sets_are_shown_as_sets(tmp_path, minilm):
    text, labels = ROWS[0]
    (tmp_path / "train.jsonl").write_text(jsonl([*ROWS, (text, ["price"])]))
    result = invoke("train", tmp_path / "train.jsonl", "-m", "zero-shot", "--out", tmp_path / "zs", "--quiet")
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert output.count("conflicting labels") == 1
    assert f"(line 1 [{', '.join(labels)}], line {len(ROWS) + 1} [price])" in output  # not eaten as rich markup


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            '{"text": "a", "labels": ["x"]}\n{"text": "b", "labels": "y"}\n',
            "bad.jsonl:2: field 'labels' must be a list",
        ),
        (
            '{"text": "a", "labels": ["x"]}\n{"text": "b", "labels": []}\n',
            "bad.jsonl:2: field 'labels' is an empty list",
        ),
    ],
)
def test_bad_training_rows_exit_2_with_file_and_line(tmp_path, monkeypatch, capsys, rows, message):
    (tmp_path / "bad.jsonl").write_text(rows)
    args = ("train", tmp_path / "bad.jsonl", "--task", "multilabel", "-m", "linear-probe", "-o", tmp_path / "m")
    code, stderr = run_main(monkeypatch, capsys, *args)
    assert code == 2 and message in stderr


def test_unknown_label_at_evaluation_exits_2(trained, tmp_path, monkeypatch, capsys):
    _, out = trained
    (tmp_path / "t.jsonl").write_text(jsonl([("cheap food", ["food"]), ("so sad", ["sadness"])]))
    code, stderr = run_main(monkeypatch, capsys, "evaluate", out, tmp_path / "t.jsonl", "--quiet")
    assert code == 2 and "t.jsonl:2: label 'sadness' is not one this classifier knows" in stderr
