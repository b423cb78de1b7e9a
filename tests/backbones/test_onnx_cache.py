"""Where exported ONNX graphs live (the user's cache folder, not the shared temp folder) and how it stays bounded."""

import os
from pathlib import Path

from agileclf.backbones.onnx import cache_limit, default_cache_dir, prune_cache


def test_cache_folder_is_the_users_own(monkeypatch, tmp_path):
    monkeypatch.delenv("AGILECLF_ONNX_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert default_cache_dir() == Path.home() / ".cache" / "agileclf" / "onnx"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "agileclf" / "onnx"
    monkeypatch.setenv("AGILECLF_ONNX_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("AGILECLF_ONNX_CACHE_MAX_MB", "1.5")
    assert cache_limit() == 3 << 19


def test_prune_drops_least_recently_used_graphs_past_the_bound_and_keeps_the_new_one(tmp_path):
    graphs = []
    for age, name in enumerate(["old", "mid", "new"]):
        graph = tmp_path / f"{name}.onnx"
        graph.write_bytes(b"x" * 100)
        graph.with_suffix(".inputs").write_text("input_ids")
        os.utime(graph, (1000 + age, 1000 + age))
        graphs.append(graph)
    removed = prune_cache(tmp_path, keep=graphs[0], limit=150)  # the oldest was just built: it stays
    assert removed == [graphs[1], graphs[2]]
    assert graphs[0].is_file() and not graphs[1].exists() and not graphs[1].with_suffix(".inputs").exists()
    assert prune_cache(tmp_path, keep=graphs[0], limit=150) == []
