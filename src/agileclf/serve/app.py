"""The FastAPI app: routes, error handlers, micro-batchers per model, metrics, auth.

No `from __future__ import annotations` here: FastAPI must see the real request class built in create_app.
"""

import asyncio
import logging
from contextlib import asynccontextmanager

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from agileclf import __version__
from agileclf.serve.batcher import MicroBatcher, Overloaded
from agileclf.serve.config import Limits
from agileclf.serve.docs import add_offline_docs
from agileclf.serve.metrics import MetricsMiddleware, ServeMetrics
from agileclf.serve.middleware import BearerAuthMiddleware, BodyLimitMiddleware
from agileclf.serve.models import ServedModel
from agileclf.serve.schemas import (
    ClassifyResponse,
    ErrorBody,
    ModelsResponse,
    classify_request_model,
    error_response,
    validation_error_response,
)

log = logging.getLogger("agileclf.serve")
ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 404, 413, 415, 422, 503)}


def create_app(models: dict[str, ServedModel], limits: Limits | None = None, api_key: str | None = None) -> FastAPI:
    """An app serving `models` (already loaded); `api_key` turns on the bearer check for all but health checks."""
    limits = limits or Limits()
    metrics = ServeMetrics()
    batchers = {
        name: MicroBatcher(
            model.classifier.predict_proba,
            max_batch_texts=limits.max_batch_texts,
            max_wait_s=limits.max_wait_ms / 1000,
            max_queued_texts=limits.max_queued_texts,
            on_batch=lambda n, seconds, name=name: metrics.record_batch(name, n, seconds),
            name=name,
        )
        for name, model in models.items()
    }

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        for batcher in batchers.values():
            await batcher.start()
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            for batcher in batchers.values():
                await batcher.stop()

    app = FastAPI(
        title="agileclf",
        version=__version__,
        description="Text classifiers trained with agileclf. Errors are JSON: {error: {field, message, type}}.",
        lifespan=lifespan,
        docs_url=None,  # served offline by add_offline_docs below
    )
    add_offline_docs(app, "agileclf API")
    app.state.ready = False
    app.state.batchers = batchers
    app.state.metrics = metrics
    ClassifyRequest = classify_request_model(limits)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        content_type = request.headers.get("content-type", "")
        if request.method == "POST" and "json" not in content_type:  # FastAPI only parses JSON-typed bodies
            message = f"body: send JSON with 'Content-Type: application/json' (got {content_type or 'none'!r})"
            return error_response(415, message, "unsupported_media_type", "Content-Type")
        return validation_error_response(list(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), "http_error", None, headers=exc.headers)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return error_response(500, f"internal error ({type(exc).__name__}); see the server log", "internal")

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict:
        """The process is up and answering."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"model": ErrorBody}})
    async def readyz():
        """Every model is loaded and its batcher runs; 503 otherwise (starting up or shutting down)."""
        idle = [name for name, batcher in batchers.items() if not batcher.running]
        if not app.state.ready or idle:
            return error_response(503, f"not ready; models not running: {', '.join(idle) or 'all'}", "not_ready")
        return {"status": "ready", "models": sorted(models)}

    @app.get("/v1/models", response_model=ModelsResponse, tags=["classify"], responses=ERRORS)
    async def list_models() -> dict:
        """The served classifiers: method, labels, backbone and the metrics recorded at training."""
        return {"models": [model.describe() for model in models.values()]}

    @app.post("/v1/classify", response_model=ClassifyResponse, tags=["classify"], responses=ERRORS)
    async def classify(body: ClassifyRequest):  # type: ignore[valid-type]
        """Label each text; concurrent requests for one model share one batched predict_proba call."""
        served = ", ".join(sorted(models))
        if body.model is None and len(models) > 1:
            return error_response(422, f"model: name one of the served models: {served}", "missing", "model")
        name = body.model if body.model is not None else next(iter(models))
        model = models.get(name)
        if model is None:
            return error_response(404, f"model: unknown model {name!r}; served: {served}", "unknown_model", "model")
        labels = model.labels
        if body.threshold is not None and model.task != "multilabel":
            message = f"threshold: model {name!r} is single-label (one label per text); threshold needs multilabel"
            return error_response(422, message, "threshold_not_applicable", "threshold")
        if body.top_k > len(labels):
            message = f"top_k: {body.top_k} is more than the {len(labels)} labels of model {name!r}"
            return error_response(422, message, "top_k_too_large", "top_k")
        try:
            proba = await asyncio.wait_for(batchers[name].submit(body.texts), limits.request_timeout_s)
        except Overloaded as error:
            return error_response(503, str(error), "overloaded", headers={"Retry-After": "1"})
        except asyncio.TimeoutError:
            message = f"no answer within {limits.request_timeout_s} s; the server is overloaded, retry later"
            return error_response(503, message, "timeout", headers={"Retry-After": "1"})
        except Exception as error:  # the model itself failed: a bug or a broken artifact, not bad input
            log.exception("model %r failed on a batch", name)
            return error_response(
                500, f"model {name!r} failed ({type(error).__name__}); see the server log", "internal"
            )
        results = format_results(proba, labels, body.top_k)
        if model.task == "multilabel":
            for result, chosen, row in zip(results, model.classifier.decide(proba, body.threshold), proba, strict=True):
                result["labels"] = chosen
                result["probabilities"] = {n: round(float(p), 6) for n, p in zip(labels, row, strict=True)}
        return {"model": name, "task": model.task, "results": results}

    @app.get("/metrics", tags=["health"], response_class=Response)
    async def prometheus_metrics() -> Response:
        """Prometheus text format: request counts by status, latency histogram, batch sizes."""
        return Response(metrics.render(), media_type=metrics.content_type)

    known_paths = {route.path for route in app.routes}
    app.add_middleware(BodyLimitMiddleware, max_bytes=limits.max_body_bytes)
    if api_key:
        app.add_middleware(BearerAuthMiddleware, api_key=api_key)
    app.add_middleware(MetricsMiddleware, metrics=metrics, known_paths=known_paths)  # outermost: counts 401/413
    return app


def format_results(proba: np.ndarray, labels: list[str], top_k: int) -> list[dict]:
    """Per row: the best label, its probability and the top_k labels, most probable first."""
    from agileclf.predictions import prediction_rows

    return prediction_rows(proba, labels, top_k, probabilities=False)
