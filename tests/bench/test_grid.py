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
    grid = BenchGrid(**load_grid_file(config))
    assert [d.name for d in grid.datasets] == ["sentiment", "topic"]
    assert grid.peer_params == {"setfit@topic": {"num_iterations": 20}}
    cells = list(grid.cells())
    assert len(cells) == 2 * 2 * 2 * 2
    first_group = [(c.method, c.peer) for c in cells[:2]]
    assert first_group == [("linear-probe", False), ("setfit", True)]  # methods and peers of one sample together


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
