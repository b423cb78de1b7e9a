"""Diagnostics on out-of-fold probabilities: confusion matrix, worst errors, label issues, uncertainty."""

import numpy as np

from agileclf.evaluate.diagnostics import confusion, label_issues, uncertainty, worst_errors

LABELS = ["a", "b", "c"]
PROBA = np.array(
    [[0.9, 0.1, 0.0], [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.05, 0.05, 0.9], [0.1, 0.1, 0.8],
     [0.9, 0.05, 0.05]]
)  # fmt: skip
TRUTH = ["a", "a", "b", "b", "c", "c", "c"]  # row 6 says c, everything points at a


def test_confusion_counts_given_against_predicted():
    assert confusion(TRUTH, PROBA, LABELS) == [[2, 0, 0], [0, 2, 0], [1, 0, 2]]


def test_worst_errors_are_the_confident_mistakes_first():
    (row,) = worst_errors(TRUTH, PROBA, LABELS)
    assert row["row"] == 6 and row["predicted"] == "a" and row["p_predicted"] == 0.9


def test_label_issues_find_the_mislabelled_row():
    issues = label_issues(TRUTH, PROBA, LABELS)
    assert [i["row"] for i in issues] == [6] and issues[0]["suggested"] == "a"


def test_label_issues_ignore_a_label_nobody_carries():
    proba = np.array([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0], [0.8, 0.2, 0.0], [0.2, 0.8, 0.0]])
    assert label_issues(["a", "b", "a", "b"], proba, LABELS) == []


def test_uncertainty_is_one_for_a_coin_toss_and_zero_when_sure():
    scores = uncertainty(np.array([[0.5, 0.5], [1.0, 0.0], [0.7, 0.3]]))
    assert np.allclose(scores, [1.0, 0.0, 0.6])
