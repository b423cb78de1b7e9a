"""Swagger UI at /docs from the installed `swagger-ui-bundle-v2` files: FastAPI's default page loads it from a CDN,
which a machine without internet cannot reach."""

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles


def add_offline_docs(app: FastAPI, title: str) -> None:
    """Serve /docs (create the app with `docs_url=None`) with Swagger UI's files from the local package when it is
    installed, else FastAPI's CDN page; the favicon is inlined either way."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        swagger_ui_path = None
    assets = {}
    if swagger_ui_path is not None:
        app.mount("/docs-static", StaticFiles(directory=swagger_ui_path), name="docs-static")
        assets = {
            "swagger_js_url": "/docs-static/swagger-ui-bundle.js",
            "swagger_css_url": "/docs-static/swagger-ui.css",
        }

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=title, swagger_favicon_url="data:,", **assets)
