"""Predicted rows as a front end returns them: one dict per text, written as JSONL or CSV, atomically; and
`label_stream`, the chunked predict loop behind `agileclf predict`: bounded memory whatever the input size, a
progress bar, and an output that a rerun continues after its last complete row."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from agileclf.data.readers import is_std_stream
from agileclf.data.streaming import Row, chunked, iter_rows, skip_rows
from agileclf.data.writers import flat_row, open_writer, resume_point
from agileclf.data.writers import output_format as stream_output_format
from agileclf.errors import ConfigError, DataError
from agileclf.progress import progress

OUTPUT_FORMATS = ("jsonl", "csv")
__all__ = [
    "OUTPUT_FORMATS",
    "format_rows",
    "label_stream",
    "output_format",
    "prediction_rows",
    "set_inference",
    "write_predictions",
]
DEFAULT_CHUNK_ROWS = 1024


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
        flat = flat_row(row)
        if columns is None:
            columns = list(flat)
            yield _csv_line(columns, delimiter)
        yield _csv_line([flat.get(c, "") for c in columns], delimiter)


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

    if is_std_stream(output):
        for line in format_rows(counted(), fmt, delimiter):
            sys.stdout.write(line)
        sys.stdout.flush()
    else:
        with open_atomic(Path(output)) as handle:
            for line in format_rows(counted(), fmt, delimiter):
                handle.write(line)
    return count


# ---- streaming: chunked, resumable ---------------------------------------------------------------------------


def chunk_labeller(classifier, task: str = "label", top_k: int = 0) -> Callable[[list[Row]], list[dict]]:
    """A function from a chunk of rows to their output records, for a plain or a multi-task classifier."""
    if task != "label":
        from agileclf.methods.multitask.workflow import check_task, predict_records

        model = check_task(classifier, task)
        return lambda rows: predict_records(model, [r.record for r in rows], [r.text for r in rows])
    names = list(classifier.labels.names)

    def label(rows: list[Row]) -> list[dict]:
        proba = classifier.predict_proba([r.text for r in rows])
        return [{**r.record, **p} for r, p in zip(rows, prediction_rows(proba, names, top_k), strict=True)]

    return label


def set_inference(classifier, inference: str) -> None:
    """Switch a loaded encoder classifier to another prediction precision (int8, onnx-int8, ...)."""
    from agileclf.methods.inference import check_inference

    if not hasattr(getattr(classifier, "config", None), "inference"):
        raise ConfigError(f"method '{classifier.name}' has no inference setting; leave --inference out")
    try:
        check_inference(inference)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    classifier.config.inference = inference


@dataclass
class StreamResult:
    """What one `label_stream` call did."""

    written: int  # rows labelled and written by this call
    skipped: int  # rows found complete in the output from an earlier run
    truncated_bytes: int  # a torn tail cut off the output before continuing
    output: str

    @property
    def total(self) -> int:
        return self.written + self.skipped


def label_stream(
    classifier,
    input_path: str | Path | None = None,
    output_path: str | Path | None = None,
    text_field: str = "text",
    top_k: int = 0,
    task: str = "label",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    resume: bool = True,
    max_wait_s: float = 0.5,
    stdin: IO[bytes] | None = None,
    fmt: str | None = None,
    inference: str | None = None,
    labeller: Callable[[list[dict]], list[dict]] | None = None,
) -> StreamResult:
    """Label `input_path` (JSONL, CSV/TSV, Parquet or text lines; None or '-': stdin) into `output_path` (JSONL,
    CSV/TSV or Parquet by suffix or `fmt`; None or '-': stdout), `chunk_rows` at a time; `inference` switches an
    encoder classifier's prediction precision (int8, onnx-int8) first; `labeller` (input records -> output rows)
    replaces the built-in one (the workflow passes its own, which also knows multi-label classifiers).

    With `resume` (the default) an existing JSONL/CSV output is continued after its last complete row; the
    input's row there and the output's labels must match, else an error says to pass `resume=False`.
    """
    output = "-" if output_path is None else str(output_path)
    fmt = stream_output_format(output, fmt)
    if inference:
        set_inference(classifier, inference)
    rows = iter_rows(input_path, text_field, stdin=stdin)
    skipped, truncated, append = 0, 0, False
    resumable = output != "-" and fmt != "parquet"
    if resume and resumable and Path(output).is_file() and Path(output).stat().st_size:
        point = resume_point(output, fmt)
        truncated = point.truncated_bytes
        if point.rows:
            _check_output_labels(classifier, point.last, output, task)
            last_input, rows = skip_rows(rows, point.rows)
            _check_same_row(last_input, point.last, point.rows, text_field, output, input_path)
            skipped, append = point.rows, True
    if labeller is not None:
        label = lambda rows: labeller([r.record for r in rows])  # noqa: E731
    else:
        label = chunk_labeller(classifier, task, top_k)
    written = 0
    # the bar closes (and clears its line) before an error in the input is printed
    with (
        progress(desc="predict", unit=" rows", initial=skipped) as bar,
        open_writer(output, fmt, append=append) as writer,
    ):
        for chunk in chunked(rows, chunk_rows, max_wait_s):
            writer.write(label(chunk))
            written += len(chunk)
            bar.update(len(chunk))
    return StreamResult(written, skipped, truncated, output)


def _check_output_labels(classifier, last: dict | None, output: str, task: str) -> None:
    if task != "label" or not last:
        return
    if "probabilities" not in last:  # CSV: one p(<label>) column per label
        last = {"probabilities": {k[2:-1]: v for k, v in last.items() if k.startswith("p(") and k.endswith(")")}}
        if not last["probabilities"]:
            return
    found = last["probabilities"]
    if isinstance(found, dict) and sorted(found) != sorted(classifier.labels.names):
        raise DataError(
            f"{output}: its rows were labelled with {sorted(found)}, not this classifier's labels; "
            "write to another file or start again with --overwrite"
        )


def _check_same_row(last_input: Row | None, last_output: dict | None, count: int, text_field, output, input_path):
    source = input_path or "<stdin>"
    if last_input is None:
        raise DataError(f"{output} already holds {count:,} rows, more than {source} has; is it the same input?")
    written = (last_output or {}).get(text_field)
    if written is not None and written != last_input.text:
        raise DataError(
            f"{output}: row {count:,} is {str(written)[:60]!r} but {source}:{last_input.line} is "
            f"{last_input.text[:60]!r}; is it the same input? (--overwrite starts again)"
        )
