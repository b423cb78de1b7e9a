"""Run a grid cell by cell, appending one row per cell to results.jsonl as soon as it finishes."""

from __future__ import annotations

import json
import os
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from agileclf.bench.grid import BenchGrid, Cell, DatasetSpec
from agileclf.bench.peers import make_peer
from agileclf.data import Dataset, LabelSet, read_examples, sample_few_shot, sample_rows
from agileclf.errors import ConfigError
from agileclf.evaluate import evaluate_classifier
from agileclf.progress import progress

RESULTS_FILE = "results.jsonl"
TEST_SAMPLE_SEED = 0  # one capped test set per dataset, shared by every cell, so cells compare like with like
METRIC_KEYS = ("accuracy", "macro_f1", "binary_f1", "roc_auc")


def read_results(out_dir: str | Path) -> list[dict]:
    """Rows of results.jsonl; a torn last line (a run killed mid-write) is skipped."""
    path = Path(out_dir) / RESULTS_FILE
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def row_key(row: dict) -> tuple:
    return (row["dataset"], row["method"], row["shots"], row["seed"])


def _append_row(path: Path, row: dict) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _drop_torn_tail(path: Path, rows: list[dict]) -> None:
    """Rewrite results.jsonl without a half-written last line, so the next row starts on a line of its own."""
    if path.is_file() and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
        from agileclf.artifact import write_text_atomic

        write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


class PeakMemory:
    """Peak resident memory (MB) of this process while the block runs, sampled every 20 ms by a thread."""

    def __enter__(self) -> PeakMemory:
        import psutil

        self._process = psutil.Process()
        self.peak_mb = self._process.memory_info().rss / 2**20
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 2**20)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 2**20)


def params_for(table: dict[str, dict], name: str, dataset: str) -> dict:
    """Parameters of a method or peer: its own entry, then a `name@dataset` entry over it."""
    return {**table.get(name, {}), **table.get(f"{name}@{dataset}", {})}


def _load(spec: DatasetSpec, max_test: int) -> tuple[Dataset, Dataset]:
    train = read_examples(spec.path / "train.jsonl", spec.text_field, spec.label_field, min_classes=2)
    test = read_examples(spec.path / "test.jsonl", spec.text_field, spec.label_field)
    if max_test:
        test = test.subset(sample_rows(len(test), max_test, TEST_SAMPLE_SEED))
    return train, test


