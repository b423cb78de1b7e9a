"""Shared fixtures: the bundled MiniLM (loaded once) and the real benchmarks in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("AGILECLF_SHARED_DATA", REPO.parent / "shared" / "data"))


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
