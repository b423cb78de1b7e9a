"""Rows to the JSON the API returns (and the pages render)."""

from __future__ import annotations

from agileclf.app.models import Change, Classifier, Example, Job, Label, ModelVersion


def classifier_json(c: Classifier, labels: list[Label] | None = None, n_examples: int | None = None) -> dict:
    out = {"id": c.id, "name": c.name, "description": c.description, "data_version": c.data_version}
    out["created_at"] = c.created_at.isoformat()
    if labels is not None:
        out["labels"] = [label_json(label) for label in labels]
    if n_examples is not None:
        out["n_examples"] = n_examples
    return out


def label_json(label: Label) -> dict:
    return {"id": label.id, "name": label.name, "description": label.description}


def example_json(e: Example) -> dict:
    return {"id": e.id, "text": e.text, "label": e.label, "source": e.source, "revision": e.revision}


def change_json(c: Change) -> dict:
    return {
        "version": c.version,
        "op": c.op,
        "entity": c.entity,
        "entity_id": c.entity_id,
        "before": c.before,
        "after": c.after,
        "undo_of": c.undo_of,
        "at": c.created_at.isoformat(),
    }


def job_json(j: Job) -> dict:
    return {
        "id": j.id,
        "classifier_id": j.classifier_id,
        "kind": j.kind,
        "method": j.method,
        "params": j.params,
        "status": j.status,
        "progress": j.progress,
        "message": j.message,
        "error": j.error,
        "model_version_id": j.model_version_id,
        "created_at": j.created_at.isoformat(),
        "finished_at": j.finished_at.isoformat() if j.finished_at else None,
    }


def version_json(v: ModelVersion, full: bool = False) -> dict:
    out = {
        "id": v.id,
        "classifier_id": v.classifier_id,
        "number": v.number,
        "method": v.method,
        "params": v.params,
        "data_version": v.data_version,
        "n_examples": v.n_examples,
        "data_sha256": v.data_sha256,
        "accuracy": v.metrics.get("accuracy"),
        "macro_f1": v.metrics.get("macro_f1"),
        "n_splits": v.metrics.get("n_splits"),
        "fit_s": round(v.fit_s, 2),
        "test_metrics": v.test_metrics,
        "created_at": v.created_at.isoformat(),
    }
    if full:
        out["metrics"] = v.metrics
        out["diagnostics"] = v.diagnostics
        out["artifact_path"] = v.artifact_path
    return out
