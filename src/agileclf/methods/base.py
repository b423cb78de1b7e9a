"""The one interface every method shares: fit / predict_proba / predict / save, scikit-learn style."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from agileclf.data.labels import LabelSet
from agileclf.errors import ConfigError, DataError


def param(default: Any, help: str, **kwargs) -> Any:  # noqa: A002 - `help` reads best at call sites
    """A config field with a default and the one-line help that `agileclf methods` shows."""
    if isinstance(default, list | dict | set):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help}, **kwargs)
    return field(default=default, metadata={"help": help}, **kwargs)


@dataclass
class MethodConfig:
    """Parameters every method has; each method's config subclasses this one."""

    seed: int = param(0, "random seed for everything this method draws or initialises")
    calibration: str = param(
        "auto",
        "temperature scaling fitted by cross-validation on the training examples: auto (kept where it lowers CV "
        "log-loss; skipped by methods whose CV would refit the encoder), temperature (always), none",
    )


class Method(ClassifierMixin, BaseEstimator):
    """Base class: subclasses set `name`, `kinds`, `config_class` and implement the `_` hooks.

    A scikit-learn estimator: `get_params` / `set_params` expose `backbone` and every config field, so
    `sklearn.base.clone`, `GridSearchCV` and `cross_val_score` work (a clone shares the backbone, which no method
    changes); `classes_` are the label names; `predict` returns a numpy array; `score` is accuracy.
    """

    name: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]] = ("encoder",)
    config_class: ClassVar[type[MethodConfig]] = MethodConfig
    needs_training_data: ClassVar[bool] = True
    # False for methods that need more than (text, label) pairs (slot tags, a hierarchy): the bench's default
    # method list leaves them out, since its datasets give texts and labels only.
    fits_from_labels_alone: ClassVar[bool] = True
    # True when the method loads backbones beside its own (`ensemble`): the bench's default list leaves it out too
    loads_other_backbones: ClassVar[bool] = False
    # True when a few refits cost seconds (frozen encoder): `calibration=auto` cross-validates only these
    cheap_cv: ClassVar[bool] = False
    CALIBRATION_FOLDS: ClassVar[int] = 3
    CALIBRATION_MAX_ROWS: ClassVar[int] = 2000  # a seeded subset beyond this: one parameter needs no more
    # "label" (one label per text) or another task's variant of the same name ("multilabel"); see the registry.
    task: ClassVar[str] = "label"
    # True when fit changes the backbone's weights, so the artifact must carry its own copy of them.
    stores_backbone: ClassVar[bool] = False
    # Fitted attributes that record a choice fit made from the training examples -> their name in agileclf.json
    FIT_CHOICES: ClassVar[dict[str, str]] = {"chosen_c": "c"}
    # True when fit trains on the backbone (its weights, adapters or a soft prompt): `auto` does not judge such a
    # candidate by cross-validation on a handful of examples per label (min_cv_per_label)
    tunes_backbone: ClassVar[bool] = False

    def __init__(self, backbone: Any = None, config: MethodConfig | None = None, **params: Any):
        if config is not None and params:
            raise ConfigError("give a config or parameters, not both")
        if config is None:
            from agileclf.methods.registry import build_config

            config = build_config(self.config_class, params)
        self.backbone = backbone
        self.config = config
        self.labels: LabelSet | None = None
        self.train_fingerprint: str | None = None
        self.train_size = 0

    # ---- public API -------------------------------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        valid: tuple[Sequence[str], Sequence[str]] | None = None,
        label_set: LabelSet | None = None,
    ) -> Method:
        """Learn from `texts` and `labels`; `label_set` fixes the label order and descriptions."""
        texts, labels = list(texts), list(labels)
        if len(texts) != len(labels):
            raise DataError(f"{len(texts)} texts but {len(labels)} labels")
        self.labels = label_set or LabelSet.from_labels(labels)
        if len(self.labels) < 2:
            raise DataError(f"a classifier needs at least 2 labels, got {self.labels.names}")
        if self.needs_training_data and not texts:
            raise DataError(f"method '{self.name}' needs training examples")
        y = self.labels.encode(labels)
        self._record_training_data(texts, labels)
        if valid is not None:
            valid = (list(valid[0]), self.labels.encode(list(valid[1])))
        backbone = self.backbone  # before _fit: a method that tunes the encoder replaces it
        self.calibration = {}
        self._fit(texts, y, valid)
        self.calibration = self._calibrate(texts, labels, backbone)
        return self

    def _record_training_data(self, texts: list[str], labels: list[str]) -> None:
        """The examples' fingerprint and count, as the artifact's provenance."""
        from agileclf.data.readers import Dataset

        self.train_fingerprint = Dataset(texts, labels, list(range(len(texts)))).fingerprint()
        self.train_size = len(texts)

    def _calibrate(self, texts: list[str], labels: list[str], backbone: Any) -> dict:
        """Temperature scaling from out-of-fold probabilities of fresh copies of this method (methods.calibration)."""
        from agileclf.methods.calibration import CALIBRATIONS, choose_temperature

        mode = getattr(self.config, "calibration", "none")
        if mode not in CALIBRATIONS:
            raise ConfigError(f"calibration must be one of {', '.join(CALIBRATIONS)}, not {mode!r}")
        if mode == "none":
            return {"mode": "none", "temperature": 1.0}
        if mode == "auto" and not self.cheap_cv:
            return {"mode": "auto", "temperature": 1.0, "skipped": "its cross-validation would refit the encoder"}
        from agileclf.evaluate.crossval import cross_val_proba, fold_count

        try:
            fold_count(labels, self.CALIBRATION_FOLDS)
        except DataError as err:
            if mode == "temperature":
                raise DataError(f"calibration=temperature: {err}") from None
            return {"mode": "auto", "temperature": 1.0, "skipped": str(err)}
        config = dataclasses.replace(self.config, calibration="none")
        if len(texts) > self.CALIBRATION_MAX_ROWS:
            keep = np.random.Generator(np.random.PCG64(self.config.seed)).permutation(len(texts))
            keep = sorted(keep[: self.CALIBRATION_MAX_ROWS].tolist())
            texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
            try:
                fold_count(labels, self.CALIBRATION_FOLDS)
            except DataError as err:
                return {"mode": mode, "temperature": 1.0, "skipped": f"in a {len(keep)}-row subset: {err}"}
        oof = cross_val_proba(
            lambda: type(self)(backbone=backbone, config=config),
            texts,
            labels,
            self.labels,
            n_splits=self.CALIBRATION_FOLDS,
            seed=self.config.seed,
        )
        return choose_temperature(mode, oof.proba, self.labels.encode(labels), oof.folds)

    @property
    def temperature(self) -> float:
        """The calibration temperature predict_proba applies (1: none); a loaded classifier reads agileclf.json."""
        record = self.__dict__.get("calibration") or (getattr(self, "meta", None) or {}).get("calibration") or {}
        return float(record.get("temperature", 1.0))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, n_labels) probabilities, rows summing to 1, columns in `self.labels` order."""
        self._check_fitted()
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        proba = self._predict_proba(texts)
        if self.temperature != 1.0:
            from agileclf.methods.calibration import apply_temperature

            proba = apply_temperature(proba, self.temperature)
        return proba

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The most probable label of each text, as a numpy array of label names (like scikit-learn's)."""
        proba = self.predict_proba(texts)
        return self.classes_[proba.argmax(axis=1)]

    @property
    def classes_(self) -> np.ndarray:
        """The label names, in the column order of predict_proba."""
        self._check_fitted()
        return np.asarray(self.labels.names)

    # ---- scikit-learn's estimator protocol ----------------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """`backbone` (as loaded, before any tuning) and every config field."""
        backbone = getattr(self.backbone, "origin", self.backbone)
        return {"backbone": backbone, **{f.name: getattr(self.config, f.name) for f in dataclasses.fields(self.config)}}

    def set_params(self, **params: Any) -> Method:
        """Change parameters (validated like make_method's); a fitted model keeps its weights until the next fit."""
        if "backbone" in params:
            self.backbone = params.pop("backbone")
        if params:
            from agileclf.methods.registry import build_config

            self.config = build_config(self.config_class, {**self.params, **params})
        return self

    def __sklearn_clone__(self) -> Method:
        # scikit-learn's default clone deep-copies every parameter; the backbone (a loaded model) is shared instead
        values = {k: copy.deepcopy(v) for k, v in self.get_params().items() if k != "backbone"}
        return type(self)(backbone=self.get_params()["backbone"], **values)

    def save(self, path: str | Path, extra: dict | None = None) -> Path:
        """Write the classifier directory atomically (see agileclf.artifact)."""
        from agileclf.methods.persistence import save_classifier

        self._check_fitted()
        recorded = {"calibration": self.__dict__.get("calibration"), "fitted": self.fit_choices()}
        return save_classifier(self, path, extra={**{k: v for k, v in recorded.items() if v}, **(extra or {})})

    @classmethod
    def load(cls, path: str | Path, backbone: Any = None) -> Method:
        from agileclf.methods.persistence import load_classifier

        return load_classifier(path, backbone=backbone)

    def fit_choices(self) -> dict[str, Any]:
        """What fit chose for itself from the training examples (the head's C, label anchors, ...): agileclf.json's
        "fitted". A loaded classifier returns what was saved; a value fitted since (a refit) wins, as for the
        temperature."""
        saved = (getattr(self, "meta", None) or {}).get("fitted", {})
        fitted = {
            key: _plain(self.__dict__[attribute])
            for attribute, key in self.FIT_CHOICES.items()
            if self.__dict__.get(attribute) is not None
        }
        return {**saved, **fitted}

    @property
    def params(self) -> dict:
        return dataclasses.asdict(self.config)

    # ---- hooks for subclasses ---------------------------------------------------------------------------
    def _fit(self, texts: list[str], y: np.ndarray, valid: tuple[list[str], np.ndarray] | None) -> None:
        raise NotImplementedError

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def _state_tensors(self) -> dict[str, Any]:
        """Learned tensors, saved to weights.safetensors."""
        return {}

    def _load_state_tensors(self, tensors: dict[str, Any]) -> None:
        return None

    def _save_files(self, directory: Path) -> None:
        """Extra files beside weights.safetensors (e.g. a tuned encoder)."""
        return None

    def _load_files(self, directory: Path) -> None:
        """Read back what `_save_files` wrote (a stored backbone is loaded by the loader itself)."""
        return None

    def _check_fitted(self) -> None:
        if self.labels is None:
            raise ConfigError(f"this {self.name} classifier is not fitted yet; call fit() or load a saved one")

    def __repr__(self) -> str:
        changed = {
            f.name: getattr(self.config, f.name)
            for f in dataclasses.fields(self.config)
            if getattr(self.config, f.name) != _default_of(f)
        }
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({args})"


def _plain(value: Any) -> Any:
    """A fitted value as JSON: floats rounded to 4 places (NaN, e.g. a label never seen, as null), lists itemwise."""
    if isinstance(value, dict):
        return {key: _plain(v) for key, v in value.items() if v is not None}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, bool | int | np.integer):
        return int(value)
    if isinstance(value, str):  # a chosen name (the prompt template)
        return value
    value = float(value)
    return None if np.isnan(value) else round(value, 4)


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
