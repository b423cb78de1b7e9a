"""Slot markup (`wake me at [time : nine am]`) to words and BIO tags, and parent labels from child labels."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from agileclf.errors import DataError

OUTSIDE = "O"
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class SlotSpan:
    """One slot value: its type and [start, end) character offsets into the plain text."""

    slot: str
    start: int
    end: int


@dataclass
class SlotExample:
    """The plain text of an annotated utterance, its whitespace words and one BIO tag per word."""

    text: str
    words: list[str]
    tags: list[str]
    spans: list[SlotSpan]


@dataclass
class FrameDataset:
    """Texts with a sequence label (or None), word-level BIO tags (or None), and their file lines."""

    texts: list[str]
    labels: list[str | None]
    words: list[list[str]] | None
    tags: list[list[str]] | None
    lines: list[int]
    path: str = "<memory>"
    records: list[dict] = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: list[int]) -> FrameDataset:
        def pick(values):
            return None if values is None else [values[i] for i in indices]

        return FrameDataset(
            [self.texts[i] for i in indices],
            pick(self.labels),
            pick(self.words),
            pick(self.tags),
            [self.lines[i] for i in indices],
            self.path,
            pick(self.records) or [],
        )


def split_words(text: str) -> list[tuple[str, int, int]]:
    """Whitespace words with their [start, end) character offsets: the unit slots are tagged on."""
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def parse_annotation(annotated: str, where: str = "<text>") -> SlotExample:
    """Parse `[slot : value]` markup into plain text, words and BIO tags.

    `where` (e.g. `train.jsonl:12`) prefixes every error about unbalanced brackets, a missing ` : `, or an
    empty slot name or value. A word that only partly overlaps a value (`[date : monday]'s`) gets the slot.
    """
    plain: list[str] = []
    spans: list[SlotSpan] = []
    length = 0
    pos = 0
    while pos < len(annotated):
        char = annotated[pos]
        if char == "]":
            raise DataError(f"{where}: unbalanced ']' at column {pos + 1} of {annotated!r}")
        if char != "[":
            plain.append(char)
            length += 1
            pos += 1
            continue
        close = annotated.find("]", pos + 1)
        nested = annotated.find("[", pos + 1)
        if close < 0:
            raise DataError(f"{where}: '[' at column {pos + 1} is never closed in {annotated!r}")
        if 0 <= nested < close:
            raise DataError(f"{where}: nested '[' at column {nested + 1} in {annotated!r}; slots cannot nest")
        inside = annotated[pos + 1 : close]
        if ":" not in inside:
            raise DataError(f"{where}: slot at column {pos + 1} has no ':' between name and value: [{inside}]")
        name, value = (part.strip() for part in inside.split(":", 1))
        if not name:
            raise DataError(f"{where}: empty slot name at column {pos + 1}: [{inside}]")
        if not value:
            raise DataError(f"{where}: slot '{name}' at column {pos + 1} has an empty value")
        if any(c.isspace() for c in name):
            raise DataError(f"{where}: slot name {name!r} at column {pos + 1} contains whitespace")
        spans.append(SlotSpan(name, length, length + len(value)))
        plain.append(value)
        length += len(value)
        pos = close + 1
    text = "".join(plain)
    words = split_words(text)
    return SlotExample(text, [w for w, _, _ in words], tags_for_spans(words, spans), spans)


def tags_for_spans(words: list[tuple[str, int, int]], spans: list[SlotSpan]) -> list[str]:
    """BIO tags of words given character spans: B- on the first word touching a span, I- on the rest."""
    tags = [OUTSIDE] * len(words)
    for span in spans:
        first = True
        for i, (_, start, end) in enumerate(words):
            if start < span.end and end > span.start:
                tags[i] = f"{'B' if first else 'I'}-{span.slot}"
                first = False
    return tags


def spans_from_tags(text: str, tags: list[str]) -> list[dict]:
    """Slot spans `{"slot", "text", "start", "end"}` in `text`'s character offsets from per-word BIO tags.

    An `I-x` that does not continue an `x` span starts a new one (the conlleval reading seqeval also uses).
    """
    words = split_words(text)
    if len(words) != len(tags):
        raise ValueError(f"{len(tags)} tags for {len(words)} words")
    spans: list[dict] = []
    current: dict | None = None
    for (_, start, end), tag in zip(words, tags, strict=True):
        prefix, _, slot = tag.partition("-")
        if tag == OUTSIDE or not slot:
            current = None
            continue
        if prefix == "I" and current is not None and current["slot"] == slot:
            current["end"] = end
            continue
        current = {"slot": slot, "start": start, "end": end}
        spans.append(current)
    return [
        {"slot": s["slot"], "text": text[s["start"] : s["end"]], "start": s["start"], "end": s["end"]} for s in spans
    ]


def check_word_tags(task: str, words: list[list[str]], tags, texts: list[str], tasks_hint: str) -> None:
    """One BIO tag per word for every text, else a DataError naming the text (`tasks_hint`: the --task values)."""
    if tags is None or len(tags) != len(words):
        raise DataError(
            f"task {task} needs slot tags for every text "
            f"(command line: --task {tasks_hint} reads them from --slot-field markup)"
        )
    for i, (row_words, row_tags) in enumerate(zip(words, tags, strict=True)):
        if len(row_words) != len(row_tags):
            raise DataError(f"text {i} has {len(row_words)} words but {len(row_tags)} slot tags: {texts[i]!r}")


def parent_of(label: str, sep: str) -> str:
    """The parent of a hierarchical label: the part before the first `sep` ('comp.graphics' -> 'comp')."""
    if not sep:
        raise DataError("the parent separator must not be empty")
    parent, found, child = label.partition(sep)
    if not found or not parent or not child:
        raise DataError(f"label {label!r} has no parent before separator {sep!r}")
    return parent


def read_frames(
    path: str | Path,
    text_field: str = "text",
    label_field: str | None = "intent",
    slot_field: str | None = "annot_utt",
) -> FrameDataset:
    """Read a JSONL/CSV/TSV file with texts, optional labels and optional slot markup.

    The markup must spell out the same text as `text_field` once the brackets are removed; every error names
    the file and line.
    """
    from agileclf.data.readers import read_examples

    data = read_examples(path, text_field, label_field, on_conflict="keep-first")
    if slot_field is None:
        return FrameDataset(data.texts, data.labels, None, None, data.lines, data.path, data.records)
    words, tags = [], []
    for text, line, record in zip(data.texts, data.lines, data.records, strict=True):
        where = f"{data.path}:{line}"
        markup = record.get(slot_field)
        if not isinstance(markup, str) or not markup.strip():
            raise DataError(f"{where}: field '{slot_field}' (slot markup) is missing or empty")
        example = parse_annotation(markup, where)
        if example.words != text.split():
            raise DataError(
                f"{where}: the slot markup reads {example.text!r} without brackets, but '{text_field}' is {text!r}"
            )
        words.append(example.words)
        tags.append(example.tags)
    return FrameDataset(data.texts, data.labels, words, tags, data.lines, data.path, data.records)
