"""The paired intent / slot / frame differences that compare two intent+slots models, on one seed or pooled."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from agileclf.bench.multitask import paired_differences
from agileclf.evaluate.slots import slot_scores

RNG = np.random.default_rng(5)
TRUE_TAGS = [list(RNG.choice(["O", "B-date", "I-date", "B-time"], size=5)) for _ in range(200)]
TRUE_LABELS = [str(label) for label in RNG.choice(["alarm", "weather"], size=200)]
TEST = SimpleNamespace(labels=TRUE_LABELS, tags=TRUE_TAGS)


def degraded(share: float, seed: int) -> tuple[list[str], list[list[str]]]:
    """Predictions that get about `share` of the labels and of the tags wrong."""
    rng = np.random.default_rng(seed)
    labels = [label if rng.random() > share else "other" for label in TRUE_LABELS]
    tags = [[tag if rng.random() > share else "O" for tag in row] for row in TRUE_TAGS]
    return labels, tags


def test_one_pair_gives_the_difference_of_the_two_scores():
    better, worse = degraded(0.05, 1), degraded(0.3, 2)
    difference = paired_differences(TEST, better, worse)
    accuracy = 100 * (np.mean(np.equal(better[0], TRUE_LABELS)) - np.mean(np.equal(worse[0], TRUE_LABELS)))
    slot_f1 = 100 * (slot_scores(TRUE_TAGS, better[1])["slot_f1"] - slot_scores(TRUE_TAGS, worse[1])["slot_f1"])
    assert difference["accuracy"][0] == pytest.approx(accuracy)
    assert difference["slot_f1"][0] == pytest.approx(slot_f1)
    for mean, low, high in difference.values():
        assert 0 < low <= mean <= high


def test_more_pairs_pool_into_the_mean_of_the_per_seed_differences():
    first = (degraded(0.05, 1), degraded(0.3, 2))
    second = (degraded(0.2, 3), degraded(0.2, 4))  # two equally good models: a difference near 0
    alone = [paired_differences(TEST, *pair) for pair in (first, second)]
    pooled = paired_differences(TEST, *first, second)
    for name, (mean, low, high) in pooled.items():
        assert mean == pytest.approx((alone[0][name][0] + alone[1][name][0]) / 2)
        assert low <= mean <= high
    assert pooled["slot_f1"][1] < alone[0]["slot_f1"][1]  # the level pair pulls the interval toward 0
