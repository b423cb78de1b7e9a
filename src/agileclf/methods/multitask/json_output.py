"""Causal-LM consolidated output: one prompt asking for a JSON frame, its training target, and a parser that
never crashes on what a small model actually writes (fences, prose, single quotes, trailing commas, cut-offs)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from agileclf.data.slots import SlotSpan, split_words, tags_for_spans

_FENCE = re.compile(r"```(?:json)?", re.IGNORECASE)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}
_INTENT_FIELD = re.compile(r"""["']?(?:intent|label)["']?\s*[:=]\s*["']([^"'\n]+)["']""", re.IGNORECASE)
_FLAT_OBJECT = re.compile(r"\{[^{}]*\}")  # an object with no object inside: one slot of a broken frame


def frame_prompt(text: str, labels: Sequence[str], slot_names: Sequence[str] | None) -> str:
    """The one prompt asking for intent and slots together as JSON (the papers' consolidated style);
    `slot_names=None` asks for the intent alone."""
    if slot_names is None:
        form, slot_line = '{"intent": "<intent>"}', ""
    else:
        form = '{"intent": "<intent>", "slots": [{"slot": "<slot type>", "text": "<words from the utterance>"}]}'
        slot_line = f"Slot types: {', '.join(slot_names)}\n"
    text = " ".join(text.split())  # runs of spaces the training utterances never had must not change the answer
    return (
        f"Read the utterance and answer with JSON only, in the form {form}.\n"
        f"Intents: {', '.join(labels)}\n"
        f"{slot_line}"
        f"Utterance: {text}\n"
        "JSON:"
    )


def frame_target(label: str, spans: Sequence[dict] | None) -> str:
    """The JSON a model is trained to write for one utterance (slots as {"slot", "text"} in text order;
    `spans=None`: the intent alone)."""
    if spans is None:
        return json.dumps({"intent": label}, ensure_ascii=False)
    slots = [{"slot": s["slot"], "text": s["text"]} for s in spans]
    return json.dumps({"intent": label, "slots": slots}, ensure_ascii=False)


@dataclass
class ParsedFrame:
    """What could be read from one generation; `valid_json` is strict JSON, `repaired` needed fixing first."""

    intent: str | None
    slots: list[tuple[str, str]] = field(default_factory=list)
    raw_intent: str | None = None
    valid_json: bool = False
    repaired: bool = False
    unknown_label: bool = False
    unknown_slots: int = 0
    error: str | None = None


def parse_frame_output(raw: str, labels: Sequence[str], slot_names: Sequence[str] = ()) -> ParsedFrame:
    """Read intent and slots from a generation; unknown labels and slot types are flagged, never raised."""
    payload, valid, repaired, error = _load_object(raw if isinstance(raw, str) else "")
    if payload is None:
        match = _INTENT_FIELD.search(raw or "")
        raw_intent = match.group(1).strip() if match else None
        intent = match_label(raw_intent, labels)
        slots, unknown = _read_slots(_readable_objects(raw or ""), slot_names)  # the slots that are whole
        unknown_label = raw_intent is not None and intent is None
        return ParsedFrame(intent, slots, raw_intent, False, False, unknown_label, unknown, error)
    raw_intent = payload.get("intent", payload.get("label"))
    raw_intent = None if raw_intent is None else str(raw_intent).strip()
    intent = match_label(raw_intent, labels)
    slots, unknown = _read_slots(payload.get("slots"), slot_names)
    error = error or (None if raw_intent else "the JSON has no intent")
    return ParsedFrame(intent, slots, raw_intent, valid, repaired, intent is None, unknown, error)


def match_label(value: str | None, labels: Sequence[str]) -> str | None:
    """The label `value` names: exactly, or ignoring case, spaces vs underscores and surrounding punctuation."""
    if not value:
        return None
    if value in labels:
        return value

    def norm(s: str) -> str:
        return re.sub(r"[\s_\-]+", "_", s.strip().strip(".\"'`").lower())

    lookup = {norm(label): label for label in labels}
    return lookup.get(norm(value))


def _load_object(raw: str) -> tuple[dict | None, bool, bool, str | None]:
    """(object, strict JSON?, repaired?, error): the first JSON object in the text, repaired if need be."""
    text = _FENCE.sub("", raw)
    start = text.find("{")
    if start < 0:
        return None, False, False, "no JSON object in the output"
    decoder = json.JSONDecoder()
    try:
        value, _ = decoder.raw_decode(text[start:])
        if isinstance(value, dict):
            return value, True, False, None
    except json.JSONDecodeError:
        pass
    candidate = _repair(text[start:])
    try:
        value, _ = decoder.raw_decode(candidate)
    except json.JSONDecodeError as err:
        return None, False, False, f"invalid JSON ({err.msg})"
    if not isinstance(value, dict):
        return None, False, False, "the JSON is not an object"
    return value, False, True, None


def _repair(text: str) -> str:
    """Common small-model slips: single quotes, Python literals, trailing commas, an unclosed end."""
    if '"' not in text:
        text = text.replace("'", '"')
    for python, js in _PY_LITERALS.items():
        text = re.sub(rf"\b{python}\b", js, text)
    text = _TRAILING_COMMA.sub(r"\1", text)
    return _close_open(text)


def _close_open(text: str) -> str:
    """Cut at the first complete top-level object, or close the strings and brackets a cut-off left open."""
    # A scan by hand: json has no incremental parser that reports which brackets are still open.
    stack, in_string, escaped = [], False, False
    for i, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]":
            if not stack or stack.pop() != char:
                return text[:i]
            if not stack:
                return text[: i + 1]
    tail = '"' if in_string else ""
    return _TRAILING_COMMA.sub(r"\1", text.rstrip().rstrip(",:") + tail + "".join(reversed(stack)))


def _readable_objects(raw: str) -> list[dict]:
    """Every flat `{...}` of an unreadable frame that is JSON on its own (one slot written wrong loses only itself)."""
    objects = []
    for match in _FLAT_OBJECT.finditer(raw):
        try:
            value = json.loads(match.group())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and "intent" not in value:
            objects.append(value)
    return objects


def _read_slots(value, slot_names: Sequence[str]) -> tuple[list[tuple[str, str]], int]:
    """Slots given as [{"slot", "text"}] or {"slot": "text"}; unknown slot types are dropped and counted."""
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = [
            (item.get("slot", item.get("type")), item.get("text", item.get("value")))
            for item in value
            if isinstance(item, dict)
        ]
    else:
        return [], 0
    known, unknown = [], 0
    for slot, text in pairs:
        if not isinstance(slot, str) or not isinstance(text, str) or not text.strip():
            unknown += 1
            continue
        name = match_label(slot, slot_names) if slot_names else slot
        if name is None:
            unknown += 1
        else:
            known.append((name, text.strip()))
    return known, unknown


def frame_tags(text: str, slots: Sequence[tuple[str, str]]) -> list[str]:
    """Word-level BIO tags for parsed slots, each value found in the utterance left to right (absent: dropped).

    A value matches whatever whitespace the utterance has between its words: the prompt shows runs of spaces as
    one, so "nine am" must find "nine  am"."""
    spans, cursor = [], 0
    for slot, value in slots:
        words = value.split()
        if not words:
            continue
        pattern = re.compile(r"\s+".join(map(re.escape, words)), re.IGNORECASE)
        found = pattern.search(text, cursor) or pattern.search(text)
        if found:
            spans.append(SlotSpan(slot, found.start(), found.end()))
            cursor = found.end()
    return tags_for_spans(split_words(text), spans)


def parse_rates(parsed: Sequence[ParsedFrame]) -> dict:
    """Shares of generations that were not strict JSON, needed repair, were unreadable, or named unknown labels."""
    n = max(len(parsed), 1)
    return {
        "n": len(parsed),
        "invalid_json_rate": sum(not p.valid_json for p in parsed) / n,
        "repaired_rate": sum(p.repaired for p in parsed) / n,
        "unreadable_rate": sum(not p.valid_json and not p.repaired for p in parsed) / n,
        "unknown_label_rate": sum(p.unknown_label for p in parsed) / n,
        "unknown_slots": sum(p.unknown_slots for p in parsed),
    }


def frames_from_generations(
    texts: Sequence[str], outputs: Sequence[str], labels: Sequence[str], slot_names: Sequence[str]
) -> tuple[list[str | None], list[list[str]], dict]:
    """Predicted labels (None when unreadable or unknown), word-level BIO tags and the parse rates of a batch
    of generations, ready for `agileclf.evaluate.slots` (accuracy, slot_f1, frame_exact_match)."""
    parsed = [parse_frame_output(raw, labels, slot_names) for raw in outputs]
    tags = [frame_tags(text, p.slots) for text, p in zip(texts, parsed, strict=True)]
    return [p.intent for p in parsed], tags, parse_rates(parsed)
