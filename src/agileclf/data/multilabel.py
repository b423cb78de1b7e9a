"""Multi-label data: a list of labels per row (JSONL lists, or CSV/TSV cells split by a separator).

Validation names file, line and field: a string where a list is expected, an empty list (allowed only with
`allow_empty`, when "no label" is a valid answer), a label repeated in a row, a cell that mixes separators.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agileclf.data.labels import LabelSet
from agileclf.data.readers import (
    CONFLICT_POLICIES,
    MAX_LINE_BYTES,
    Dataset,
    _resolve_conflicts,
    detect_format,
    read_rows,
    require_file,
    text_value,
)
from agileclf.errors import DataError

# Separators a CSV/TSV label cell is checked for: one is detected when --label-sep is not given, and a cell
# holding another one than the chosen separator is an error (a file written with ';' read with '|').
CANDIDATE_SEPARATORS = ("|", ";", ",")


@dataclass
class MultiLabelDataset(Dataset):
    """A Dataset whose `labels` are lists of label names (sorted, no repeats); `label_sep` as read."""

    label_sep: str | None = None
    allow_empty: bool = False

    @property
    def classes(self) -> list[str]:
        return sorted({label for row in self.labels if row for label in row})

    def subset(self, indices: list[int]) -> MultiLabelDataset:
        part = super().subset(indices)
        return MultiLabelDataset(
            part.texts, part.labels, part.lines, part.path, part.records, part.notes, self.label_sep, self.allow_empty
        )

    def label_counts(self) -> dict[str, int]:
        """Rows carrying each label."""
        return dict(sorted(Counter(label for row in self.labels for label in row).items()))


def looks_multilabel(path: str | Path, label_field: str, fmt: str | None = None) -> bool:
    """True when the first JSONL row's label field holds a list (how `--task` is detected when not given)."""
    path = Path(path)
    if not path.is_file() or (fmt or detect_format(path)) != "jsonl":
        return False
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    return False
                return isinstance(record, dict) and isinstance(record.get(label_field), list)
    return False


def read_multilabel_examples(
    path: str | Path,
    text_field: str = "text",
    label_field: str = "labels",
    fmt: str | None = None,
    label_sep: str | None = None,
    allow_empty: bool = False,
    on_conflict: str = "keep-first",
    min_classes: int = 0,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> MultiLabelDataset:
    """Read and validate a file with a list of labels per row.

    JSONL: the field is a JSON list of strings (a string is accepted only when `label_sep` is given). CSV/TSV:
    the cell is split by `label_sep`; without one, the one separator of `CANDIDATE_SEPARATORS` found in the
    column is used (several found: an error asking for --label-sep).
    """
    path = require_file(path)
    if on_conflict not in (*CONFLICT_POLICIES, "keep-all"):
        raise DataError(f"on_conflict must be one of {', '.join(CONFLICT_POLICIES)}, keep-all, not '{on_conflict}'")
    if label_sep is not None and not label_sep.strip():
        raise DataError(f"--label-sep must be a visible separator such as '|', not {label_sep!r}")
    fmt, rows = read_rows(path, fmt, max_line_bytes)
    rows = list(rows)
    if not rows:
        raise DataError(f"{path}: no examples found (only blank lines or a header)")
    notes = []
    if fmt != "jsonl" and label_sep is None:
        label_sep = _detect_separator(path, rows, label_field)
        if label_sep:
            notes.append(
                f"{path}: labels in '{label_field}' are split on {label_sep!r} (detected; --label-sep sets it)"
            )
    texts, labels, numbers, records = [], [], [], []
    for line_no, record in rows:
        texts.append(text_value(path, line_no, record, text_field))
        labels.append(_label_list(path, line_no, record, label_field, label_sep, allow_empty, fmt))
        numbers.append(line_no)
        records.append(record)
    data = MultiLabelDataset(texts, labels, numbers, str(path), records, notes, label_sep, allow_empty)
    if on_conflict != "keep-all":  # evaluation keeps every row of a test file
        data = _resolve_conflicts(data, on_conflict)
    if len(data.classes) < min_classes:
        raise DataError(
            f"{path}: field '{label_field}' has {len(data.classes)} label(s) ({', '.join(data.classes)}); "
            f"training needs at least {min_classes}. Is --label-field right?"
        )
    return data


def _detect_separator(path: Path, rows: list[tuple[int, dict]], label_field: str) -> str | None:
    seen: dict[str, int] = {}
    for line_no, record in rows:
        for sep in CANDIDATE_SEPARATORS:
            if sep in str(record.get(label_field, "")):
                seen.setdefault(sep, line_no)
    if len(seen) > 1:
        where = ", ".join(f"{sep!r} first on line {line}" for sep, line in seen.items())
        raise DataError(f"{path}: column '{label_field}' holds several separators ({where}); pass --label-sep")
    return next(iter(seen), None)


def _label_list(
    path: Path, line: int, record: dict, name: str, sep: str | None, allow_empty: bool, fmt: str
) -> list[str]:
    if name not in record:
        raise DataError(f"{path}:{line}: field '{name}' is missing (fields here: {', '.join(record)})")
    value = record[name]
    if isinstance(value, str) and (fmt != "jsonl" or sep):
        if sep:
            others = [s for s in CANDIDATE_SEPARATORS if s != sep and s in value]
            if others:
                raise DataError(
                    f"{path}:{line}: field '{name}' {value!r} holds {others[0]!r}, not the separator {sep!r}; "
                    "pass --label-sep with the file's separator"
                )
            value = value.split(sep)
        else:
            value = [value]
        value = [part for part in (v.strip() for v in value) if part]
    elif isinstance(value, str):
        raise DataError(
            f"{path}:{line}: field '{name}' must be a list of labels, got the string {value!r}; "
            f'write ["{value}"] (or pass --label-sep to split strings)'
        )
    if not isinstance(value, list):
        raise DataError(f"{path}:{line}: field '{name}' must be a list of labels, got {type(value).__name__}")
    labels = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)  # integer label ids become their strings, as for single labels
        if not isinstance(item, str) or not item.strip():
            raise DataError(f"{path}:{line}: field '{name}' holds {item!r}; every label must be a non-empty string")
        labels.append(item.strip())
    repeated = [label for label, count in Counter(labels).items() if count > 1]
    if repeated:
        raise DataError(f"{path}:{line}: field '{name}' lists {repeated[0]!r} more than once")
    if not labels and not allow_empty:
        raise DataError(
            f"{path}:{line}: field '{name}' is an empty list; pass --allow-empty if 'no label' is a valid answer"
        )
    return sorted(labels)


