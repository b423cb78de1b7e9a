"""`agileclf bench` on a multi-label folder: agileclf methods and SetFit one-vs-rest on the same sample."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from agileclf.cli import app

REVIEWS_FILE = Path(__file__).resolve().parents[1] / "multilabel_reviews.jsonl"  # 12 restaurant reviews, 5 labels
ROWS = [(r["text"], r["labels"]) for r in map(json.loads, REVIEWS_FILE.read_text().splitlines())]
TEST = [("cheap and tasty food", ["food", "positive", "price"]), ("the staff was rude", ["negative", "service"]),
        ("great waiter", ["positive", "service"]), ("expensive and bland", ["food", "negative", "price"])]  # fmt: skip


def test_bench_runs_methods_and_setfit_one_vs_rest_on_the_same_sample(tmp_path, minilm):
    pytest.importorskip("setfit")
    folder = tmp_path / "reviews"
    folder.mkdir()
    for name, rows in (("train", ROWS), ("test", TEST)):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps({"text": t, "labels": y}) + "\n" for t, y in rows))
    args = ["bench", "--data", str(folder), "--methods", "linear-probe,zero-shot", "--peers", "setfit",
            "-p", "setfit.num_iterations=1", "-p", "setfit.num_epochs=1", "--shots", "3", "--seeds", "0",
            "--out", str(tmp_path / "out"), "--quiet"]  # fmt: skip
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert {r["method"] for r in rows} == {"linear-probe", "zero-shot", "setfit", "setfit-top1"}
    assert len({r["train_sha256"] for r in rows}) == 1  # the very same sample for everyone
    assert all(r["task"] == "multilabel" and 0 <= r["macro_f1"] <= 1 and r["n_test"] == 4 for r in rows)
    assert all(r["cv_macro_f1"] is not None for r in rows if not r["peer"])
    assert all(r["fit_cpu_s"] > 0 and r["fit_s"] > 0 for r in rows)  # CPU seconds too: fair under shared load
    assert all(r["cv_cpu_s"] > 0 for r in rows if not r["peer"]) and all(r["cv_cpu_s"] == 0 for r in rows if r["peer"])
    predicted = np.load(tmp_path / "out" / "predictions" / "reviews-3-0-setfit.npy")
    top1 = np.load(tmp_path / "out" / "predictions" / "reviews-3-0-setfit-top1.npy")
    assert predicted.shape == top1.shape == (4, 5)
    assert (top1.sum(axis=1) >= 1).all() and (top1 >= predicted).all()  # the same fit, each row's top label added
    report = (tmp_path / "out" / "report.md").read_text()
    assert "SetFit one-vs-rest" in report and "paired bootstrap 95% interval" in report
    assert "`setfit`" in report and "`setfit-top1`" in report
    again = CliRunner().invoke(app, [*args, "--resume"], catch_exceptions=False)
    assert again.exit_code == 0 and len((tmp_path / "out" / "results.jsonl").read_text().splitlines()) == 4


def _folder(tmp_path, splits) -> Path:
    folder = tmp_path / "reviews"
    folder.mkdir()
    for name, rows in splits.items():
        (folder / f"{name}.jsonl").write_text("".join(json.dumps({"text": t, "labels": y}) + "\n" for t, y in rows))
    return folder


def test_a_dev_grid_scores_the_dev_split_never_test(tmp_path, minilm):
    # the test file is unreadable on purpose: a dev grid must not even open it
    folder = _folder(tmp_path, {"train": ROWS, "dev": TEST[:3]})
    (folder / "test.jsonl").write_text("not json\n")
    config = tmp_path / "dev.toml"
    config.write_text(f'methods = ["linear-probe"]\nshots = [3]\nseeds = [0]\neval_split = "dev"\n'
                      f'data = [{{ path = "{folder}" }}]\n')  # fmt: skip
    args = ["bench", "--config", str(config), "--out", str(tmp_path / "out"), "--quiet"]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [(r["split"], r["n_test"]) for r in rows] == [("dev", 3)]
    assert "Scored on the dev split." in (tmp_path / "out" / "report.md").read_text()


def test_a_failing_cell_is_recorded_and_the_grid_goes_on(tmp_path, minilm):
    folder = _folder(tmp_path, {"train": ROWS, "test": TEST})
    # contrastive on 3 rows per label: its batches need an even size >= 4, so batch_size=3 fails at every fit
    args = ["bench", "--data", str(folder), "--methods", "contrastive,linear-probe", "--shots", "3", "--seeds", "0",
            "-p", "contrastive.batch_size=3", "--out", str(tmp_path / "out"), "--quiet"]  # fmt: skip
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = {r["method"]: r for r in map(json.loads, (tmp_path / "out" / "results.jsonl").read_text().splitlines())}
    assert "batch_size must be even" in rows["contrastive"]["error"] and "macro_f1" not in rows["contrastive"]
    assert 0 <= rows["linear-probe"]["macro_f1"] <= 1  # the cell after the failed one ran
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Failed cells (1" in report and "batch_size must be even" in report
    again = CliRunner().invoke(app, [*args, "--resume"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert "1 failed cell(s) run again" in again.output
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert sorted(r["method"] for r in rows) == ["contrastive", "linear-probe"]  # the old error row was replaced


def test_a_grid_files_backbone_is_the_one_loaded(tmp_path):
    folder = _folder(tmp_path, {"train": ROWS, "test": TEST})
    config = tmp_path / "grid.toml"
    missing = tmp_path / "no-such-model"
    config.write_text(f'backbone = "{missing}"\nmethods = ["zero-shot"]\nshots = [3]\nseeds = [0]\n'
                      f'data = [{{ path = "{folder}" }}]\n')  # fmt: skip
    result = CliRunner().invoke(app, ["bench", "--config", str(config), "--out", str(tmp_path / "out"), "--quiet"])
    assert "no-such-model" in str(result.exception)  # the grid's backbone was loaded, not the default encoder


def test_a_method_variant_runs_as_its_base_method_with_its_own_parameters(tmp_path, minilm):
    folder = _folder(tmp_path, {"train": ROWS, "test": TEST})
    config = tmp_path / "grid.toml"
    config.write_text(f'methods = ["linear-probe", "linear-probe:c1"]\nshots = [3]\nseeds = [0]\n'
                      f'data = [{{ path = "{folder}" }}]\n[method_params."linear-probe:c1"]\nc = 1.0\n')  # fmt: skip
    result = CliRunner().invoke(app, ["bench", "--config", str(config), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    rows = {r["method"]: r for r in map(json.loads, (tmp_path / "out" / "results.jsonl").read_text().splitlines())}
    assert rows["linear-probe:c1"]["params"] == {"c": 1.0} and rows["linear-probe"]["params"] == {}
    assert all("macro_f1" in row for row in rows.values())
    chosen = [c for c in rows["linear-probe"]["fitted"]["c"] if c is not None]  # one C per label, chosen by CV
    assert chosen and all(c > 0 for c in chosen)  # what the method chose on the sample is kept, as in single-label
