"""report.md from results rows: mean ± std per dataset x shots x method, the best of each row marked."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

REPORT_FILE = "report.md"


def summarize(rows: list[dict]) -> list[dict]:
    """One entry per (dataset, shots, method): means and sample standard deviations over seeds."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["dataset"], row["shots"], row["method"])].append(row)
    summary = []
    for (dataset, shots, method), members in sorted(groups.items()):
        entry = {"dataset": dataset, "shots": shots, "method": method, "peer": members[0]["peer"]}
        entry["seeds"] = sorted(r["seed"] for r in members)
        for key in ("accuracy", "macro_f1", "binary_f1", "roc_auc", "fit_s", "predict_ms", "peak_mb"):
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


def markdown_report(rows: list[dict], title: str = "agileclf bench") -> str:
    """The whole report: an accuracy table (best per row in bold) and a detail table with costs."""
    summary = summarize(rows)
    columns = sorted({(e["peer"], e["method"]) for e in summary})
    names = [f"{m} (peer)" if p else m for p, m in columns]
    by_row: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for entry in summary:
        by_row[(entry["dataset"], entry["shots"])][display_name(entry)] = entry
    intro = f"{len(rows)} cells. Accuracy (%) mean ± std over seeds; best of each row in **bold**."
    lines = [f"# {title}", "", intro, ""]
    lines.append("| dataset | shots | " + " | ".join(names) + " |")
    lines.append("|---|---:|" + "---:|" * len(names))
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
        lines.append(f"| {dataset} | {shots} | " + " | ".join(cells) + " |")
    lines += ["", "(n) = seeds. Detail: macro-F1 %, fit seconds, predict ms per example, peak RSS MB (means).", ""]
    header = "dataset | shots | method | accuracy | macro-F1 | ROC-AUC | fit s | predict ms/ex | peak MB | params"
    lines.append(f"| {header} |")
    lines.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for entry in summary:
        auc = f"{100 * entry['roc_auc']:.1f}" if "roc_auc" in entry else "–"
        lines.append(
            f"| {entry['dataset']} | {entry['shots']} | {display_name(entry)} | "
            f"{_pct(entry['accuracy'], entry['accuracy_std'])} | {_pct(entry['macro_f1'], entry['macro_f1_std'])} | "
            f"{auc} | {entry['fit_s']:.1f} ± {entry['fit_s_std']:.1f} | {entry['predict_ms']:.2f} | "
            f"{entry['peak_mb']:.0f} | {entry['params'] or '–'} |"
        )
    return "\n".join(lines + against_peers(rows) + real_vs_synthetic(summary)) + "\n"


def against_peers(rows: list[dict]) -> list[str]:
    """Per dataset x shots x peer: the best agileclf method beside the peer on the seeds both ran (a paired view:
    accuracy difference, seed spreads, and how many times faster each fits and predicts); empty without peers."""
    cells: dict[tuple, dict[str, dict[int, dict]]] = defaultdict(lambda: defaultdict(dict))
    peers = {display_name(row) for row in rows if row["peer"]}
    for row in rows:
        cells[(row["dataset"], row["shots"])][display_name(row)][row["seed"]] = row
    lines = []
    for (dataset, shots), by_name in sorted(cells.items()):
        for peer in sorted(peers & set(by_name)):
            paired = {}  # method -> (its rows, the peer's rows) on their common seeds
            for name, seeds in by_name.items():
                common = sorted(set(seeds) & set(by_name[peer]))
                if name not in peers and common:
                    paired[name] = ([seeds[s] for s in common], [by_name[peer][s] for s in common])
            if not paired:
                continue
            best = max(paired, key=lambda name: _mean(paired[name][0], "accuracy"))
            mine, theirs = paired[best]
            diff = 100 * (_mean(mine, "accuracy") - _mean(theirs, "accuracy"))
            lines.append(
                f"| {dataset} | {shots} | {peer} | {_pct(_mean(theirs, 'accuracy'), _std(theirs))} | {best} | "
                f"{_pct(_mean(mine, 'accuracy'), _std(mine))} | {diff:+.1f} | {len(mine)} | "
                f"{_mean(theirs, 'fit_s') / max(_mean(mine, 'fit_s'), 1e-9):.1f}x | "
                f"{_mean(theirs, 'predict_ms') / max(_mean(mine, 'predict_ms'), 1e-9):.2f}x |"
            )
    if not lines:
        return []
    return [
        "",
        "Best agileclf method against each peer, on the seeds both ran (accuracy %, mean ± std; speed-ups are the "
        "peer's seconds over ours, so above 1x agileclf is faster).",
        "",
        "| dataset | shots | peer | peer accuracy | best agileclf | its accuracy | difference | seeds | "
        "fit speed-up | predict speed-up |",
        "|---|---:|---|---:|---|---:|---:|---:|---:|---:|",
        *lines,
    ]


def _mean(members: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in members]))


def _std(members: list[dict]) -> float:
    return float(np.std([r["accuracy"] for r in members], ddof=1)) if len(members) > 1 else 0.0


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
    """Write report.md atomically into out_dir."""
    from agileclf.artifact import write_text_atomic

    path = Path(out_dir) / REPORT_FILE
    write_text_atomic(path, markdown_report(rows))
    return path
