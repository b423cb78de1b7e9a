"""Multi-label benchmark cells: agileclf's multi-label methods (thresholds by CV on the sample) and SetFit
one-vs-rest, on the same greedy K-per-label samples; results.jsonl, test predictions for the paired bootstrap,
and report.md (the best method per seed is chosen by its out-of-fold macro-F1, never by test data)."""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from agileclf.bench.grid import BenchGrid, Cell, DatasetSpec
from agileclf.bench.peers import SetFitPeer
from agileclf.bench.report import failed_cells
from agileclf.bench.runner import (
    RESULTS_FILE,
    PeakMemory,
    _append_row,
    _fit_choices,
    base_method,
    drop_failed_rows,
    failed_row,
    params_for,
    read_results,
    row_key,
)
from agileclf.data.labels import LabelSet
from agileclf.data.multilabel import MultiLabelDataset, looks_multilabel, read_multilabel_examples, sample_multilabel
from agileclf.data.sampling import sample_rows
from agileclf.errors import ConfigError
from agileclf.evaluate.multilabel import (
    cv_thresholds,
    evaluate_multilabel,
    indicator,
    multilabel_metrics,
    paired_bootstrap,
    with_top_label,
)
from agileclf.evaluate.timing import Stopwatch

METRICS = ("macro_f1", "micro_f1", "samples_f1", "subset_accuracy", "hamming_loss", "roc_auc", "label_ranking_ap")
PREDICTIONS_DIR = "predictions"


class SetFitOneVsRestPeer(SetFitPeer):
    """SetFit 1.2 with multi_target_strategy="one-vs-rest" and its defaults; label sets by its own 0.5 rule."""

    model_kwargs = {"multi_target_strategy": "one-vs-rest"}
    task = "multilabel"
    threshold_source = "setfit (0.5)"
    keep_top_label = False  # True: each row also keeps its most probable label (agileclf's rule)

    def fit(self, texts, labels, valid=None, label_set: LabelSet | None = None):
        self.labels = label_set or LabelSet.from_labels(label for row in labels for label in row)
        self._fit(list(texts), indicator(labels, self.labels.names))
        return self

    def _label_column(self, y: np.ndarray) -> list:
        return y.astype(int).tolist()

    def predict_proba(self, texts) -> np.ndarray:
        return np.asarray(self.model.predict_proba(list(texts), as_numpy=True, show_progress_bar=False), np.float32)

    def decide(self, proba: np.ndarray, threshold: float | None = None, top_k=None) -> list[list[str]]:
        chosen = proba >= (0.5 if threshold is None else threshold)
        if self.keep_top_label:
            chosen = with_top_label(chosen, proba)
        return [[self.labels.names[j] for j in np.flatnonzero(row)] for row in chosen]


# SetFit's own rule (0.5 per label) can answer "no label" for every row when 8 examples per label make every
# head unsure; the same fit is also scored with the rule agileclf's methods apply (each row keeps its top label),
# so a comparison never rests on that one weakness alone.
SETFIT_RULES = {"setfit": False, "setfit-top1": True}


def multilabel_spec(spec: DatasetSpec) -> DatasetSpec | None:
    """The spec when its train.jsonl holds label lists (field 'labels' when the default 'label' is absent)."""
    if looks_multilabel(spec.path / "train.jsonl", spec.label_field):
        return spec
    if spec.label_field == "label" and looks_multilabel(spec.path / "train.jsonl", "labels"):
        return DatasetSpec(spec.path, spec.name, spec.text_field, "labels", spec.dev_rows, spec.labels)
    return None


def multilabel_grid(grid: BenchGrid, methods_given: bool) -> BenchGrid | None:
    """The grid with its datasets' label fields resolved, when every dataset is multi-label (None when none is;
    a mix is an error). Without --methods, every method with a multi-label variant runs."""
    from agileclf.methods.registry import task_method_classes, task_method_names

    specs = [multilabel_spec(spec) for spec in grid.datasets]
    if not any(specs):
        return None
    if not all(specs):
        single = [s.name for s, m in zip(grid.datasets, specs, strict=True) if m is None]
        raise ConfigError(f"a bench grid is single-label or multi-label; {', '.join(single)} hold(s) single labels")
    methods = grid.methods if methods_given else task_method_names("multilabel")
    for name in methods:
        task_method_classes("multilabel", base_method(name))  # a variant ('icl:other-prompt') is its base method
    return dataclasses.replace(grid, datasets=specs, methods=methods)


