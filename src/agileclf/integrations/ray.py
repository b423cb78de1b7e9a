"""Ray Data: label sharded files on a Ray cluster (or this machine), one stateful actor per worker.

    ds = ray.data.read_json("s3://bucket/tickets/")
    ds.map_batches(ClassifierPredictor, fn_constructor_kwargs={"model_dir": "models/probe"}, concurrency=8,
                   batch_size=256, batch_format="pandas", num_cpus=1).write_json("s3://bucket/labelled/")

`predict_files` is that pipeline behind `agileclf predict --engine ray`.
"""

from __future__ import annotations

import glob
import time
from dataclasses import dataclass
from pathlib import Path

from agileclf.errors import ConfigError, DataError

INPUT_FORMATS = ("jsonl", "csv", "parquet", "text")


def require_ray():
    """The `ray` module, or an error naming the extra to install."""
    try:
        import ray
        import ray.data  # noqa: F401 - ray without its data extra has no ray.data
    except ImportError:
        raise ConfigError("--engine ray needs Ray Data: pip install 'agileclf[ray]'") from None
    return ray


class ClassifierPredictor:
    """A callable class for `Dataset.map_batches`: each actor loads the classifier directory once and labels
    pandas batches, keeping every input column and adding `label`, `probability`, `probabilities` (and
    `top_k`), exactly as `agileclf predict` does."""

    def __init__(
        self,
        model_dir: str,
        text_field: str = "text",
        top_k: int = 0,
        backbone: str | None = None,
        inference: str | None = None,
        threads: int | None = None,
        device: str | None = None,
    ):
        import torch

        from agileclf.methods import load_classifier
        from agileclf.predictions import set_inference
        from agileclf.progress import set_quiet

        set_quiet(True)  # one bar per actor would garble a cluster's log
        if threads:
            torch.set_num_threads(threads)
        self.classifier = load_classifier(model_dir, backbone=backbone, device=device)
        if inference:
            set_inference(self.classifier, inference)
        self.text_field, self.top_k = text_field, top_k
        self.names = list(self.classifier.labels.names)

    def __call__(self, batch):
        from agileclf.predictions import prediction_rows

        texts = [str(text) for text in batch[self.text_field].tolist()]
        proba = self.classifier.predict_proba(texts)
        results = prediction_rows(proba, self.names, self.top_k)
        batch = batch.copy()
        for column in results[0] if results else ():
            batch[column] = [result[column] for result in results]
        return batch


def input_files(pattern: str) -> list[str]:
    """A folder (every file in it, sorted) or a glob -> the files to read; an error when there are none."""
    path = Path(pattern)
    files = sorted(str(p) for p in path.iterdir() if p.is_file()) if path.is_dir() else sorted(glob.glob(pattern))
    files = [f for f in files if not Path(f).name.startswith((".", "_"))]  # _SUCCESS, .crc and the like
    if not files:
        raise DataError(f"{pattern}: no input files (give a folder or a glob such as 'shards/*.jsonl')")
    return files


def file_format(files: list[str]) -> str:
    """jsonl, csv, parquet or text from the files' suffixes, which must agree."""
    kinds = set()
    for name in files:
        suffix = Path(name).suffix.lower().lstrip(".")
        kinds.add(
            {"json": "jsonl", "ndjson": "jsonl", "jsonl": "jsonl", "csv": "csv", "parquet": "parquet"}.get(
                suffix, "text"
            )
        )
    if len(kinds) > 1:
        raise DataError(f"input files mix formats ({', '.join(sorted(kinds))}); give one kind per run")
    return kinds.pop()


# Reading and writing shards is light next to labelling them; a read/write task that asks for any CPU waits
# forever once the actors hold every core (2 actors on 2 CPUs), so they ask for none.
IO_CPUS = 0


def read_dataset(files: list[str], fmt: str):
    """A Ray Dataset over `files`; text files become one row per line in column `text`."""
    ray = require_ray()
    if fmt == "jsonl":
        return ray.data.read_json(files, lines=True, num_cpus=IO_CPUS)
    if fmt == "csv":
        return ray.data.read_csv(files, num_cpus=IO_CPUS)
    if fmt == "parquet":
        return ray.data.read_parquet(files, num_cpus=IO_CPUS)
    return ray.data.read_text(files, drop_empty_lines=True, num_cpus=IO_CPUS)


