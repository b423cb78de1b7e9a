"""Benchmarks: grids of datasets x methods (and peers) x shots x seeds with results.jsonl, report.md and plots;
the causal-LM cost table (causal_cost); dual vs consolidated multi-task models (multitask)."""

from agileclf.bench.grid import BenchGrid, Cell, DatasetSpec, load_grid_file
from agileclf.bench.runner import run_grid

__all__ = ["BenchGrid", "Cell", "DatasetSpec", "load_grid_file", "run_grid"]
