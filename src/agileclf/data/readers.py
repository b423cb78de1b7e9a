"""Read labelled examples from JSONL, CSV or TSV, validating every row with file:line:field errors."""

from __future__ import annotations

import csv
import hashlib
import json
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from agileclf.errors import DataError, DataWarning

MAX_LINE_BYTES = 1_000_000
CONFLICT_POLICIES = ("keep-first", "drop", "error")
FORMATS = ("jsonl", "csv", "tsv")


def require_file(path: str | Path) -> Path:
    """`path` as a Path, or a DataError saying it is missing or is a folder."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a data file")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    return path


def is_std_stream(path: str | Path | None) -> bool:
    """Whether `path` names stdin or stdout: None or '-', as the command line writes it."""
    return path is None or str(path) == "-"


@dataclass
class Dataset:
    """Validated examples of one file; `lines` holds each row's 1-based line number in that file."""

    texts: list[str]
    labels: list[str | None]
    lines: list[int]
    path: str = "<memory>"
    records: list[dict] = field(default_factory=list, repr=False)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def classes(self) -> list[str]:
        return sorted({label for label in self.labels if label is not None})

    def subset(self, indices: list[int]) -> Dataset:
        """A new Dataset holding the rows at `indices`, in that order."""
        return Dataset(
            texts=[self.texts[i] for i in indices],
            labels=[self.labels[i] for i in indices],
            lines=[self.lines[i] for i in indices],
            path=self.path,
            records=[self.records[i] for i in indices] if self.records else [],
            notes=list(self.notes),
        )

    def fingerprint(self) -> str:
        """sha256 over the (text, label) pairs, independent of file format and path."""
        digest = hashlib.sha256()
        for text, label in zip(self.texts, self.labels, strict=True):
            digest.update(json.dumps([text, label], ensure_ascii=False).encode())
            digest.update(b"\n")
        return digest.hexdigest()


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "json", "ndjson"):
        return "jsonl"
    if suffix in ("csv", "tsv"):
        return suffix
    raise DataError(f"{path}: unknown file type '.{suffix}'; use .jsonl, .csv or .tsv (or pass the format)")


def read_examples(
    path: str | Path,
    text_field: str = "text",
    label_field: str | None = "label",
    fmt: str | None = None,
    on_conflict: str = "keep-first",
    min_classes: int = 0,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Dataset:
    """Read and validate a labelled (or, with label_field=None, unlabelled) file.

    Duplicate texts with conflicting labels are resolved by `on_conflict`: keep the first label (warn), drop
    every copy (warn), or raise. `min_classes=2` is what training needs.
    """
    path = require_file(path)
    if on_conflict not in CONFLICT_POLICIES:
        raise DataError(f"on_conflict must be one of {', '.join(CONFLICT_POLICIES)}, not '{on_conflict}'")
    fmt, rows = read_rows(path, fmt, max_line_bytes)

    texts, labels, numbers, records = [], [], [], []
    for line_no, record in rows:
        texts.append(text_value(path, line_no, record, text_field))
        labels.append(_label_value(path, line_no, record, label_field) if label_field else None)
        numbers.append(line_no)
        records.append(record)
    if not texts:
        raise DataError(f"{path}: no examples found (only blank lines or a header)")
    data = Dataset(texts, labels, numbers, str(path), records)
    if label_field:
        data = _resolve_conflicts(data, on_conflict)
        if len(data.classes) < min_classes:
            found = ", ".join(repr(c) for c in data.classes)
            raise DataError(
                f"{path}: field '{label_field}' has {len(data.classes)} class(es) ({found}); "
                f"training needs at least {min_classes}. Is --label-field right?"
            )
    return data


def read_rows(path: Path, fmt: str | None, max_line_bytes: int = MAX_LINE_BYTES) -> tuple[str, Iterator]:
    """(format, (line, record) pairs) of an existing file, checked for format, emptiness and UTF-8."""
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise DataError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path}: the file is empty")
    lines = _decoded_lines(path, raw, max_line_bytes)
    return fmt, (_jsonl_rows(path, lines) if fmt == "jsonl" else delimited_records(_with_endings(lines), path, fmt))


