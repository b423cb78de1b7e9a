"""The web app: FastAPI with the JSON API under /api (OpenAPI at /docs) and server-rendered pages."""

import logging
import secrets
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from agileclf import __version__
from agileclf.app.context import AppContext
from agileclf.app.db import database_url, make_engine, migrate
from agileclf.app.errors import AppError
from agileclf.app.jobs import JobQueue
from agileclf.app.security import AccessMiddleware
from agileclf.app.settings import AppSettings
from agileclf.app.store import Store
from agileclf.errors import AgileclfError
from agileclf.serve.docs import add_offline_docs
from agileclf.serve.middleware import BodyLimitMiddleware

log = logging.getLogger("agileclf.app")
HERE = Path(__file__).parent


def build_context(settings: AppSettings) -> AppContext:
    """Open (and migrate) the database in the data folder and recover jobs a killed process left behind."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url(settings.data_dir, settings.database_url))
    migrate(engine)
    store = Store(engine)
    jobs = JobQueue(store, settings)
    jobs.recover()
    return AppContext(settings, store, jobs)


def create_app(settings: AppSettings | None = None) -> FastAPI:
    """The app for `settings`; the database is migrated and jobs are recovered here, the worker starts with it."""
    from agileclf.app import api_data, api_models, pages

    settings = settings or AppSettings()
    context = build_context(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.start_worker:
            context.jobs.start()
        try:
            yield
        finally:
            context.jobs.stop()
            for running in list(context.servers.values()):
                running.stop()
            context.servers.clear()
            context.store.engine.dispose()

    app = FastAPI(
        title="agileclf app",
        version=__version__,
        description="The agile loop: labels, examples, training in the background, cross-validated metrics, "
        "predictions, versions, downloads and serving. Errors are JSON: {error: {message, type}}.",
        lifespan=lifespan,
        docs_url=None,  # served offline by add_offline_docs below
    )
    app.state.ctx = context
    add_offline_docs(app, "agileclf app API")
    app.include_router(api_data.router)
    app.include_router(api_models.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(AgileclfError)
    async def user_error(request: Request, exc: AgileclfError):
        status = exc.status if isinstance(exc, AppError) else 422
        return _error(request, status, str(exc), type(exc).__name__)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()]
        return _error(request, 422, "; ".join(parts), "invalid")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return _error(request, exc.status_code, str(exc.detail), "http_error")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"status": "ok"}

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes + 64_000)
    app.add_middleware(AccessMiddleware, token=settings.token)
    # DNS rebinding: a web page whose name resolves to 127.0.0.1 must not reach the app; only our own names do.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=_allowed_hosts(settings))
    return app


def _allowed_hosts(settings: AppSettings) -> list[str]:
    from agileclf.serve.config import is_loopback_host

    if settings.allowed_hosts is not None:
        return list(settings.allowed_hosts)
    return ["127.0.0.1", "localhost"] if is_loopback_host(settings.host) else ["*"]


def _error(request: Request, status: int, message: str, kind: str):
    if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status)
    from agileclf.app.pages import templates

    page = templates.get_template("error.html").render(status=status, message=message, request=request)
    return HTMLResponse(page, status_code=status)


def run_app(settings: AppSettings, open_browser: bool = False, echo=print) -> None:
    """Serve the app under uvicorn until interrupted; beyond loopback an access token is always required."""
    import uvicorn

    from agileclf.serve.config import is_loopback_host

    if not is_loopback_host(settings.host) and not settings.token:
        settings.token = secrets.token_urlsafe(24)
    app = create_app(settings)
    url = f"http://{settings.host}:{settings.port}/"
    if settings.token:
        url += f"?token={settings.token}"
        echo(f"warning: listening on {settings.host}; only people with the token link can use it")
    echo(f"agileclf app: data in {settings.data_dir.resolve()}")
    echo(f"open {url}")
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.5, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", timeout_graceful_shutdown=5)