def check_label_lists(label_lists: Sequence[Sequence[str]], allow_empty: bool = False) -> list[list[str]]:
    """In-memory label lists validated like a file's rows (for the Python API); errors name the row."""
    checked = []
    for row, labels in enumerate(label_lists):
        if isinstance(labels, str):
            raise DataError(f"row {row}: labels must be a list of label names, got the string {labels!r}")
        labels = list(labels)
        if not all(isinstance(label, str) and label.strip() for label in labels):
            raise DataError(f"row {row}: every label must be a non-empty string, got {labels!r}")
        if len(set(labels)) != len(labels):
            raise DataError(f"row {row}: a label is listed more than once in {labels!r}")
        if not labels and not allow_empty:
            raise DataError(f"row {row}: an empty label list; allow_empty=True if 'no label' is a valid answer")
        checked.append(sorted(labels))
    return checked


def label_matrix(label_set: LabelSet, label_lists: Sequence[Sequence[str]]) -> np.ndarray:
    """(n, n_labels) 0/1 indicator matrix in `label_set` order; an unknown label is an error naming it."""
    lookup = {name: i for i, name in enumerate(label_set.names)}
    matrix = np.zeros((len(label_lists), len(label_set)), dtype=np.int8)
    for row, labels in enumerate(label_lists):
        for label in labels:
            if label not in lookup:
                raise DataError(f"row {row}: label {label!r} is not one of {label_set.names}")
            matrix[row, lookup[label]] = 1
    return matrix


@dataclass
class MultiLabelSample:
    """Indices of the sampled rows (draw order), the rows carrying each label, and the labels that ran short."""

    indices: list[int]
    counts: dict[str, int]
    short_labels: dict[str, int] = field(default_factory=dict)

    def describe(self, shots: int) -> str:
        parts = [f"{len(self.indices)} rows; per label: " + ", ".join(f"{k} {v}" for k, v in self.counts.items())]
        if self.short_labels:
            short = ", ".join(f"{label} ({count})" for label, count in sorted(self.short_labels.items()))
            parts.append(f"{len(self.short_labels)} label(s) have fewer than {shots} rows and are used whole: {short}")
        return "; ".join(parts)


def sample_multilabel(label_lists: Sequence[Sequence[str]], shots: int, seed: int = 0) -> MultiLabelSample:
    """At least `shots` rows per label, drawn greedily: rarest label first, its rows in a PCG64 shuffle, a row
    taken while the label still has fewer than `shots` (rows already taken for rarer labels count).

    Rare labels go first because their rows also carry common labels, so the sample stays near K per label
    (common labels can end above K; the real count per label is reported). numpy's PCG64 is specified
    bit-for-bit: a seed gives the same rows on every machine.
    """
    if shots < 1:
        raise ValueError(f"shots must be >= 1, got {shots}")
    rows_of: dict[str, list[int]] = {}
    for i, labels in enumerate(label_lists):
        for label in labels:
            rows_of.setdefault(label, []).append(i)
    rng = np.random.Generator(np.random.PCG64(seed))
    taken: list[int] = []
    taken_set: set[int] = set()
    counts = Counter()
    for label in sorted(rows_of, key=lambda name: (len(rows_of[name]), name)):
        rows = rows_of[label]
        for j in rng.permutation(len(rows)):
            if counts[label] >= shots:
                break
            row = rows[int(j)]
            if row in taken_set:
                continue
            taken.append(row)
            taken_set.add(row)
            counts.update(label_lists[row])
    ordered = {label: counts[label] for label in sorted(rows_of)}
    short = {label: n for label, n in ordered.items() if n < shots}
    return MultiLabelSample(taken, ordered, short)
