"""Written reports: the confusion-matrix PNG and the metrics JSON."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def confusion_matrix_png(
    y_true: list[str], y_pred: list[str], labels: list[str], path: str | Path, title: str = ""
) -> Path:
    """Save a confusion matrix (rows: true, columns: predicted) over the known labels as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    pairs = [(t, p) for t, p in zip(y_true, y_pred, strict=True) if t in labels]
    matrix = confusion_matrix([t for t, _ in pairs], [p for _, p in pairs], labels=labels)
    size = max(4.0, 0.45 * len(labels) + 2.5)
    fig, ax = plt.subplots(figsize=(size, size))
    ConfusionMatrixDisplay(matrix, display_labels=labels).plot(
        ax=ax, cmap="Blues", colorbar=False, xticks_rotation=45 if len(labels) > 4 else 0
    )
    ax.set_title(title or f"confusion matrix (n={int(np.sum(matrix))})")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path


def reliability_png(bins: list[dict], path: str | Path, title: str = "") -> Path:
    """A reliability diagram from metrics.reliability_bins: accuracy per confidence bin against the diagonal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfectly calibrated")
    if bins:
        centres = [(b["low"] + b["high"]) / 2 for b in bins]
        widths = [b["high"] - b["low"] for b in bins]
        ax.bar(centres, [b["accuracy"] for b in bins], width=widths, edgecolor="black", alpha=0.7, label="accuracy")
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o", color="black", markersize=3)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence of the predicted label")
    ax.set_ylabel("accuracy")
    ax.set_title(title or f"reliability (n={sum(b['count'] for b in bins)})")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path
