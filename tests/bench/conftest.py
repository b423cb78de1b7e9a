"""Two tiny dataset folders (train.jsonl + test.jsonl) for micro grids."""

from __future__ import annotations

import json

import pytest

SENTIMENT = {
    "positive": ["a wonderful film", "great acting and a moving story", "i loved it", "brilliant and funny"],
    "negative": ["a dull mess", "boring and far too long", "i hated it", "a terrible waste of time"],
}
TOPIC = {
    "sport": ["the team won the match", "a goal in the final minute", "the striker scored twice"],
    "money": ["stocks fell sharply today", "the bank raised interest rates", "profits doubled this quarter"],
    "weather": ["heavy rain expected tomorrow", "a sunny and warm weekend", "snow storms close the roads"],
}


def _write(folder, classes: dict[str, list[str]]):
    folder.mkdir()
    for split, rows in (("train", slice(0, -1)), ("test", slice(-1, None))):
        lines = [json.dumps({"text": t, "label": label}) for label, texts in classes.items() for t in texts[rows]]
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture()
def tiny_sets(tmp_path):
    """Folders `sentiment` (2 classes) and `topic` (3 classes)."""
    return [_write(tmp_path / "sentiment", SENTIMENT), _write(tmp_path / "topic", TOPIC)]
