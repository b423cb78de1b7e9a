"""Label a stream of rows chunk by chunk: bounded memory whatever the input size, a progress bar, and an output
that a rerun continues after its last complete row."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from agileclf.data.streaming import (
    Row,
    chunked,
    iter_rows,
    open_writer,
    output_format,
    resume_point,
    skip_rows,
)
from agileclf.errors import ConfigError, DataError
from agileclf.progress import progress

DEFAULT_CHUNK_ROWS = 1024


def prediction_rows(proba: np.ndarray, names: list[str], records: list[dict], top_k: int = 0) -> list[dict]:
    """Each input record extended with `label`, `probability`, `probabilities` (and `top_k`)."""
    results = []
    for record, row in zip(records, proba, strict=True):
        best = int(row.argmax())
        result = dict(record)
        result["label"] = names[best]
        result["probability"] = round(float(row[best]), 6)
        result["probabilities"] = {n: round(float(p), 6) for n, p in zip(names, row, strict=True)}
        if top_k:
            order = row.argsort()[::-1][:top_k]
            result["top_k"] = [{"label": names[i], "probability": round(float(row[i]), 6)} for i in order]
        results.append(result)
    return results


def chunk_labeller(classifier, task: str = "label", top_k: int = 0) -> Callable[[list[Row]], list[dict]]:
    """A function from a chunk of rows to their output records, for a plain or a multi-task classifier."""
    if task != "label":
        from agileclf.methods.multitask.workflow import check_task, predict_records

        model = check_task(classifier, task)
        return lambda rows: predict_records(model, [r.record for r in rows], [r.text for r in rows])
    names = list(classifier.labels.names)

    def label(rows: list[Row]) -> list[dict]:
        proba = classifier.predict_proba([r.text for r in rows])
        return prediction_rows(proba, names, [r.record for r in rows], top_k)

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
) -> StreamResult:
    """Label `input_path` (JSONL, CSV/TSV, Parquet or text lines; None or '-': stdin) into `output_path` (JSONL,
    CSV or Parquet by suffix; None or '-': stdout), `chunk_rows` at a time.

    With `resume` (the default) an existing JSONL/CSV output is continued after its last complete row; the
    input's row there and the output's labels must match, else an error says to pass `resume=False`.
    """
    output = "-" if output_path is None else str(output_path)
    rows = iter_rows(input_path, text_field, stdin=stdin)
    skipped, truncated, append = 0, 0, False
    resumable = output != "-" and output_format(output) != "parquet"
    if resume and resumable and Path(output).is_file() and Path(output).stat().st_size:
        point = resume_point(output)
        truncated = point.truncated_bytes
        if point.rows:
            _check_output_labels(classifier, point.last, output, task)
            last_input, rows = skip_rows(rows, point.rows)
            _check_same_row(last_input, point.last, point.rows, text_field, output, input_path)
            skipped, append = point.rows, True
    label = chunk_labeller(classifier, task, top_k)
    written = 0
    bar = progress(desc="predict", unit=" rows", initial=skipped)
    with open_writer(output, append=append) as writer:
        for chunk in chunked(rows, chunk_rows, max_wait_s):
            writer.write(label(chunk))
            written += len(chunk)
            bar.update(len(chunk))
    bar.close()
    return StreamResult(written, skipped, truncated, output)


def _check_output_labels(classifier, last: dict | None, output: str, task: str) -> None:
    if task != "label" or not last or "probabilities" not in last:
        return
    found = last["probabilities"]
    if isinstance(found, str):  # a CSV cell holds it as JSON
        try:
            found = json.loads(found)
        except json.JSONDecodeError:
            return
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
