import csv
import json

import pytest

from agileclf.data.writers import open_writer, output_format, resume_point
from agileclf.errors import ArtifactError, DataError
from agileclf.predictions import format_rows

ROWS = [
    {"text": "a, b", "label": "x", "probabilities": {"x": 0.75, "y": 0.25}, "top_k": [{"label": "x"}]},
    {"text": 'say "hi"\nthen go', "label": "y", "probabilities": {"x": 0.1, "y": 0.9}, "top_k": [{"label": "y"}]},
]


def test_csv_writer_flattens_probabilities_and_appends_under_the_same_header(tmp_path):
    path = tmp_path / "out.csv"
    with open_writer(path) as writer:
        writer.write(ROWS[:1])
    with open_writer(path, append=True) as writer:
        writer.write(ROWS[1:])
    with open(path, newline="", encoding="utf-8") as handle:
        read = list(csv.DictReader(handle))
    assert list(read[0]) == ["text", "label", "p(x)", "p(y)", "top_k"]
    assert [r["text"] for r in read] == [ROWS[0]["text"], ROWS[1]["text"]]
    assert json.loads(read[1]["top_k"]) == [{"label": "y"}] and float(read[1]["p(y)"]) == 0.9
    # the in-memory CSV of the front ends writes the same cells
    assert "".join(format_rows(ROWS, "csv")) == path.read_text(encoding="utf-8")


def test_parquet_output_is_whole_or_absent(tmp_path):
    path = tmp_path / "out.parquet"
    with pytest.raises(RuntimeError), open_writer(path) as writer:
        writer.write(ROWS)
        raise RuntimeError("crash mid-run")
    assert list(tmp_path.iterdir()) == []
    with open_writer(path) as writer:
        writer.write(ROWS)
    assert path.is_file() and not (tmp_path / "out.parquet.partial").exists()
    with pytest.raises(DataError, match="cannot be resumed"):
        resume_point(path)


def test_output_format_by_suffix_and_refusal():
    assert [output_format(p) for p in ("a.tsv", "a.parquet", "a.jsonl", "-", None)] == [
        "csv", "parquet", "jsonl", "jsonl", "jsonl",
    ]  # fmt: skip
    with pytest.raises(DataError, match="unknown output format 'xml'"):
        output_format("a.csv", "xml")


def test_resume_point_of_an_empty_or_header_only_file(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("text,label\r\n")
    assert resume_point(path).rows == 0
    path.write_text("text,lab")
    assert (resume_point(path).rows, path.read_text()) == (0, "")


def test_an_output_path_that_is_a_folder_is_refused(tmp_path):
    with pytest.raises(ArtifactError, match="is a folder; --output takes a file"):
        open_writer(tmp_path)