def _load(spec, max_test: int, split: str = "test") -> tuple[MultiLabelDataset, MultiLabelDataset]:
    """The training pool and the rows every cell is scored on: the test split, or the dev split (eval_split)."""

    def read(path, text_field, label_field, scored):
        if scored:
            return read_multilabel_examples(path, text_field, label_field, on_conflict="keep-all")
        return read_multilabel_examples(path, text_field, label_field, min_classes=2)

    train, test = spec.load_splits(read, split)
    if max_test:
        test = test.subset(sample_rows(len(test), max_test, 0))
    return train, test


def run_multilabel_grid(
    grid: BenchGrid, out_dir: str | Path, resume: bool = False, backbone=None, log: Callable[[str], None] = print
) -> list[dict]:
    """Run every unfinished (dataset, shots, seed, method) cell; one results row each, appended as it ends."""
    from agileclf.backbones import load_backbone
    from agileclf.methods.registry import make_task_method

    unknown = set(grid.peers) - {"setfit"}
    if unknown:
        raise ConfigError(f"multi-label benchmarks take the peer setfit only, not {', '.join(sorted(unknown))}")
    out_dir = Path(out_dir)
    (out_dir / PREDICTIONS_DIR).mkdir(parents=True, exist_ok=True)
    rows = read_results(out_dir)
    if rows and not resume:
        raise ConfigError(f"{out_dir / RESULTS_FILE} already holds {len(rows)} rows; pass --resume, or another --out")
    rows = drop_failed_rows(out_dir / RESULTS_FILE, rows, log)
    done = {row_key(r) for r in rows}
    backbone = load_backbone(backbone if backbone is not None else grid.backbone)
    for spec in grid.datasets:
        train, test = _load(spec, grid.max_test, grid.eval_split)
        log(f"{spec.name}: {len(test)} {grid.eval_split} rows")
        label_set = LabelSet.from_labels(train.classes, spec.descriptions(train.classes))
        truth = indicator(test.labels, label_set.names)
        np.save(out_dir / PREDICTIONS_DIR / f"{spec.name}-truth.npy", truth)
        for shots in grid.shots:
            for seed in grid.seeds:
                drawn = sample_multilabel(train.labels, shots, seed)
                sample = train.subset(drawn.indices)
                cells = [(m, False) for m in grid.methods] + [(p, True) for p in grid.peers]
                for name, peer in cells:
                    names = list(SETFIT_RULES) if peer else [name]
                    if all((spec.name, n, shots, seed) in done for n in names):
                        continue
                    params = dict(params_for(grid.peer_params if peer else grid.method_params, name, spec.name))
                    folds = int(params.pop("cv_folds", 3))

                    def make(name=name, params=params, seed=seed):
                        return make_task_method("multilabel", base_method(name), backbone, **{"seed": seed, **params})

                    try:
                        done_rows = _run_cell(spec.name, name, peer, shots, seed, sample, label_set, test, truth,
                                              make, folds, params, backbone, out_dir)  # fmt: skip
                    except Exception as err:  # one failing cell never kills the grid: recorded and reported
                        cell = Cell(spec.name, name, peer, shots, seed)
                        done_rows = [
                            {**failed_row(cell, err, params), "method": n, "task": "multilabel"} for n in names
                        ]
                    for row in done_rows:
                        row["split"] = grid.eval_split
                        _append_row(out_dir / RESULTS_FILE, row)
                        rows.append(row)
                        log(_cell_line(row, shots, seed))
    return rows


