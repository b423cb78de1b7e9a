"""Peers: what a practitioner would use instead of agileclf, wrapped in the method interface for the bench.

SetFit (optional extra `peers`) and TF-IDF + logistic regression run in the same process as agileclf's methods
on the same samples; they are not agileclf methods and never registered as such.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, redirect_stdout

import numpy as np

from agileclf.data.labels import LabelSet
from agileclf.errors import ConfigError

PEER_NAMES = ("setfit", "tfidf")


class Peer:
    """fit / predict_proba like agileclf's methods, columns in `labels` order."""

    name = "peer"

    def __init__(self, seed: int = 0, **params):
        self.seed = seed
        self.params = params
        self.labels: LabelSet | None = None

    def fit(self, texts: Sequence[str], labels: Sequence[str], valid=None, label_set: LabelSet | None = None):
        self.labels = label_set or LabelSet.from_labels(labels)
        self._fit(list(texts), self.labels.encode(list(labels)))
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        proba = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        if texts:
            raw = np.asarray(self._predict_proba(list(texts)), dtype=np.float32)
            proba[:, self.classes_] = raw  # labels missing from training get probability 0
        return proba


class TfidfPeer(Peer):
    """scikit-learn's TF-IDF (word 1-2 grams, sublinear tf) and logistic regression."""

    name = "tfidf"

    def _fit(self, texts: list[str], y: np.ndarray) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.pipeline = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            LogisticRegression(C=self.params.get("c", 10.0), max_iter=2000, random_state=self.seed),
        )
        self.pipeline.fit(texts, y)
        self.classes_ = self.pipeline.classes_

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        return self.pipeline.predict_proba(texts)


class SetFitPeer(Peer):
    """SetFit 1.2 with its defaults on the same backbone folder, offline (no hub metric, nothing saved)."""

    name = "setfit"
    model_kwargs: dict = {}  # SetFitModel.from_pretrained options (bench.multilabel: multi_target_strategy)

    def __init__(self, seed: int = 0, backbone_path=None, **params):
        super().__init__(seed, **params)
        from agileclf.backbones.kinds import resolve_path

        self.backbone_path = str(resolve_path(backbone_path))

    def _fit(self, texts: list[str], y: np.ndarray) -> None:
        try:
            from datasets import Dataset
            from setfit import SetFitModel, Trainer, TrainingArguments
        except ImportError as err:
            hint = "pip install 'agileclf[peers]'"
            raise ConfigError(f"the setfit peer needs the `peers` extra: {hint} ({err})") from None
        from agileclf.progress import is_quiet, quiet_loading

        with quiet_loading(), _silenced_setfit() if is_quiet() else nullcontext():  # warnings go to the bench row
            self.model = SetFitModel.from_pretrained(self.backbone_path, local_files_only=True, **self.model_kwargs)
            with tempfile.TemporaryDirectory(prefix="agileclf-setfit-") as tmp:
                args = TrainingArguments(
                    output_dir=tmp,
                    save_strategy="no",
                    report_to="none",
                    seed=self.seed,
                    show_progress_bar=not is_quiet(),
                    **self.params,
                )
                trainer = Trainer(
                    model=self.model,
                    args=args,
                    train_dataset=Dataset.from_dict({"text": texts, "label": self._label_column(y)}),
                    metric=_accuracy,  # the default "accuracy" string would load `evaluate` from the hub
                )
                trainer.train()
        self.classes_ = np.asarray(self.model.model_head.classes_, dtype=np.int64)

    def _label_column(self, y: np.ndarray) -> list:
        return [int(v) for v in y]

    def _predict_proba(self, texts: list[str]) -> np.ndarray:
        proba = self.model.predict_proba(texts, as_numpy=True, show_progress_bar=False)
        return np.asarray(proba)


@contextmanager
def _silenced_setfit() -> Iterator[None]:
    """SetFit logs its banner at INFO and its trainer prints every loss dict to stdout; --quiet means neither."""
    from setfit import logging as setfit_logging

    verbosity = setfit_logging.get_verbosity()
    setfit_logging.set_verbosity_error()
    try:
        with redirect_stdout(io.StringIO()):
            yield
    finally:
        setfit_logging.set_verbosity(verbosity)


def _accuracy(predictions, references) -> dict:
    return {"accuracy": float(np.mean(np.asarray(predictions) == np.asarray(references)))}


def make_peer(name: str, seed: int, backbone_path=None, **params) -> Peer:
    """A peer by name: 'setfit' or 'tfidf'."""
    if name == "tfidf":
        return TfidfPeer(seed=seed, **params)
    if name == "setfit":
        return SetFitPeer(seed=seed, backbone_path=backbone_path, **params)
    raise ConfigError(f"unknown peer '{name}'; available: {', '.join(PEER_NAMES)}")
