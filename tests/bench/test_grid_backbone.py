"""A [[grid]] table may name its own backbone (causal LM and MiniLM grids in one file, one results.jsonl)."""

from __future__ import annotations

from agileclf.bench import load_grid_file
from agileclf.bench.grid import grid_spec


def test_each_grid_names_its_backbone(tmp_path, shared_data):
    config = tmp_path / "grid.toml"
    config.write_text(
        f'data = [{{ path = "{shared_data / "sst2"}" }}]\nshots = [8]\nseeds = [0]\n'
        '[[grid]]\nbackbone = "smollm2-135m"\nmethods = ["zero-shot"]\n'
        '[[grid]]\nmethods = ["linear-probe"]\n'
    )
    first, second = (grid_spec(g, {}) for g in load_grid_file(config))
    assert first.backbone == "smollm2-135m" and second.backbone is None
