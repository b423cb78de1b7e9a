"""Learning curves (accuracy vs shots per dataset) and seed-spread box plots, as PNG files."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from agileclf.bench.report import display_name, summarize

LEARNING_CURVES = "learning_curves.png"
SEED_SPREAD = "seed_spread.png"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)
    return path


def learning_curves_png(rows: list[dict], path: str | Path) -> Path:
    """One panel per dataset: mean accuracy vs shots, one line per method, ±1 std shaded; peers dashed."""
    plt = _pyplot()
    summary = summarize(rows)
    datasets = sorted({e["dataset"] for e in summary})
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.5 * len(datasets), 3.8), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        lines: dict[str, list[dict]] = defaultdict(list)
        for entry in summary:
            if entry["dataset"] == dataset:
                lines[display_name(entry)].append(entry)
        for name, entries in sorted(lines.items()):
            entries.sort(key=lambda e: e["shots"])
            x = [e["shots"] for e in entries]
            mean = np.array([100 * e["accuracy"] for e in entries])
            std = np.array([100 * e["accuracy_std"] for e in entries])
            style = "--" if entries[0]["peer"] else "-"
            (line,) = ax.plot(x, mean, style, marker="o", label=name)
            ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.15)
        ax.set_xscale("log", base=2)
        shots = sorted({e["shots"] for e in summary if e["dataset"] == dataset})
        ax.set_xticks(shots, [str(s) for s in shots])
        ax.minorticks_off()
        ax.set_title(dataset)
        ax.set_xlabel("examples per class")
        ax.set_ylabel("accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path = _save(fig, Path(path))
    plt.close(fig)
    return path


def seed_spread_png(rows: list[dict], path: str | Path) -> Path:
    """One panel per (dataset, shots): a box of accuracies over seeds for each method."""
    plt = _pyplot()
    panels: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        name = f"{row['method']} (peer)" if row["peer"] else row["method"]
        panels[(row["dataset"], row["shots"])][name].append(100 * row["accuracy"])
    keys = sorted(panels)
    width = max(len(p) for p in panels.values())
    fig, axes = plt.subplots(1, len(keys), figsize=(max(3.5, 0.9 * width + 1.5) * len(keys), 4.2), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        names = sorted(panels[key])
        ax.boxplot([panels[key][n] for n in names])
        ax.set_xticks(range(1, len(names) + 1), names, rotation=35, ha="right", fontsize=8)
        ax.set_title(f"{key[0]}, {key[1]} shots")
        ax.set_ylabel("accuracy (%) over seeds")
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    path = _save(fig, Path(path))
    plt.close(fig)
    return path


def write_plots(rows: list[dict], out_dir: str | Path) -> list[Path]:
    """Both PNGs into out_dir."""
    out_dir = Path(out_dir)
    rows = [r for r in rows if "error" not in r]  # failed cells have no metrics to plot
    if not rows:
        return []
    return [learning_curves_png(rows, out_dir / LEARNING_CURVES), seed_spread_png(rows, out_dir / SEED_SPREAD)]
