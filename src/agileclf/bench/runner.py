"""Run a grid cell by cell, appending one row per cell to results.jsonl as soon as it finishes."""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from agileclf.artifact import check_output_path
from agileclf.bench.grid import BenchGrid, Cell, DatasetSpec, applicable_methods
from agileclf.bench.peers import make_peer
from agileclf.data import Dataset, LabelSet, read_examples, sample_few_shot
from agileclf.errors import ConfigError
from agileclf.evaluate import encode_truth, evaluate_with_proba
from agileclf.evaluate.timing import Stopwatch
from agileclf.progress import progress

RESULTS_FILE = "results.jsonl"
PREDICTIONS_FILE = "predictions.jsonl"  # per cell: the predicted label of every test row, for paired intervals
TEST_SAMPLE_SEED = 0  # one capped test set per dataset, shared by every cell, so cells compare like with like
METRIC_KEYS = ("accuracy", "macro_f1", "binary_f1", "roc_auc", "log_loss", "brier", "ece")


def read_jsonl_rows(path: Path) -> list[dict]:
    """Rows of a JSONL file the bench appends to; a torn last line (a run killed mid-write) is skipped, any other
    unreadable line is an error naming it. Without the file, its gzipped copy (PATH.gz, as the archived runs in
    benchmarks/results keep their predictions) is read."""
    packed = path.with_name(path.name + ".gz")
    if path.is_file():
        text = path.read_text(encoding="utf-8")
    elif packed.is_file():
        path, text = packed, gzip.decompress(packed.read_bytes()).decode("utf-8")
    else:
        return []
    lines = text.split("\n")
    torn_tail = lines[-1] != ""  # a complete file ends with a newline, leaving an empty last piece
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as err:
            if torn_tail and number == len(lines):
                continue
            raise ConfigError(
                f"{path}:{number}: not a JSON row ({err.msg}); fix or delete that line, then --resume"
            ) from None
    return rows


def read_results(out_dir: str | Path) -> list[dict]:
    """Rows of results.jsonl (see read_jsonl_rows)."""
    return read_jsonl_rows(Path(out_dir) / RESULTS_FILE)


def read_predictions(out_dir: str | Path) -> dict[tuple, dict]:
    """Per-cell predictions by row_key: {"correct": bool array over the test rows, "test_sha256": ...}."""
    table = {}
    for row in read_jsonl_rows(Path(out_dir) / PREDICTIONS_FILE):
        row["correct"] = np.frombuffer(row["correct"].encode(), dtype=np.uint8) == ord("1")
        table[row_key(row)] = row
    return table


def row_key(row: dict) -> tuple:
    return (row["dataset"], row["method"], row["shots"], row["seed"])


def _json_line(row: dict) -> str:
    # no spaces after separators: a predictions row lists every test row's label, a third smaller this way
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"


def _append_row(path: Path, row: dict) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(_json_line(row))
        handle.flush()
        os.fsync(handle.fileno())


def _rewrite(path: Path, rows: list[dict]) -> None:
    from agileclf.artifact import write_text_atomic

    write_text_atomic(path, "".join(_json_line(r) for r in rows))


def drop_failed_rows(results: Path, rows: list[dict], log: Callable[[str], None]) -> list[dict]:
    """The rows to keep on --resume: a failed cell is tried again, so its old error row goes (and a torn last
    line with it)."""
    failed = [r for r in rows if "error" in r]
    if failed:
        rows = [r for r in rows if "error" not in r]
        _rewrite(results, rows)
        log(f"resuming: {len(failed)} failed cell(s) run again")
    _drop_torn_tail(results, rows)
    return rows


def _drop_torn_tail(path: Path, rows: list[dict]) -> None:
    """Rewrite results.jsonl without a half-written last line, so the next row starts on a line of its own."""
    if path.is_file() and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
        _rewrite(path, rows)


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


def base_method(name: str) -> str:
    """The registered method of a bench name: 'ipt:random' is a variant of 'ipt' (its own parameters, its own rows)."""
    return name.partition(":")[0]


def params_for(table: dict[str, dict], name: str, dataset: str) -> dict:
    """Parameters of a method or peer: its own entry, then a `name@dataset` entry over it; a variant
    ('ipt:random') starts from its base method's entries."""
    names = [base_method(name), name] if base_method(name) != name else [name]
    entries = [entry for n in names for entry in (table.get(n, {}), table.get(f"{n}@{dataset}", {}))]
    return {k: v for entry in entries for k, v in entry.items()}


