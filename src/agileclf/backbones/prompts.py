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

    `{labels}` in the instruction is the comma-separated label list (each label's words; with describe_labels=list,
    its description in brackets); `{text}` and `{label}` fill the
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


DESCRIPTION_USES = ("auto", "answer", "list", "off")
ANSWER_WORDS = 3  # a description this short names the label ("abbreviation"); a longer one is context


def verbalizer(labels: LabelSet, path: str = "", descriptions: bool = False) -> dict[str, str]:
    """label -> the words the model should say for it: from a JSON file, else (with `descriptions`) the label's
    --labels description, else the readable label name."""
    words = {name: name.replace("_", " ").replace("-", " ").strip() for name in labels.names}
    if descriptions:
        words.update({k: v.strip() for k, v in labels.descriptions.items() if v.strip()})
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


def description_use(labels: LabelSet) -> str:
    """How --labels descriptions serve a causal LM when nothing chooses: short ones ('abbreviation' for ABBR) are
    the answer the model says, longer ones are listed beside the label in the instruction; 'off' without any,
    or when two labels share a description."""
    given = [d.strip() for d in labels.descriptions.values() if d.strip()]
    if not given:
        return "off"
    if all(len(d.split()) <= ANSWER_WORDS for d in given):
        try:
            verbalizer(labels, descriptions=True)
        except ConfigError:
            return "list"
        return "answer"
    return "list"


def label_texts(labels: LabelSet, path: str, use: str) -> tuple[dict[str, str], list[str]]:
    """(label -> answer words, what the instruction's `{labels}` lists per label) under description use `use`
    ('auto' resolves by description_use): 'answer' says the description, 'list' adds it in brackets."""
    use = description_use(labels) if use == "auto" else use
    words = verbalizer(labels, path, descriptions=use == "answer")
    listing = []
    for name in labels.names:
        description = labels.descriptions.get(name, "").strip() if use == "list" else ""
        same = description.casefold() in ("", words[name].casefold())  # a description equal to the words adds nothing
        listing.append(words[name] if same else f"{words[name]} ({description})")
    return words, listing
