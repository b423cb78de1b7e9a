"""Benchmarks: cost tables and (later) grids over datasets, methods, shots and seeds."""