def capped_rows(labels: list[str], cap: int, seed: int = TEST_SAMPLE_SEED) -> list[int]:
    """A reproducible stratified subset of `cap` rows in file order: one row of every class first (so no class
    disappears from a capped test set), the rest drawn uniformly from the remaining rows. Fewer rows than
    classes is an error."""
    if not cap or cap >= len(labels):
        return list(range(len(labels)))
    by_class: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    if cap < len(by_class):
        raise ConfigError(f"max_test {cap} is below the test set's {len(by_class)} classes; every class keeps a row")
    rng = np.random.Generator(np.random.PCG64(seed))
    chosen = [int(rows[rng.integers(len(rows))]) for _, rows in sorted(by_class.items())]
    rest = np.setdiff1d(np.arange(len(labels)), chosen)
    chosen += rng.choice(rest, size=cap - len(chosen), replace=False).tolist()
    return sorted(chosen)


def _fit_choices(classifier) -> dict:
    """What the method chose from its training examples (a peer has no such record)."""
    return classifier.fit_choices() if hasattr(classifier, "fit_choices") else {}


def _load(spec: DatasetSpec, max_test: int, split: str = "test") -> tuple[Dataset, Dataset]:
    def read(path, text_field, label_field, scored):
        return read_examples(path, text_field, label_field, min_classes=0 if scored else 2)

    train, test = spec.load_splits(read, split)
    if max_test:
        test = test.subset(capped_rows(test.labels, max_test))
    return train, test


def run_cell(
    cell: Cell, sample: Dataset, label_set: LabelSet, test: Dataset, params: dict, backbone, n_real: int | None = None
) -> tuple[dict, dict]:
    """Fit one method or peer on the sample, evaluate it on the test set; return its results row and its
    predictions row (the predicted label and its correctness for every test row).

    `n_real`: how many of the sample's rows are real when the rest are synthetic (augmented cells)."""
    from agileclf.methods import make_method

    if cell.peer:
        classifier = make_peer(cell.method, seed=cell.seed, backbone_path=getattr(backbone, "path", None), **params)
    else:
        classifier = make_method(base_method(cell.method), backbone=backbone, **{"seed": cell.seed, **params})
    with PeakMemory() as memory, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # recorded once each and kept in the row, not hidden
        fitting = Stopwatch()
        classifier.fit(sample.texts, sample.labels, label_set=label_set)
        fit_s, fit_cpu_s = fitting.seconds()
        predicting = Stopwatch()
        result, proba = evaluate_with_proba(classifier, test.texts, test.labels)
        predict_cpu_s = predicting.seconds()[1]
    names = list(classifier.labels.names)
    predicted = proba.argmax(axis=1)
    truth, _ = encode_truth(test.labels, names)
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
        "n_test_classes": result.get("n_classes_present", 0),
        "n_unknown_label": result["n_unknown_label"],
        "train_sha256": sample.fingerprint(),
        **{k: result[k] for k in METRIC_KEYS if k in result},
        "fit_s": round(fit_s, 3),
        "fit_cpu_s": round(fit_cpu_s, 3),  # CPU seconds of this process, all threads: fair under shared load
        "predict_cpu_s": round(predict_cpu_s, 3),  # warm-up and prediction of the whole test set
        "load_s": round(result["load_s"], 3),
        "predict_ms": round(result["ms_per_example"], 4),
        "examples_per_s": round(result["examples_per_s"], 2),
        "peak_mb": round(memory.peak_mb, 1),
        "params": params,
        **(getattr(classifier, "bench_info", None) or {}),  # e.g. what `auto` chose and its CV estimate
        **({"fitted": fitted} if (fitted := _fit_choices(classifier)) else {}),  # e.g. C, the anchor gate
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    if messages:
        row["warnings"] = messages[:10]
    predictions = {
        **{k: row[k] for k in ("dataset", "method", "shots", "seed")},
        "test_sha256": test.fingerprint(),
        "labels": names,
        "predicted": predicted.tolist(),  # column ids into `labels`
        "correct": "".join("1" if ok else "0" for ok in predicted == truth),
    }
    return row, predictions


