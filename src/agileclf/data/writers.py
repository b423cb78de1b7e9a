"""Writers for prediction outputs of any size (JSONL, CSV/TSV, Parquet), and resuming one a crash cut short.

Writers append whole lines and flush once per chunk, so a crash never leaves a torn row that `resume_point`
cannot cut off; a Parquet output is written whole or not at all. The readers are in `streaming`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from agileclf.artifact import check_output_path
from agileclf.data.readers import is_std_stream
from agileclf.errors import DataError

OUTPUT_FORMATS = ("jsonl", "csv", "parquet")


def output_format(path: str | Path | None, fmt: str | None = None) -> str:
    """The writer for `path`: `fmt` if given, else by suffix (.csv and .tsv: csv, .parquet), else JSONL."""
    if fmt is None:
        suffix = "" if is_std_stream(path) else Path(path).suffix.lower().lstrip(".")
        fmt = {"csv": "csv", "tsv": "csv", "parquet": "parquet"}.get(suffix, "jsonl")
    if fmt not in OUTPUT_FORMATS:
        raise DataError(f"unknown output format {fmt!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    return fmt


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
        self._stdout = is_std_stream(path)
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
        self._stdout = is_std_stream(path)
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
    if not is_std_stream(path):
        check_output_path(path, "--output", folder=False)
    elif fmt == "parquet":
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
