"""Mixing kept synthetic rows into a real training set: every real row stays; synthetic rows per class are capped."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agileclf.data import read_examples
from agileclf.errors import ConfigError
from agileclf.synth.filters import normalise


@dataclass
class Augmented:
    """The mixed training set and what was added per class."""

    texts: list[str]
    labels: list[str]
    added: dict[str, int]
    notes: list[str] = field(default_factory=list)


def augment(
    texts: list[str],
    labels: list[str],
    synthetic_path: str | Path,
    cap: int = 0,
    ratio: float = 0.0,
    seed: int = 0,
    text_field: str = "text",
    label_field: str = "label",
) -> Augmented:
    """Real rows followed by synthetic rows of the real classes: per class at most `cap` (0: no cap) and at most
    `ratio` x that class's real count (0: no ratio limit), drawn by seed; copies of real texts and rows a
    synthesis run marked as not kept are skipped."""
    if cap < 0 or ratio < 0:
        raise ConfigError("the synthetic cap and ratio must be >= 0")
    synthetic = read_examples(synthetic_path, text_field, label_field)
    real_keys = {normalise(t) for t in texts}
    real_counts = {c: labels.count(c) for c in set(labels)}
    by_class: dict[str, list[str]] = {}
    unknown: set[str] = set()
    for text, label, record in zip(synthetic.texts, synthetic.labels, synthetic.records, strict=True):
        if record.get("kept", True) is False:
            continue
        if label not in real_counts:
            unknown.add(label)
            continue
        if normalise(text) not in real_keys:
            by_class.setdefault(label, []).append(text)
    rng = np.random.Generator(np.random.PCG64(seed))
    mixed_texts, mixed_labels, added = list(texts), list(labels), {}
    for label in sorted(real_counts):
        pool = by_class.get(label, [])
        limit = len(pool)
        if cap:
            limit = min(limit, cap)
        if ratio:
            limit = min(limit, math.floor(ratio * real_counts[label]))
        picked = range(limit)
        if limit < len(pool):
            picked = sorted(rng.choice(len(pool), size=limit, replace=False).tolist())
        mixed_texts += [pool[i] for i in picked]
        mixed_labels += [label] * limit
        added[label] = limit
    notes = []
    if unknown:
        notes.append(f"{synthetic_path}: skipped rows of labels not in the real data: {', '.join(sorted(unknown))}")
    return Augmented(mixed_texts, mixed_labels, added, notes)