def _cell_line(row: dict, shots: int, seed: int) -> str:
    where = f"{row['dataset']} {shots}/label seed {seed} {row['method']}"
    if "error" in row:
        return f"{where}: FAILED, {row['error']}"
    cv = f", CV {row['cv_macro_f1']:.4f}" if row["cv_macro_f1"] is not None else ""
    line = f"{where}: macro-F1 {row['macro_f1']:.4f}{cv}, fit {row['fit_s']:.0f} s"
    return "\n".join([line, *(f"  warning: {message}" for message in row.get("warnings", []))])


def _run_cell(dataset, name, peer, shots, seed, sample, label_set, test, truth, make, folds, params, backbone, out):
    with PeakMemory() as memory, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # recorded once each and kept in the rows, not hidden
        fitting = Stopwatch()
        if peer:
            classifier = SetFitOneVsRestPeer(seed=seed, backbone_path=getattr(backbone, "path", None), **params)
        else:
            classifier = make()
        classifier.fit(sample.texts, sample.labels, label_set=label_set)
        fit_s, fit_cpu_s = fitting.seconds()
        cv: dict = {}
        if not peer:  # thresholds and the quality estimate come from the sample alone
            choosing = Stopwatch()
            chosen, cv = cv_thresholds(make, sample.texts, sample.labels, label_set, folds, seed)
            classifier.set_thresholds(chosen, "cv", cv["top_ratio"])
            cv["seconds"], cv["cpu_seconds"] = choosing.seconds()
        result = evaluate_multilabel(classifier, test.texts, test.labels, keep_predictions=True)
        results = {name: result}
        if peer:  # one fit and one prediction pass, scored by SetFit's rule and by the top-label rule
            results = {}
            for rule, keep_top in SETFIT_RULES.items():
                classifier.keep_top_label = keep_top
                predicted = indicator(classifier.decide(result["proba"]), label_set.names)
                metrics = multilabel_metrics(truth, predicted, result["proba"], label_set.names)
                results[rule] = {**result, **metrics, "predicted": predicted}
    fit = {"fit_s": round(fit_s, 3), "fit_cpu_s": round(fit_cpu_s, 3)}  # CPU: this process's threads, fair under load
    rows = [_cell_row(dataset, rule, peer, shots, seed, sample, label_set, result, cv, fit, memory, params, out)
            for rule, result in results.items()]  # fmt: skip
    if fitted := _fit_choices(classifier):  # e.g. the prompt the search chose on the sample (peers: none)
        rows = [{**row, "fitted": fitted} for row in rows]
    messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught})[:10]
    return [{**row, "warnings": messages} if messages else row for row in rows]


