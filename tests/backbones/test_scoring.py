"""Exact multi-token label scoring with KV-cache reuse equals the naive full-sequence log-likelihood."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agileclf.backbones.scoring import label_probabilities, match_label, naive_log_likelihood, score_continuations


@pytest.fixture(scope="module")
def random_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=97,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
    return LlamaForCausalLM(config).eval()


PROMPTS = [[5, 6, 7, 8, 9, 10], [11, 12], [13, 14, 15, 16, 17, 18, 19, 20, 21], [30]]
LABELS = [[40], [41, 42, 43], [44, 45], [41, 46, 47, 48]]  # mixed lengths, two share a first token


@pytest.mark.parametrize("soft", [False, True])
def test_cached_scoring_equals_naive_log_likelihood(random_llama, soft):
    soft_prompt = torch.randn(3, 32) * 0.1 if soft else None
    cached = score_continuations(random_llama, PROMPTS, LABELS, pad_id=0, soft_prompt=soft_prompt, batch_size=3)
    naive = np.array([[naive_log_likelihood(random_llama, p, c, soft_prompt) for c in LABELS] for p in PROMPTS])
    assert np.abs(cached - naive).max() < 1e-4


def test_first_token_scoring_is_one_pass_and_needs_distinct_first_tokens(random_llama):
    distinct = [[40, 1], [41, 2], [42]]
    scores = score_continuations(random_llama, PROMPTS, distinct, pad_id=0, first_token_only=True)
    naive = np.array([[naive_log_likelihood(random_llama, p, c[:1]) for c in distinct] for p in PROMPTS])
    assert np.abs(scores - naive).max() < 1e-4
    with pytest.raises(ValueError, match="first tokens"):
        score_continuations(random_llama, PROMPTS, LABELS, pad_id=0, first_token_only=True)


def test_length_normalisation_and_calibration():
    scores = np.log(np.array([[0.5, 0.5 * 0.5]]))  # one token at 0.5; two tokens at 0.5 each
    assert label_probabilities(scores, [1, 2])[0].argmax() == 0
    normalised = label_probabilities(scores, [1, 2], length_norm=True)[0]
    assert normalised[0] == pytest.approx(normalised[1], abs=1e-6)
    calibrated = label_probabilities(np.log([[0.8, 0.2]]), [1, 1], content_free=np.array([[0.8, 0.2]]))
    assert calibrated[0] == pytest.approx([0.5, 0.5])


def test_match_label_reads_the_first_line():
    words = ["billing", "billing issue", "other"]
    assert match_label(" Billing issue\nmore", words) == 1
    assert match_label("other.", words) == 2
    assert match_label("billing, I think", words) == 0
    assert match_label("no idea", words) == -1
    assert match_label("", words) == -1
