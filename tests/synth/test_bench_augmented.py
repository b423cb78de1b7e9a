"""bench with augmented variants: the same method on the real sample and on sample + synthetic rows from it."""

from __future__ import annotations

import json

from causal_synthetic import task_split

from agileclf.bench import BenchGrid, DatasetSpec, run_grid
from agileclf.bench.runner import read_results


def test_bench_runs_method_and_method_plus_synthetic_and_resumes(tiny_writer, tmp_path):
    folder = tmp_path / "toy"
    folder.mkdir()
    for split, seed in (("train", 1), ("test", 2)):
        texts, labels = task_split(4, seed=seed)
        (folder / f"{split}.jsonl").write_text("".join(json.dumps({"text": t, "label": y}) + "\n"
                                                       for t, y in zip(texts, labels, strict=True)))  # fmt: skip
    grid = BenchGrid(
        datasets=[DatasetSpec(folder)], methods=["icl"], augmented=["icl"], shots=[2], seeds=[0], max_test=8,
        synthetic_per_class=3, synthetic_params={"max_new_tokens": "10", "label": "false", "length": "false"},
    )  # fmt: skip
    out = tmp_path / "out"
    rows = run_grid(grid, out, backbone=str(tiny_writer), log=lambda _: None)
    by_method = {r["method"]: r for r in rows}
    assert set(by_method) == {"icl", "icl+synthetic"}
    assert by_method["icl"]["n_train"] == 8 and by_method["icl+synthetic"]["n_train"] == 8 + 12
    assert by_method["icl+synthetic"]["n_synthetic"] == 12 and by_method["icl"]["n_synthetic"] == 0
    synthetic = out / "synthetic" / "toy-2shot-seed0.jsonl"
    kept = [json.loads(line) for line in synthetic.read_text().splitlines()]
    assert len(kept) == 12 and {r["source"] for r in kept} == {"synthetic"}

    # resume: a new cell (another seed) runs; the finished ones and their synthetic file are left as they are
    before = synthetic.read_text()
    grid.seeds = [0, 1]
    rows = run_grid(grid, out, resume=True, backbone=str(tiny_writer), log=lambda _: None)
    assert len(read_results(out)) == 4 and synthetic.read_text() == before
    assert (out / "synthetic" / "toy-2shot-seed1.jsonl").is_file()