def failed_row(cell: Cell, err: BaseException, params: dict) -> dict:
    """The results row of a cell that raised: the error instead of metrics, so the grid goes on."""
    last = traceback.extract_tb(err.__traceback__)[-1:] if err.__traceback__ else []
    where = f" ({last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
    return {
        "dataset": cell.dataset,
        "method": cell.name,
        "peer": cell.peer,
        "shots": cell.shots,
        "seed": cell.seed,
        "error": f"{type(err).__name__}: {err}"[:500] + where,
        "params": params,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def augmented_sample(
    grid: BenchGrid, cell: Cell, sample: Dataset, writer, out_dir: Path, log, descriptions: dict[str, str]
) -> Dataset:
    """The sample plus synthetic rows written from it, kept under out_dir/synthetic/ (resumed when there); the
    data entry's label descriptions reach the writer's prompts and judge."""
    from agileclf.synth.augment import augment
    from agileclf.synth.run import settings_from, synthesize_with_lm

    path = out_dir / "synthetic" / f"{cell.dataset}-{cell.shots}shot-seed{cell.seed}.jsonl"
    settings = settings_from(grid.synthetic_params)
    result = synthesize_with_lm(
        sample, writer, path, grid.synthetic_per_class, cell.seed, resume=True, descriptions=descriptions, **settings
    )
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
    check_output_path(out_dir, "--out", folder=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = out_dir / RESULTS_FILE
    rows = read_results(out_dir)
    if rows and not resume:
        raise ConfigError(f"{results} already holds {len(rows)} rows; pass --resume to continue, or another --out")
    rows = drop_failed_rows(results, rows, log)
    read_jsonl_rows(out_dir / PREDICTIONS_FILE)  # an unreadable predictions file fails now, not at the report
    _drop_torn_tail(out_dir / PREDICTIONS_FILE, read_jsonl_rows(out_dir / PREDICTIONS_FILE))
    if grid.methods is None:
        from agileclf.backbones.kinds import backbone_kind

        kind = backbone_kind(backbone)
        grid.methods = applicable_methods(kind)
        log(f"methods that apply to a {kind} backbone: {', '.join(grid.methods)}")
    done = {row_key(r) for r in rows}
    todo = [c for c in grid.cells() if c.key not in done]
    if len(todo) < sum(1 for _ in grid.cells()):
        log(f"resuming: {len(done)} finished cell(s) kept, {len(todo)} to run")
    if not todo:
        return rows
    backbone = load_backbone(backbone if backbone is not None else grid.backbone)
    specs = {spec.name: spec for spec in grid.datasets}
    loaded: dict[str, tuple[Dataset, Dataset, LabelSet]] = {}
    samples: dict[tuple, Dataset] = {}
    writer, mixed = None, {}  # the synthesis LM and the augmented samples, made when a cell first needs them
    bar = progress(total=len(todo), desc="bench cells", leave=True)
    for cell in todo:
        bar.set_postfix_str(f"{cell.dataset} {cell.shots}-shot seed {cell.seed} {cell.method}")
        table = grid.peer_params if cell.peer else grid.method_params
        params = params_for(table, cell.method, cell.dataset)
        try:
            if cell.dataset not in loaded:  # one dataset in memory at a time
                train, test = _load(specs[cell.dataset], grid.max_test, grid.eval_split)
                described = specs[cell.dataset].descriptions(train.labels)
                loaded = {cell.dataset: (train, test, LabelSet.from_labels(train.labels, described))}
                samples = {}
                _note_test_set(cell.dataset, (train, test), grid, log)
            train, test, label_set = loaded[cell.dataset]
            group = (cell.shots, cell.seed)
            if group not in samples:
                drawn = sample_few_shot(train.labels, cell.shots, cell.seed)
                if drawn.short_classes:
                    log(f"note: {cell.dataset}: {drawn.describe(cell.shots)}")
                samples = {group: train.subset(drawn.indices)}
            sample = samples[group]
            n_real = len(sample)
            if cell.augmented:
                if (cell.dataset, group) not in mixed:
                    writer = writer or (load_backbone(grid.writer) if grid.writer else backbone)
                    mixed[(cell.dataset, group)] = augmented_sample(
                        grid, cell, sample, writer, out_dir, log, label_set.descriptions
                    )
                sample = mixed[(cell.dataset, group)]
            row, predictions = run_cell(cell, sample, label_set, test, params, backbone, n_real)
        except Exception as err:  # one failing cell never kills the grid: it is recorded and reported
            row, predictions = failed_row(cell, err, params), None
        row["split"] = grid.eval_split
        if predictions is not None:
            _append_row(out_dir / PREDICTIONS_FILE, {**predictions, "split": grid.eval_split})
        _append_row(results, row)
        rows.append(row)
        bar.update(1)
        peer = " (peer)" if cell.peer else ""
        if "error" in row:
            log(f"{cell.dataset} {cell.shots}-shot seed {cell.seed} {cell.name}{peer}: FAILED, {row['error']}")
        else:
            log(
                f"{cell.dataset} {cell.shots}-shot seed {cell.seed} {cell.name}{peer}: accuracy "
                f"{row['accuracy']:.4f}, fit {row['fit_s']:.1f} s, predict {row['predict_ms']:.2f} ms/example"
            )
        for message in row.get("warnings", []):
            log(f"  warning: {message}")
    bar.close()
    return rows


def _note_test_set(name: str, data: tuple[Dataset, Dataset], grid: BenchGrid, log) -> None:
    train, test = data
    classes, present = set(train.labels), set(test.labels)
    capped = f" (capped at {grid.max_test}, stratified)" if grid.max_test and len(test) == grid.max_test else ""
    log(f"{name}: {len(test)} {grid.eval_split} rows{capped}, {len(present & classes)} of {len(classes)} classes")
