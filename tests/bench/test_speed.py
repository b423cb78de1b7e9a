"""bench.speed on a tiny set: every contender timed each round on the same texts, ratios against SetFit."""

from __future__ import annotations

import numpy as np

from agileclf.bench.speed import measure, timed_rounds


def test_speed_report_times_every_contender_against_setfit(tiny_sets, tmp_path, monkeypatch):
    monkeypatch.setenv("AGILECLF_ONNX_CACHE", str(tmp_path / "onnx-cache"))
    params = {"min_steps": 2, "steps_per_label": 0, "passes": 1, "batch_size": 4}
    result = measure(tiny_sets[0], shots=2, rounds=2, params=params, precisions=("fp32", "onnx-int8"))
    assert result["n_test"] == 2 and result["threads"] == 1 and result["rounds"] == 2
    for name in ("setfit", "fp32", "onnx-int8"):
        row = result[name]
        assert len(row["wall_s"]) == len(row["cpu_s"]) == 2 and row["best_wall_s"] == min(row["wall_s"])
        assert 0.0 <= row["accuracy"] <= 1.0
    assert result["setfit"]["speedup_vs_setfit_wall"] == result["setfit"]["speedup_vs_setfit_cpu"] == 1.0
    assert result["fp32"]["accuracy_loss_vs_fp32_pt"] == 0.0
    assert set(result) >= {"setfit", "fp32", "onnx-int8"} and "int8" not in result


def test_interleaved_slices_are_put_back_in_test_order():
    texts = [f"text number {i}" for i in range(11)]
    calls = []

    def identify(batch):
        calls.append(len(batch))
        return np.array([[float(text.split()[-1])] for text in batch])

    wall, cpu, proba = timed_rounds({"a": identify, "b": identify}, texts, rounds=2, chunks=4)
    np.testing.assert_array_equal(proba["a"][:, 0], np.arange(11))
    assert len(wall["b"]) == len(cpu["b"]) == 2 and sum(calls) == 2 * 2 * 11 and max(calls) == 3
