"""Prompt templates as data (built-in or from a JSON file) and label verbalisers for causal-LM classification."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from agileclf.data.labels import LabelSet
from agileclf.errors import ConfigError


@dataclass(frozen=True)
class PromptTemplate:
    """How a prompt is laid out: an instruction naming the labels, demonstrations, then the query.

    `{labels}` in the instruction is the comma-separated label list; `{text}` and `{label}` fill the
    demonstration and the query. The label continuation follows the query directly (so `answer_prefix` is
    usually one space after `Label:`; with a chat template the answer starts the assistant turn instead).
    """

    instruction: str = "Classify the text into one of these labels: {labels}."
    demonstration: str = "Text: {text}\nLabel: {label}"
    query: str = "Text: {text}\nLabel:"
    separator: str = "\n\n"
    answer_prefix: str = " "

    def __post_init__(self) -> None:
        for name, needed in (("demonstration", ("{text}", "{label}")), ("query", ("{text}",))):
            value = getattr(self, name)
            missing = [field for field in needed if field not in value]
            if missing:
                raise ConfigError(f"prompt template: '{name}' must contain {' and '.join(missing)}")
        if "{labels}" in self.query or "{label}" in self.query:
            raise ConfigError("prompt template: 'query' must not contain the label (it is the continuation)")

    def render(self, text: str, labels: list[str], demos: list[tuple[str, str]] = ()) -> str:
        """The prompt for `text` (demos are (text, label words) pairs); the label continuation is not included."""
        parts = [self.instruction.format(labels=", ".join(labels))] if self.instruction else []
        parts += [self.demonstration.format(text=t, label=label) for t, label in demos]
        parts.append(self.query.format(text=text))
        return self.separator.join(parts)

    def answer(self, words: str, chat: bool = False) -> str:
        """The continuation scored for a label: its words after the answer prefix (none in a chat turn)."""
        return words if chat else self.answer_prefix + words

    def to_json(self) -> dict:
        return asdict(self)


BUILTIN_TEMPLATES: dict[str, PromptTemplate] = {
    # The papers' style: an instruction naming task and label list, `Text: ... Label: ...` demonstrations.
    "classify": PromptTemplate(),
    "topic": PromptTemplate(instruction="What is the topic of the text? Answer with one of: {labels}."),
    "sentiment": PromptTemplate(
        instruction="What is the sentiment of the text? Answer with one of: {labels}.",
        demonstration="Text: {text}\nSentiment: {label}",
        query="Text: {text}\nSentiment:",
    ),
    "intent": PromptTemplate(
        instruction="What does the user want? Answer with one of these intents: {labels}.",
        demonstration="Utterance: {text}\nIntent: {label}",
        query="Utterance: {text}\nIntent:",
    ),
    "bare": PromptTemplate(instruction=""),
}


def load_template(name_or_path: str) -> PromptTemplate:
    """A built-in template by name, or a JSON file whose keys override the default template's fields."""
    if name_or_path in BUILTIN_TEMPLATES:
        return BUILTIN_TEMPLATES[name_or_path]
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"prompt template {name_or_path!r}: neither a built-in ({', '.join(BUILTIN_TEMPLATES)}) nor a file"
        )
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: prompt template is not valid JSON ({err.msg})") from None
    known = {f.name for f in fields(PromptTemplate)}
    if not isinstance(payload, dict) or set(payload) - known:
        raise ConfigError(f"{path}: a prompt template is a JSON object with keys among {', '.join(sorted(known))}")
    return PromptTemplate(**payload)


def verbalizer(labels: LabelSet, path: str = "") -> dict[str, str]:
    """label -> the words the model should say for it: from a JSON file, else the readable label name."""
    words = {name: name.replace("_", " ").replace("-", " ").strip() for name in labels.names}
    if path:
        file = Path(path).expanduser()
        if not file.is_file():
            raise ConfigError(f"verbalizer {path}: no such file (a JSON object {{label: words}})")
        try:
            given = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ConfigError(f"{file}: verbalizer is not valid JSON ({err.msg})") from None
        if not isinstance(given, dict) or not all(isinstance(v, str) and v.strip() for v in given.values()):
            raise ConfigError(f"{file}: a verbalizer is a JSON object {{label: non-empty words}}")
        unknown = set(given) - set(labels.names)
        if unknown:
            raise ConfigError(f"{file}: verbalizer names unknown labels: {', '.join(sorted(unknown))}")
        words.update({k: v.strip() for k, v in given.items()})
    if len(set(words.values())) != len(words):
        raise ConfigError(f"two labels share the same words in the verbalizer: {words}")
    return words
