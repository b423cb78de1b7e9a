"""Server-rendered pages (Jinja2, autoescaped). They read through the store and act through the JSON API."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from agileclf.app.models import JOB_ACTIVE
from agileclf.app.training import available_methods
from agileclf.app.views import job_json, version_json
from agileclf.methods.registry import default_method as default_method_for

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)
TABS = [("examples", "1. Examples"), ("train", "2. Train & check"), ("try", "3. Try it"), ("next", "4. Label next"),
        ("versions", "5. Versions & ship")]  # fmt: skip


def _render(request: Request, name: str, **values) -> HTMLResponse:
    return templates.TemplateResponse(request, name, values)


@router.get("/", response_class=HTMLResponse)
def home(request: Request):
    store = request.app.state.ctx.store
    rows = []
    for c in store.classifiers():
        versions = store.versions(c.id)
        rows.append(
            {
                "c": c,
                "labels": store.labels(c.id),
                "n": len(store.examples(c.id)),
                "best": version_json(versions[0]) if versions else None,
            }
        )
    return _render(request, "home.html", rows=rows)


def _classifier_page(request: Request, classifier_id: int, tab: str, **values) -> HTMLResponse:
    context = request.app.state.ctx
    store = context.store
    c = store.classifier(classifier_id)
    labels = store.labels(classifier_id)
    versions = [version_json(v) for v in store.versions(classifier_id)]
    active = [job_json(j) for j in context.jobs.jobs(classifier_id) if j.status in JOB_ACTIVE]
    return _render(
        request, f"{tab}.html", c=c, labels=labels, versions=versions, active_jobs=active, tab=tab, tabs=TABS, **values
    )


@router.get("/c/{classifier_id}", response_class=HTMLResponse)
def examples_page(request: Request, classifier_id: int):
    store = request.app.state.ctx.store
    examples = store.examples(classifier_id)
    counts = Counter(e.label for e in examples)
    changes = store.changes(classifier_id, 1)
    newest_first = list(reversed(examples))
    return _classifier_page(request, classifier_id, "examples", examples=newest_first, counts=counts, changes=changes)


@router.get("/c/{classifier_id}/train", response_class=HTMLResponse)
def train_page(request: Request, classifier_id: int, version: int | None = None):
    context = request.app.state.ctx
    versions = context.store.versions(classifier_id)
    shown = next((v for v in versions if v.id == version), versions[0] if versions else None)
    jobs = [job_json(j) for j in context.jobs.jobs(classifier_id)[:8]]
    example_ids = {e.text: e.id for e in context.store.examples(classifier_id)}  # to relabel listed rows in place
    methods = available_methods(context.settings)
    names = [m["name"] for m in methods]
    default_method = default_method_for("label")  # what `agileclf train` fits when no method is named
    default_method = default_method if default_method in names else next(iter(names), None)
    return _classifier_page(
        request,
        classifier_id,
        "train",
        methods=methods,
        default_method=default_method,
        shown=version_json(shown, full=True) if shown else None,
        jobs=jobs,
        current_version=context.store.classifier(classifier_id).data_version,
        example_ids=example_ids,
    )


@router.get("/c/{classifier_id}/try", response_class=HTMLResponse)
def try_page(request: Request, classifier_id: int):
    return _classifier_page(request, classifier_id, "try")


@router.get("/c/{classifier_id}/next", response_class=HTMLResponse)
def next_page(request: Request, classifier_id: int):
    from agileclf.app.pool import Pool

    context = request.app.state.ctx
    waiting = len(Pool(context).waiting(classifier_id))
    suggestions = context.settings.generator is not None
    return _classifier_page(request, classifier_id, "next", waiting=waiting, suggestions=suggestions)


@router.get("/c/{classifier_id}/versions", response_class=HTMLResponse)
def versions_page(request: Request, classifier_id: int):
    context = request.app.state.ctx
    servers = {vid: s.describe() for vid, s in context.servers.items()}
    methods = available_methods(context.settings)
    return _classifier_page(request, classifier_id, "versions", servers=servers, methods=methods)
