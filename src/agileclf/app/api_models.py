"""JSON API, part 2: methods, training jobs (with live progress), versions, metrics, predictions, "what to label
next", test files, downloads and serving."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import zipfile
from pathlib import Path

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from agileclf.app.errors import Conflict, Invalid, NotFound
from agileclf.app.models import JOB_ACTIVE
from agileclf.app.schemas import CompareIn, PoolIn, PoolLabelIn, PredictIn, ServeIn, SuggestIn, TrainIn
from agileclf.app.store import check_text
from agileclf.app.training import available_methods, check_method
from agileclf.app.uploads import check_size, parse_lines, parse_upload
from agileclf.app.views import job_json, version_json
from agileclf.predictions import prediction_rows

router = APIRouter(prefix="/api")


def ctx(request: Request):
    return request.app.state.ctx


@router.get("/methods", tags=["training"])
def methods(request: Request) -> dict:
    """The registered methods that take the app's backbone, with their parameters (from the registry)."""
    settings = ctx(request).settings
    return {
        "backbone_kind": settings.backbone_kind,
        "methods": available_methods(settings),
        "suggestions": settings.generator is not None,  # POST .../suggest works only with a causal-LM generator
    }


@router.post("/classifiers/{classifier_id}/train", tags=["training"], status_code=202)
def train(request: Request, classifier_id: int, body: TrainIn) -> dict:
    """Queue a training job: cross-validation, then a fit on every example, saved as a new version."""
    return job_json(ctx(request).jobs.submit(classifier_id, body.method, body.params))


@router.post("/classifiers/{classifier_id}/compare", tags=["training"], status_code=202)
def compare(request: Request, classifier_id: int, body: CompareIn) -> dict:
    """Queue one job per method on the same examples; GET .../versions shows them side by side."""
    jobs = ctx(request).jobs
    for method in body.methods:  # check every name before queueing any
        check_method(ctx(request).settings, method, {})
    return {"jobs": [job_json(jobs.submit(classifier_id, method, {})) for method in body.methods]}


@router.get("/classifiers/{classifier_id}/jobs", tags=["training"])
def list_jobs(request: Request, classifier_id: int) -> dict:
    ctx(request).store.classifier(classifier_id)
    return {"jobs": [job_json(j) for j in ctx(request).jobs.jobs(classifier_id)]}


@router.get("/jobs/{job_id}", tags=["training"])
def get_job(request: Request, job_id: int) -> dict:
    return job_json(ctx(request).jobs.job(job_id))


@router.post("/jobs/{job_id}/cancel", tags=["training"])
def cancel_job(request: Request, job_id: int) -> dict:
    """Cancel a queued job now, a running one after its current step; nothing of it is saved."""
    return job_json(ctx(request).jobs.cancel(job_id))


@router.get("/jobs/{job_id}/events", tags=["training"])
async def job_events(request: Request, job_id: int) -> StreamingResponse:
    """Server-sent events: one `data: {job}` line whenever the job changes, until it finishes."""
    jobs = ctx(request).jobs
    jobs.job(job_id)  # 404 before the stream starts

    async def stream():
        last = None
        while not await request.is_disconnected():
            state = job_json(await asyncio.to_thread(jobs.job, job_id))
            if state != last:
                last = state
                yield f"data: {json.dumps(state)}\n\n"
            if state["status"] not in JOB_ACTIVE:
                return
            await asyncio.sleep(0.3)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.get("/classifiers/{classifier_id}/versions", tags=["versions"])
def list_versions(request: Request, classifier_id: int) -> dict:
    """Every saved version, newest first, with its data version, method and cross-validated metrics."""
    store = ctx(request).store
    store.classifier(classifier_id)
    return {"versions": [version_json(v) for v in store.versions(classifier_id)]}


@router.get("/versions/{version_id}", tags=["versions"])
def get_version(request: Request, version_id: int) -> dict:
    """Metrics, confusion matrix, worst errors and examples that look mislabelled (all out-of-fold)."""
    return version_json(ctx(request).store.version(version_id), full=True)


@router.post("/versions/{version_id}/predict", tags=["versions"])
def predict(request: Request, version_id: int, body: PredictIn) -> dict:
    """The label of each text and every label's probability."""
    context = ctx(request)
    for i, text in enumerate(body.texts):
        check_text(text, f"texts[{i}]")
    classifier = context.classifier(context.store.version(version_id))
    names = list(classifier.labels.names)
    return {"labels": names, "results": prediction_rows(classifier.predict_proba(body.texts), names)}


@router.post("/versions/{version_id}/test", tags=["versions"])
async def test_file(
    request: Request,
    version_id: int,
    file: UploadFile = File(...),
    text_field: str = Form("text"),
    label_field: str = Form("label"),
) -> dict:
    """Score a labelled test file; reported beside (never mixed with) the cross-validated metrics."""
    from agileclf.evaluate.metrics import classification_metrics

    context = ctx(request)
    version = context.store.version(version_id)
    raw = await file.read(context.settings.max_upload_bytes + 1)
    check_size(raw, context.settings.max_upload_bytes, file.filename or "the test file")
    classifier = context.classifier(version)
    names = list(classifier.labels.names)
    rows, errors, _ = parse_upload(raw, file.filename or "test", set(names), text_field, label_field, True)
    if not rows:
        raise Invalid(f"{file.filename}: no usable rows; " + "; ".join(errors[:5]))
    proba = await asyncio.to_thread(classifier.predict_proba, [t for t, _ in rows])
    metrics = classification_metrics([y for _, y in rows], proba, names)
    metrics["file"], metrics["errors"] = Path(file.filename or "test").name, errors
    return version_json(context.store.set_test_metrics(version_id, metrics), full=True)


