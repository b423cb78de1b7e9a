"""Progress bars that one switch (`--quiet` or AGILECLF_QUIET=1) silences everywhere."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def set_quiet(quiet: bool) -> None:
    """Silence (or restore) every progress bar of this process."""
    os.environ["AGILECLF_QUIET"] = "1" if quiet else "0"


def is_quiet() -> bool:
    return os.environ.get("AGILECLF_QUIET", "0") == "1"


def progress(iterable: Iterable[T] | None = None, **kwargs) -> tqdm:
    """A tqdm bar on stderr, disabled when quiet."""
    kwargs.setdefault("leave", False)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, disable=is_quiet(), **kwargs)


@contextmanager
def quiet_loading() -> Iterator[None]:
    """Hide transformers' per-tensor 'Loading weights' bar and load-time warnings, which tell a user nothing."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if was_enabled:
            hf_logging.enable_progress_bar()
