"""Every grid file in benchmarks/ reads as bench grids whose methods and peers exist (no model is loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agileclf.bench.grid import BenchGrid, load_grid_file
from agileclf.bench.peers import PEER_NAMES
from agileclf.bench.runner import base_method
from agileclf.methods import method_names

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "benchmarks").glob("*.toml"))
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_a_shipped_grid_file_reads(path):
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: the grid files name datasets there (CI has it)")
    grids = [BenchGrid(**kwargs) for kwargs in load_grid_file(path)]
    names = set(method_names())
    for grid in grids:
        assert all(spec.path.is_dir() for spec in grid.datasets), path
        assert {base_method(m) for m in grid.methods or []} <= names and set(grid.augmented) <= names
        assert set(grid.peers) <= set(PEER_NAMES)
        assert list(grid.cells())
