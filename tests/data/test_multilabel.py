"""Multi-label files: list labels from JSONL and CSV, file:line errors, and sampling that gives every label K rows."""

import json

import numpy as np
import pytest

from agileclf.data import LabelSet
from agileclf.data.multilabel import (
    check_label_lists,
    label_matrix,
    looks_multilabel,
    read_multilabel_examples,
    sample_multilabel,
)
from agileclf.errors import DataError


def jsonl(rows):
    return "\n".join(json.dumps(r) for r in rows) + "\n"


def test_jsonl_lists_are_read_sorted_and_detected(write_file):
    path = write_file("a.jsonl", jsonl([{"text": "a", "labels": ["joy", "love"]}, {"text": "b", "labels": ["anger"]}]))
    data = read_multilabel_examples(path)
    assert data.labels == [["joy", "love"], ["anger"]]
    assert data.classes == ["anger", "joy", "love"]
    assert data.label_counts() == {"anger": 1, "joy": 1, "love": 1}
    assert looks_multilabel(path, "labels") and not looks_multilabel(path, "text")


def test_csv_cells_split_on_the_given_or_detected_separator(write_file):
    path = write_file("a.csv", 'text,labels\n"hi, there",joy|love\nok,anger\n')
    assert read_multilabel_examples(path, label_sep="|").labels == [["joy", "love"], ["anger"]]
    detected = read_multilabel_examples(path)
    assert detected.labels == [["joy", "love"], ["anger"]] and "detected" in detected.notes[0]
    tsv = write_file("a.tsv", "text\tlabels\nhi\tjoy;love\n")
    assert read_multilabel_examples(tsv, label_sep=";").labels == [["joy", "love"]]


@pytest.mark.parametrize(
    ("name", "content", "kwargs", "message"),
    [
        (
            "s.jsonl",
            jsonl([{"text": "a", "labels": ["x"]}, {"text": "b", "labels": "joy"}]),
            {},
            "s.jsonl:2: field 'labels' must be a list of labels, got the string 'joy'",
        ),
        (
            "e.jsonl",
            jsonl([{"text": "a", "labels": []}]),
            {},
            "e.jsonl:1: field 'labels' is an empty list; pass --allow-empty",
        ),
        (
            "d.jsonl",
            jsonl([{"text": "a", "labels": ["x", "y", "x"]}]),
            {},
            "d.jsonl:1: field 'labels' lists 'x' more than once",
        ),
        ("n.jsonl", jsonl([{"text": "a", "labels": [None]}]), {}, "n.jsonl:1: field 'labels' holds None"),
        ("m.csv", "text,labels\na,x|y\nb,x;y\n", {}, "m.csv: column 'labels' holds several separators"),
        (
            "u.csv",
            "text,labels\na,x|y\nb,x;y\n",
            {"label_sep": "|"},
            "u.csv:3: field 'labels' 'x;y' holds ';', not the separator '|'",
        ),
        ("c.csv", "text,labels\na,\n", {"label_sep": "|"}, "c.csv:2: field 'labels' is an empty list"),
    ],
)
def test_bad_rows_name_file_line_and_field(write_file, name, content, kwargs, message):
    with pytest.raises(DataError) as err:
        read_multilabel_examples(write_file(name, content), **kwargs)
    assert message in str(err.value)


def test_empty_lists_pass_when_allowed(write_file):
    path = write_file("e.jsonl", jsonl([{"text": "a", "labels": []}, {"text": "b", "labels": ["x", "y"]}]))
    assert read_multilabel_examples(path, allow_empty=True).labels == [[], ["x", "y"]]


def test_in_memory_lists_and_indicator_matrix():
    assert check_label_lists([["b", "a"]]) == [["a", "b"]]
    with pytest.raises(DataError, match="got the string 'a'"):
        check_label_lists(["a"])
    with pytest.raises(DataError, match="empty label list"):
        check_label_lists([[]])
    matrix = label_matrix(LabelSet(["a", "b", "c"]), [["a", "c"], ["b"]])
    np.testing.assert_array_equal(matrix, [[1, 0, 1], [0, 1, 0]])
    with pytest.raises(DataError, match="label 'z' is not one of"):
        label_matrix(LabelSet(["a", "b"]), [["z"]])


def test_sampling_gives_every_label_k_rows_reproducibly():
    rng = np.random.default_rng(0)
    names = [f"l{i}" for i in range(6)]
    lists = [sorted(set(rng.choice(names, size=rng.integers(1, 3), p=[0.4, 0.3, 0.1, 0.1, 0.05, 0.05])))
             for _ in range(400)]  # fmt: skip
    sample = sample_multilabel(lists, shots=5, seed=3)
    counts = {n: sum(n in lists[i] for i in sample.indices) for n in names}
    assert counts == sample.counts and min(counts.values()) >= 5 and not sample.short_labels
    assert len(set(sample.indices)) == len(sample.indices) < 6 * 5 + 1
    assert sample_multilabel(lists, shots=5, seed=3).indices == sample.indices
    assert sample_multilabel(lists, shots=5, seed=4).indices != sample.indices
    short = sample_multilabel([["a"], ["a"], ["b"]], shots=2, seed=0)
    assert short.short_labels == {"b": 1} and "fewer than 2" in short.describe(2)


def test_goemotions_eight_per_label(shared_data):
    data = read_multilabel_examples(shared_data / "goemotions" / "train.jsonl")
    assert len(data.classes) == 28
    sample = sample_multilabel(data.labels, shots=8, seed=0)
    assert min(sample.counts.values()) >= 8 and len(sample.indices) < 28 * 8
