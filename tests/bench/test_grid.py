"""Grids from a TOML file, and the order of cells (one sample per dataset x shots x seed)."""

from __future__ import annotations

import pytest

from agileclf.bench import BenchGrid, DatasetSpec, load_grid_file
from agileclf.errors import ConfigError


def test_toml_grid_file_with_relative_dataset_paths(tiny_sets, tmp_path):
    config = tmp_path / "grid.toml"
    config.write_text(
        'methods = ["linear-probe"]\npeers = ["setfit"]\nshots = [8, 64]\nseeds = [0, 1]\nmax_test = 500\n'
        '[peer_params."setfit@topic"]\nnum_iterations = 20\n'
        '[[data]]\npath = "sentiment"\n[[data]]\npath = "topic"\nlabel_field = "label"\n'
    )
    (only,) = load_grid_file(config)
    grid = BenchGrid(**only)
    assert [d.name for d in grid.datasets] == ["sentiment", "topic"]
    assert grid.peer_params == {"setfit@topic": {"num_iterations": 20}}
    cells = list(grid.cells())
    assert len(cells) == 2 * 2 * 2 * 2
    first_group = [(c.method, c.peer) for c in cells[:2]]
    assert first_group == [("linear-probe", False), ("setfit", True)]  # methods and peers of one sample together


def test_grid_tables_share_the_top_level_keys_and_override_them(tiny_sets, tmp_path):
    config = tmp_path / "grid.toml"
    config.write_text(
        'methods = ["linear-probe"]\npeers = ["setfit"]\nmax_test = 300\n'
        "[peer_params.setfit]\nbatch_size = 8\n"
        '[[grid]]\nshots = [8]\nseeds = [0, 1, 2]\ndata = [{path = "sentiment"}, {path = "topic"}]\n'
        '[[grid]]\nshots = [64]\nseeds = [0]\ndata = [{path = "topic"}]\n'
        '[grid.peer_params."setfit@topic"]\nnum_iterations = 20\n'
    )
    small, large = (BenchGrid(**g) for g in load_grid_file(config))
    assert (small.shots, small.seeds, [d.name for d in small.datasets]) == ([8], [0, 1, 2], ["sentiment", "topic"])
    assert (large.shots, large.seeds, [d.name for d in large.datasets]) == ([64], [0], ["topic"])
    assert small.max_test == large.max_test == 300 and small.methods == large.methods == ["linear-probe"]
    assert small.peer_params == {"setfit": {"batch_size": 8}}
    assert large.peer_params == {"setfit": {"batch_size": 8}, "setfit@topic": {"num_iterations": 20}}


def test_a_bad_grid_table_is_named(tiny_sets, tmp_path):
    config = tmp_path / "grid.toml"
    config.write_text("[[grid]]\nshots = [8]\n[[grid]]\nshot = [64]\n")
    with pytest.raises(ConfigError, match=r"\[\[grid\]\] number 2: unknown key\(s\) shot"):
        load_grid_file(config)
    config.write_text('[[grid]]\ndata = [{label_field = "intent"}]\n')
    with pytest.raises(ConfigError, match=r"a \[\[data\]\] table needs `path`"):
        load_grid_file(config)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('shots = "eight"\n', r"`shots` must be a list of integers, e.g. \[8, 64\], not 'eight'"),
        ("max_test = true\n", "`max_test` must be an integer, not True"),
        ('[[grid]]\nseeds = [0, "1"]\n', r"\[\[grid\]\] number 1: `seeds` must be a list of integers"),
        ('data = [{path = "sst2", dev_rows = "x"}]\n', r"\[\[data\]\] 'sst2': `dev_rows` must be an integer"),
        ('data = "sst2"\n', "`data` must be a list of tables"),
    ],
)
def test_a_wrongly_typed_value_is_named_with_its_file_and_key(tmp_path, content, message):
    config = tmp_path / "grid.toml"
    config.write_text(content)
    with pytest.raises(ConfigError, match=rf"grid.toml.*{message}"):
        load_grid_file(config)


def test_one_shot_count_or_method_name_stands_for_a_list_of_one(tiny_sets, tmp_path):
    config = tmp_path / "grid.toml"
    config.write_text(f'methods = "linear-probe"\nshots = 4\nseeds = 0\ndata = [{{path = "{tiny_sets[0]}"}}]\n')
    (grid,) = load_grid_file(config)
    assert (grid["methods"], grid["shots"], grid["seeds"]) == (["linear-probe"], [4], [0])
    config.write_text(f'data = ["{tiny_sets[0]}"]\n')  # a path alone stands for {{path = ...}}
    (grid,) = load_grid_file(config)
    assert [d.path for d in grid["datasets"]] == [tiny_sets[0]]


def test_unknown_keys_in_a_grid_file_are_named(tmp_path):
    config = tmp_path / "grid.toml"
    config.write_text('method = ["finetune"]\n')
    with pytest.raises(ConfigError, match="unknown key.*method"):
        load_grid_file(config)


def test_augmented_variants_run_only_at_their_shots(tiny_sets):
    grid = BenchGrid(
        datasets=[DatasetSpec(tiny_sets[1])], methods=["lora"], augmented=["lora"], shots=[4, 25],
        seeds=[0], augmented_shots=[4],
    )  # fmt: skip
    assert [(c.name, c.shots) for c in grid.cells()] == [("lora", 4), ("lora+synthetic", 4), ("lora", 25)]
    with pytest.raises(ConfigError, match=r"augmented shots \[8\] are not among"):
        BenchGrid(datasets=grid.datasets, methods=["lora"], augmented=["lora"], shots=[4], augmented_shots=[8])


def test_dev_rows_carve_a_dev_split_from_train_that_leaves_the_pool(tiny_sets, tmp_path):
    from agileclf.data.readers import read_examples

    def read(path, text_field, label_field, scored):
        return read_examples(path, text_field, label_field)

    topic = tiny_sets[1]
    (tmp_path / "grid.toml").write_text('methods = ["zero-shot"]\ndata = [{ path = "topic", dev_rows = 4 }]\n')
    (grid,) = load_grid_file(tmp_path / "grid.toml")
    spec = grid["datasets"][0]
    everything = read_examples(topic / "train.jsonl")
    pool, dev = spec.load_splits(read, "dev")
    assert len(dev.texts) == 4 and len(pool.texts) == len(everything.texts) - 4
    assert not set(dev.texts) & set(pool.texts) and set(dev.texts) | set(pool.texts) == set(everything.texts)
    assert spec.load_splits(read, "dev")[1].texts == dev.texts  # the same rows every run
    test_pool, test = spec.load_splits(read, "test")
    assert test_pool.texts == pool.texts and str(test.path).endswith("test.jsonl")  # scoring test keeps them out too
    BenchGrid(datasets=[spec], methods=["zero-shot"], eval_split="dev")  # a dev split exists now

    with pytest.raises(ConfigError, match="leaves no training rows"):
        DatasetSpec(topic, dev_rows=len(everything.texts)).load_splits(read, "dev")
    (topic / "dev.jsonl").write_text((topic / "train.jsonl").read_text())
    with pytest.raises(ConfigError, match="it has a dev.jsonl"):
        DatasetSpec(topic, dev_rows=4)
