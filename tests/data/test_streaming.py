"""Chunked readers/writers and the resumable predict loop, with a small deterministic classifier."""

import io
import json
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from agileclf.data.streaming import check_first_rows, chunked, iter_rows
from agileclf.errors import DataError
from agileclf.predictions import label_stream


class LengthClassifier:
    """'long' when a text has more than 12 characters; records every batch size it was asked for."""

    def __init__(self):
        self.labels = SimpleNamespace(names=["long", "short"])
        self.batches = []

    def predict_proba(self, texts):
        self.batches.append(len(texts))
        p = np.array([0.9 if len(t) > 12 else 0.2 for t in texts])
        return np.stack([p, 1 - p], axis=1)


TEXTS = [f"text number {i}" + " extra" * (i % 3) for i in range(50)]


def write_jsonl(path, texts):
    path.write_text("".join(json.dumps({"text": t, "id": i}) + "\n" for i, t in enumerate(texts)), encoding="utf-8")
    return path


def test_readers_give_rows_with_line_numbers(tmp_path):
    csv_path = tmp_path / "in.csv"
    csv_path.write_text('id,text\n1,plain\n2,"two\nlines, with ""quotes"""\n\n3,last\n', encoding="utf-8")
    rows = list(iter_rows(csv_path))
    assert [r.text for r in rows] == ["plain", 'two\nlines, with "quotes"', "last"]
    assert [r.line for r in rows] == [2, 3, 6] and rows[0].record == {"id": "1", "text": "plain"}
    lines = list(iter_rows(None, stdin=io.BytesIO(b'{"text": "json", "k": 1}\nraw text\n\n')))
    assert [(r.line, r.text) for r in lines] == [(1, "json"), (2, "raw text")] and lines[0].record["k"] == 1
    tsv = tmp_path / "in.tsv"
    tsv.write_text("text\tx\nhello\t1\n", encoding="utf-8")
    assert next(iter_rows(tsv)).record == {"text": "hello", "x": "1"}


def test_parquet_in_and_out(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": TEXTS, "id": list(range(len(TEXTS)))}), source, row_group_size=7)
    clf = LengthClassifier()
    result = label_stream(clf, source, tmp_path / "out.parquet", chunk_rows=16)
    table = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert result.written == 50 and [r["id"] for r in table] == list(range(50))
    assert [r["label"] for r in table] == ["long" if len(t) > 12 else "short" for t in TEXTS]
    assert max(clf.batches) == 16 and not (tmp_path / "out.parquet.partial").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"text": "a"}\n{"text": \n', "in.jsonl:2: malformed JSON .* at column 10"),
        (b'{"text": "a"}\n{"other": "b"}\n', "in.jsonl:2: field 'text' is missing"),
        (b'{"text": "a"}\n{"text": "\xff"}\n', "in.jsonl:2: not valid UTF-8"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "in.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        list(iter_rows(path))


def test_chunks_are_bounded_and_flush_for_a_slow_producer():
    produced = []

    def slow():
        for i in range(5):
            produced.append(i)
            yield i
            time.sleep(0.3 if i == 1 else 0)

    chunks = chunked(slow(), size=100, max_wait_s=0.1)
    first = next(chunks)
    assert first == [0, 1] and len(produced) == 2  # handed on while the producer is still going
    assert [x for c in chunks for x in c] == [2, 3, 4]

    counted = []

    def fast():
        for i in range(10_000):
            counted.append(i)
            yield i

    chunks = chunked(fast(), size=10)
    next(chunks)
    time.sleep(0.3)
    assert len(counted) <= 10 + 2 * 10 + 1  # the reader stays at most two chunks ahead
    chunks.close()


def test_reader_errors_reach_the_caller():
    def broken():
        yield 1
        raise DataError("in.jsonl:2: malformed JSON")

    with pytest.raises(DataError, match="in.jsonl:2"):
        list(chunked(broken(), size=10))


def test_output_matches_in_memory_and_chunks_stay_small(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", TEXTS)
    clf = LengthClassifier()
    label_stream(clf, source, tmp_path / "out.jsonl", top_k=1, chunk_rows=8)
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert max(clf.batches) == 8 and sum(clf.batches) == 50
    assert [r["id"] for r in rows] == list(range(50))
    assert [r["label"] for r in rows] == ["long" if len(t) > 12 else "short" for t in TEXTS]
    assert rows[0]["top_k"] == [{"label": rows[0]["label"], "probability": rows[0]["probability"]}]


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_resume_cuts_a_torn_tail_and_continues(tmp_path, suffix):
    texts = [*TEXTS[:20], 'a "quoted"\ntext over two lines', *TEXTS[20:]]
    source = write_jsonl(tmp_path / "in.jsonl", texts)
    reference = tmp_path / f"reference.{suffix}"
    label_stream(LengthClassifier(), source, reference, chunk_rows=8)
    full = reference.read_bytes()
    out = tmp_path / f"out.{suffix}"
    cut = full.index(b"text number 25")  # inside a row: a crash mid-write
    out.write_bytes(full[: cut + 5])
    clf = LengthClassifier()
    result = label_stream(clf, source, out, chunk_rows=8)
    assert out.read_bytes() == full
    assert result.truncated_bytes > 0 and result.total == len(texts) and result.written == sum(clf.batches)
    assert result.skipped == 26  # rows before the torn one (csv: the quoted two-line text counts once)
    again = label_stream(LengthClassifier(), source, out)
    assert (again.written, again.skipped, out.read_bytes()) == (0, len(texts), full)


def test_resume_refuses_another_input_or_classifier(tmp_path):
    out = tmp_path / "out.jsonl"
    label_stream(LengthClassifier(), write_jsonl(tmp_path / "a.jsonl", TEXTS[:10]), out)
    with pytest.raises(DataError, match="same input"):
        label_stream(LengthClassifier(), write_jsonl(tmp_path / "b.jsonl", TEXTS[5:30]), out)
    with pytest.raises(DataError, match="more than"):
        label_stream(LengthClassifier(), write_jsonl(tmp_path / "c.jsonl", TEXTS[:5]), out)
    other = LengthClassifier()
    other.labels = SimpleNamespace(names=["x", "y"])
    with pytest.raises(DataError, match="not this classifier's labels"):
        label_stream(other, tmp_path / "a.jsonl", out)
    label_stream(other, tmp_path / "a.jsonl", out, resume=False)
    assert json.loads(out.read_text().splitlines()[0])["label"] in ("x", "y")


def test_stdin_reader_thread_does_not_block_the_caller():
    read, write = __import__("os").pipe()
    with open(read, "rb") as rfile, open(write, "wb") as wfile:
        chunks = chunked(iter_rows(None, stdin=rfile), size=50, max_wait_s=0.1)
        wfile.write(b"first\nsecond\n")
        wfile.flush()
        got = []
        reader = threading.Thread(target=lambda: got.append(next(chunks)))
        reader.start()
        reader.join(timeout=5)
        assert [r.text for r in got[0]] == ["first", "second"]


def test_check_first_rows_raises_an_error_among_the_first_rows_only(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(5)) + '{"text": 3}\n')
    check_first_rows(path, rows=5)  # the bad row is the sixth: found when it is labelled, not here
    with pytest.raises(DataError, match="in.jsonl:6: field 'text' must be a string"):
        check_first_rows(path, rows=6)
    check_first_rows("-")  # stdin can be read only once: it is checked as it is labelled
    with pytest.raises(DataError, match="no such file"):
        check_first_rows(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="is a folder, not a data file"):
        check_first_rows(tmp_path)
