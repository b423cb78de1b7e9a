"""Predicted rows as a front end returns them: one dict per text, written as JSONL or CSV, atomically."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from agileclf.errors import ConfigError

OUTPUT_FORMATS = ("jsonl", "csv")
__all__ = ["OUTPUT_FORMATS", "format_rows", "output_format", "prediction_rows", "write_predictions"]


def prediction_rows(proba, names: Sequence[str], top_k: int = 0, probabilities: bool = True) -> list[dict]:
    """Per row of `proba`: the best label, its probability, every label's probability (`probabilities`) and the
    `top_k` most probable labels, most probable first (ties in label order)."""
    import numpy as np

    order = np.argsort(-proba, axis=1, kind="stable")
    rows = []
    for row, ranked in zip(proba, order, strict=True):
        best = int(ranked[0])
        result: dict[str, Any] = {"label": names[best], "probability": round(float(row[best]), 6)}
        if probabilities:
            result["probabilities"] = {n: round(float(p), 6) for n, p in zip(names, row, strict=True)}
        if top_k:
            result["top_k"] = [{"label": names[i], "probability": round(float(row[i]), 6)} for i in ranked[:top_k]]
        rows.append(result)
    return rows


def output_format(path: str | Path, fmt: str | None = None) -> str:
    """The format to write: `fmt` if given, else from the suffix (.csv, .tsv -> csv), else JSONL."""
    fmt = fmt or ("csv" if str(path).lower().endswith((".csv", ".tsv")) else "jsonl")
    if fmt not in OUTPUT_FORMATS:
        raise ConfigError(f"unknown output format {fmt!r}; use {' or '.join(OUTPUT_FORMATS)}")
    return fmt


def format_rows(rows: Iterable[dict], fmt: str = "jsonl", delimiter: str = ",") -> Iterator[str]:
    """JSONL lines, or CSV: a header from the first row, nested values (probabilities, top_k) as columns or
    JSON; `probabilities` becomes one `p(<label>)` column per label."""
    if fmt == "jsonl":
        for row in rows:
            yield json.dumps(row, ensure_ascii=False) + "\n"
        return
    columns: list[str] | None = None
    for row in rows:
        flat = _flat(row)
        if columns is None:
            columns = list(flat)
            yield _csv_line(columns, delimiter)
        yield _csv_line([flat.get(c, "") for c in columns], delimiter)


def _flat(row: dict) -> dict:
    flat = {}
    for key, value in row.items():
        if key == "probabilities" and isinstance(value, dict):
            flat.update({f"p({label})": p for label, p in value.items()})
        elif isinstance(value, dict | list):
            flat[key] = json.dumps(value, ensure_ascii=False)
        else:
            flat[key] = value
    return flat


def _csv_line(values: list, delimiter: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def write_predictions(rows: Iterable[dict], output: str | Path, fmt: str | None = None) -> int:
    """Write predicted rows to `output` ('-': stdout) as they come, atomically for a file; returns the count."""
    import sys

    from agileclf.artifact import open_atomic

    fmt = output_format(output, fmt)
    delimiter = "\t" if str(output).lower().endswith(".tsv") else ","
    count = 0

    def counted() -> Iterator[dict]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    if str(output) == "-":
        for line in format_rows(counted(), fmt, delimiter):
            sys.stdout.write(line)
        sys.stdout.flush()
    else:
        with open_atomic(Path(output)) as handle:
            for line in format_rows(counted(), fmt, delimiter):
                handle.write(line)
    return count
