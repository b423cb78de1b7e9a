"""The synthesis loop: per round, generate candidates per class, filter them, append the rows, until N per class
are kept or the round / budget limit is reached. Rows are appended as each round finishes, so a stopped run keeps
what it made and `resume=True` carries on from the files."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from agileclf.data import Dataset
from agileclf.errors import ConfigError, DataError
from agileclf.progress import progress
from agileclf.synth.filters import (
    FAIL,
    FILTERS,
    NOT_RUN,
    OFF,
    PASS,
    DuplicateIndex,
    FilterSettings,
    LengthBounds,
    cheap_verdicts,
    dropped_by,
)
from agileclf.synth.generate import GenerationSettings, generation_prompt

SURPLUS = "surplus"  # passed every filter after the class already had N kept
COUNTS = ("generated", *FILTERS, SURPLUS, "kept")

Generator = Callable[[Sequence[str], int], list[str]]  # (prompts, seed) -> one text per prompt


class LabelJudge(Protocol):
    def predict(self, texts: Sequence[str]) -> Sequence[str]: ...  # an agileclf method returns a numpy array


def dropped_path(out_path: Path) -> Path:
    """Where the rows that did not make it go (same provenance, for auditing): SYN.dropped.jsonl."""
    return out_path.with_name(out_path.stem + ".dropped.jsonl")


def report_path(out_path: Path) -> Path:
    return out_path.with_name(out_path.stem + ".report.json")


@dataclass
class SynthesisResult:
    """Counts per class (see COUNTS), rounds run in all, and why the loop stopped."""

    per_class: int
    counts: dict[str, dict[str, int]]
    rounds: int
    stopped: str
    settings: dict = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(c["kept"] >= self.per_class for c in self.counts.values())

    def to_json(self) -> dict:
        return {
            "per_class": self.per_class,
            "rounds": self.rounds,
            "stopped": self.stopped,
            "complete": self.complete,
            "counts": self.counts,
            "settings": self.settings,
        }


def example_ids(dataset: Dataset) -> list:
    """An id per real row: its 'id' field when the file has one, else its line number."""
    if dataset.records:
        pairs = zip(dataset.records, dataset.lines, strict=True)
        return [r.get("id", line) if isinstance(r, dict) else line for r, line in pairs]
    return list(range(len(dataset)))


def _read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise DataError(f"{path}:{number}: not JSON; cannot resume from this file") from None
    return rows


def _append(path: Path, rows: list[dict]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def synthesize(
    dataset: Dataset,
    out_path: str | Path,
    per_class: int,
    generator: Generator,
    judge: LabelJudge | None = None,
    generation: GenerationSettings = GenerationSettings(),
    filters: FilterSettings = FilterSettings(),
    max_rounds: int = 10,
    budget: int = 0,
    oversample: float = 2.0,
    seed: int = 0,
    resume: bool = False,
    label_words: dict[str, str] | None = None,
    on_round: Callable[[int, dict], None] | None = None,
) -> SynthesisResult:
    """Generate until `per_class` texts per class pass the filters, `max_rounds` rounds ran, or `budget`
    candidates per class were generated (0: 20 x per_class). Kept rows are appended to `out_path`, the others to
    SYN.dropped.jsonl; `judge` (needed when the label filter is on) predicts a label per text."""
    out_path = Path(out_path)
    if per_class < 1 or max_rounds < 1 or oversample < 1:
        raise ConfigError("per-class and max rounds must be >= 1, oversample >= 1")
    if filters.label and judge is None:
        raise ConfigError("the label filter needs a classifier (judge); switch it off or pass one")
    budget = budget or 20 * per_class
    classes = dataset.classes
    label_words = label_words or {c: c.replace("_", " ").replace("-", " ") for c in classes}
    ids = example_ids(dataset)
    real = {c: [i for i, y in enumerate(dataset.labels) if y == c] for c in classes}

    existing = _read_rows(out_path) + _read_rows(dropped_path(out_path))
    if existing and not resume:
        raise ConfigError(f"{out_path} already holds synthetic rows; pass --resume to continue or remove it")
    counts = {c: dict.fromkeys(COUNTS, 0) for c in classes}
    index = DuplicateIndex(filters.near_duplicate)
    for text in dataset.texts:
        index.add(text)
    done_rounds = 0  # rounds already in the files (resume)
    for row in existing:
        label = row.get("label")
        if label not in counts:
            raise DataError(f"{out_path}: row of label {label!r}, which the real data does not have")
        counts[label]["generated"] += 1
        counts[label][row.get("dropped_by") or "kept"] += 1
        index.add(row.get("text", ""))
        done_rounds = max(done_rounds, int(row.get("round", 0)))

    bounds = {c: LengthBounds.of([dataset.texts[i] for i in real[c]], filters) for c in classes}
    settings = {"generation": generation.__dict__, "filters": filters.__dict__, "seed": seed, "budget": budget}
    stopped = f"{per_class} kept per class"
    last_round = done_rounds
    rounds = range(done_rounds + 1, done_rounds + max_rounds + 1)
    for round_no in progress(rounds, desc="synthesis rounds"):
        wanted = {
            c: min(math.ceil((per_class - counts[c]["kept"]) * oversample), budget - counts[c]["generated"])
            for c in classes
            if counts[c]["kept"] < per_class
        }
        wanted = {c: n for c, n in wanted.items() if n > 0}
        if not wanted:
            break
        rows = _run_round(dataset, ids, real, wanted, generator, judge, filters, bounds, index, round_no, seed,
                          generation, label_words)  # fmt: skip
        for row in rows:
            label = row["label"]
            counts[label]["generated"] += 1
            if row["kept"] and counts[label]["kept"] >= per_class:
                row.update(kept=False, dropped_by=SURPLUS)
            counts[label][row["dropped_by"] or "kept"] += 1
        out_path.parent.mkdir(parents=True, exist_ok=True)
        _append(out_path, [r for r in rows if r["kept"]])
        _append(dropped_path(out_path), [r for r in rows if not r["kept"]])
        last_round = round_no
        if on_round:
            on_round(round_no, counts)
    short = {c: n["kept"] for c, n in counts.items() if n["kept"] < per_class}
    if short:
        exhausted = all(counts[c]["generated"] >= budget for c in short)
        limit = f"the budget of {budget} candidates per class" if exhausted else f"the limit of {max_rounds} round(s)"
        got = ", ".join(f"{c} {k}/{per_class}" for c, k in sorted(short.items()))
        stopped = f"stopped at {limit}; short: {got}"
    result = SynthesisResult(per_class, counts, last_round, stopped, settings)
    from agileclf.artifact import write_json_atomic

    write_json_atomic(report_path(out_path), result.to_json())
    return result


def _run_round(
    dataset, ids, real, wanted, generator, judge, filters, bounds, index, round_no, seed, generation, label_words
) -> list[dict]:
    """Generate and judge one round's candidates of every class that still needs some."""
    prompts, meta = [], []
    for class_no, (label, n) in enumerate(sorted(wanted.items())):
        for slot in range(n):
            rng = np.random.Generator(np.random.PCG64([seed, round_no, class_no, slot]))
            order = [real[label][i] for i in rng.permutation(len(real[label]))]
            order = order[: generation.examples_per_prompt or None]
            prompts.append(generation_prompt(label_words[label], [dataset.texts[i] for i in order], generation))
            meta.append((label, [ids[i] for i in order]))
    texts = generator(prompts, seed * 10_007 + round_no)
    rows = []
    for text, (label, seed_ids) in zip(texts, meta, strict=True):
        verdicts = cheap_verdicts(text, filters, bounds[label], index)
        row = {"text": text, "label": label, "source": "synthetic", "round": round_no, "seed_ids": seed_ids}
        rows.append({**row, "filters": verdicts})
    if filters.label:
        pending = [r for r in rows if dropped_by(r["filters"]) is None]
        predicted = judge.predict([r["text"] for r in pending]) if pending else []
        for row, guess in zip(pending, predicted, strict=True):
            row["filters"]["label"] = PASS if guess == row["label"] else FAIL
            row["predicted"] = guess
    for row in rows:
        row["dropped_by"] = dropped_by(row["filters"])
        row["kept"] = row["dropped_by"] is None
    return rows


__all__ = ["COUNTS", "FAIL", "NOT_RUN", "OFF", "PASS", "SURPLUS", "SynthesisResult", "synthesize"]
