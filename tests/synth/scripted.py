"""Generators and a judge the tests control: planted candidate texts and keyword rules over the synthetic topics."""

from __future__ import annotations

import re
from itertools import combinations

from causal_synthetic import TASK_DIALECT, TOPICS, label_of

LABEL_OF_PROMPT = re.compile(r"having label (\w+) are given")


def topic_words(label: str) -> list[str]:
    """The topic words that mean `label` in the task's dialect."""
    return next(TOPICS[t] for t in range(4) if label_of(t, TASK_DIALECT) == label)


class ScriptedGenerator:
    """Returns planted texts per intended label (read back from each prompt) in order; records every call."""

    def __init__(self, script: dict[str, list[str]], fallback=None):
        self.script = {label: list(texts) for label, texts in script.items()}
        self.fallback = fallback
        self.calls: list[tuple[int, int]] = []  # (prompts, seed)
        self.prompts: list[str] = []
        self.made = 0

    def __call__(self, prompts, seed):
        self.calls.append((len(prompts), seed))
        self.prompts += prompts
        texts = []
        for prompt in prompts:
            label = LABEL_OF_PROMPT.search(prompt).group(1)
            queue = self.script.get(label, [])
            if queue:
                texts.append(queue.pop(0))
            else:
                texts.append(self.fallback(label, self.made))
                self.made += 1
        return texts


FOUR_OF_EIGHT = list(combinations(range(8), 4))  # 70 word sets; two of them share at most 3 of 5 words


def fresh_text(label: str, n: int) -> str:
    """The n-th new valid text of `label`: 4 distinct topic words, a word set no smaller n used (n < 70)."""
    words = topic_words(label)
    return " ".join(words[i] for i in FOUR_OF_EIGHT[(n * 13) % 70])


class KeywordJudge:
    """Deterministic labeller: the label whose topic words are most frequent in the text."""

    def __init__(self, labels: list[str]):
        self.labels = labels

    def predict(self, texts):
        out = []
        for text in texts:
            tokens = text.split()
            out.append(max(self.labels, key=lambda label: sum(w in topic_words(label) for w in tokens)))
        return out
