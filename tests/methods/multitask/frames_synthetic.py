"""A synthetic intent+slots task (four intents keyed by their words, two slot types with values from a small
vocabulary) and a tiny Llama with a byte-level BPE tokenizer that knows its prompts.

The "pretrained" base model is the tiny Llama fully fine-tuned on a *dialect* of the task: the same utterances
with every intent named as the next one and the two slot types swapped. It has learned the JSON format and to
copy values from the utterance (the slow part for a tiny model: ~400 updates), but answers the real task wrong
(intent accuracy 0, slot F1 0), so the tests see LoRA and fine-tuning learn the task itself in a few dozen
updates, as they would adapt a real pretrained LM.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "causal"))
from causal_synthetic import build_model, build_tokenizer  # noqa: E402

from agileclf.data.slots import parse_annotation  # noqa: E402
from agileclf.methods.multitask.json_output import frame_prompt, frame_target  # noqa: E402

TIMES = ["six", "seven am", "nine pm", "noon", "ten thirty"]
PLACES = ["paris", "rome", "oslo", "new york", "lima"]
TEMPLATES = {
    "alarm_set": ["wake me at [time]", "set an alarm for [time]", "alarm at [time] please", "wake me up"],
    "weather_query": ["weather in [place]", "weather in [place] at [time]", "is it cold in [place]", "weather now"],
    "play_music": ["play music", "play songs at [time]", "play some jazz in [place]", "play the radio"],
    "taxi_book": ["taxi to [place]", "book a taxi to [place] at [time]", "get me a cab to [place]", "taxi please"],
}
INTENTS = sorted(TEMPLATES)
SLOT_TYPES = ["place", "time"]


def sample_row(rng: random.Random, intent: str) -> dict:
    """One utterance: its text, intent and `[slot : value]` markup (the MASSIVE layout)."""
    template = rng.choice(TEMPLATES[intent])
    text, markup = template, template
    for slot, values in (("time", TIMES), ("place", PLACES)):
        if f"[{slot}]" in template:
            value = rng.choice(values)
            text = text.replace(f"[{slot}]", value)
            markup = markup.replace(f"[{slot}]", f"[{slot} : {value}]")
    return {"text": text, "intent": intent, "annot_utt": markup}


def in_dialect(row: dict) -> dict:
    """The row as the base model's pretraining saw it: the next intent's name, slot types swapped."""
    intent = INTENTS[(INTENTS.index(row["intent"]) + 1) % len(INTENTS)]
    markup = row["annot_utt"].replace("[time :", "[@ :").replace("[place :", "[time :").replace("[@ :", "[place :")
    return {"text": row["text"], "intent": intent, "annot_utt": markup}


def frame_rows(n_per_intent: int, seed: int, exclude: set[str] = frozenset()) -> list[dict]:
    """`n_per_intent` rows of each intent, shuffled; texts in `exclude` are never drawn (held-out sets)."""
    rng = random.Random(seed)
    rows = []
    for intent in INTENTS:
        drawn = 0
        for _ in range(1000 * n_per_intent):
            if drawn == n_per_intent:
                break
            row = sample_row(rng, intent)
            if row["text"] not in exclude:
                rows.append(row)
                drawn += 1
    rng.shuffle(rows)
    return rows


def build_frame_lm(directory: Path, hidden: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """Tokenizer trained on the task's prompts and JSON answers + an untrained tiny Llama, saved."""
    rng = random.Random(seed)
    corpus = []
    for _ in range(400):
        row = sample_row(rng, rng.choice(INTENTS))
        example = parse_annotation(row["annot_utt"])
        spans = [{"slot": s.slot, "text": example.text[s.start : s.end]} for s in example.spans]
        corpus.append(frame_prompt(row["text"], INTENTS, SLOT_TYPES) + " " + frame_target(row["intent"], spans))
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(corpus, directory, vocab_size=700)
    build_model(len(tokenizer), hidden=hidden, layers=layers, seed=seed).save_pretrained(str(directory))
    return directory


def pretrain_frame_lm(base: Path, directory: Path, steps: int = 400) -> Path:
    """The base model fully fine-tuned on the dialect (40 rows per intent), saved as a new base model."""
    from agileclf.backbones import load_backbone
    from agileclf.methods import make_method

    rows = [in_dialect(row) for row in frame_rows(40, seed=11)]
    examples = [parse_annotation(row["annot_utt"]) for row in rows]
    classifier = make_method(
        "multitask", backbone=load_backbone(base), adapter="full", lr=2e-3, min_steps=steps, train_batch_size=16,
        holdout_min_per_class=1000,
    )  # fmt: skip
    classifier.fit([r["text"] for r in rows], [r["intent"] for r in rows], tags=[e.tags for e in examples])
    classifier.model.save_pretrained(str(directory))
    classifier.backbone.tokenizer.save_pretrained(str(directory))
    return directory
