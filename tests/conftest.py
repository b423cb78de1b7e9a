"""Shared fixtures: the bundled MiniLM (loaded once) and the real benchmarks in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("AGILECLF_SHARED_DATA", REPO.parent / "shared" / "data"))
# Packages whose shared fixtures train something (a tiny LM for minutes, a classifier): one worker runs them all
ONE_WORKER_PACKAGES = ("methods/causal", "methods/multitask", "app", "serve")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs one worker per core: a worker (and the CLI processes it starts) with more than one OpenMP
    # thread would fight the other worker for the cores (tests/methods/multitask/conftest.py: 2 threads were
    # measured 15x slower than 1 on shared cores)
    os.environ["OMP_NUM_THREADS"] = "1"


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """`make test` runs pytest-xdist with `--dist loadscope`: each test file runs whole on one worker, and here so
    does each package in ONE_WORKER_PACKAGES, so no module or package fixture is built twice.
    (xdist_group marks do nothing under pytest 9.2, which no longer reads the node id xdist 3.8 rewrites.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileOrPackageScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            relative = nodeid.split("::", 1)[0].removeprefix("tests/")
            return next((p for p in ONE_WORKER_PACKAGES if relative.startswith(p + "/")), relative)

    return FileOrPackageScheduling(config, log)


@pytest.fixture(autouse=True)
def _quiet():
    """Every test starts quiet: a CLI test run without --quiet switches it off for the tests after it."""
    from agileclf.progress import set_quiet

    set_quiet(True)


@pytest.fixture(scope="session")
def minilm():
    """The real bundled all-MiniLM-L6-v2, loaded once for the whole run."""
    from agileclf.backbones import load_backbone

    backbone = load_backbone()
    backbone.model  # noqa: B018 - load now, not inside the first timed test
    return backbone


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (sst2, trec, ag_news, massive_en); tests that need it skip when it is absent."""
    if not (SHARED_DATA / "sst2" / "train.jsonl").is_file():
        pytest.skip(f"real benchmarks not found at {SHARED_DATA} (../shared/data beside the repo); CI has them")
    return SHARED_DATA


@pytest.fixture()
def write_file(tmp_path):
    """Write text (or bytes) to a file under tmp_path and return its path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write
