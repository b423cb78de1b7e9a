"""JSON API, part 1: classifiers, labels, examples (add, paste, upload, edit, delete, undo) and their history."""

from __future__ import annotations

from fastapi import APIRouter, File, Form, Request, UploadFile

from agileclf.app.errors import Conflict, Invalid
from agileclf.app.schemas import ClassifierIn, ClassifierPatch, ExamplePatch, ExamplesIn, LabelIn, LabelPatch, PasteIn
from agileclf.app.uploads import check_size, parse_lines, parse_upload
from agileclf.app.views import change_json, classifier_json, example_json, label_json

router = APIRouter(prefix="/api")


def ctx(request: Request):
    return request.app.state.ctx


@router.get("/classifiers", tags=["classifiers"])
def list_classifiers(request: Request) -> dict:
    """Every classifier with its labels and number of examples."""
    store = ctx(request).store
    return {
        "classifiers": [classifier_json(c, store.labels(c.id), len(store.examples(c.id))) for c in store.classifiers()]
    }


@router.post("/classifiers", tags=["classifiers"], status_code=201)
def create_classifier(request: Request, body: ClassifierIn) -> dict:
    """A new classifier with its labels (each with an optional description or policy text)."""
    store = ctx(request).store
    c = store.create_classifier(body.name, body.description, [(x.name, x.description) for x in body.labels])
    return classifier_json(c, store.labels(c.id), 0)


@router.get("/classifiers/{classifier_id}", tags=["classifiers"])
def get_classifier(request: Request, classifier_id: int) -> dict:
    store = ctx(request).store
    c = store.classifier(classifier_id)
    return classifier_json(c, store.labels(c.id), len(store.examples(c.id)))


@router.patch("/classifiers/{classifier_id}", tags=["classifiers"])
def update_classifier(request: Request, classifier_id: int, body: ClassifierPatch) -> dict:
    store = ctx(request).store
    return classifier_json(store.update_classifier(classifier_id, body.name, body.description))


@router.delete("/classifiers/{classifier_id}", tags=["classifiers"])
def delete_classifier(request: Request, classifier_id: int) -> dict:
    """Remove the classifier's rows; its saved classifier directories stay in the data folder."""
    ctx(request).store.delete_classifier(classifier_id)
    return {"deleted": classifier_id}


@router.get("/classifiers/{classifier_id}/labels", tags=["labels"])
def list_labels(request: Request, classifier_id: int) -> dict:
    store = ctx(request).store
    store.classifier(classifier_id)
    return {"labels": [label_json(x) for x in store.labels(classifier_id)]}


@router.post("/classifiers/{classifier_id}/labels", tags=["labels"], status_code=201)
def add_label(request: Request, classifier_id: int, body: LabelIn) -> dict:
    return label_json(ctx(request).store.add_label(classifier_id, body.name, body.description))


@router.patch("/classifiers/{classifier_id}/labels/{label_id}", tags=["labels"])
def edit_label(request: Request, classifier_id: int, label_id: int, body: LabelPatch) -> dict:
    return label_json(ctx(request).store.edit_label(classifier_id, label_id, body.description))


@router.get("/classifiers/{classifier_id}/examples", tags=["examples"])
def list_examples(request: Request, classifier_id: int) -> dict:
    store = ctx(request).store
    c = store.classifier(classifier_id)
    return {"data_version": c.data_version, "examples": [example_json(e) for e in store.examples(classifier_id)]}


@router.post("/classifiers/{classifier_id}/examples", tags=["examples"], status_code=201)
def add_examples(request: Request, classifier_id: int, body: ExamplesIn) -> dict:
    """Add examples in one data version; an unknown label or an empty text refuses the whole request (422)."""
    store = ctx(request).store
    ids = store.add_examples(classifier_id, [(e.text, e.label) for e in body.examples], body.source)
    return {"added": len(ids), "ids": ids, "data_version": store.classifier(classifier_id).data_version}


