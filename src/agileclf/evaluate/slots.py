"""Multi-task metrics: entity-level slot F1 (seqeval), whole-frame exact match, hierarchy accuracy/consistency."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities


def slot_scores(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> dict:
    """Entity-level micro precision / recall / F1 of slot spans (seqeval's default conlleval reading)."""
    true_tags, pred_tags = [list(t) for t in true_tags], [list(p) for p in pred_tags]
    for i, (t, p) in enumerate(zip(true_tags, pred_tags, strict=True)):
        if len(t) != len(p):
            raise ValueError(f"row {i}: {len(t)} true tags but {len(p)} predicted")
    return {
        "slot_precision": float(precision_score(true_tags, pred_tags, zero_division=0)),
        "slot_recall": float(recall_score(true_tags, pred_tags, zero_division=0)),
        "slot_f1": float(f1_score(true_tags, pred_tags, zero_division=0)),
    }


def frame_exact_match(
    true_labels: Sequence[str] | None,
    pred_labels: Sequence[str] | None,
    true_tags: Sequence[Sequence[str]] | None,
    pred_tags: Sequence[Sequence[str]] | None,
) -> float:
    """Share of utterances whose whole frame is right: the label (if any) and the exact set of slot spans."""
    hits = frame_matches(true_labels, pred_labels, true_tags, pred_tags)
    return float(hits.mean()) if hits.size else float("nan")


def frame_matches(
    true_labels: Sequence[str] | None,
    pred_labels: Sequence[str] | None,
    true_tags: Sequence[Sequence[str]] | None,
    pred_tags: Sequence[Sequence[str]] | None,
) -> np.ndarray:
    """Per utterance, whether its whole frame is right (what `frame_exact_match` averages)."""
    n = len(true_labels) if true_labels is not None else len(true_tags)
    hits = np.ones(n, dtype=bool)
    if true_labels is not None:
        hits &= np.asarray([t == p for t, p in zip(true_labels, pred_labels, strict=True)], dtype=bool)
    if true_tags is not None:  # the span sets are equal when every predicted and every true span is a correct one
        correct, predicted, true = slot_counts(true_tags, pred_tags).T
        hits &= (correct == predicted) & (correct == true)
    return hits


def slot_counts(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> np.ndarray:
    """Per utterance (rows): correct, predicted and true slot spans, the counts whose sums give slot F1
    (2 x correct / (predicted + true)); a bootstrap over utterances resamples these rows."""
    counts = np.zeros((len(true_tags), 3), dtype=np.int64)
    for i, (t, p) in enumerate(zip(true_tags, pred_tags, strict=True)):
        true_spans, pred_spans = set(get_entities(list(t))), set(get_entities(list(p)))
        counts[i] = len(true_spans & pred_spans), len(pred_spans), len(true_spans)
    return counts


def hierarchy_scores(
    true_child: Sequence[str],
    pred_child: Sequence[str],
    true_parent: Sequence[str],
    pred_parent: Sequence[str],
    parent_of: Callable[[str], str],
) -> dict:
    """Accuracy at each level, both levels right, and consistency: the predicted child sits under the predicted
    parent."""
    child_ok = np.array([t == p for t, p in zip(true_child, pred_child, strict=True)])
    parent_ok = np.array([t == p for t, p in zip(true_parent, pred_parent, strict=True)])
    consistent = np.array([parent_of(c) == p for c, p in zip(pred_child, pred_parent, strict=True)])
    if len(child_ok) == 0:
        return {}
    return {
        "child_accuracy": float(child_ok.mean()),
        "parent_accuracy": float(parent_ok.mean()),
        "both_accuracy": float((child_ok & parent_ok).mean()),
        "consistency": float(consistent.mean()),
    }


def evaluate_frames(
    classifier,
    texts: list[str],
    labels: list[str] | None = None,
    tags: list[list[str]] | None = None,
) -> dict:
    """Time `classifier.predict_outputs` on the texts and score whatever its task predicts.

    For a label task `accuracy` is the label (intent) accuracy; rows whose true label the classifier does not
    know are counted wrong and reported in `n_unknown_label`.
    """
    start = time.perf_counter()
    if texts:
        classifier.predict_outputs(texts[:2])  # warm-up: lazy loading is load time, not per-example latency
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    outputs = classifier.predict_outputs(texts)
    seconds = time.perf_counter() - start
    n = len(texts)
    calls = getattr(outputs, "model_calls", 1)
    result: dict = {"task": classifier.config.task, "n": n, "model_calls_per_example": calls}
    pred_labels = None
    if outputs.proba is not None and labels is not None:
        pred_labels = [classifier.labels.names[i] for i in outputs.proba.argmax(axis=1)]
        known = set(classifier.labels.names)
        result["n_unknown_label"] = sum(label not in known for label in labels)
        result["accuracy"] = float(np.mean([t == p for t, p in zip(labels, pred_labels, strict=True)]))
    if outputs.parent_proba is not None and labels is not None:
        pred_parents = [classifier.parent_set.names[i] for i in outputs.parent_proba.argmax(axis=1)]
        true_parents = [classifier.parent_of(label) for label in labels]
        result.update(hierarchy_scores(labels, pred_labels, true_parents, pred_parents, classifier.parent_of))
    if outputs.tags is not None and tags is not None:
        result.update(slot_scores(tags, outputs.tags))
    if (pred_labels is not None or outputs.tags is not None) and (labels is not None or tags is not None):
        result["frame_exact_match"] = frame_exact_match(
            labels if pred_labels is not None else None,
            pred_labels,
            tags if outputs.tags is not None else None,
            outputs.tags,
        )
    result.update(getattr(outputs, "parse_rates", None) or {})  # a generating model: invalid JSON, unknown labels
    result.update(load_s=load_s, predict_s=seconds, ms_per_example=1000.0 * seconds / max(n, 1))
    result["predicted_labels"] = pred_labels
    result["predicted_tags"] = outputs.tags
    return result
