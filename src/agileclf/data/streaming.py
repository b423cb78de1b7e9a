"""Chunked readers for prediction over inputs of any size: JSONL, CSV/TSV, Parquet and text lines.

Readers yield one validated row at a time (file:line errors as `readers` gives them), in chunks bounded in size
and in waiting time; the writers and resuming are in `writers`.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO

from agileclf.data.readers import (
    MAX_LINE_BYTES,
    delimited_records,
    is_std_stream,
    json_record,
    require_file,
    text_value,
)
from agileclf.errors import DataError

STREAM_FORMATS = ("jsonl", "csv", "tsv", "parquet", "lines")


@dataclass
class Row:
    """One input row: its 1-based line (or row) number, all its fields, and the text to label."""

    line: int
    record: dict
    text: str


def stream_format(path: str | Path | None) -> str:
    """The reader for `path`: by suffix; stdin (None or '-') and unknown suffixes read JSON-or-text lines."""
    if is_std_stream(path):
        return "lines"
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix in ("jsonl", "json", "ndjson"):
        return "jsonl"
    if suffix in ("csv", "tsv", "parquet"):
        return suffix
    return "lines"


def iter_rows(
    source: str | Path | None,
    text_field: str = "text",
    fmt: str | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    stdin: IO[bytes] | None = None,
) -> Iterator[Row]:
    """Rows of `source` (a path, or None / '-' for stdin), read lazily in bounded memory."""
    fmt = fmt or stream_format(source)
    if fmt not in STREAM_FORMATS:
        raise DataError(f"unknown input format '{fmt}'; use one of {', '.join(STREAM_FORMATS)}")
    name = "<stdin>" if is_std_stream(source) else str(source)
    if name != "<stdin>":
        require_file(name)
    if fmt == "parquet":
        yield from _parquet_rows(Path(name), text_field)
        return
    handle = (stdin or sys.stdin.buffer) if name == "<stdin>" else open(name, "rb")  # noqa: SIM115
    try:
        lines = _decoded_lines(handle, name, max_line_bytes)
        if fmt in ("csv", "tsv"):
            yield from _delimited_rows(lines, name, fmt, text_field)
        else:
            yield from _json_rows(lines, name, text_field, allow_text=fmt == "lines")
    finally:
        if handle is not stdin and handle is not sys.stdin.buffer:
            handle.close()


def check_first_rows(source: str | Path | None, text_field: str = "text", rows: int = 1000) -> None:
    """Read the first `rows` rows of a file (not stdin, which can be read once) and raise their first error: a
    command checks its input this way before it loads a model, which takes seconds."""
    if is_std_stream(source):
        return
    reader = iter_rows(source, text_field)
    try:
        for _ in islice(reader, rows):
            pass
    finally:
        reader.close()


def _decoded_lines(handle: IO[bytes], name: str, max_line_bytes: int) -> Iterator[tuple[int, str]]:
    number = 0
    while True:
        raw = handle.readline(max_line_bytes + 2)  # a bounded read: one huge line never fills memory
        if not raw:
            return
        number += 1
        if len(raw.rstrip(b"\r\n")) > max_line_bytes:
            raise DataError(f"{name}:{number}: line is over the limit of {max_line_bytes:,} bytes")
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as err:
            raise DataError(
                f"{name}:{number}: not valid UTF-8 (byte 0x{raw[err.start]:02x} at column {err.start + 1}); "
                "re-save the file as UTF-8"
            ) from None


def _json_rows(lines: Iterable[tuple[int, str]], name: str, text_field: str, allow_text: bool) -> Iterator[Row]:
    for number, line in lines:
        if not line.strip():
            continue
        if allow_text and not line.lstrip().startswith("{"):
            text = line.rstrip("\r\n")
            yield Row(number, {text_field: text}, text)
            continue
        record = json_record(name, number, line)
        yield Row(number, record, text_value(name, number, record, text_field))


def _delimited_rows(lines: Iterable[tuple[int, str]], name: str, fmt: str, text_field: str) -> Iterator[Row]:
    for line_no, record in delimited_records(lines, name, fmt):
        yield Row(line_no, record, text_value(name, line_no, record, text_field))


def _parquet_rows(path: Path, text_field: str, batch_rows: int = 4096) -> Iterator[Row]:
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises its own ArrowInvalid/OSError family for unreadable files
        raise DataError(f"{path}: not a readable Parquet file ({err})") from None
    if text_field not in file.schema_arrow.names:
        raise DataError(f"{path}: column '{text_field}' is missing (columns: {', '.join(file.schema_arrow.names)})")
    number = 0
    for batch in file.iter_batches(batch_size=batch_rows):
        for record in batch.to_pylist():
            number += 1
            yield Row(number, record, text_value(str(path), number, record, text_field))


_END = object()


def chunked(rows: Iterable[Row], size: int, max_wait_s: float = 0.5) -> Iterator[list[Row]]:
    """Chunks of at most `size` rows; a chunk is handed on early when no new row came for `max_wait_s`, so a slow
    producer (a pipe) sees results for its first rows before it closes the stream. A reader thread fills a queue
    of at most two chunks, so memory stays bounded."""
    if size < 1:
        raise DataError(f"chunk size must be at least 1, got {size}")
    buffer: queue.Queue = queue.Queue(maxsize=2 * size)
    stop = threading.Event()

    def produce() -> None:
        try:
            for row in rows:
                while not stop.is_set():
                    try:
                        buffer.put(row, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(_END)
        except BaseException as err:  # handed to the consumer, which raises it in the caller's thread
            buffer.put(err)

    thread = threading.Thread(target=produce, name="agileclf-reader", daemon=True)
    thread.start()
    try:
        chunk: list[Row] = []
        while True:
            try:
                item = buffer.get(timeout=max_wait_s) if chunk else buffer.get()
            except queue.Empty:
                yield chunk
                chunk = []
                continue
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            chunk.append(item)
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
    finally:
        stop.set()


def skip_rows(rows: Iterator[Row], count: int) -> tuple[Row | None, Iterator[Row]]:
    """Drop the first `count` rows (already labelled); returns the last one dropped (for a consistency check)."""
    last = None
    for _ in range(count):
        last = next(rows, None)
        if last is None:
            break
    return last, rows
