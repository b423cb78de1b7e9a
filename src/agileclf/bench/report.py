"""report.md from results rows: mean ± std per dataset x shots x method, the best of each row marked; every
agileclf-vs-peer difference with its paired bootstrap interval (bench.compare); failed cells with their errors."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from agileclf.bench.compare import COMPARISONS_FILE, compare_with_peers, comparison_lines, write_comparisons

REPORT_FILE = "report.md"
SUMMARY_KEYS = ("accuracy", "macro_f1", "binary_f1", "roc_auc", "log_loss", "ece", "fit_s", "fit_cpu_s", "predict_ms")
SUMMARY_KEYS += ("peak_mb",)


def summarize(rows: list[dict]) -> list[dict]:
    """One entry per (dataset, shots, method): means and sample standard deviations over seeds (failed cells
    are left out; failed_cells lists them)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        if "error" in row:
            continue
        groups[(row["dataset"], row["shots"], row["method"])].append(row)
    summary = []
    for (dataset, shots, method), members in sorted(groups.items()):
        entry = {"dataset": dataset, "shots": shots, "method": method, "peer": members[0]["peer"]}
        entry["seeds"] = sorted(r["seed"] for r in members)
        for key in SUMMARY_KEYS:
            values = [r[key] for r in members if r.get(key) is not None]
            if values:
                entry[key] = float(np.mean(values))
                entry[f"{key}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        synthetic = [r.get("n_synthetic", 0) / r["n_classes"] for r in members if r.get("n_classes")]
        entry["synthetic_per_class"] = float(np.mean(synthetic)) if synthetic else 0.0
        params = {json_key(r.get("params", {})) for r in members}
        entry["params"] = "; ".join(sorted(p for p in params if p))
        summary.append(entry)
    return summary


def json_key(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()))


def display_name(entry: dict) -> str:
    return f"{entry['method']} (peer)" if entry["peer"] else entry["method"]


def _pct(mean: float, std: float) -> str:
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def markdown_report(
    rows: list[dict], title: str = "agileclf bench", predictions: dict | None = None, comparisons: list | None = None
) -> str:
    """The whole report: an accuracy table (best per row in bold), a detail table with costs and calibration,
    the paired comparison with each peer, what `auto` chose, and the failed cells."""
    summary = summarize(rows)
    if comparisons is None:
        comparisons = compare_with_peers(rows, predictions or {})
    columns = sorted({(e["peer"], e["method"]) for e in summary})
    names = [f"{m} (peer)" if p else m for p, m in columns]
    by_row: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for entry in summary:
        by_row[(entry["dataset"], entry["shots"])][display_name(entry)] = entry
    failed = [r for r in rows if "error" in r]
    splits = sorted({r.get("split", "test") for r in rows})
    intro = (
        f"{len(rows)} cells ({len(failed)} failed), scored on the {'/'.join(splits)} split. Accuracy (%) mean ± std "
        "over seeds (n = seeds); best of each row in **bold**. Test rows: the rows scored / classes present in them."
    )
    lines = [f"# {title}", "", intro, ""]
    lines.append("| dataset | shots | test rows | " + " | ".join(names) + " |")
    lines.append("|---|---:|---:|" + "---:|" * len(names))
    for (dataset, shots), entries in sorted(by_row.items()):
        best = max(entries.values(), key=lambda e: e["accuracy"])
        cells = []
        for name in names:
            entry = entries.get(name)
            if entry is None:
                cells.append("–")
                continue
            text = _pct(entry["accuracy"], entry["accuracy_std"]) + f" ({len(entry['seeds'])})"
            cells.append(f"**{text}**" if entry is best else text)
        test_rows = _test_rows(rows, dataset, shots)
        lines.append(f"| {dataset} | {shots} | {test_rows} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Detail (means over seeds): macro-F1 % (over the labels present in truth or predictions), ROC-AUC %, "
        "log-loss, expected calibration error %, fit seconds (wall ± std; CPU seconds of all threads), predict ms "
        "per example (after a warm-up call), "
        "peak RSS MB.",
        "",
    ]
    header = "dataset | shots | method | accuracy | macro-F1 | ROC-AUC | log-loss | ECE | fit s | fit CPU s | "
    lines.append(f"| {header}predict ms/ex | peak MB | params |")
    lines.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for entry in summary:
        auc = f"{100 * entry['roc_auc']:.1f}" if "roc_auc" in entry else "–"
        log_loss = f"{entry['log_loss']:.3f}" if "log_loss" in entry else "–"
        ece = f"{100 * entry['ece']:.1f}" if "ece" in entry else "–"
        cpu = f"{entry['fit_cpu_s']:.0f}" if "fit_cpu_s" in entry else "–"
        lines.append(
            f"| {entry['dataset']} | {entry['shots']} | {display_name(entry)} | "
            f"{_pct(entry['accuracy'], entry['accuracy_std'])} | {_pct(entry['macro_f1'], entry['macro_f1_std'])} | "
            f"{auc} | {log_loss} | {ece} | {entry['fit_s']:.1f} ± {entry['fit_s_std']:.1f} | "
            f"{cpu} | {entry['predict_ms']:.2f} | {entry.get('peak_mb', 0):.0f} | {entry['params'] or '–'} |"
        )
    parts = [lines, comparison_lines(comparisons), auto_choices(rows), real_vs_synthetic(summary)]
    return "\n".join(line for part in parts for line in part) + "\n" + "\n".join(failed_cells(rows))


