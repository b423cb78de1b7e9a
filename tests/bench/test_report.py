"""report.md: mean ± std per dataset x shots x method, best of each row in bold, peers marked."""

from __future__ import annotations

from agileclf.bench.report import markdown_report, summarize


def row(method, seed, accuracy, peer=False, dataset="sst2", shots=8, params=None):
    return {
        "dataset": dataset,
        "method": method,
        "peer": peer,
        "shots": shots,
        "seed": seed,
        "accuracy": accuracy,
        "macro_f1": accuracy - 0.01,
        "fit_s": 2.0,
        "predict_ms": 1.5,
        "peak_mb": 900.0,
        "params": params or {},
    }


ROWS = [
    row("contrastive", 0, 0.80),
    row("contrastive", 1, 0.70),
    row("setfit", 0, 0.60, peer=True, params={"num_iterations": 20}),
    row("setfit", 1, 0.64, peer=True, params={"num_iterations": 20}),
]


def test_summary_has_means_and_sample_std():
    summary = {e["method"]: e for e in summarize(ROWS)}
    assert abs(summary["contrastive"]["accuracy"] - 0.75) < 1e-9
    assert abs(summary["contrastive"]["accuracy_std"] - 0.0707107) < 1e-6
    assert summary["setfit"]["seeds"] == [0, 1]


def test_best_method_of_a_row_is_bold_and_peers_are_marked():
    report = markdown_report(ROWS)
    assert "| contrastive | setfit (peer) |" in report
    assert "| sst2 | 8 | – | **75.0 ± 7.1 (2)** | 62.0 ± 2.8 (2) |" in report
    assert "num_iterations=20" in report


def test_real_vs_synthetic_table_orders_models_by_examples_per_class():
    plain = [{**row("lora", s, 0.70, shots=25), "n_synthetic": 0, "n_classes": 2} for s in (0, 1)]
    small = [{**row("lora", s, 0.55, shots=4), "n_synthetic": 0, "n_classes": 2} for s in (0, 1)]
    mixed = [{**row("lora+synthetic", s, 0.66, shots=4), "n_synthetic": 42, "n_classes": 2} for s in (0, 1)]
    report = markdown_report(plain + small + mixed)
    table = report.split("Real vs synthetic")[1].splitlines()
    body = [line for line in table if line.startswith("| sst2")]
    assert body == [
        "| sst2 | lora | 4 | 0.0 | 55.0 ± 0.0 | 2.0 |",
        "| sst2 | lora | 25 | 0.0 | 70.0 ± 0.0 | 2.0 |",
        "| sst2 | lora+synthetic | 4 | 21.0 | 66.0 ± 0.0 | 2.0 |",
    ]
    assert "Real vs synthetic" not in markdown_report(ROWS)  # no synthetic rows, no such table


def test_every_method_against_each_peer_on_common_seeds_with_paired_intervals():
    import numpy as np

    rows = [
        *ROWS,
        row("finetune", 0, 0.78),  # seed 2 has no setfit row: the pairing leaves it out
        {**row("finetune", 1, 0.74), "fit_s": 0.5},
        row("finetune", 2, 0.10),
    ]
    rng = np.random.default_rng(0)
    predictions = {}
    for r in rows:
        n_right = int(round(r["accuracy"] * 200))
        correct = np.zeros(200, dtype=bool)
        correct[rng.choice(200, n_right, replace=False)] = True
        predictions[(r["dataset"], r["method"], r["shots"], r["seed"])] = {"correct": correct, "test_sha256": "t"}
    report = markdown_report(rows, predictions=predictions)
    table = report.split("Every agileclf method against each peer")[1].splitlines()
    body = [line for line in table if line.startswith("| sst2 | 8 | ")]
    assert body[0].startswith("| sst2 | 8 | contrastive | 75.0 ± 7.1 | setfit (peer) | 62.0 ± 2.8 | +13.0 | [")
    assert body[1].startswith("| sst2 | 8 | finetune | 76.0 ± 2.8 | setfit (peer) | 62.0 ± 2.8 | +14.0 | [")
    assert "| win | 2 | 1.6x; – | 1.00x |" in body[1]
    assert "Per cell (one seed)" in report and "| sst2 | 8 | 1 | finetune | setfit | +10.0 | [" in report
    without = markdown_report(rows)  # no predictions stored: the differences, no intervals
    assert "– (no predictions stored)" in without
    assert "against each peer" not in markdown_report([row("contrastive", 0, 0.8)])


def test_failed_cells_are_listed_with_their_errors_and_left_out_of_the_means():
    failed = {**{k: v for k, v in row("multitask", 0, 0.0).items() if k != "accuracy"}, "error": "DataError: no slots"}
    report = markdown_report([*ROWS, failed])
    assert "5 cells (1 failed)" in report
    assert "## Failed cells (1;" in report and "| sst2 | 8 | 0 | multitask | DataError: no slots |" in report
    assert "multitask |" not in report.split("## Failed cells")[0]
