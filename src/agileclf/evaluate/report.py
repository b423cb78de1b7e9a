"""Written reports: the confusion-matrix PNG and the metrics JSON."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

ANNOTATE_UP_TO = 30  # classes; past this the counts would be unreadable, so colour alone shows them


def wrap_label(label: str, width: int = 14) -> str:
    """A long label on several lines, broken at spaces, underscores, dots or hyphens where it can be."""
    if len(label) <= width:
        return label
    spaced = label.replace("_", "_ ").replace(".", ". ").replace("-", "- ")
    lines = textwrap.wrap(spaced, width=width, break_long_words=True)
    return "\n".join(line.replace("_ ", "_").replace(". ", ".").replace("- ", "-").strip() for line in lines)


def confusion_matrix_png(
    y_true: list[str], y_pred: list[str], labels: list[str], path: str | Path, title: str = ""
) -> Path:
    """Save a confusion matrix (rows: true, columns: predicted) over the known labels as a PNG.

    The figure grows with the number of classes, so 60 MASSIVE intents stay readable; x labels are rotated
    (and long ones wrapped) so neighbours never overlap.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    pairs = [(t, p) for t, p in zip(y_true, y_pred, strict=True) if t in labels]
    matrix = confusion_matrix([t for t, _ in pairs], [p for _, p in pairs], labels=list(labels))
    n = len(labels)
    longest = max((len(label) for label in labels), default=1)
    many = n > 12
    cell = 0.32 if many else 0.6  # inches per class
    label_room = 0.075 * min(longest, 40)  # inches taken by the rotated x labels (and the y labels)
    side = max(4.5, cell * n + label_room + 1.5)
    fontsize = 10 if not many else max(6, 10 - n // 15)
    fig, ax = plt.subplots(figsize=(side + (1.0 if many else 0.5), side))
    display = ConfusionMatrixDisplay(matrix, display_labels=list(labels))
    display.plot(ax=ax, cmap="Blues", colorbar=False, include_values=n <= ANNOTATE_UP_TO, values_format="d")
    if many:  # the counts are not written in the cells: a slim colour bar reads them
        fig.colorbar(display.im_, ax=ax, fraction=0.025, pad=0.02)
    if n > 3 or longest > 8:  # rotated x labels never run into their neighbours
        plt.setp(ax.get_xticklabels(), rotation=90 if many else 45, ha="center" if many else "right",
                 rotation_mode="default" if many else "anchor")  # fmt: skip
    if not many:
        ax.set_yticks(range(n), [wrap_label(label) for label in labels])
    ax.tick_params(labelsize=fontsize)
    for text in ax.texts:
        text.set_fontsize(max(6, fontsize - 1))
    ax.set_title(title or f"confusion matrix (n={int(np.sum(matrix))})")
    return save_figure(fig, path, dpi=110 if many else 120)


def save_figure(fig, path: str | Path, dpi: int = 120) -> Path:
    """Write a matplotlib figure as a PNG through a temporary file and a rename, then close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=dpi)
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
