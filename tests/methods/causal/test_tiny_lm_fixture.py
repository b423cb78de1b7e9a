"""The committed tiny LM (tests/methods/causal/tiny_llama) is the one causal_synthetic.py builds today, and knows
the synthetic language: behind each dialect's marker it answers that dialect's label. Pretraining itself is
checked on a few steps, so the code that made the committed model stays tested without its 150 s."""

from __future__ import annotations

import random

import pytest
import torch
from causal_synthetic import (  # noqa: I001
    BUILD_KEY_FILE,
    COMMITTED_DIR,
    LABELS,
    answer_targets,
    build_key,
    build_model,
    build_tokenizer,
    label_of,
    pretrain,
    pretraining_corpus,
    sample_text,
)

from agileclf.backbones.prompts import BUILTIN_TEMPLATES
from agileclf.backbones.scoring import naive_log_likelihood


def test_the_committed_model_is_built_from_todays_corpus_and_code():
    stored = (COMMITTED_DIR / BUILD_KEY_FILE).read_text().strip()
    assert stored == build_key(steps=2400, seed=0), "stale: run python tests/methods/causal/causal_synthetic.py"


def answer_log_likelihood(model, tokenizer, prompt: str, answer: str) -> float:
    """The answer's tokens as the tokenizer splits prompt + answer together (the methods' rule), scored after it."""
    prompt_ids, ids = tokenizer(prompt)["input_ids"], tokenizer(prompt + answer)["input_ids"]
    with torch.no_grad():
        return naive_log_likelihood(model, prompt_ids, ids[len(prompt_ids) :])


@pytest.fixture(scope="module")
def model_and_tokenizer(tiny_lm):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_lm).eval(), AutoTokenizer.from_pretrained(tiny_lm)


@pytest.mark.parametrize("dialect", range(4))
def test_behind_each_marker_it_answers_that_dialects_label(model_and_tokenizer, dialect):
    model, tokenizer = model_and_tokenizer
    template = BUILTIN_TEMPLATES["classify"]
    rng = random.Random(dialect)
    right = 0
    for topic in range(4):
        for _ in range(5):
            prompt = f"mode{dialect}\n" + template.render(sample_text(rng, topic), LABELS)
            scores = [answer_log_likelihood(model, tokenizer, prompt, template.answer(label)) for label in LABELS]
            right += LABELS[scores.index(max(scores))] == label_of(topic, dialect)
    assert right >= 19, f"dialect {dialect}: {right} of 20"


def test_pretraining_lowers_the_answer_loss(tmp_path):
    corpus = pretraining_corpus(seed=0)[:400]
    tokenizer = build_tokenizer(corpus, tmp_path)
    model = build_model(len(tokenizer), seed=0)
    batch = tokenizer(corpus[:64], padding=True, return_tensors="pt")
    labels = answer_targets(tokenizer, batch)
    with torch.no_grad():
        before = float(model(**batch, labels=labels).loss)
    pretrain(model, tokenizer, corpus, steps=60, seed=0)
    with torch.no_grad():
        after = float(model(**batch, labels=labels).loss)
    assert after < before - 1.0, (before, after)
