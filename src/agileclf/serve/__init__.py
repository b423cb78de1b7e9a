"""HTTP serving of saved classifiers (optional extra `serve`: FastAPI, uvicorn, prometheus-client, httpx).

`agileclf.serve.app.create_app(load_models({"name": dir}))` gives the FastAPI app; `agileclf serve` runs it
under uvicorn and `agileclf loadtest` measures it. This package imports FastAPI only where it is used, so
`import agileclf` works without the extra.
"""

from agileclf.serve.config import Limits, parse_model_specs, require_serve_extra

__all__ = ["Limits", "parse_model_specs", "require_serve_extra"]
