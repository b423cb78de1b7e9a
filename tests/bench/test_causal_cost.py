"""The label-scoring cost benchmark's label sets and FLOP floor (the timings themselves are a command, not a test)."""

from __future__ import annotations

import pytest

from agileclf.bench.causal_cost import flops_floor, label_sets


def test_label_sets_draw_readable_data_labels_and_keep_a_synthetic_set():
    names = ["calendar_set", "play_music", "weather_query", "alarm_remove", "qa_factoid"]
    sets = label_sets(names, ks=(2, 5, 10), seed=0)
    assert set(sets["data labels"]) == {2, 5}  # K = 10 needs more labels than the data has
    assert sorted(sets["data labels"][5]) == sorted(n.replace("_", " ") for n in names)
    assert sets["data labels"][2] == label_sets(names, ks=(2,), seed=0)["data labels"][2]  # seeded
    assert len(sets["synthetic"][10]) == 10 and all(w.split()[0] == "category" for w in sets["synthetic"][10])


def test_flops_floor_counts_body_and_head_per_fed_token():
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=1000,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    head = 1000 * 16
    body = sum(p.numel() for p in model.parameters()) - head  # tied: one embedding matrix
    assert flops_floor(model, prompt_tokens=10, fed_tokens=0) == 1.0
    expected = (10 * body + head + 3 * (body + head)) / (10 * body + head)
    assert flops_floor(model, prompt_tokens=10, fed_tokens=3) == pytest.approx(expected)
