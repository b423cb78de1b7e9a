"""`agileclf app`: the agile loop in a browser, from a few examples to a served classifier.

Optional extra `app` (sqlmodel, alembic, jinja2, python-multipart, cleanlab) on top of `serve`.
`create_app(settings)` gives the FastAPI app; `run_app(settings)` serves it under uvicorn.
"""

from agileclf.app.settings import AppSettings

__all__ = ["AppSettings", "create_app", "run_app"]


def __getattr__(name: str):
    # Lazy: FastAPI, SQLModel and the templates load only when the app is built.
    if name in ("create_app", "run_app"):
        from agileclf.app import server

        return getattr(server, name)
    raise AttributeError(name)
