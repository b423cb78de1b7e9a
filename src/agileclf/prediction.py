"""Label a stream of rows chunk by chunk: bounded memory whatever the input size, a progress bar, and an output
that a rerun continues after its last complete row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

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


def prediction_rows(proba, names: Sequence[str], top_k: int = 0, probabilities: bool = True) -> list[dict]:
    """Per row of `proba`: the best label, its probability, every label's probability (`probabilities`) and the
    `top_k` most probable labels, most probable first (ties in label order)."""
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
) -> StreamResult:
    """Label `input_path` (JSONL, CSV/TSV, Parquet or text lines; None or '-': stdin) into `output_path` (JSONL,
    CSV/TSV or Parquet by suffix or `fmt`; None or '-': stdout), `chunk_rows` at a time; `inference` switches an
    encoder classifier's prediction precision (int8, onnx-int8) first.

    With `resume` (the default) an existing JSONL/CSV output is continued after its last complete row; the
    input's row there and the output's labels must match, else an error says to pass `resume=False`.
    """
    output = "-" if output_path is None else str(output_path)
    fmt = output_format(output, fmt)
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
    label = chunk_labeller(classifier, task, top_k)
    written = 0
    bar = progress(desc="predict", unit=" rows", initial=skipped)
    with open_writer(output, fmt, append=append) as writer:
        for chunk in chunked(rows, chunk_rows, max_wait_s):
            writer.write(label(chunk))
            written += len(chunk)
            bar.update(len(chunk))
    bar.close()
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
