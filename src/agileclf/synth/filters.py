"""Switchable filters of generated candidates; each one records a verdict per row and is counted per class.

Order: malformed -> length -> duplicate -> label. A row dropped by one filter is not judged by the later ones
(their verdict is "not-run"); a switched-off filter's verdict is "off".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agileclf.errors import ConfigError

FILTERS = ("malformed", "length", "duplicate", "label")
PASS, FAIL, OFF, NOT_RUN = "pass", "fail", "off", "not-run"

_NON_WORD = re.compile(r"[^\w]+")
_PROMPT_ECHO = re.compile(r"few examples of|generate more examples", re.IGNORECASE)
# Text about the task rather than an example of it, as a chat model writes it ("You've managed to create 4
# examples ...", "Here are more reviews:", "Let's continue the conversation.").
_META = re.compile(
    r"\bsure[,!.]|\b(?:examples?|here (?:is|are)|here's|certainly|of course|i hope|let me|let's|you've|you have"
    r"|i have (?:written|created|generated)|generat(?:e|ed|ing)|conversation|as an ai|ai assistant|try again"
    r"|i'm sorry|i cannot|i can't|feel free|hope (?:this|these) helps?)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FilterSettings:
    """Which filters run and their thresholds (lengths in words, relative to the class's real examples)."""

    malformed: bool = True
    length: bool = True
    duplicate: bool = True
    label: bool = True
    min_length_ratio: float = 0.5
    max_length_ratio: float = 2.0
    near_duplicate: float = 0.8

    def __post_init__(self) -> None:
        if not 0 < self.min_length_ratio <= 1 <= self.max_length_ratio:
            raise ConfigError("length ratios need 0 < min <= 1 <= max")
        if not 0 < self.near_duplicate <= 1:
            raise ConfigError("the near-duplicate threshold is a word-set Jaccard similarity in (0, 1]")

    def enabled(self, name: str) -> bool:
        return bool(getattr(self, name))


def normalise(text: str) -> str:
    """Lower case, punctuation and runs of spaces folded to one space: what 'the same text' means here."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def words(text: str) -> list[str]:
    return normalise(text).split()


def is_malformed(text: str) -> bool:
    """Empty, without a single word character, an echo of the generation instruction, or meta-text: words an
    assistant uses about the task ("here are", "examples", "let's", "generate", ...) rather than an example."""
    return not normalise(text) or bool(_PROMPT_ECHO.search(text)) or bool(_META.search(text))


@dataclass(frozen=True)
class LengthBounds:
    """Allowed word counts of a class: ratios of the shortest and longest real example."""

    low: int
    high: int

    @classmethod
    def of(cls, real_texts: Sequence[str], settings: FilterSettings) -> LengthBounds:
        lengths = [len(words(t)) for t in real_texts] or [1]
        low = max(1, int(min(lengths) * settings.min_length_ratio))
        return cls(low, max(low, int(round(max(lengths) * settings.max_length_ratio))))

    def admits(self, text: str) -> bool:
        return self.low <= len(words(text)) <= self.high


class DuplicateIndex:
    """Texts seen so far (real examples and every earlier candidate): exact by normalised text, near by the
    Jaccard similarity of word sets (written by hand: a set intersection is all it takes)."""

    def __init__(self, threshold: float):
        self.threshold = threshold
        self.exact: set[str] = set()
        self.word_sets: list[frozenset[str]] = []

    def add(self, text: str) -> None:
        key = normalise(text)
        if key and key not in self.exact:
            self.exact.add(key)
            self.word_sets.append(frozenset(key.split()))

    def seen(self, text: str) -> bool:
        key = normalise(text)
        if key in self.exact:
            return True
        if self.threshold >= 1:
            return False
        mine = frozenset(key.split())
        for other in self.word_sets:
            union = len(mine | other)
            if union and len(mine & other) / union >= self.threshold:
                return True
        return False


def cheap_verdicts(text: str, settings: FilterSettings, bounds: LengthBounds, index: DuplicateIndex) -> dict[str, str]:
    """Verdicts of the filters that need no model (the label verdict is left to the caller); the text joins the
    duplicate index whatever happens, so a later copy of a dropped text is dropped too."""
    verdicts = {name: (NOT_RUN if settings.enabled(name) else OFF) for name in FILTERS}
    checks = (
        ("malformed", lambda: not is_malformed(text)),
        ("length", lambda: bounds.admits(text)),
        ("duplicate", lambda: not index.seen(text)),
    )
    for name, passes in checks:
        if not settings.enabled(name):
            continue
        verdicts[name] = PASS if passes() else FAIL
        if verdicts[name] == FAIL:
            break
    index.add(text)
    return verdicts


def dropped_by(verdicts: dict[str, str]) -> str | None:
    """The filter that dropped a row, or None when it was kept."""
    return next((name for name in FILTERS if verdicts.get(name) == FAIL), None)
