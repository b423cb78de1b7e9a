"""A small MASSIVE slice (four intents) written to files, and one-thread torch for the training tests."""

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