@router.get("/versions/{version_id}/download", tags=["versions"])
def download(request: Request, version_id: int) -> FileResponse:
    """A zip of the version's classifier directory (load it with `agileclf.load_classifier`)."""
    context = ctx(request)
    version = context.store.version(version_id)
    classifier = context.store.classifier(version.classifier_id)
    folder = Path(version.artifact_path)
    if not folder.is_dir():
        raise NotFound(f"the classifier directory of version {version.number} is missing: {folder}")
    stem = f"{_safe(classifier.name)}-v{version.number}"
    fd, tmp = tempfile.mkstemp(suffix=".zip")
    os.close(fd)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{stem}/{path.relative_to(folder)}")
    cleanup = BackgroundTask(os.unlink, tmp)
    return FileResponse(tmp, media_type="application/zip", filename=f"{stem}.zip", background=cleanup)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-") or "classifier"


@router.post("/versions/{version_id}/serve", tags=["serving"])
def serve(request: Request, version_id: int, body: ServeIn | None = None) -> dict:
    """Serve this version over HTTP with agileclf's serving layer (the same as `agileclf serve`)."""
    from agileclf.app.serving import start_server

    context = ctx(request)
    if version_id in context.servers:
        return context.servers[version_id].describe()
    version = context.store.version(version_id)
    name = f"{_safe(context.store.classifier(version.classifier_id).name)}-v{version.number}"
    backbone = context._shared_backbone(version)
    settings = context.settings
    # The served model listens where the app does, guarded by the app's token when it has one.
    running = start_server(
        name, Path(version.artifact_path), settings.host, body.port if body else None, settings.token, backbone
    )
    context.servers[version_id] = running
    return running.describe()


@router.delete("/versions/{version_id}/serve", tags=["serving"])
def stop_serving(request: Request, version_id: int) -> dict:
    running = ctx(request).servers.pop(version_id, None)
    if running is None:
        raise NotFound(f"version {version_id} is not being served")
    running.stop()
    return {"stopped": version_id}


@router.get("/serving", tags=["serving"])
def serving(request: Request) -> dict:
    return {"servers": {vid: s.describe() for vid, s in ctx(request).servers.items()}}


@router.post("/classifiers/{classifier_id}/pool", tags=["label next"], status_code=201)
def add_pool(request: Request, classifier_id: int, body: PoolIn) -> dict:
    """Add unlabelled texts (one per line) to rank in "what to label next"."""
    lines = parse_lines(body.text)
    for i, line in enumerate(lines):
        check_text(line, f"line {i + 1}")
    ids = _pool(request).add(classifier_id, lines)
    return {"added": len(ids)}


@router.post("/classifiers/{classifier_id}/pool/upload", tags=["label next"], status_code=201)
async def upload_pool(request: Request, classifier_id: int, file: UploadFile = File(...)) -> dict:
    """Unlabelled texts from a file: plain lines, or JSONL with a `text` field."""
    from agileclf.data.readers import parse_text_lines
    from agileclf.errors import DataError

    raw = await file.read(ctx(request).settings.max_upload_bytes + 1)
    check_size(raw, ctx(request).settings.max_upload_bytes, file.filename or "the upload")
    try:
        data = parse_text_lines(raw.decode("utf-8", errors="strict").splitlines(), file.filename or "upload")
    except (DataError, UnicodeDecodeError) as error:
        raise Invalid(str(error)) from None
    texts = [t.strip() for t in data.texts if t.strip()]
    return {"added": len(_pool(request).add(classifier_id, texts, file.filename or "upload"))}


@router.post("/classifiers/{classifier_id}/suggest", tags=["label next"], status_code=202)
def suggest(request: Request, classifier_id: int, body: SuggestIn) -> dict:
    """Queue "suggest examples": the synthetic-data pipeline writes new texts per label with the causal LM the
    app was started with (`--generator`); they wait in "what to label next" with their proposed label. 409
    without a generator."""
    params = {"per_class": body.per_class, "label_filter": body.label_filter}
    return job_json(ctx(request).jobs.submit(classifier_id, "synthesize", params, kind="suggest"))


@router.get("/classifiers/{classifier_id}/pool", tags=["label next"])
def list_pool(request: Request, classifier_id: int) -> dict:
    """The texts waiting to be labelled (pasted, uploaded or suggested), oldest first."""
    rows = _pool(request).waiting(classifier_id)
    return {
        "items": [{"id": r.id, "text": r.text, "suggested_label": r.suggested_label, "source": r.source} for r in rows]
    }


@router.get("/classifiers/{classifier_id}/next", tags=["label next"])
def label_next(request: Request, classifier_id: int, version_id: int | None = None, limit: int = 20) -> dict:
    """Unlabelled texts the chosen (default: newest) version is least sure about, most uncertain first."""
    context = ctx(request)
    versions = context.store.versions(classifier_id)
    if not versions:
        raise Conflict("train a version first: the ranking uses its predictions")
    version = next((v for v in versions if v.id == version_id), None) if version_id else versions[0]
    if version is None:
        raise NotFound(f"no version {version_id} in this classifier")
    return {"version": version_json(version), "items": _pool(request).ranked(classifier_id, version, limit)}


@router.post("/classifiers/{classifier_id}/pool/{pool_id}/label", tags=["label next"], status_code=201)
def label_pool_text(request: Request, classifier_id: int, pool_id: int, body: PoolLabelIn) -> dict:
    """Label a waiting text in place: it becomes an example."""
    return _pool(request).label(classifier_id, pool_id, body.label)


def _pool(request: Request):
    from agileclf.app.pool import Pool

    return Pool(ctx(request))


__all__ = ["router"]
