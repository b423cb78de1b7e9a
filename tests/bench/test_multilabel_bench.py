"""`agileclf bench` on a multi-label folder: agileclf methods and SetFit one-vs-rest on the same sample."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from agileclf.cli import app

ROWS = [
    ("the pizza was great and cheap", ["food", "positive", "price"]),
    ("terrible service and cold food", ["food", "negative", "service"]),
    ("cheap tickets and great seats", ["positive", "price"]),
    ("the waiter was rude to us", ["negative", "service"]),
    ("lovely staff, delicious pasta", ["food", "positive", "service"]),
    ("awful food and far too expensive", ["food", "negative", "price"]),
    ("friendly waiter, fair prices", ["positive", "price", "service"]),
    ("the soup was bland and the staff ignored us", ["food", "negative", "service"]),
    ("great value for the money", ["positive", "price"]),
    ("overpriced and rude staff", ["negative", "price", "service"]),
    ("tasty burgers", ["food", "positive"]),
    ("the steak was burnt", ["food", "negative"]),
]
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
    assert {r["method"] for r in rows} == {"linear-probe", "zero-shot", "setfit"}
    assert len({r["train_sha256"] for r in rows}) == 1  # the very same sample for everyone
    assert all(r["task"] == "multilabel" and 0 <= r["macro_f1"] <= 1 and r["n_test"] == 4 for r in rows)
    assert all(r["cv_macro_f1"] is not None for r in rows if not r["peer"])
    predicted = np.load(tmp_path / "out" / "predictions" / "reviews-3-0-setfit.npy")
    assert predicted.shape == (4, 5)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "SetFit one-vs-rest" in report and "paired bootstrap 95% interval" in report
    again = CliRunner().invoke(app, [*args, "--resume"], catch_exceptions=False)
    assert again.exit_code == 0 and len((tmp_path / "out" / "results.jsonl").read_text().splitlines()) == 3
