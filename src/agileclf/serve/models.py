"""Loading the classifiers to serve: verified artifacts only, warmed up before the first request."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agileclf.errors import AgileclfError


@dataclass
class ServedModel:
    """One classifier behind the API, addressed by `name`."""

    name: str
    classifier: Any  # a fitted agileclf Method: .labels.names, .name, .meta, .predict_proba

    @property
    def labels(self) -> list[str]:
        return list(self.classifier.labels.names)

    @property
    def task(self) -> str:
        return getattr(self.classifier, "task", "label")

    def describe(self) -> dict:
        """What GET /v1/models shows: method, labels, backbone and the metrics recorded at training."""
        meta = getattr(self.classifier, "meta", None) or {}
        backbone = meta.get("backbone", {})
        return {
            "name": self.name,
            "method": self.classifier.name,
            "task": self.task,
            "thresholds": meta.get("multilabel", {}).get("thresholds") if self.task == "multilabel" else None,
            "top_ratio": getattr(self.classifier, "top_ratio", None) if self.task == "multilabel" else None,
            "labels": self.labels,
            "backbone": {"kind": backbone.get("kind"), "ref": backbone.get("ref")},
            "params": meta.get("params", {}),
            "metrics": meta.get("metrics"),
            "created": meta.get("created"),
        }


def load_models(
    specs: dict[str, Path], device: str | None = None, backbone: Any = None, warm_up: bool = True
) -> dict[str, ServedModel]:
    """Load every classifier; a missing, tampered or foreign artifact stops start-up with its reason.

    `backbone` (a path or an already loaded backbone) overrides the recorded one, as in `load_classifier`.
    """
    from agileclf.methods.persistence import load_classifier

    models = {}
    for name, path in specs.items():
        try:
            classifier = load_classifier(path, backbone=backbone, device=device)
        except AgileclfError as error:
            raise type(error)(f"cannot serve {name!r}: {error}") from None
        if warm_up:  # load lazy weights now, so the first request is not the slow one
            classifier.predict_proba(["warm-up"])
        models[name] = ServedModel(name, classifier)
    return models
