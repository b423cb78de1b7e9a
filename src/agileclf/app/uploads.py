"""Turning pasted lines and uploaded files into rows, with the library's validation (agileclf.data.readers)."""

from __future__ import annotations

from pathlib import PurePath

from agileclf.app.errors import Invalid, TooLarge
from agileclf.data.readers import FORMATS, detect_format, read_examples_keep_going
from agileclf.errors import DataError


def upload_format(filename: str) -> str:
    name = PurePath(filename or "upload").name
    try:
        return detect_format(PurePath(name))  # type: ignore[arg-type]
    except DataError as error:
        raise Invalid(str(error)) from None


def check_size(raw: bytes, limit: int, what: str) -> None:
    if len(raw) > limit:
        raise TooLarge(f"{what} is {len(raw):,} bytes; the limit is {limit:,} bytes")


def parse_upload(
    raw: bytes,
    filename: str,
    known_labels: set[str],
    text_field: str,
    label_field: str,
    add_labels: bool,
    existing: dict[str, str] | None = None,
) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """(good rows, one message per bad row naming its line, labels the file brings that are not known yet).

    A text that is already an example (`existing`: text -> label) or repeats an earlier line is skipped and
    named; of a text given twice with different labels the first is kept, as the CLI's `keep-first`."""
    name = PurePath(filename or "upload").name
    fmt = upload_format(name)
    if fmt not in FORMATS:
        raise Invalid(f"{name}: use .jsonl, .csv or .tsv")
    try:
        data, errors = read_examples_keep_going(raw, name, fmt, text_field, label_field)
    except DataError as error:
        raise Invalid(str(error)) from None
    rows, new_labels = [], []
    seen = {text: (label, None) for text, label in (existing or {}).items()}
    for text, label, line in zip(data.texts, data.labels, data.lines, strict=True):
        if label not in known_labels and not add_labels:
            errors.append(f"{name}:{line}: label {label!r} is not a label of this classifier")
            continue
        key = text.strip()
        if key in seen:
            first_label, first_line = seen[key]
            if first_line is None:
                reason = f"already an example (label {first_label!r}); skipped"
            elif first_label == label:
                reason = f"repeats line {first_line}; skipped"
            else:
                reason = f"same text as line {first_line}, which says {first_label!r}; kept the first"
            errors.append(f"{name}:{line}: {reason}")
            continue
        seen[key] = (label, line)
        if label not in known_labels and label not in new_labels:
            new_labels.append(label)
        rows.append((text, label))
    errors.sort(key=lambda message: int(message[len(name) + 1 :].split(":", 1)[0]))
    return rows, errors, new_labels


def parse_lines(text: str) -> list[str]:
    """Non-blank pasted lines, stripped, each once."""
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
