"""Slot F1 (seqeval, entity level), frame exact match and hierarchy metrics on hand-checked examples."""

from __future__ import annotations

import pytest

from agileclf.evaluate.slots import frame_exact_match, frame_matches, hierarchy_scores, slot_counts, slot_scores

TRUE = [["B-date", "I-date", "O", "B-time"], ["O", "B-place", "O"], ["O", "O"]]
PRED = [["B-date", "O", "O", "B-time"], ["O", "B-place", "O"], ["B-date", "O"]]


def test_slot_f1_counts_whole_entities():
    # true entities: date(0-1), time(3), place(1) = 3; predicted: date(0), time(3), place(1), date(0) = 4.
    # Exact matches: time and place = 2, so precision 2/4, recall 2/3, F1 = 2*0.5*0.667/1.167 = 0.5714.
    scores = slot_scores(TRUE, PRED)
    assert scores["slot_precision"] == pytest.approx(0.5)
    assert scores["slot_recall"] == pytest.approx(2 / 3)
    assert scores["slot_f1"] == pytest.approx(4 / 7)


def test_per_utterance_counts_and_frames_add_up_to_the_corpus_scores():
    counts = slot_counts(TRUE, PRED)
    assert counts.tolist() == [[1, 2, 2], [1, 1, 1], [0, 1, 0]]  # correct, predicted, true spans per row
    correct, predicted, true = counts.sum(axis=0)
    assert 2 * correct / (predicted + true) == pytest.approx(slot_scores(TRUE, PRED)["slot_f1"])
    assert frame_matches(None, None, TRUE, PRED).tolist() == [False, True, False]


def test_slot_scores_refuse_rows_of_different_lengths():
    with pytest.raises(ValueError, match="row 0"):
        slot_scores([["O", "O"]], [["O"]])


def test_frame_exact_match_needs_label_and_every_span():
    labels = ["alarm", "travel", "greet"]
    assert frame_exact_match(labels, labels, TRUE, PRED) == pytest.approx(1 / 3)  # only row 1 is whole
    assert frame_exact_match(labels, ["alarm", "x", "greet"], TRUE, TRUE) == pytest.approx(2 / 3)
    assert frame_exact_match(None, None, TRUE, TRUE) == 1.0


def test_frame_exact_match_compares_spans_not_tag_spelling():
    # I-x after O opens a span exactly like B-x does (conlleval reading), so both frames are the same.
    assert frame_exact_match(None, None, [["O", "B-x"]], [["O", "I-x"]]) == 1.0


def test_hierarchy_scores():
    true_child = ["comp.graphics", "rec.autos", "sci.med", "comp.windows"]
    pred_child = ["comp.graphics", "rec.motorcycles", "comp.windows", "sci.med"]
    true_parent = ["comp", "rec", "sci", "comp"]
    pred_parent = ["comp", "rec", "sci", "sci"]
    scores = hierarchy_scores(true_child, pred_child, true_parent, pred_parent, lambda c: c.split(".")[0])
    assert scores == {
        "child_accuracy": 0.25,
        "parent_accuracy": 0.75,
        "both_accuracy": 0.25,
        "consistency": 0.75,  # row 3 predicts comp.windows under sci
    }
