import time

import numpy as np
import pytest

from agileclf.evaluate.bootstrap import (
    paired_bootstrap,
    paired_bootstrap_f1,
    pooled_paired_bootstrap,
    pooled_paired_bootstrap_f1,
)
from agileclf.evaluate.slots import slot_counts, slot_scores


def test_identical_classifiers_give_a_zero_width_interval():
    a = np.array([1, 0, 1, 1, 0, 1], dtype=bool)
    assert paired_bootstrap(a, a, n_resamples=500) == (0.0, 0.0, 0.0)


def test_interval_covers_the_difference_and_matches_the_normal_approximation():
    rng = np.random.default_rng(1)
    n = 2000
    b = rng.random(n) < 0.70
    a = b.copy()
    flip = rng.random(n) < 0.10  # a is right on 10% of b's errors and wrong on nothing else: +~3 points
    a[flip & ~b] = True
    mean, low, high = paired_bootstrap(a, b, n_resamples=4000, seed=0)
    assert mean == pytest.approx(a.mean() - b.mean())
    assert low < mean < high and low > 0  # a clear win: the interval excludes 0
    d = a.astype(float) - b
    half = 1.96 * d.std(ddof=1) / np.sqrt(n)
    assert (high - low) / 2 == pytest.approx(half, rel=0.15)
    assert paired_bootstrap(a, b, n_resamples=4000, seed=0) == (mean, low, high)  # seeded: reproducible


def test_no_difference_interval_includes_zero():
    rng = np.random.default_rng(2)
    a, b = rng.random(500) < 0.6, rng.random(500) < 0.6
    _, low, high = paired_bootstrap(a, b, n_resamples=2000)
    assert low < 0 < high


def test_pooled_over_seeds_is_the_mean_difference_and_widens_with_seed_spread():
    rng = np.random.default_rng(3)
    base = rng.random(800) < 0.7
    steady = [(base | (rng.random(800) < 0.05), base) for _ in range(4)]
    mean, low, high = pooled_paired_bootstrap(steady, n_resamples=2000)
    assert mean == pytest.approx(np.mean([a.mean() - b.mean() for a, b in steady]))
    assert low > 0
    # one seed far worse: resampling the seeds widens the interval beyond the rows-only one
    shaky = [*steady[:3], (base & (rng.random(800) < 0.6), base)]
    _, lo_rows, hi_rows = pooled_paired_bootstrap(shaky, n_resamples=2000, resample_pairs=False)
    _, lo_both, hi_both = pooled_paired_bootstrap(shaky, n_resamples=2000)
    assert hi_both - lo_both > 2 * (hi_rows - lo_rows)


def test_bad_inputs_and_speed_on_a_large_test_set():
    with pytest.raises(ValueError):
        paired_bootstrap([1, 0], [1, 0, 1])
    rng = np.random.default_rng(4)
    pairs = [(rng.random(7600) < 0.8, rng.random(7600) < 0.8) for _ in range(5)]
    start = time.process_time()
    pooled_paired_bootstrap(pairs, n_resamples=2000)
    assert time.process_time() - start < 10


def test_f1_bootstrap_recomputes_corpus_f1_on_each_resample():
    rng = np.random.default_rng(3)
    kinds = ["O", "B-date", "I-date", "B-time"]
    true = [list(rng.choice(kinds, size=6)) for _ in range(300)]
    worse = [[tag if rng.random() < 0.8 else "O" for tag in row] for row in true]  # drops a fifth of the tags
    counts_true, counts_worse = slot_counts(true, true), slot_counts(true, worse)
    difference = slot_scores(true, true)["slot_f1"] - slot_scores(true, worse)["slot_f1"]
    mean, low, high = paired_bootstrap_f1(counts_true, counts_worse, n_resamples=2000)
    assert mean == pytest.approx(difference) and 0 < low < mean < high
    assert paired_bootstrap_f1(counts_worse, counts_worse, n_resamples=200) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="count arrays"):
        paired_bootstrap_f1(counts_true, counts_true[:10])


def test_pooled_f1_bootstrap_averages_the_pairs_on_shared_rows():
    rng = np.random.default_rng(4)
    kinds = ["O", "B-date", "I-date", "B-time"]
    true = [list(rng.choice(kinds, size=6)) for _ in range(300)]
    worse = [[tag if rng.random() < 0.8 else "O" for tag in row] for row in true]
    counts_true, counts_worse = slot_counts(true, true), slot_counts(true, worse)
    single, low_single, high_single = paired_bootstrap_f1(counts_true, counts_worse, n_resamples=2000)
    mean, low, high = pooled_paired_bootstrap_f1(
        [(counts_true, counts_worse), (counts_worse, counts_worse)], n_resamples=2000
    )
    assert mean == pytest.approx(single / 2) and low == pytest.approx(low_single / 2)
    assert high == pytest.approx(high_single / 2)
    with pytest.raises(ValueError, match="count arrays"):
        pooled_paired_bootstrap_f1([(counts_true, counts_worse), (counts_true[:10], counts_true[:10])])
