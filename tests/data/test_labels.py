import numpy as np
import pytest

from agileclf.data import LabelSet, read_label_descriptions
from agileclf.errors import DataError


def test_labels_are_sorted_and_encoded():
    labels = LabelSet.from_labels(["b", "a", "b", "c"])
    assert labels.names == ["a", "b", "c"]
    assert np.array_equal(labels.encode(["c", "a"]), [2, 0])
    with pytest.raises(DataError, match="label 'z' is not one of"):
        labels.encode(["z"])


def test_describe_uses_descriptions_or_a_readable_name():
    labels = LabelSet.from_labels(["billing_issue", "Sci/Tech"], {"billing_issue": "money problems"})
    assert labels.describe("billing_issue") == "money problems"
    assert labels.describe("Sci/Tech") == "Sci or Tech"
    assert LabelSet.from_json(labels.to_json()) == labels


def test_wordless_labels_are_those_whose_words_cannot_tell_them_apart():
    assert LabelSet.from_labels(["0", "1", "2.5", "pos"]).wordless() == ["0", "1", "2.5"]
    assert LabelSet(["0", "1"], {"0": "a negative review", "1": "4 stars"}).wordless() == []
    assert LabelSet.from_labels(["LABEL_0", "LABEL_1", "label_2"]).wordless() == ["LABEL_0", "LABEL_1", "label_2"]
    assert LabelSet(["class 1", "Class 2"]).wordless() == ["class 1", "Class 2"]
    assert LabelSet.from_labels(["LABEL_0", "LABEL_1", "other"]).wordless() == []  # 'other' has words of its own
    assert LabelSet.from_labels(["LABEL_0", "class_1"]).wordless() == ["LABEL_0", "class_1"]
    assert LabelSet.from_labels(["topic 1", "topic 2", "topic 3"]).wordless() == ["topic 1", "topic 2", "topic 3"]
    assert LabelSet.from_labels(["rating 1", "rating 5"]).wordless() == []  # the number means something here
    assert LabelSet.from_labels(["type 1 diabetes", "type 2 diabetes"]).wordless() == []
    assert LabelSet.from_labels(["ABBR", "DESC"]).wordless() == [] and LabelSet.from_labels(["pos"]).wordless() == []
    described = LabelSet(["LABEL_0", "LABEL_1"], {"LABEL_0": "a negative review", "LABEL_1": "a positive review"})
    assert described.wordless() == []


def test_label_descriptions_file_json_and_jsonl(write_file):
    assert read_label_descriptions(write_file("l.json", '{"a": "alpha", "b": "beta"}')) == {"a": "alpha", "b": "beta"}
    path = write_file("l.jsonl", '{"label": "a", "description": "alpha"}\n{"label": "b"}\n')
    with pytest.raises(DataError, match="l.jsonl:2: field 'description' must be a non-empty string"):
        read_label_descriptions(path)
    with pytest.raises(DataError, match="l.jsonl:2: expected a JSON object, got list"):
        read_label_descriptions(write_file("l.jsonl", '{"label": "a", "description": "alpha"}\n["b", "beta"]\n'))
    with pytest.raises(DataError, match="l.jsonl:1: malformed JSON .* at column 15"):
        read_label_descriptions(write_file("l.jsonl", '{"label": "a" "description": "alpha"}\n'))
