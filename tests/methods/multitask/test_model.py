"""Sub-token alignment, batching and argument checks of the multi-task encoder (no training)."""

from __future__ import annotations

import numpy as np
import pytest

from agileclf.errors import ConfigError, DataError
from agileclf.methods import make_method
from agileclf.methods.multitask.encoder import length_bucketed_batches
from agileclf.methods.multitask.model import (
    IGNORE,
    align_word_labels,
    allowed_transitions,
    bio_scores,
    encode_words,
    first_token_positions,
    viterbi_path,
)


def test_first_sub_token_carries_the_word_label(minilm):
    encoded = encode_words(minilm.tokenizer, [["what's", "the", "weather"], ["hi"]], max_length=32)
    word_ids = encoded.word_ids(0)
    tokens = minilm.tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])
    assert tokens[:7] == ["[CLS]", "what", "'", "s", "the", "weather", "[SEP]"]
    assert align_word_labels(word_ids, [5, 6, 7]) == [IGNORE, 5, IGNORE, IGNORE, 6, 7, IGNORE]
    assert first_token_positions(word_ids, 3) == [1, 4, 5]
    padded = encoded.word_ids(1)  # the shorter row is padded: padding has no word
    assert align_word_labels(padded, [3]) == [IGNORE, 3] + [IGNORE] * (len(padded) - 2)


def test_truncated_words_have_no_position(minilm):
    encoded = encode_words(minilm.tokenizer, [["one", "two", "three", "four"]], max_length=4)
    assert first_token_positions(encoded.word_ids(0), 4) == [1, 2, None, None]


def test_length_bucketed_batches_cover_every_row_once_and_follow_the_seed():
    lengths = list(np.random.Generator(np.random.PCG64(1)).integers(1, 30, size=203))
    batches = length_bucketed_batches(lengths, 16, np.random.Generator(np.random.PCG64(0)))
    assert sorted(np.concatenate(batches).tolist()) == list(range(203))
    again = length_bucketed_batches(lengths, 16, np.random.Generator(np.random.PCG64(0)))
    assert all((a == b).all() for a, b in zip(batches, again, strict=True))


def test_unknown_task_is_a_config_error(minilm):
    with pytest.raises(ConfigError, match="task must be one of"):
        make_method("multitask", backbone=minilm, task="slots+dates")


def test_slot_tasks_need_one_tag_per_word(minilm):
    clf = make_method("multitask", backbone=minilm, task="intent+slots")
    with pytest.raises(DataError, match="needs slot tags"):
        clf.fit(["play jazz", "stop"], ["play", "stop"])
    with pytest.raises(DataError, match="2 words but 1 slot tags"):
        clf.fit(["play jazz", "stop"], ["play", "stop"], tags=[["O"], ["O"]])


def test_label_parent_needs_the_separator_in_every_label(minilm):
    clf = make_method("multitask", backbone=minilm, task="label+parent", parent_sep=".")
    with pytest.raises(DataError, match="no parent before separator"):
        clf.fit(["a", "b"], ["comp.graphics", "sport"])


def test_viterbi_keeps_bio_valid_where_argmax_does_not():
    tags = ["B-date", "B-time", "I-date", "I-time", "O"]
    probs = np.array([[0.1, 0.1, 0.1, 0.1, 0.6], [0.1, 0.1, 0.5, 0.05, 0.25], [0.05, 0.05, 0.6, 0.2, 0.1]])
    # argmax reads O I-date I-date; the best valid path (0.6 * 0.1 * 0.6 = 0.036) opens the span with B-date
    assert [tags[i] for i in probs.argmax(1)] == ["O", "I-date", "I-date"]
    assert [tags[i] for i in viterbi_path(np.log(probs), *bio_scores(tags))] == ["O", "B-date", "I-date"]
    assert viterbi_path(np.zeros((0, 5)), *bio_scores(tags)) == []


def test_allowed_transitions_only_restrict_inside_tags():
    tags = ["B-x", "I-x", "I-y", "O"]
    allowed = allowed_transitions(tags)
    assert allowed[:, 1].tolist() == [True, True, False, False]
    assert allowed[:, 2].tolist() == [False, False, True, False]
    assert allowed[:, [0, 3]].all()


def test_sentence_to_tokens_makes_a_word_tag_depend_on_the_rest_of_the_utterance():
    import torch
    from torch import nn

    from agileclf.methods.multitask.model import JointEncoder

    class Embedding(nn.Module):  # a "transformer" without context: a word's vector is its own
        config = type("Config", (), {"hidden_size": 4})()

        def __init__(self):
            super().__init__()
            self.table = nn.Embedding(10, 4)

        def forward(self, input_ids, attention_mask):
            return type("Output", (), {"last_hidden_state": self.table(input_ids)})()

    torch.manual_seed(0)
    mask = torch.ones(1, 2, dtype=torch.long)
    first, second = torch.tensor([[1, 2]]), torch.tensor([[1, 3]])  # word 1, then another word
    for with_sentence in (False, True):
        network = JointEncoder(Embedding(), {"label": 2}, 3, dropout=0.0, sentence_to_tokens=with_sentence).eval()
        assert network.token_head.in_features == (8 if with_sentence else 4)
        word_one = [network(ids, mask)["tokens"][0, 0] for ids in (first, second)]
        assert torch.allclose(*word_one) is not with_sentence