@router.post("/classifiers/{classifier_id}/examples/paste", tags=["examples"], status_code=201)
def paste_examples(request: Request, classifier_id: int, body: PasteIn) -> dict:
    """Every non-blank pasted line becomes an example with the given label; lines that are already examples
    are skipped and counted."""
    store = ctx(request).store
    lines = parse_lines(body.text)
    if not lines:
        raise Invalid("text: paste at least one non-blank line")
    existing = store.existing_texts(classifier_id)
    new = [line for line in lines if line not in existing]
    if not new:
        raise Conflict("text: every pasted line is already an example")
    ids = store.add_examples(classifier_id, [(line, body.label) for line in new], "pasted")
    version = store.classifier(classifier_id).data_version
    return {"added": len(ids), "skipped": len(lines) - len(new), "ids": ids, "data_version": version}


@router.post("/classifiers/{classifier_id}/examples/upload", tags=["examples"], status_code=201)
async def upload_examples(
    request: Request,
    classifier_id: int,
    file: UploadFile = File(..., description=".jsonl, .csv or .tsv with a header"),
    text_field: str = Form("text"),
    label_field: str = Form("label"),
    add_labels: bool = Form(False, description="create labels the file uses that the classifier lacks"),
) -> dict:
    """Validate every row as the CLI does; bad rows are listed with line and reason, the good ones are added."""
    context = ctx(request)
    raw = await file.read(context.settings.max_upload_bytes + 1)
    check_size(raw, context.settings.max_upload_bytes, file.filename or "the upload")
    known = {x.name for x in context.store.labels(classifier_id)}
    existing = context.store.existing_texts(classifier_id)
    name = file.filename or "upload"
    rows, errors, new_labels = parse_upload(raw, name, known, text_field, label_field, add_labels, existing)
    for label in new_labels:
        context.store.add_label(classifier_id, label)
    ids = context.store.add_examples(classifier_id, rows, file.filename or "upload") if rows else []
    version = context.store.classifier(classifier_id).data_version
    return {"added": len(ids), "ids": ids, "errors": errors, "new_labels": new_labels, "data_version": version}


@router.patch("/classifiers/{classifier_id}/examples/{example_id}", tags=["examples"])
def edit_example(request: Request, classifier_id: int, example_id: int, body: ExamplePatch) -> dict:
    """Edit the text or relabel; send the `revision` you saw so a concurrent edit is not overwritten (409)."""
    e = ctx(request).store.edit_example(classifier_id, example_id, body.text, body.label, body.revision)
    return example_json(e)


@router.delete("/classifiers/{classifier_id}/examples/{example_id}", tags=["examples"])
def delete_example(request: Request, classifier_id: int, example_id: int, revision: int | None = None) -> dict:
    """Delete (recorded as a change: undo brings it back)."""
    version = ctx(request).store.delete_example(classifier_id, example_id, revision)
    return {"deleted": example_id, "data_version": version}


@router.post("/classifiers/{classifier_id}/undo", tags=["examples"])
def undo(request: Request, classifier_id: int) -> dict:
    """Reverse the newest change not yet undone (an upload is one change); the undo is recorded too."""
    return ctx(request).store.undo(classifier_id)


@router.get("/classifiers/{classifier_id}/changes", tags=["examples"])
def changes(request: Request, classifier_id: int, limit: int = 200) -> dict:
    """The recorded history, newest first."""
    store = ctx(request).store
    store.classifier(classifier_id)
    return {"changes": [change_json(c) for c in store.changes(classifier_id, min(limit, 5000))]}


@router.get("/classifiers/{classifier_id}/dataset", tags=["examples"])
def dataset(request: Request, classifier_id: int, version: int | None = None) -> dict:
    """The examples as they were at a data version (default: now), replayed from the history."""
    store = ctx(request).store
    current = store.classifier(classifier_id).data_version
    version = current if version is None else version
    if not 0 <= version <= current:
        raise Invalid(f"version: {version} is not between 0 and the current data version {current}")
    return {"data_version": version, "examples": store.dataset_at(classifier_id, version)}
