"""8-shot runs on the real benchmarks in ../shared/data (skipped with a reason when absent; CI has them).

Floors sit well below what these methods measure (sst2 linear-probe 8-shot: 61-71 % over seeds 0-2 on 2,000 test
rows; chance is 50 %, 17 % and 25 %), so a failure means something broke, not noise."""

import numpy as np
import pytest

from agileclf.data import read_examples, sample_few_shot, sample_rows
from agileclf.evaluate import evaluate_classifier
from agileclf.methods import make_method

FLOORS = {"sst2": 0.55, "trec": 0.35, "ag_news": 0.60}


def few_shot(shared_data, name, shots=8, seed=0, max_test=400):
    train = read_examples(shared_data / name / "train.jsonl")
    test = read_examples(shared_data / name / "test.jsonl")
    test = test.subset(sample_rows(len(test), max_test, seed=0))
    return train.subset(sample_few_shot(train.labels, shots, seed).indices), test


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_linear_probe_8_shot(shared_data, minilm, name):
    train, test = few_shot(shared_data, name)
    assert len(train) == 8 * len(train.classes)
    classifier = make_method("linear-probe", minilm).fit(train.texts, train.labels)
    result = evaluate_classifier(classifier, test.texts, test.labels)
    assert result["accuracy"] > FLOORS[name], result["accuracy"]
    assert result["n_unknown_label"] == 0


def test_finetune_8_shot_trec_beats_chance_by_far(shared_data, minilm):
    train, test = few_shot(shared_data, "trec", max_test=300)
    classifier = make_method("finetune", minilm, min_steps=40).fit(train.texts, train.labels)
    result = evaluate_classifier(classifier, test.texts, test.labels)
    assert result["accuracy"] > 0.40, result["accuracy"]


def test_same_seed_same_sample_and_metrics_on_real_data(shared_data, minilm):
    runs = []
    for _ in range(2):
        train, test = few_shot(shared_data, "sst2", seed=2, max_test=200)
        proba = make_method("linear-probe", minilm).fit(train.texts, train.labels).predict_proba(test.texts)
        runs.append((train.lines, proba))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
