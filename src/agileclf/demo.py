"""The main job: train methods on the bundled support-ticket data, let `auto` choose by cross-validation on the
training messages, compare on the test messages, save, and classify new messages.

The test messages are read only to report each method's score; which classifier the demo ships (auto's choice)
is decided on the training messages alone.
"""

from __future__ import annotations

import time
from importlib.resources import files
from pathlib import Path

from rich.console import Console
from rich.table import Table

DEMO_METHODS = ("zero-shot", "linear-probe", "prior-probe", "auto")
# auto over the frozen-encoder methods keeps `make demo` to seconds; auto's default adds contrastive (4 tunings)
DEMO_AUTO_CANDIDATES = ["zero-shot", "linear-probe", "prior-probe"]
NEW_MESSAGES = (
    "Hi, the checkout page throws an error whenever I press pay",
    "I've been waiting ten days for my parcel, any news?",
    "I was billed twice for the same order",
)


def demo_data_dir() -> Path:
    return Path(str(files("agileclf") / "demo_data"))


def run_demo(out_dir: Path, out: Console, err: Console, auto_candidates: list[str] | None = None) -> list[dict]:
    """Train, evaluate and save each demo method under out_dir; print a comparison table and what `auto` chose
    (by cross-validation on the training messages); return the rows. `auto_candidates` overrides the demo's list
    (DEMO_AUTO_CANDIDATES)."""
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
    rows, auto = [], None
    for name in DEMO_METHODS:
        params = {"candidates": auto_candidates or DEMO_AUTO_CANDIDATES} if name == "auto" else {}
        classifier = make_method(name, backbone=backbone, seed=0, **params)
        start = time.perf_counter()
        classifier.fit(train.texts, train.labels, label_set=label_set)
        fit_s = time.perf_counter() - start
        metrics = evaluate_classifier(classifier, test.texts, test.labels)
        summary = {k: v for k, v in metrics.items() if k != "per_class"}
        classifier.save(out_dir / name, extra={"fit_s": round(fit_s, 3), "metrics": {"data": "demo test", **summary}})
        rows.append({"method": name, "fit_s": fit_s, **metrics})
        if name == "auto":
            auto = classifier
        err.print(f"  {name}: accuracy {metrics['accuracy']:.3f}, fit {fit_s:.1f} s")

    table = Table(title=f"demo: support messages, {len(label_set)} classes x 6 examples (test: {len(test)})")
    for column in ("method", "accuracy", "macro-F1", "log-loss", "fit s", "ms/example"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for row in rows:
        table.add_row(
            row["method"],
            f"{row['accuracy']:.3f}",
            f"{row['macro_f1']:.3f}",
            f"{row['log_loss']:.3f}",
            f"{row['fit_s']:.1f}",
            f"{row['ms_per_example']:.2f}",
        )
    out.print(table)

    choice = auto.choice
    estimate = choice["candidates"].get(choice["chosen"], {})
    cv = f"CV accuracy {estimate['cv_accuracy']:.3f} over {choice['folds']} folds" if estimate else choice["reason"]
    out.print(
        f"auto ({', '.join(auto.candidates)}) chose {choice['chosen']} on the training messages only ({cv}); "
        "it is the one to ship"
    )
    predicted = auto.predict(test.texts)
    png = confusion_matrix_png(
        test.labels, predicted, auto.labels.names, out_dir / "confusion_matrix.png", title="auto on the demo test set"
    )
    out.print(f"confusion matrix: {png}; classifiers: {out_dir}/<method>/")
    proba = auto.predict_proba(list(NEW_MESSAGES))
    names = auto.labels.names
    for text, row in zip(NEW_MESSAGES, proba, strict=True):
        out.print(f"  {names[int(row.argmax())]:>20} ({row.max():.2f})  {text}")
    out.print(f"next: agileclf predict {out_dir / 'auto'} messages.jsonl")
    return rows
