"""bench.speed on a tiny set: every contender timed each round on the same texts, ratios against SetFit."""

from __future__ import annotations

from agileclf.bench.speed import measure


def test_speed_report_times_every_contender_against_setfit(tiny_sets, tmp_path, monkeypatch):
    monkeypatch.setenv("AGILECLF_ONNX_CACHE", str(tmp_path / "onnx-cache"))
    params = {"min_steps": 2, "passes": 1, "batch_size": 4}
    result = measure(tiny_sets[0], shots=2, rounds=2, params=params, precisions=("fp32", "onnx-int8"))
    assert result["n_test"] == 2 and result["threads"] == 1 and result["rounds"] == 2
    for name in ("setfit", "fp32", "onnx-int8"):
        row = result[name]
        assert len(row["all_s"]) == 2 and row["best_s"] == min(row["all_s"])
        assert 0.0 <= row["accuracy"] <= 1.0
    assert result["setfit"]["speedup_vs_setfit"] == 1.0
    assert result["fp32"]["accuracy_loss_vs_fp32_pt"] == 0.0
    assert set(result) >= {"setfit", "fp32", "onnx-int8"} and "int8" not in result
