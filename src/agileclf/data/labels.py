"""The ordered label set of a classifier, with optional natural-language descriptions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agileclf.data.readers import json_record
from agileclf.errors import DataError

# What exported ids put before the number (Hugging Face's LABEL_0, class_1, topic 2): no meaning of their own
INDEX_WORDS = {"", "label", "class", "category", "cat", "cluster", "group", "id", "idx", "index", "target", "topic",
               "type", "y"}  # fmt: skip


@dataclass
class LabelSet:
    """Labels in a fixed order (the columns of predict_proba) and a description per label."""

    names: list[str]
    descriptions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(set(self.names)) != len(self.names):
            raise DataError(f"duplicate label names in {self.names}")
        unknown = set(self.descriptions) - set(self.names)
        if unknown:
            raise DataError(f"descriptions given for unknown labels: {', '.join(sorted(unknown))}")

    @classmethod
    def from_labels(cls, labels: Iterable[str], descriptions: dict[str, str] | None = None) -> LabelSet:
        """Sorted unique labels, so the column order never depends on row order."""
        names = sorted(set(labels) | set(descriptions or {}))
        return cls(names, dict(descriptions or {}))

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self):
        return iter(self.names)

    def index(self, label: str) -> int:
        return self.names.index(label)

    def encode(self, labels: Sequence[str]) -> np.ndarray:
        """Label strings to column indices; an unknown label is an error naming it."""
        lookup = {name: i for i, name in enumerate(self.names)}
        try:
            return np.array([lookup[label] for label in labels], dtype=np.int64)
        except KeyError as err:
            raise DataError(f"label {err.args[0]!r} is not one of {self.names}") from None

    def describe(self, label: str) -> str:
        """The description, or the label name made readable ('billing_issue' -> 'billing issue')."""
        if label in self.descriptions:
            return self.descriptions[label]
        return label.replace("_", " ").replace("/", " or ").replace("-", " ").strip()

    def wordless(self) -> list[str]:
        """Labels whose words cannot tell them apart: a name (or description) with no letter, like '0' and '1', and
        every label when all are an index word and a number, like 'LABEL_0' and 'LABEL_1' (an exported id; 'rating
        1' or 'type 2 diabetes' keep their words)."""
        words = {name: "".join(ch for ch in self.describe(name).casefold() if ch.isalpha()) for name in self.names}
        if len(self.names) > 1 and set(words.values()) <= INDEX_WORDS:
            return list(self.names)
        return [name for name in self.names if not words[name]]

    def to_json(self) -> dict:
        return {"names": self.names, "descriptions": self.descriptions}

    @classmethod
    def from_json(cls, payload: dict) -> LabelSet:
        return cls(list(payload["names"]), dict(payload.get("descriptions", {})))


def read_label_descriptions(path: str | Path) -> dict[str, str]:
    """Read a labels file: a JSON object {label: description} or JSONL rows {"label", "description"}."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such labels file")
    text = path.read_text(encoding="utf-8")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        payload = None
    if isinstance(payload, dict):
        bad = [k for k, v in payload.items() if not isinstance(v, str) or not v.strip()]
        if bad:
            raise DataError(f"{path}: label {bad[0]!r} needs a non-empty string description")
        return {str(k): v.strip() for k, v in payload.items()}
    descriptions = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        row = json_record(path, number, line)
        for key in ("label", "description"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise DataError(f"{path}:{number}: field '{key}' must be a non-empty string")
        descriptions[row["label"].strip()] = row["description"].strip()
    if not descriptions:
        raise DataError(f"{path}: no label descriptions found")
    return descriptions


def description_mismatches(labels_file: str | Path, in_data: set[str], described: set[str]) -> list[str]:
    """Notes on a --labels file that does not match the data's labels: a misspelt name there is otherwise silent."""
    messages = []
    if extra := sorted(described - in_data):
        messages.append(
            f"{labels_file}: {', '.join(map(repr, extra))} not among the data's labels: still a class of the "
            "classifier, one that only label-name methods (zero-shot) can predict. Misspelt? The data's labels: "
            + ", ".join(sorted(in_data))
        )
    if bare := sorted(in_data - described):
        messages.append(f"{labels_file}: no description for {', '.join(map(repr, bare))}; the label name is used")
    return messages