def _test_rows(rows: list[dict], dataset: str, shots: int) -> str:
    sizes = {
        (r.get("n_test"), r.get("n_test_classes"), r.get("n_classes"))
        for r in rows
        if r["dataset"] == dataset and r["shots"] == shots and "error" not in r
    }
    return ", ".join(
        f"{n} / {present} of {total}" if n is not None else "–" for n, present, total in sorted(sizes, key=str)
    )


def auto_choices(rows: list[dict]) -> list[str]:
    """What `auto` chose in each cell, with its cross-validation estimate; empty when no cell ran it."""
    chosen = [r for r in rows if r.get("auto_choice") and "error" not in r]
    if not chosen:
        return []
    lines = ["", "What `auto` chose in each cell, from the cell's training sample only, and why.", ""]
    lines.append("| dataset | shots | seed | chosen | why | CV accuracy | CV log-loss | test accuracy |")
    lines.append("|---|---:|---:|---|---|---:|---:|---:|")
    for r in sorted(chosen, key=lambda r: (r["dataset"], r["shots"], r["seed"])):
        lines.append(
            f"| {r['dataset']} | {r['shots']} | {r['seed']} | {r['auto_choice']} | {r.get('auto_reason', '–')} | "
            f"{_number(r.get('auto_cv_accuracy'), 100, 1)} | {_number(r.get('auto_cv_log_loss'), 1, 3)} | "
            f"{100 * r['accuracy']:.1f} |"
        )
    return lines


def _number(value, scale: float, digits: int) -> str:
    return "–" if value is None else f"{scale * value:.{digits}f}"


def failed_cells(rows: list[dict]) -> list[str]:
    """The cells that raised, with their errors (the grid went on; --resume runs them again)."""
    failed = [r for r in rows if "error" in r]
    if not failed:
        return []
    lines = ["", f"## Failed cells ({len(failed)}; `--resume` runs them again)", ""]
    lines.append("| dataset | shots | seed | method | error |")
    lines.append("|---|---:|---:|---|---|")
    for r in failed:
        error = r["error"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {r['dataset']} | {r['shots']} | {r['seed']} | {display_name(r)} | {error} |")
    return lines + [""]


def real_vs_synthetic(summary: list[dict]) -> list[str]:
    """The synthetic-data comparison (e.g. LoRA on 4 real + 21 synthetic beside LoRA on 25 real), sorted by the
    examples per class each model learned from; empty when no cell used synthetic rows."""
    if not any(e["synthetic_per_class"] for e in summary):
        return []
    lines = ["", "Real vs synthetic training data: examples per class each model learned from (means over seeds).", ""]
    lines.append("| dataset | method | real / class | synthetic / class | accuracy | fit s |")
    lines.append("|---|---|---:|---:|---:|---:|")
    for entry in sorted(summary, key=lambda e: (e["dataset"], e["shots"] + e["synthetic_per_class"], e["method"])):
        lines.append(
            f"| {entry['dataset']} | {display_name(entry)} | {entry['shots']} | {entry['synthetic_per_class']:.1f} | "
            f"{_pct(entry['accuracy'], entry['accuracy_std'])} | {entry['fit_s']:.1f} |"
        )
    return lines


def write_report(rows: list[dict], out_dir: str | Path) -> Path:
    """Write report.md and comparisons.json (every paired interval) atomically into out_dir."""
    from agileclf.artifact import write_text_atomic
    from agileclf.bench.runner import read_predictions

    out_dir = Path(out_dir)
    comparisons = compare_with_peers(rows, read_predictions(out_dir))
    write_comparisons(comparisons, out_dir / COMPARISONS_FILE)
    path = out_dir / REPORT_FILE
    write_text_atomic(path, markdown_report(rows, comparisons=comparisons))
    return path
