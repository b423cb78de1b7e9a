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
    return save_figure(fig, path)


def save_figure(fig, path: str | Path) -> Path:
    """Write a matplotlib figure as a PNG through a temporary file and a rename, then close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path
