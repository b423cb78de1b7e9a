"""The app's settings: where its data lives, where it listens, and the limits it enforces."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_DATA_DIR = Path("agileclf-data")


@dataclass
class AppSettings:
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None  # default: SQLite in data_dir
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None  # required on every request when set (always set when bound beyond loopback)
    backbone: Any = None  # a local folder, an already loaded backbone, or None for the bundled MiniLM
    generator: Any = None  # a causal-LM folder (or loaded backbone) for "suggest examples"; None: not offered
    allowed_hosts: list[str] | None = None  # Host headers accepted; None: loopback names when bound to loopback
    max_upload_bytes: int = 5_000_000
    max_pool_texts: int = 2000  # unlabelled texts ranked at once in "what to label next"
    cv_folds: int = 5
    seed: int = 0
    start_worker: bool = True  # tests may drive the queue by hand
    _backbone_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _loaded_backbone: Any = field(default=None, repr=False)
    _loaded_generator: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)

    def load_backbone(self):
        """The backbone, loaded once and shared by every job and prediction."""
        with self._backbone_lock:
            if self._loaded_backbone is None:
                from agileclf.backbones import load_backbone

                self._loaded_backbone = load_backbone(self.backbone)
            return self._loaded_backbone

    def load_generator(self):
        """The causal LM that writes suggestions, loaded once."""
        with self._backbone_lock:
            if self._loaded_generator is None:
                from agileclf.backbones import load_backbone

                self._loaded_generator = load_backbone(self.generator)
            return self._loaded_generator

    @property
    def backbone_kind(self) -> str:
        from agileclf.backbones.kinds import backbone_kind

        return backbone_kind(self.backbone)

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "classifiers"
