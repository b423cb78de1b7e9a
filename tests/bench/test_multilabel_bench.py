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
    predicted = np.load(tmp_path / "out" / "predictions" / "reviews-3-0-setfit.npy")
    top1 = np.load(tmp_path / "out" / "predictions" / "reviews-3-0-setfit-top1.npy")
    assert predicted.shape == top1.shape == (4, 5)
    assert (top1.sum(axis=1) >= 1).all() and (top1 >= predicted).all()  # the same fit, each row's top label added
    report = (tmp_path / "out" / "report.md").read_text()
    assert "SetFit one-vs-rest" in report and "paired bootstrap 95% interval" in report
    assert "`setfit`" in report and "`setfit-top1`" in report
    again = CliRunner().invoke(app, [*args, "--resume"], catch_exceptions=False)
    assert again.exit_code == 0 and len((tmp_path / "out" / "results.jsonl").read_text().splitlines()) == 4
