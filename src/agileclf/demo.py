"""The main job: train three methods on the bundled support-ticket data, compare, save, and classify."""

from __future__ import annotations

import time
from importlib.resources import files
from pathlib import Path

from rich.console import Console
from rich.table import Table

DEMO_METHODS = ("zero-shot", "linear-probe", "finetune")
NEW_MESSAGES = (
    "Hi, the checkout page throws an error whenever I press pay",
    "I've been waiting ten days for my parcel, any news?",
    "I was billed for a plan I never signed up for",
)


def demo_data_dir() -> Path:
    return Path(str(files("agileclf") / "demo_data"))


def run_demo(out_dir: Path, out: Console, err: Console) -> list[dict]:
    """Train, evaluate and save each demo method under out_dir; print a comparison table; return the rows."""
    from agileclf.backbones import load_backbone
    from agileclf.data import LabelSet, read_examples, read_label_descriptions
    from agileclf.evaluate import confusion_matrix_png, evaluate_classifier
    from agileclf.methods import make_method

    data = demo_data_dir()
    train = read_examples(data / "support_train.jsonl", min_classes=2)
    test = read_examples(data / "support_test.jsonl")
    label_set = LabelSet.from_labels(train.labels, read_label_descriptions(data / "support_labels.json"))
    backbone = load_backbone()
    err.print(
        f"demo: {len(train)} training and {len(test)} test support messages, {len(label_set)} labels, "
        f"backbone {backbone.ref}"
    )
    out_dir = Path(out_dir)
    rows, best = [], None
    for name in DEMO_METHODS:
        classifier = make_method(name, backbone=backbone, seed=0)
        start = time.perf_counter()
        classifier.fit(train.texts, train.labels, label_set=label_set)
        fit_s = time.perf_counter() - start
        metrics = evaluate_classifier(classifier, test.texts, test.labels)
        summary = {k: v for k, v in metrics.items() if k != "per_class"}
        classifier.save(out_dir / name, extra={"fit_s": round(fit_s, 3), "metrics": {"data": "demo test", **summary}})
        row = {"method": name, "fit_s": fit_s, **metrics}
        rows.append(row)
        if best is None or row["accuracy"] > best[0]["accuracy"]:
            best = (row, classifier)
        err.print(f"  {name}: accuracy {metrics['accuracy']:.3f}, fit {fit_s:.1f} s")

    table = Table(title="demo: support messages, 4 classes x 10 examples")
    for column in ("method", "accuracy", "macro-F1", "fit s", "ms/example"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for row in rows:
        marker = " *" if row is best[0] else ""
        table.add_row(
            row["method"] + marker,
            f"{row['accuracy']:.3f}",
            f"{row['macro_f1']:.3f}",
            f"{row['fit_s']:.1f}",
            f"{row['ms_per_example']:.2f}",
        )
    out.print(table)

    best_row, classifier = best
    predicted = classifier.predict(test.texts)
    png = confusion_matrix_png(
        test.labels,
        predicted,
        classifier.labels.names,
        out_dir / "confusion_matrix.png",
        title=f"{best_row['method']} on the demo test set",
    )
    out.print(f"best: {best_row['method']}; confusion matrix: {png}; classifiers: {out_dir}/<method>/")
    proba = classifier.predict_proba(list(NEW_MESSAGES))
    names = classifier.labels.names
    for text, row in zip(NEW_MESSAGES, proba, strict=True):
        out.print(f"  {names[int(row.argmax())]:>16} ({row.max():.2f})  {text}")
    out.print(f"next: agileclf predict {out_dir / best_row['method']} --input messages.jsonl")
    return rows
