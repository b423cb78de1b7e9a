"""`agileclf app`: the agile loop in a browser, from a few examples to a served classifier.

Optional extra `app` (sqlmodel, alembic, jinja2, python-multipart, cleanlab) on top of `serve`.
`create_app(settings)` gives the FastAPI app; `run_app(settings)` serves it under uvicorn.
"""