def run_cell(
    cell: Cell, sample: Dataset, label_set: LabelSet, test: Dataset, params: dict, backbone, n_real: int | None = None
) -> dict:
    """Fit one method or peer on the sample, evaluate it on the test set, and return its results row.

    `n_real`: how many of the sample's rows are real when the rest are synthetic (augmented cells)."""
    from agileclf.methods import make_method

    if cell.peer:
        classifier = make_peer(cell.method, seed=cell.seed, backbone_path=getattr(backbone, "path", None), **params)
    else:
        classifier = make_method(cell.method, backbone=backbone, **{"seed": cell.seed, **params})
    with PeakMemory() as memory:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            classifier.fit(sample.texts, sample.labels, label_set=label_set)
        fit_s = time.perf_counter() - start
        result = evaluate_classifier(classifier, test.texts, test.labels)
    row = {
        "dataset": cell.dataset,
        "method": cell.name,
        "peer": cell.peer,
        "shots": cell.shots,
        "seed": cell.seed,
        "n_train": len(sample),
        "n_synthetic": len(sample) - (len(sample) if n_real is None else n_real),
        "n_classes": len(label_set),
        "n_test": result["n"],
        "train_sha256": sample.fingerprint(),
        **{k: result[k] for k in METRIC_KEYS if k in result},
        "fit_s": round(fit_s, 3),
        "predict_ms": round(result["ms_per_example"], 4),
        "examples_per_s": round(result["examples_per_s"], 2),
        "peak_mb": round(memory.peak_mb, 1),
        "params": params,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return row


def augmented_sample(grid: BenchGrid, cell: Cell, sample: Dataset, writer, out_dir: Path, log) -> Dataset:
    """The sample plus synthetic rows written from it, kept under out_dir/synthetic/ (resumed when there)."""
    from agileclf.synth.augment import augment
    from agileclf.synth.run import settings_from, synthesize_with_lm

    path = out_dir / "synthetic" / f"{cell.dataset}-{cell.shots}shot-seed{cell.seed}.jsonl"
    settings = settings_from(grid.synthetic_params)
    result = synthesize_with_lm(sample, writer, path, grid.synthetic_per_class, cell.seed, resume=True, **settings)
    if not result.complete:
        log(f"note: {cell.dataset} {cell.shots}-shot seed {cell.seed} synthesis {result.stopped}")
    mix = augment(sample.texts, sample.labels, path, cap=grid.synthetic_per_class, seed=cell.seed)
    return Dataset(mix.texts, mix.labels, list(range(1, len(mix.texts) + 1)), str(path))


def run_grid(
    grid: BenchGrid,
    out_dir: str | Path,
    resume: bool = False,
    backbone=None,
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Run every unfinished cell, appending rows to out_dir/results.jsonl; return all rows (old and new).

    Every method and peer of a (dataset, shots, seed) group is fitted on the very same sample.
    """
    from agileclf.backbones import load_backbone

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = out_dir / RESULTS_FILE
    rows = read_results(out_dir)
    if rows and not resume:
        raise ConfigError(f"{results} already holds {len(rows)} rows; pass --resume to continue, or another --out")
    _drop_torn_tail(results, rows)
    done = {row_key(r) for r in rows}
    todo = [c for c in grid.cells() if c.key not in done]
    if len(todo) < sum(1 for _ in grid.cells()):
        log(f"resuming: {len(done)} finished cell(s) kept, {len(todo)} to run")
    if not todo:
        return rows
    backbone = load_backbone(backbone if backbone is not None else grid.backbone)
    specs = {spec.name: spec for spec in grid.datasets}
    loaded: dict[str, tuple[Dataset, Dataset]] = {}
    samples: dict[tuple, tuple[Dataset, LabelSet]] = {}
    writer, mixed = None, {}  # the synthesis LM and the augmented samples, made when a cell first needs them
    bar = progress(total=len(todo), desc="bench cells", leave=True)
    for cell in todo:
        bar.set_postfix_str(f"{cell.dataset} {cell.shots}-shot seed {cell.seed} {cell.method}")
        if cell.dataset not in loaded:
            loaded = {cell.dataset: _load(specs[cell.dataset], grid.max_test)}  # one dataset in memory at a time
            samples = {}
        train, test = loaded[cell.dataset]
        group = (cell.shots, cell.seed)
        if group not in samples:
            drawn = sample_few_shot(train.labels, cell.shots, cell.seed)
            if drawn.short_classes:
                log(f"note: {cell.dataset}: {drawn.describe(cell.shots)}")
            samples = {group: (train.subset(drawn.indices), LabelSet.from_labels(train.labels))}
        sample, label_set = samples[group]
        n_real = len(sample)
        if cell.augmented:
            if (cell.dataset, group) not in mixed:
                writer = writer or (load_backbone(grid.writer) if grid.writer else backbone)
                mixed[(cell.dataset, group)] = augmented_sample(grid, cell, sample, writer, out_dir, log)
            sample = mixed[(cell.dataset, group)]
        table = grid.peer_params if cell.peer else grid.method_params
        params = params_for(table, cell.method, cell.dataset)
        row = run_cell(cell, sample, label_set, test, params, backbone, n_real)
        _append_row(results, row)
        rows.append(row)
        bar.update(1)
        log(
            f"{cell.dataset} {cell.shots}-shot seed {cell.seed} {cell.name}{' (peer)' if cell.peer else ''}: "
            f"accuracy {row['accuracy']:.4f}, fit {row['fit_s']:.1f} s, predict {row['predict_ms']:.2f} ms/example"
        )
    bar.close()
    return rows
