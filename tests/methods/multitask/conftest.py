"""A small MASSIVE slice (four intents) written to files, one-thread torch for the training tests, and the
synthetic frame task with its tiny causal LMs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

INTENTS = ("alarm_set", "calendar_set", "play_music", "weather_query")


def _slice(path: Path, per_intent: int) -> list[dict]:
    taken: dict[str, int] = {}
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["intent"] in INTENTS and taken.get(row["intent"], 0) < per_intent:
            taken[row["intent"]] = taken.get(row["intent"], 0) + 1
            rows.append(row)
    return rows


@pytest.fixture(scope="package")
def massive_slice(shared_data, tmp_path_factory) -> dict[str, Path]:
    """train.jsonl (40 per intent) and test.jsonl (15 per intent) from MASSIVE en-US, four intents."""
    folder = tmp_path_factory.mktemp("massive_slice")
    files = {}
    for split, per_intent in (("train", 40), ("test", 15)):
        rows = _slice(shared_data / "massive_en" / f"{split}.jsonl", per_intent)
        files[split] = folder / f"{split}.jsonl"
        files[split].write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return files


@pytest.fixture(scope="package")
def one_thread():
    """Training on a machine whose cores are shared: 2 OpenMP threads were measured 15x slower than 1."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="package")
def frame_base(tmp_path_factory, one_thread) -> Path:
    """An untrained tiny Llama (hidden 128) whose byte-level BPE tokenizer knows the frame prompts."""
    from frames_synthetic import build_frame_lm

    return build_frame_lm(tmp_path_factory.mktemp("frame-base"), hidden=128)


@pytest.fixture(scope="package")
def frame_lm(frame_base, tmp_path_factory, one_thread) -> Path:
    """The tiny Llama "pretrained" on a dialect of the frame task (see frames_synthetic.py), ~400 updates."""
    from frames_synthetic import pretrain_frame_lm

    return pretrain_frame_lm(frame_base, tmp_path_factory.mktemp("frame-lm"), steps=400)


@pytest.fixture(scope="package")
def frame_files(tmp_path_factory) -> dict[str, Path]:
    """train.jsonl (12 rows per intent) and test.jsonl (10 per intent, texts unseen in training)."""
    from frames_synthetic import frame_rows

    folder = tmp_path_factory.mktemp("frames")
    train = frame_rows(12, seed=1)
    test = frame_rows(10, seed=2, exclude={row["text"] for row in train})
    files = {}
    for split, rows in (("train", train), ("test", test)):
        files[split] = folder / f"{split}.jsonl"
        files[split].write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return files
