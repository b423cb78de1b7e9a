"""Row-by-row validation of an upload: the same checks as read_examples, the good rows kept."""

import pytest

from agileclf.data.readers import read_examples_keep_going
from agileclf.errors import DataError


def test_jsonl_names_each_bad_line_and_keeps_the_rest():
    raw = (
        b'{"text": "a", "label": "x"}\n{bad\n{"text": "", "label": "x"}\n\xff\n{"text": "b"}\n[1]\n'
        b'{"text": "c", "label": 2}\n'
    )
    data, errors = read_examples_keep_going(raw, "up.jsonl", "jsonl")
    assert data.texts == ["a", "c"] and data.labels == ["x", "2"] and data.lines == [1, 7]
    assert [e.split(":")[1] for e in errors] == ["2", "3", "4", "5", "6"]
    assert "malformed JSON" in errors[0] and "not valid UTF-8" in errors[2] and "'label' is missing" in errors[3]


def test_csv_names_ragged_rows_and_empty_fields():
    data, errors = read_examples_keep_going(b"text,label\nhello,x\nbad\n,y\nok,z\n", "up.csv", "csv")
    assert data.texts == ["hello", "ok"]
    assert errors == ["up.csv:3: 1 columns where the header has 2", "up.csv:4: field 'text' is empty"]


def test_an_empty_upload_or_unknown_format_is_an_error():
    with pytest.raises(DataError, match="empty"):
        read_examples_keep_going(b"  \n", "up.csv", "csv")
    with pytest.raises(DataError, match="unknown format"):
        read_examples_keep_going(b"x", "up.xls", "xls")