def _cell_row(dataset, name, peer, shots, seed, sample, label_set, result, cv, fit, memory, params, out) -> dict:
    predicted = result.pop("predicted")
    result.pop("proba")
    np.save(out / PREDICTIONS_DIR / f"{dataset}-{shots}-{seed}-{name}.npy", predicted)
    return {
        "dataset": dataset,
        "method": name,
        "peer": peer,
        "task": "multilabel",
        "shots": shots,
        "seed": seed,
        "n_train": len(sample),
        "n_labels": len(label_set),
        "n_test": result["n"],
        "train_sha256": sample.fingerprint(),
        **{k: result[k] for k in METRICS if k in result},
        "cv_macro_f1": cv.get("macro_f1"),
        "top_ratio": cv.get("top_ratio"),
        "cv_s": round(cv.get("seconds", 0.0), 3),
        "cv_cpu_s": round(cv.get("cpu_seconds", 0.0), 3),
        **fit,
        "predict_ms": round(result["ms_per_example"], 4),
        "examples_per_s": round(result["examples_per_s"], 2),
        "peak_mb": round(memory.peak_mb, 1),
        "params": params,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_multilabel_report(rows: list[dict], out_dir: str | Path, n_boot: int = 1000) -> Path:
    """report.md: mean ± std per method; the best agileclf method per seed by out-of-fold macro-F1 against
    SetFit with a paired bootstrap interval over test rows (pooled over the seeds both ran)."""
    from agileclf.artifact import write_text_atomic

    out_dir = Path(out_dir)
    rows = [r for r in rows if r.get("task") == "multilabel"]
    scored = [r for r in rows if "error" not in r]
    splits = sorted({r.get("split", "test") for r in scored}) or ["test"]
    lines = ["# Multi-label benchmark", "", f"Scored on the {'/'.join(splits)} split.", ""]
    comparisons = []
    for (dataset, shots), group in _groups(scored).items():
        lines += [f"## {dataset}, {shots} examples per label", "",
                  "| method | seeds | macro-F1 | micro-F1 | samples-F1 | CV macro-F1 | fit s | CV s | examples/s |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        by_method: dict[str, list[dict]] = {}
        for row in group:
            by_method.setdefault(row["method"] + (" (peer)" if row["peer"] else ""), []).append(row)
        for method, items in by_method.items():
            cv = [r["cv_macro_f1"] for r in items if r.get("cv_macro_f1") is not None]
            lines.append(
                f"| {method} | {len(items)} | {_ms(items, 'macro_f1')} | {_ms(items, 'micro_f1')} | "
                f"{_ms(items, 'samples_f1')} | {f'{np.mean(cv):.3f}' if cv else '-'} | "
                f"{np.mean([r['fit_s'] for r in items]):.0f} | {np.mean([r['cv_s'] for r in items]):.0f} | "
                f"{np.mean([r['examples_per_s'] for r in items]):.0f} |"
            )
        text, comparison = _versus_setfit(group, out_dir, dataset, shots, n_boot)
        lines += ["", *text, ""]
        comparisons += comparison
    lines += failed_cells(rows)
    path = out_dir / "report.md"
    write_text_atomic(path, "\n".join(lines) + "\n")
    json_path = out_dir / "report.json"
    write_text_atomic(json_path, json.dumps({"versus_setfit": comparisons}, indent=1) + "\n")
    return path


def _groups(rows: list[dict]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["shots"]), []).append(row)
    return groups


def _ms(items: list[dict], key: str) -> str:
    values = [r[key] for r in items if key in r]
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if values else "-"


def _versus_setfit(group: list[dict], out_dir: Path, dataset: str, shots: int, n_boot: int) -> tuple[list, list]:
    """The CV-chosen agileclf method of each seed against each SetFit rule on that seed, paired over test rows."""
    truth = np.load(out_dir / PREDICTIONS_DIR / f"{dataset}-truth.npy")
    lines, comparisons = [], []
    for rule in SETFIT_RULES:
        seeds = sorted({r["seed"] for r in group if r["peer"] and r["method"] == rule}
                       & {r["seed"] for r in group if not r["peer"]})  # fmt: skip
        if not seeds:
            continue
        ours, theirs, picked = [], [], []
        for seed in seeds:
            candidates = [r for r in group if not r["peer"] and r["seed"] == seed and r.get("cv_macro_f1") is not None]
            best = max(candidates, key=lambda r: r["cv_macro_f1"])
            picked.append(best["method"])
            ours.append(np.load(out_dir / PREDICTIONS_DIR / f"{dataset}-{shots}-{seed}-{best['method']}.npy"))
            theirs.append(np.load(out_dir / PREDICTIONS_DIR / f"{dataset}-{shots}-{seed}-{rule}.npy"))
        boot = paired_bootstrap(truth, ours, theirs, n_boot=n_boot, seed=0)
        comparisons.append({"dataset": dataset, "shots": shots, "peer": rule, "seeds": seeds, "picked": picked, **boot})
        lines.append(
            f"- Against `{rule}` ({'each row keeps its top label' if SETFIT_RULES[rule] else 'its own 0.5 rule'}): "
            f"best agileclf method per seed by out-of-fold macro-F1 on the sample: {', '.join(picked)} "
            f"(seeds {', '.join(map(str, seeds))}). Macro-F1 minus SetFit one-vs-rest: **{100 * boot['delta']:+.1f} "
            f"points**, paired bootstrap 95% interval [{100 * boot['ci_low']:+.1f}, {100 * boot['ci_high']:+.1f}] "
            f"({boot['n_boot']} resamples of the {len(truth)} {group[0].get('split', 'test')} rows, the same rows "
            "for every seed)."
        )
    return lines, comparisons
