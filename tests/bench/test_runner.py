"""A micro grid end to end: results.jsonl, report.md, plots, resume, and shared samples."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from agileclf.bench import BenchGrid, DatasetSpec, run_grid
from agileclf.bench import runner as runner_module
from agileclf.bench.grid import grid_spec
from agileclf.bench.plots import write_plots
from agileclf.bench.report import write_report
from agileclf.bench.runner import read_results
from agileclf.errors import ArtifactError, ConfigError

REQUIRED = ("dataset", "method", "peer", "shots", "seed", "accuracy", "macro_f1", "fit_s", "predict_ms", "peak_mb")


def micro_grid(tiny_sets) -> BenchGrid:
    return BenchGrid(
        datasets=[DatasetSpec(p) for p in tiny_sets],
        methods=["zero-shot", "linear-probe"],
        peers=["tfidf"],
        shots=[2],
        seeds=[0, 1],
        max_test=4,
    )


def test_micro_grid_writes_results_report_and_plots(tiny_sets, tmp_path, minilm):
    out = tmp_path / "out"
    rows = run_grid(micro_grid(tiny_sets), out, backbone=minilm, log=lambda _: None)
    assert len(rows) == 2 * 3 * 2
    stored = read_results(out)
    assert stored == rows
    for row in stored:
        assert all(key in row for key in REQUIRED)
        assert 0.0 <= row["accuracy"] <= 1.0 and row["fit_s"] >= 0 and row["peak_mb"] > 0
        assert row["n_test"] <= 4
    assert {r["peer"] for r in stored if r["method"] == "tfidf"} == {True}
    assert "binary_f1" in next(r for r in stored if r["dataset"] == "sentiment")
    assert next(r for r in stored if r["method"] == "linear-probe")["fitted"]["c"] > 0  # chosen on the examples

    report = write_report(rows, out).read_text()
    assert "| sentiment | 2 |" in report and "| topic | 2 |" in report
    assert "tfidf (peer)" in report and "**" in report
    for png in write_plots(rows, out):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_method_in_a_cell_sees_the_same_examples(tiny_sets, tmp_path, minilm, monkeypatch):
    seen = defaultdict(set)
    real_run_cell = runner_module.run_cell

    def spying_run_cell(cell, sample, *args):
        seen[(cell.dataset, cell.shots, cell.seed)].add(tuple(sample.texts))
        return real_run_cell(cell, sample, *args)

    monkeypatch.setattr(runner_module, "run_cell", spying_run_cell)
    rows = run_grid(micro_grid(tiny_sets), tmp_path / "out", backbone=minilm, log=lambda _: None)
    assert all(len(samples) == 1 for samples in seen.values())
    by_group = defaultdict(set)
    for row in rows:
        by_group[(row["dataset"], row["shots"], row["seed"])].add(row["train_sha256"])
    assert all(len(hashes) == 1 for hashes in by_group.values())
    # different seeds draw different samples (4 texts per class, 2 drawn)
    assert len({h for (d, _, _), hs in by_group.items() if d == "sentiment" for h in hs}) == 2


def test_an_out_path_that_is_a_file_is_refused(tiny_sets, tmp_path):
    (tmp_path / "out").write_text("the user's own file")
    with pytest.raises(ArtifactError, match="out exists and is a file; --out takes a folder"):
        run_grid(micro_grid(tiny_sets), tmp_path / "out", log=lambda _: None)


def test_resume_skips_finished_cells_and_runs_the_rest(tiny_sets, tmp_path, minilm, monkeypatch):
    out = tmp_path / "out"
    grid = micro_grid(tiny_sets)
    rows = run_grid(grid, out, backbone=minilm, log=lambda _: None)
    with pytest.raises(ConfigError, match="--resume"):
        run_grid(grid, out, backbone=minilm, log=lambda _: None)

    # drop the last two rows and leave a torn line, as a run killed mid-write would
    path = out / "results.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-2]) + "\n" + lines[-1][:20])
    ran = []
    real_run_cell = runner_module.run_cell

    def counting_run_cell(cell, *args):
        ran.append(cell.key)
        return real_run_cell(cell, *args)

    monkeypatch.setattr(runner_module, "run_cell", counting_run_cell)
    resumed = run_grid(grid, out, resume=True, backbone=minilm, log=lambda _: None)
    assert sorted(ran) == sorted(runner_module.row_key(r) for r in rows[-2:])
    assert len(resumed) == len(rows)
    assert len([json.loads(x) for x in path.read_text().splitlines()[-2:]]) == 2

    ran.clear()
    run_grid(grid, out, resume=True, backbone=minilm, log=lambda _: None)
    assert ran == []


def test_dataset_specific_parameters_override_general_ones():
    table = {"setfit": {"num_iterations": 40, "batch_size": 8}, "setfit@massive_en": {"num_iterations": 20}}
    assert runner_module.params_for(table, "setfit", "massive_en") == {"num_iterations": 20, "batch_size": 8}
    assert runner_module.params_for(table, "setfit", "sst2") == {"num_iterations": 40, "batch_size": 8}


def test_a_variant_starts_from_its_base_methods_parameters_and_keeps_its_own_name(tmp_path):
    table = {"ipt": {"num_demos": 1, "lr": 0.3}, "ipt:random": {"demo_selection": "random"}, "ipt@trec": {"lr": 0.1}}
    assert runner_module.params_for(table, "ipt:random", "trec") == {
        "num_demos": 1,
        "lr": 0.1,
        "demo_selection": "random",
    }
    assert runner_module.params_for(table, "ipt", "sst2") == {"num_demos": 1, "lr": 0.3}
    (tmp_path / "train.jsonl").write_text('{"text": "a", "label": "x"}\n')
    (tmp_path / "test.jsonl").write_text('{"text": "a", "label": "x"}\n')
    grid = grid_spec({"datasets": [DatasetSpec(tmp_path)], "methods": ["ipt", "ipt:random"]}, {})
    assert [c.name for c in grid.cells()][:2] == ["ipt", "ipt:random"]
    with pytest.raises(ConfigError, match="unknown method 'nope'"):
        grid_spec({"datasets": [DatasetSpec(tmp_path)], "methods": ["nope:random"]}, {})


def test_a_dataset_folder_needs_train_and_test(tmp_path):
    with pytest.raises(ConfigError, match="test.jsonl"):
        (tmp_path / "train.jsonl").write_text('{"text": "a", "label": "x"}\n')
        DatasetSpec(tmp_path)


def test_a_failing_cell_is_recorded_and_the_grid_goes_on(tiny_sets, tmp_path, minilm):
    out = tmp_path / "out"
    grid = BenchGrid(
        datasets=[DatasetSpec(tiny_sets[1])], methods=["multitask", "zero-shot"], shots=[2], seeds=[0], max_test=3
    )
    rows = run_grid(grid, out, backbone=minilm, log=lambda _: None)
    failed, ok = rows
    assert failed["method"] == "multitask" and "slot" in failed["error"] and "accuracy" not in failed
    assert ok["method"] == "zero-shot" and "accuracy" in ok and "error" not in ok
    assert read_results(out) == rows
    report = write_report(rows, out).read_text()
    assert "## Failed cells (1;" in report and "multitask" in report.split("## Failed cells")[1]
    # --resume runs the failed cell again and keeps the finished one
    ran = []
    resumed = run_grid(grid, out, resume=True, backbone=minilm, log=ran.append)
    assert "resuming: 1 failed cell(s) run again" in ran
    assert [r["method"] for r in resumed] == ["zero-shot", "multitask"]


def test_default_methods_are_those_that_apply_to_the_data(tiny_sets, minilm):
    from agileclf.bench.grid import applicable_methods

    names = applicable_methods("encoder")
    assert {"zero-shot", "linear-probe", "contrastive", "finetune"} <= set(names)
    assert "multitask" not in names  # it needs slot tags, which a bench dataset does not give
    assert "icl" not in names  # a causal-LM method
    assert "ensemble" not in names  # its default pair loads SmolLM2 beside the encoder


def test_an_unreadable_line_that_is_not_the_last_is_an_error_naming_it(tmp_path):
    (tmp_path / "results.jsonl").write_text('{"a": 1}\nnot json\n{"a": 2}\n{"a": 3, "torn')
    with pytest.raises(ConfigError, match=r"results.jsonl:2: not a JSON row"):
        read_results(tmp_path)
    (tmp_path / "results.jsonl").write_text('{"a": 1}\n{"a": 3, "torn')
    assert read_results(tmp_path) == [{"a": 1}]


def test_a_capped_test_set_keeps_every_class_and_the_dev_split_can_be_scored(tiny_sets, tmp_path, minilm):
    labels = ["big"] * 95 + ["rare1", "rare2", "rare3", "rare4", "rare5"]
    rows = runner_module.capped_rows(labels, 10, seed=0)
    assert len(rows) == 10 and {labels[i] for i in rows} == set(labels) and rows == sorted(rows)
    assert rows == runner_module.capped_rows(labels, 10, seed=0)
    with pytest.raises(ConfigError, match="below the test set's 6 classes"):
        runner_module.capped_rows(labels, 5)

    topic = tiny_sets[1]
    with pytest.raises(ConfigError, match="no dev.jsonl"):
        BenchGrid(datasets=[DatasetSpec(topic)], methods=["zero-shot"], eval_split="dev")
    (topic / "dev.jsonl").write_text((topic / "train.jsonl").read_text())
    grid = BenchGrid(datasets=[DatasetSpec(topic)], methods=["zero-shot"], shots=[1], seeds=[0], eval_split="dev")
    (row,) = run_grid(grid, tmp_path / "out", backbone=minilm, log=lambda _: None)
    assert row["split"] == "dev" and row["n_test"] == 6 and row["n_test_classes"] == 3


def test_auto_in_a_grid_records_its_choice_and_the_paired_interval_against_a_peer(tiny_sets, tmp_path, minilm):
    out = tmp_path / "out"
    grid = BenchGrid(
        datasets=[DatasetSpec(tiny_sets[0])],
        methods=["auto"],
        peers=["tfidf"],
        shots=[3],
        seeds=[0],
        method_params={"auto": {"candidates": "zero-shot,linear-probe"}},
    )
    auto, peer = run_grid(grid, out, backbone=minilm, log=lambda _: None)
    assert auto["auto_choice"].split(",")[0] in ("zero-shot", "linear-probe") and auto["auto_cv_accuracy"] is not None
    assert {"fit_cpu_s", "log_loss", "ece", "load_s"} <= set(auto)
    report = write_report([auto, peer], out).read_text()
    assert "What `auto` chose" in report and "| sentiment | 3 | auto |" in report
    assert auto["auto_reason"].startswith("best out-of-fold accuracy") and auto["auto_reason"] in report
    (comparison,) = json.loads((out / "comparisons.json").read_text())
    assert comparison["method"] == "auto" and comparison["peer"] == "tfidf" and "low" in comparison


def test_a_datasets_labels_file_gives_every_method_its_descriptions(tiny_sets, tmp_path, minilm, monkeypatch):
    from agileclf.bench import load_grid_file

    (tmp_path / "topic-labels.json").write_text(json.dumps({"sport": "football", "money": "finance"}))
    (tmp_path / "grid.toml").write_text(
        'methods = ["zero-shot"]\nshots = [2]\nseeds = [0]\n'
        'data = [{ path = "topic", labels = "topic-labels.json" }, { path = "sentiment" }]\n'
    )
    (spec,) = load_grid_file(tmp_path / "grid.toml")
    seen = {}
    real_run_cell = runner_module.run_cell

    def spying_run_cell(cell, sample, label_set, *args):
        seen[cell.dataset] = label_set.descriptions
        return real_run_cell(cell, sample, label_set, *args)

    monkeypatch.setattr(runner_module, "run_cell", spying_run_cell)
    run_grid(BenchGrid(**spec), tmp_path / "out", backbone=minilm, log=lambda _: None)
    assert seen == {"topic": {"sport": "football", "money": "finance"}, "sentiment": {}}

    (tmp_path / "topic-labels.json").write_text(json.dumps({"sport": "football", "nope": "not a label"}))
    rows = run_grid(BenchGrid(**spec), tmp_path / "out2", backbone=minilm, log=lambda _: None)
    topic_rows = [r for r in rows if r["dataset"] == "topic"]
    assert topic_rows and all("describes label(s) nope" in r["error"] for r in topic_rows)

    (tmp_path / "grid.toml").write_text('data = [{ path = "topic", labels = "missing.json" }]\n')
    with pytest.raises(ConfigError, match="labels file .*missing.json does not exist"):
        load_grid_file(tmp_path / "grid.toml")
