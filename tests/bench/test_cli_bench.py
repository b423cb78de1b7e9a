"""`agileclf bench` wiring: flags to a grid, output contract, resume, user errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agileclf.cli import app


def test_bench_command_writes_the_output_contract_and_resumes(tiny_sets, tmp_path):
    out = tmp_path / "out"
    args = ["bench", "-q", "--methods", "", "--peers", "tfidf", "--shots", "1,2", "--seeds", "0,1", "--out", str(out)]
    args += [x for p in tiny_sets for x in ("--data", str(p))] + ["--max-test", "3", "-p", "tfidf@topic.c=1.0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 2 * 2 and all(r["peer"] for r in rows)
    assert {r["dataset"]: r["params"] for r in rows} == {"sentiment": {}, "topic": {"c": 1.0}}
    assert "| topic | 2 |" in result.stdout
    assert {p.name for p in out.iterdir()} >= {"results.jsonl", "report.md", "learning_curves.png", "seed_spread.png"}

    again = CliRunner().invoke(app, args)
    assert again.exit_code != 0 and "--resume" in str(again.exception)
    resumed = CliRunner().invoke(app, [*args, "--resume", "--seeds", "0,1,2"])
    assert resumed.exit_code == 0, resumed.output
    assert len((out / "results.jsonl").read_text().splitlines()) == 2 * 2 * 3


def test_a_grid_file_with_two_grids_fills_one_results_file(tiny_sets, tmp_path):
    config = tmp_path / "grid.toml"
    config.write_text(
        'methods = []\npeers = ["tfidf"]\nmax_test = 3\n'
        '[[grid]]\nshots = [1]\nseeds = [0, 1]\ndata = [{path = "sentiment"}, {path = "topic"}]\n'
        '[[grid]]\nshots = [2]\nseeds = [0]\ndata = [{path = "topic"}]\n'
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["bench", "-q", "--config", str(config), "--out", str(out), "-p", "tfidf.c=2"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    cells = sorted((r["dataset"], r["shots"], r["seed"]) for r in rows)
    assert cells == [("sentiment", 1, 0), ("sentiment", 1, 1), ("topic", 1, 0), ("topic", 1, 1), ("topic", 2, 0)]
    assert all(r["params"] == {"c": 2} for r in rows)  # a -p flag reaches every grid of the file
    assert "| topic | 2 |" in result.stdout and "| sentiment | 1 |" in result.stdout


def test_unknown_peer_is_reported_before_any_work(tiny_sets, tmp_path):
    result = CliRunner().invoke(app, ["bench", "--data", str(tiny_sets[0]), "--peers", "gpt", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "unknown peer" in str(result.exception)
