"""Benchmark grids: datasets x methods (and peers) x shots x seeds, results.jsonl, report.md, plots."""

from agileclf.bench.grid import BenchGrid, Cell, DatasetSpec, load_grid_file
from agileclf.bench.runner import run_grid

__all__ = ["BenchGrid", "Cell", "DatasetSpec", "load_grid_file", "run_grid"]
