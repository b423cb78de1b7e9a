"""One training job: cross-validate on the examples, fit on all of them, save a new version. No ML here: the
library does the fitting (methods), the cross-validation (evaluate.crossval) and the diagnostics."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from agileclf.app.errors import Invalid
from agileclf.app.models import ModelVersion
from agileclf.app.settings import AppSettings
from agileclf.app.store import Store
from agileclf.data.labels import LabelSet
from agileclf.data.readers import Dataset


class Cancelled(Exception):
    """The person cancelled the job; raised between steps."""


def available_methods(settings: AppSettings) -> list[dict]:
    """Every registered method that takes the configured backbone's kind, with its parameters."""
    from agileclf.methods.registry import describe_config, method_classes, method_names

    kind = settings.backbone_kind
    methods = []
    for name in method_names():
        classes = method_classes(name)
        if kind in classes:
            cls = classes[kind]
            doc = (cls.__doc__ or "").strip().splitlines()
            params = [{"name": n, "default": d, "help": h} for n, d, h in describe_config(cls.config_class)]
            methods.append({"name": name, "summary": doc[0] if doc else "", "params": params})
    return methods


def check_method(settings: AppSettings, method: str, params: dict) -> None:
    """Refuse an unknown method or parameter before the job is queued."""
    from agileclf.methods.registry import check_method_params

    check_method_params(method, settings.backbone, params)


def training_set(store: Store, classifier_id: int) -> tuple[list[str], list[str], LabelSet, int]:
    """The current examples, the label set (order and descriptions) and the data version they are at; Invalid
    (422) with fewer than 2 labels or a label with fewer than 2 examples. Checked when a job is asked for and
    again when it runs (the examples may change while it waits)."""
    for _attempt in range(5):  # read labels and examples of one data version, even while someone edits
        version = store.classifier(classifier_id).data_version
        labels, examples = store.labels(classifier_id), store.examples(classifier_id)
        if store.classifier(classifier_id).data_version == version:
            break
    counts = Counter(example.label for example in examples)
    if len(labels) < 2:
        raise Invalid("a classifier needs at least 2 labels; add another label first")
    thin = [f"{label.name!r} has {counts[label.name]}" for label in labels if counts[label.name] < 2]
    if thin:
        raise Invalid(f"every label needs at least 2 examples (8 or more is better): {', '.join(thin)}")
    label_set = LabelSet([label.name for label in labels], {x.name: x.description for x in labels if x.description})
    return [e.text for e in examples], [e.label for e in examples], label_set, version


def train_version(
    store: Store,
    settings: AppSettings,
    classifier_id: int,
    method: str,
    params: dict,
    job_id: int | None = None,
    report: Callable[[float, str], None] = lambda fraction, message: None,
    cancelled: Callable[[], bool] = lambda: False,
) -> ModelVersion:
    """Cross-validate, fit on every example, save the classifier directory, record the version."""
    from agileclf.evaluate.crossval import cross_val_proba
    from agileclf.evaluate.diagnostics import confusion, label_issues, worst_errors
    from agileclf.methods.registry import make_method
    from agileclf.workflow import fit_classifier

    texts, labels, label_set, data_version = training_set(store, classifier_id)
    backbone = settings.load_backbone()
    params = {**params}
    params.setdefault("seed", settings.seed)

    def make():
        return make_method(method, backbone=backbone, **params)

    def step(done: int, total: int) -> None:
        if cancelled():
            raise Cancelled
        report(done / (total + 1), f"cross-validation: fold {done} of {total} done")

    report(0.0, "cross-validation: fitting the first fold")
    cv = cross_val_proba(make, texts, labels, label_set, n_splits=settings.cv_folds, seed=settings.seed, on_fold=step)
    metrics = cv.metrics()
    metrics["fit_s_cv"] = cv.fit_s
    diagnostics = {
        "labels": cv.labels,
        "confusion": confusion(labels, cv.proba, cv.labels),
        "worst_errors": _with_text(worst_errors(labels, cv.proba, cv.labels), texts),
        "label_issues": _with_text(label_issues(labels, cv.proba, cv.labels), texts),
    }
    if cancelled():
        raise Cancelled
    report(cv.n_splits / (cv.n_splits + 1), "fitting on every example")
    classifier = fit_classifier(texts, labels, method, backbone, params, label_set, seed=settings.seed).classifier
    if cancelled():
        raise Cancelled
    number = _free_number(store, settings.models_dir / str(classifier_id), classifier_id)
    folder = settings.models_dir / str(classifier_id) / f"v{number}"
    artifact = folder / "classifier"
    extra = {"metrics": {"cross_validated": metrics}, "app": {"classifier_id": classifier_id, "version": number}}
    classifier.save(artifact, extra=extra)  # atomic: a crash here leaves no half directory
    _write_training_data(folder / "train.jsonl", texts, labels)
    version = ModelVersion(
        classifier_id=classifier_id,
        number=number,
        method=method,
        params=classifier.params,  # every field of the method's config, defaults included
        data_version=data_version,
        n_examples=len(texts),
        data_sha256=Dataset(texts, labels, list(range(len(texts)))).fingerprint(),
        metrics=metrics,
        diagnostics=diagnostics,
        artifact_path=str(artifact.resolve()),
        fit_s=cv.fit_s,
        job_id=job_id,
    )
    report(1.0, f"saved version {number}")
    return store.add_version(version)


def _free_number(store: Store, parent: Path, classifier_id: int) -> int:
    """The next version number whose folder does not exist (a crash after saving may have left one)."""
    number = store.next_version_number(classifier_id)
    while (parent / f"v{number}").exists():
        number += 1
    return number


def _with_text(rows: list[dict], texts: list[str]) -> list[dict]:
    return [{**row, "text": texts[row["row"]]} for row in rows]


def _write_training_data(path: Path, texts: list[str], labels: list[str]) -> None:
    from agileclf.artifact import write_text_atomic

    lines = [json.dumps({"text": t, "label": y}, ensure_ascii=False) for t, y in zip(texts, labels, strict=True)]
    write_text_atomic(path, "\n".join(lines) + "\n")


__all__ = ["Cancelled", "available_methods", "check_method", "train_version", "training_set"]