def _check_separator(header: list[str], name: str | Path, line: int, fmt: str) -> None:
    """A header read as one field holding another separator (`text;label`) is a file saved with that separator."""
    if len(header) != 1:
        return
    other = next((sep for sep in (";", "|", "\t", ",") if sep in header[0]), None)
    if other is not None:
        used = "tabs" if fmt == "tsv" else "commas"
        raise DataError(
            f"{name}:{line}: the header is one field, {header[0]!r}: a .{fmt} file is read as separated by {used}, "
            f"and this one looks separated by {other!r}; re-save it separated by commas (.csv) or tabs (.tsv)"
        )


def _with_endings(lines: list[str]) -> Iterator[tuple[int, str]]:
    return ((number, line + "\n") for number, line in enumerate(lines, start=1))


def _decoded_lines(path: Path, raw: bytes, max_line_bytes: int) -> list[str]:
    lines = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if len(line) > max_line_bytes:
            raise DataError(f"{path}:{number}: line is {len(line):,} bytes, over the limit of {max_line_bytes:,} bytes")
        try:
            lines.append(line.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as err:
            raise DataError(
                f"{path}:{number}: not valid UTF-8 (byte 0x{line[err.start]:02x} at column {err.start + 1}); "
                "re-save the file as UTF-8"
            ) from None
    return lines


def json_record(path: str | Path, number: int, line: str) -> dict:
    """One JSONL line as a dict, or a DataError naming file, line and column."""
    try:
        record = json.loads(line.rstrip("\r\n"))  # with its newline, a truncated line's error would be on "line 2"
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{number}: malformed JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(record, dict):
        raise DataError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
    return record


def _jsonl_rows(path: Path, lines: list[str]) -> Iterator[tuple[int, dict]]:
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, json_record(path, number, line)


def delimited_records(
    lines: Iterable[tuple[int, str]], name: str | Path, fmt: str, bad_row: Callable[[str], None] | None = None
) -> Iterator[tuple[int, dict]]:
    """(first line, record) of each row of CSV/TSV `lines` ((number, line with its ending) pairs), header first;
    a row whose quoted field spans lines is numbered by the line it starts on. A row with the wrong number of
    columns is a DataError, or with `bad_row` a message passed to it and the row skipped."""
    numbered = iter(lines)
    current = [0]

    def physical() -> Iterator[str]:  # csv.reader joins quoted fields that span lines itself
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
            _check_separator(header, name, line_no, fmt)
            continue
        if len(row) != len(header):
            message = f"{name}:{line_no}: {len(row)} columns where the header has {len(header)}"
            if bad_row is None:
                raise DataError(message)
            bad_row(message)
            continue
        yield line_no, dict(zip(header, row, strict=True))


def text_value(path: str | Path, line: int, record: dict, name: str) -> str:
    """The non-empty string in `record[name]`, or a DataError naming file, line and field."""
    if name not in record:
        raise DataError(f"{path}:{line}: field '{name}' is missing (fields here: {', '.join(map(str, record))})")
    value = record[name]
    if not isinstance(value, str):
        raise DataError(f"{path}:{line}: field '{name}' must be a string, got {type(value).__name__}")
    if not value.strip():
        raise DataError(f"{path}:{line}: field '{name}' is empty")
    return value


def _label_value(path: Path, line: int, record: dict, name: str) -> str:
    if name not in record:
        raise DataError(f"{path}:{line}: field '{name}' is missing (fields here: {', '.join(record)})")
    value = record[name]
    # Integer class ids (0/1) are common in real files; they become the strings "0"/"1".
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise DataError(f"{path}:{line}: field '{name}' must be a string (or integer), got {type(value).__name__}")
    if not value.strip():
        raise DataError(f"{path}:{line}: field '{name}' is empty")
    return value.strip()


def _resolve_conflicts(data: Dataset, policy: str) -> Dataset:
    first_seen: dict[str, int] = {}
    conflicting: dict[str, list[int]] = {}
    for i, text in enumerate(data.texts):
        key = text.strip()
        if key not in first_seen:
            first_seen[key] = i
        elif data.labels[i] != data.labels[first_seen[key]]:
            conflicting.setdefault(key, [first_seen[key]]).append(i)
    if not conflicting:
        return data
    example_key, example_rows = next(iter(conflicting.items()))
    where = ", ".join(f"line {data.lines[i]} {_shown(data.labels[i])}" for i in example_rows[:3])
    summary = (
        f"{data.path}: {len(conflicting)} text(s) appear with conflicting labels, e.g. {example_key[:60]!r} ({where})"
    )
    if policy == "error":
        raise DataError(summary + "; fix the file or pass --on-conflict keep-first|drop")
    if policy == "keep-first":
        drop = {i for rows in conflicting.values() for i in rows[1:] if data.labels[i] != data.labels[rows[0]]}
        note = f"{summary}; kept each text's first row, dropped {len(drop)} row(s)"
    else:
        keys = set(conflicting)
        drop = {i for i, text in enumerate(data.texts) if text.strip() in keys}
        note = f"{summary}; dropped all {len(drop)} row(s) of those texts"
    warnings.warn(note, DataWarning, stacklevel=3)
    kept = data.subset([i for i in range(len(data)) if i not in drop])
    kept.notes.append(note)
    return kept


def _shown(label) -> str:
    """A label as a reader of the message wants it: 'billing', or [anger, joy] for a set of labels."""
    if isinstance(label, list | tuple | set | frozenset):
        return "[" + ", ".join(str(name) for name in label) + "]"
    return f"'{label}'"


def parse_text_lines(lines: list[str], source: str = "<stdin>", text_field: str = "text") -> Dataset:
    """Unlabelled input for prediction: each non-blank line is a JSON object with `text_field`, or raw text."""
    texts, numbers, records = [], [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            record = json_record(source, number, line)
            texts.append(text_value(Path(source), number, record, text_field))
        else:
            record = {text_field: line.rstrip("\r\n")}
            texts.append(record[text_field])
        numbers.append(number)
        records.append(record)
    if not texts:
        raise DataError(f"{source}: no input texts")
    return Dataset(texts, [None] * len(texts), numbers, source, records)


def read_texts(path: str | Path, text_field: str = "text") -> list[str]:
    """Unlabelled texts of a file: JSONL/CSV/TSV (`text_field`; any label column unread) or one text per line."""
    path = Path(path)
    if path.suffix.lower() in (".jsonl", ".csv", ".tsv", ".json"):
        return read_examples(path, text_field=text_field, label_field=None).texts
    return parse_text_lines(path.read_text(encoding="utf-8").splitlines(), str(path), text_field).texts


def read_examples_keep_going(
    raw: bytes,
    source: str,
    fmt: str,
    text_field: str = "text",
    label_field: str = "label",
    max_line_bytes: int = MAX_LINE_BYTES,
) -> tuple[Dataset, list[str]]:
    """Validate an upload row by row with the same checks as `read_examples`, keeping the good rows.

    Returns the good rows and one `source:line: reason` message per bad row (the web app shows them).
    Conflicting labels are not resolved here: the caller decides.
    """
    if fmt not in FORMATS:
        raise DataError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
    if not raw.strip():
        raise DataError(f"{source}: the file is empty")
    path = Path(source)
    errors: list[str] = []
    lines: list[str] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            lines.extend(_decoded_lines(path, line, max_line_bytes))
        except DataError as error:
            errors.append(str(error).replace(f"{path}:1:", f"{path}:{number}:", 1))
            lines.append("")
    if fmt == "jsonl":
        rows = []
        for number, line in enumerate(lines, start=1):
            try:
                rows.extend((number, record) for _, record in _jsonl_rows(path, [line]))
            except DataError as error:
                errors.append(str(error).replace(f"{path}:1:", f"{path}:{number}:", 1))
    else:
        rows = list(delimited_records(_with_endings(lines), path, fmt, bad_row=errors.append))
    texts, labels, numbers, records = [], [], [], []
    for number, record in rows:
        try:
            text = text_value(path, number, record, text_field)
            label = _label_value(path, number, record, label_field)
        except DataError as error:
            errors.append(str(error))
            continue
        texts.append(text)
        labels.append(label)
        numbers.append(number)
        records.append(record)
    errors.sort(key=lambda message: int(message[len(source) + 1 :].split(":", 1)[0] or 0))
    return Dataset(texts, labels, numbers, source, records), errors
