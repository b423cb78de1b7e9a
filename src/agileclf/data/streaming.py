"""Chunked readers and writers for prediction over inputs of any size: JSONL, CSV/TSV, Parquet and text lines.

Readers yield one validated row at a time (file:line errors as `readers` gives them); writers append whole
lines and flush once per chunk, so a crash never leaves a torn row that `resume` cannot cut off.
"""

from __future__ import annotations

import csv
import io
import json
import os
import queue
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from agileclf.data.readers import MAX_LINE_BYTES, json_record, text_value
from agileclf.errors import DataError

STREAM_FORMATS = ("jsonl", "csv", "tsv", "parquet", "lines")
OUTPUT_FORMATS = ("jsonl", "csv", "parquet")


@dataclass
class Row:
    """One input row: its 1-based line (or row) number, all its fields, and the text to label."""

    line: int
    record: dict
    text: str


def stream_format(path: str | Path | None) -> str:
    """The reader for `path`: by suffix; stdin (None or '-') and unknown suffixes read JSON-or-text lines."""
    if path is None or str(path) == "-":
        return "lines"
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix in ("jsonl", "json", "ndjson"):
        return "jsonl"
    if suffix in ("csv", "tsv", "parquet"):
        return suffix
    return "lines"


def output_format(path: str | Path | None, fmt: str | None = None) -> str:
    """The writer for `path`: `fmt` if given, else by suffix (.csv and .tsv: csv, .parquet), else JSONL."""
    if fmt is None:
        suffix = "" if path is None or str(path) == "-" else Path(path).suffix.lower().lstrip(".")
        fmt = {"csv": "csv", "tsv": "csv", "parquet": "parquet"}.get(suffix, "jsonl")
    if fmt not in OUTPUT_FORMATS:
        raise DataError(f"unknown output format {fmt!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    return fmt


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
    name = "<stdin>" if source is None or str(source) == "-" else str(source)
    if name != "<stdin>" and not Path(name).is_file():
        raise DataError(f"{name}: no such file")
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
    # csv.reader takes any iterator of lines and joins quoted fields that span lines itself.
    numbered = iter(lines)
    current = [0]

    def physical() -> Iterator[str]:
        for number, line in numbered:
            current[0] = number
            yield line

    header = None
    start = 1
    for row in csv.reader(physical(), delimiter="\t" if fmt == "tsv" else ","):
        line_no, start = start, current[0] + 1
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            continue
        if len(row) != len(header):
            raise DataError(f"{name}:{line_no}: {len(row)} columns where the header has {len(header)}")
        record = dict(zip(header, row, strict=True))
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


# ---- writers ---------------------------------------------------------------------------------------------


class RowWriter:
    """Appends result rows (dicts) to a file or stdout, whole rows per `write`, flushed each time."""

    def write(self, results: list[dict]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class JsonlWriter(RowWriter):
    def __init__(self, path: str | Path | None, append: bool = False):
        self._stdout = path is None or str(path) == "-"
        self._file = sys.stdout if self._stdout else open(path, "a" if append else "w", encoding="utf-8")  # noqa: SIM115

    def write(self, results: list[dict]) -> None:
        # One write per chunk: the file grows by complete lines only, short of a crash inside this call.
        self._file.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results))
        self._file.flush()

    def close(self) -> None:
        if not self._stdout:
            self._file.close()


class CsvWriter(RowWriter):
    """CSV (tab-separated for .tsv) with the first row's columns as header: `probabilities` becomes one
    `p(<label>)` column per label, other nested values (top_k, slots) JSON strings."""

    def __init__(self, path: str | Path | None, append: bool = False):
        self._stdout = path is None or str(path) == "-"
        self._delimiter = "\t" if not self._stdout and str(path).lower().endswith(".tsv") else ","
        self._header: list[str] | None = _csv_header(Path(path), self._delimiter) if append else None
        self._file = sys.stdout if self._stdout else open(path, "a" if append else "w", encoding="utf-8", newline="")  # noqa: SIM115

    def write(self, results: list[dict]) -> None:
        if not results:
            return
        text = io.StringIO()
        writer = csv.writer(text, delimiter=self._delimiter, lineterminator="\n")
        for result in results:
            flat = flat_row(result)
            if self._header is None:
                self._header = list(flat)
                writer.writerow(self._header)
            writer.writerow([flat.get(column, "") for column in self._header])
        self._file.write(text.getvalue())
        self._file.flush()

    def close(self) -> None:
        if not self._stdout:
            self._file.close()


