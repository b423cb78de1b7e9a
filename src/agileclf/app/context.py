"""What every route needs: the store, the job queue, the settings, loaded classifiers and running servers."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agileclf.app.jobs import JobQueue
from agileclf.app.models import ModelVersion
from agileclf.app.settings import AppSettings
from agileclf.app.store import Store

LOADED_CLASSIFIERS = 4


@dataclass
class AppContext:
    settings: AppSettings
    store: Store
    jobs: JobQueue
    servers: dict[int, Any] = field(default_factory=dict)  # model version id -> serving.RunningServer
    _cache: OrderedDict = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def classifier(self, version: ModelVersion):
        """The saved classifier of `version`, loaded (and checksum-verified) once, the last few kept."""
        from agileclf import load_classifier

        with self._lock:
            if version.id in self._cache:
                self._cache.move_to_end(version.id)
                return self._cache[version.id]
        loaded = load_classifier(Path(version.artifact_path), backbone=self._shared_backbone(version))
        with self._lock:
            self._cache[version.id] = loaded
            while len(self._cache) > LOADED_CLASSIFIERS:
                self._cache.popitem(last=False)
        return loaded

    def _shared_backbone(self, version: ModelVersion):
        """The app's loaded backbone when the artifact references it (saves loading it again), else None."""
        from agileclf.artifact import read_meta

        meta = read_meta(Path(version.artifact_path), verify=False)
        if meta["backbone"].get("stored"):
            return None
        backbone = self.settings.load_backbone()
        return backbone if backbone.fingerprint == meta["backbone"]["fingerprint"] else None