@dataclass
class RayRun:
    """What one `predict_files` run did: rows labelled, wall seconds, the actors used and where it wrote."""

    rows: int
    wall_s: float
    actors: int
    output: str

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.wall_s if self.wall_s else 0.0


def predict_dataset(
    dataset,
    model_dir: str | Path,
    actors: int = 1,
    batch_size: int = 256,
    cpus_per_actor: float = 1.0,
    gpus_per_actor: float = 0.0,
    text_field: str = "text",
    top_k: int = 0,
    backbone: str | None = None,
    inference: str | None = None,
):
    """`dataset` with the prediction columns added, labelled by `actors` ClassifierPredictor actors."""
    ray = require_ray()
    if actors < 1 or batch_size < 1:
        raise ConfigError(f"--actors and --batch-size must be at least 1, got {actors} and {batch_size}")
    kwargs = {
        "model_dir": str(Path(model_dir).resolve()),
        "text_field": text_field,
        "top_k": top_k,
        "backbone": backbone,
        "inference": inference,
        "threads": max(1, int(cpus_per_actor)),
        "device": "cuda" if gpus_per_actor else "cpu",
    }
    return dataset.map_batches(
        ClassifierPredictor,
        fn_constructor_kwargs=kwargs,
        compute=ray.data.ActorPoolStrategy(size=actors),
        batch_size=batch_size,
        batch_format="pandas",
        num_cpus=cpus_per_actor,
        num_gpus=gpus_per_actor,
    )


def predict_files(
    inputs: str,
    output_dir: str | Path,
    model_dir: str | Path,
    actors: int = 1,
    batch_size: int = 256,
    cpus_per_actor: float = 1.0,
    gpus_per_actor: float = 0.0,
    text_field: str = "text",
    top_k: int = 0,
    backbone: str | None = None,
    inference: str | None = None,
    output_format: str = "jsonl",
    address: str | None = None,
) -> RayRun:
    """Label every file of `inputs` (a folder or glob) into `output_dir` (JSONL or Parquet shards) on Ray.

    Connects to `address` (a cluster, e.g. 'ray://head:10001' or 'auto'), to the Ray instance this process
    already started, or else starts a local one."""
    ray = require_ray()
    if output_format not in ("jsonl", "parquet"):
        raise ConfigError(f"--output-format must be jsonl or parquet, not {output_format!r}")
    files = input_files(inputs)
    fmt = file_format(files)
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        return _run(ray, files, fmt, output_dir, model_dir, actors, batch_size, cpus_per_actor, gpus_per_actor,
                    text_field, top_k, backbone, inference, output_format)  # fmt: skip
    finally:
        if started:
            ray.shutdown()


def _run(ray, files, fmt, output_dir, model_dir, actors, batch_size, cpus_per_actor, gpus_per_actor, text_field,
         top_k, backbone, inference, output_format) -> RayRun:  # fmt: skip
    ray.data.DataContext.get_current().enable_progress_bars = False
    output = Path(output_dir)
    if output.exists() and any(output.iterdir()):
        raise DataError(f"{output}: the output folder is not empty; give a new one")
    dataset = read_dataset([str(Path(f).resolve()) for f in files], fmt)
    text_field = "text" if fmt == "text" else text_field  # Ray names the column of text lines "text"
    if fmt == "parquet" or fmt == "csv":
        columns = dataset.columns()
        if text_field not in columns:
            raise DataError(f"{files[0]}: column '{text_field}' is missing (columns: {', '.join(columns)})")
    labelled = predict_dataset(
        dataset, model_dir, actors, batch_size, cpus_per_actor, gpus_per_actor, text_field, top_k, backbone, inference
    )
    start = time.perf_counter()
    if output_format == "parquet":
        labelled.write_parquet(str(output.resolve()), ray_remote_args={"num_cpus": IO_CPUS})
    else:
        labelled.write_json(str(output.resolve()), ray_remote_args={"num_cpus": IO_CPUS}, force_ascii=False)
    wall = time.perf_counter() - start
    rows = sum(_count_rows(p, output_format) for p in output.iterdir() if p.is_file())
    return RayRun(rows, wall, actors, str(output))


def _count_rows(path: Path, fmt: str) -> int:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with open(path, "rb") as file:
        return sum(1 for line in file if line.strip())
