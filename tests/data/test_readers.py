import json

import pytest

from agileclf.data import read_examples
from agileclf.data.readers import parse_text_lines
from agileclf.errors import DataError, DataWarning

GOOD = '{"text": "hello there", "label": "greet"}\n{"text": "bye now", "label": "leave"}\n'


def test_reads_jsonl_with_line_numbers_and_skips_blank_lines(write_file):
    path = write_file("a.jsonl", '\n{"text": "hi", "label": "a"}\n\n{"text": "yo", "label": "b"}\n')
    data = read_examples(path)
    assert data.texts == ["hi", "yo"]
    assert data.labels == ["a", "b"]
    assert data.lines == [2, 4]
    assert data.classes == ["a", "b"]


def test_reads_csv_and_tsv_with_custom_fields(write_file):
    csv_path = write_file("a.csv", 'utt,intent\n"hello, world",greet\nbye,leave\n')
    data = read_examples(csv_path, text_field="utt", label_field="intent")
    assert data.texts == ["hello, world", "bye"]
    assert data.lines == [2, 3]
    tsv_path = write_file("a.tsv", "text\tlabel\nhello\tgreet\nbye\tleave\n")
    assert read_examples(tsv_path).labels == ["greet", "leave"]


def test_integer_labels_become_strings(write_file):
    path = write_file("a.jsonl", '{"text": "x", "label": 0}\n{"text": "y", "label": 1}\n')
    assert read_examples(path).labels == ["0", "1"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "a.jsonl: the file is empty"),
        ("  \n\n", "a.jsonl: the file is empty"),
        ('{"text": "ok", "label": "a"}\n{"text": "broken", "label": \n', "a.jsonl:2: malformed JSON"),
        ('["text", "label"]\n', "a.jsonl:1: expected a JSON object"),
        ('{"text": "ok", "label": "a"}\n{"label": "b"}\n', "a.jsonl:2: field 'text' is missing"),
        ('{"text": "ok"}\n', "a.jsonl:1: field 'label' is missing"),
        ('{"text": 42, "label": "a"}\n', "a.jsonl:1: field 'text' must be a string, got int"),
        ('{"text": "ok", "label": ["a"]}\n', "a.jsonl:1: field 'label' must be a string (or integer), got list"),
        ('{"text": "ok", "label": null}\n', "a.jsonl:1: field 'label' must be a string (or integer), got NoneType"),
        ('{"text": "ok", "label": "a"}\n{"text": "   ", "label": "a"}\n', "a.jsonl:2: field 'text' is empty"),
        ('{"text": "ok", "label": " "}\n', "a.jsonl:1: field 'label' is empty"),
    ],
)
def test_bad_jsonl_names_file_line_and_field(write_file, content, message):
    path = write_file("a.jsonl", content)
    with pytest.raises(DataError) as info:
        read_examples(path)
    assert message in str(info.value)


def test_non_utf8_names_the_line(write_file):
    path = write_file("a.jsonl", b'{"text": "fine", "label": "a"}\n{"text": "caf\xe9", "label": "b"}\n')
    with pytest.raises(DataError, match=r"a.jsonl:2: not valid UTF-8 \(byte 0xe9"):
        read_examples(path)


def test_line_over_size_limit(write_file):
    path = write_file("a.jsonl", GOOD + json.dumps({"text": "x" * 500, "label": "a"}) + "\n")
    with pytest.raises(DataError, match=r"a.jsonl:3: line is 5\d\d bytes, over the limit of 200 bytes"):
        read_examples(path, max_line_bytes=200)


def test_single_class_is_an_error_only_when_training(write_file):
    path = write_file("a.jsonl", '{"text": "x", "label": "a"}\n{"text": "y", "label": "a"}\n')
    assert len(read_examples(path)) == 2
    with pytest.raises(DataError, match="has 1 class.*training needs at least 2.*--label-field"):
        read_examples(path, min_classes=2)


def test_csv_row_with_wrong_column_count(write_file):
    path = write_file("a.csv", "text,label\nhello,greet\nbye,leave,extra\n")
    with pytest.raises(DataError, match="a.csv:3: 3 columns where the header has 2"):
        read_examples(path)


def test_missing_file_and_unknown_extension(tmp_path, write_file):
    with pytest.raises(DataError, match="no such file"):
        read_examples(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match=f"{tmp_path} is a folder, not a data file"):
        read_examples(tmp_path)
    with pytest.raises(DataError, match=r"unknown file type '\.xlsx'"):
        read_examples(write_file("a.xlsx", GOOD))


CONFLICTS = (
    '{"text": "refund please", "label": "billing"}\n'
    '{"text": "my app crashed", "label": "bug"}\n'
    '{"text": "refund please", "label": "shipping"}\n'
    '{"text": "refund please", "label": "billing"}\n'
)


def test_conflicting_duplicates_keep_first_warns_and_drops_the_others(write_file):
    path = write_file("a.jsonl", CONFLICTS)
    with pytest.warns(DataWarning, match="1 text\\(s\\) appear with conflicting labels.*line 1 'billing'"):
        data = read_examples(path, on_conflict="keep-first")
    assert data.lines == [1, 2, 4]
    assert "kept each text's first row" in data.notes[0]


def test_conflicting_duplicates_drop_and_error(write_file):
    path = write_file("a.jsonl", CONFLICTS)
    with pytest.warns(UserWarning, match="dropped all 3 row"):
        assert read_examples(path, on_conflict="drop").lines == [2]
    with pytest.raises(DataError, match="conflicting labels.*--on-conflict"):
        read_examples(path, on_conflict="error")


def test_fingerprint_depends_on_content_not_format(write_file):
    jsonl = read_examples(write_file("a.jsonl", GOOD))
    csv = read_examples(write_file("a.csv", "text,label\nhello there,greet\nbye now,leave\n"))
    assert jsonl.fingerprint() == csv.fingerprint()
    assert jsonl.subset([0]).fingerprint() != jsonl.fingerprint()


def test_parse_text_lines_accepts_json_and_raw_text():
    data = parse_text_lines(['{"text": "one", "id": 7}', "", "two words"])
    assert data.texts == ["one", "two words"]
    assert data.records[0]["id"] == 7
    with pytest.raises(DataError, match="<stdin>:1: malformed JSON .* at column 10"):
        parse_text_lines(['{"text": \n'])  # the column on the line, not "line 2" of the newline


def test_training_upload_and_prediction_readers_number_csv_rows_alike(write_file):
    from agileclf.data.readers import read_examples_keep_going
    from agileclf.data.streaming import iter_rows

    content = 'text,label\n"two\nlines",a\nok,b\nragged\n'
    path = write_file("m.csv", content)
    with pytest.raises(DataError, match="m.csv:5: 1 columns where the header has 2"):
        read_examples(path)
    data, errors = read_examples_keep_going(content.encode(), str(path), "csv")
    assert data.texts == ["two\nlines", "ok"] and data.lines == [2, 4]
    assert errors == [f"{path}:5: 1 columns where the header has 2"]
    rows = iter_rows(write_file("n.csv", content.replace("ragged\n", "")))
    assert [(row.line, row.text) for row in rows] == [(2, "two\nlines"), (4, "ok")]


@pytest.mark.parametrize(
    ("name", "content", "seen"), [("s.csv", "text;label\nhi;a\n", "';'"), ("t.tsv", "text,label\nhi,a\n", "','")]
)
def test_a_file_saved_with_another_separator_says_which(write_file, name, content, seen):
    with pytest.raises(DataError, match=f"{name}:1: the header is one field.*looks separated by {seen}"):
        read_examples(write_file(name, content))