def flat_row(row: dict) -> dict:
    """A result row as CSV cells: `probabilities` -> `p(<label>)` columns, lists and dicts -> JSON."""
    flat = {}
    for key, value in row.items():
        if key == "probabilities" and isinstance(value, dict):
            flat.update({f"p({label})": p for label, p in value.items()})
        elif isinstance(value, (dict, list)):
            flat[key] = json.dumps(value, ensure_ascii=False)
        else:
            flat[key] = value
    return flat


def _csv_header(path: Path, delimiter: str = ",") -> list[str] | None:
    with open(path, encoding="utf-8", newline="") as file:
        return next(csv.reader(file, delimiter=delimiter), None)


class ParquetWriter(RowWriter):
    """One row group per chunk into `PATH.partial`, renamed to PATH when complete (Parquet cannot be appended
    to, so a Parquet output is written whole or not at all)."""

    def __init__(self, path: str | Path):
        self._path = Path(path)
        self._partial = self._path.with_name(self._path.name + ".partial")
        self._writer = None
        self.failed = False

    def write(self, results: list[dict]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not results:
            return
        if self._writer is None:
            table = pa.Table.from_pylist(results)
            self._writer = pq.ParquetWriter(self._partial, table.schema)
        else:
            table = pa.Table.from_pylist(results, schema=self._writer.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            if self.failed:
                self._partial.unlink(missing_ok=True)
            else:
                os.replace(self._partial, self._path)

    def __exit__(self, exc_type, *exc) -> None:
        self.failed = exc_type is not None
        self.close()


def open_writer(path: str | Path | None, fmt: str | None = None, append: bool = False) -> RowWriter:
    """The writer for `path`'s format (or `fmt`); `append` continues a resumable (JSONL or CSV) file."""
    fmt = output_format(path, fmt)
    if fmt == "parquet" and (path is None or str(path) == "-"):
        raise DataError("Parquet cannot be written to stdout; give --output FILE.parquet")
    if fmt == "csv":
        return CsvWriter(path, append)
    if fmt == "parquet":
        if append:
            raise DataError(f"{path}: a Parquet output cannot be resumed; write .jsonl or .csv to resume")
        return ParquetWriter(path)
    return JsonlWriter(path, append)


# ---- resuming ------------------------------------------------------------------------------------------


@dataclass
class ResumePoint:
    """What an earlier run left in an output file: complete rows, and the last one (to check it matches)."""

    rows: int
    last: dict | None
    truncated_bytes: int


def resume_point(path: str | Path, fmt: str | None = None) -> ResumePoint:
    """Count the complete rows of a JSONL or CSV output and cut off a torn tail (a crash mid-write).

    A JSONL row ends at a newline; a CSV record ends at a newline outside quotes (an even number of quote
    characters so far), which a quoted text with line breaks needs. Reads in blocks: bounded memory.
    """
    path = Path(path)
    fmt = output_format(path, fmt)
    if fmt == "parquet":
        raise DataError(f"{path}: a Parquet output cannot be resumed; write .jsonl or .csv to resume")
    complete_end, records, last_start, last_end, quotes, offset = 0, 0, 0, 0, 0, 0
    record_start = 0
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            start = 0
            while True:
                newline = block.find(b"\n", start)
                segment = block[start : newline if newline >= 0 else len(block)]
                if fmt == "csv":
                    quotes += segment.count(b'"')
                if newline < 0:
                    break
                if quotes % 2 == 0:
                    end = offset + newline + 1
                    if end - record_start > 1 or fmt == "csv":
                        records += 1
                        last_start, last_end = record_start, end
                    complete_end = record_start = end
                start = newline + 1
            offset += len(block)
        size = offset
    if size > complete_end:
        with open(path, "r+b") as file:
            file.truncate(complete_end)
    last = None
    if records:
        with open(path, "rb") as file:
            file.seek(last_start)
            last = _parse_last(file.read(last_end - last_start), fmt, path)
    rows = max(0, records - 1) if fmt == "csv" else records
    return ResumePoint(rows, last if rows else None, size - complete_end)


def _parse_last(raw: bytes, fmt: str, path: Path) -> dict | None:
    text = raw.decode("utf-8", errors="replace")
    if fmt == "jsonl":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise DataError(f"{path}: the last complete line is not JSON; is this an agileclf output?") from None
    delimiter = "\t" if path.name.lower().endswith(".tsv") else ","
    header = _csv_header(path, delimiter) or []
    cells = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    return dict(zip(header, cells, strict=False))


def skip_rows(rows: Iterator[Row], count: int) -> tuple[Row | None, Iterator[Row]]:
    """Drop the first `count` rows (already labelled); returns the last one dropped (for a consistency check)."""
    last = None
    for _ in range(count):
        last = next(rows, None)
        if last is None:
            break
    return last, rows
