"""Label words as real tokenizers split them after the prompt, label ids after a refit, calibration's live path.

The tokenizer is SentencePiece-style (a Unigram model over the text with "▁" prepended and for spaces, the layout
of Llama-2's and Mistral's tokenizers), built here offline: " positive" alone becomes a lone "▁" plus
"▁positive", but after "Label:" it is the single "▁positive".
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from agileclf import make_method
from agileclf.backbones.causal import CausalLMBackbone
from agileclf.backbones.scoring import naive_log_likelihood

WORDS = ["positive", "negative", "neutral", "great", "awful", "film", "movie", "plot", "text", "label", "classify"]
WORDS += ["into", "one", "of", "these", "labels"]


@pytest.fixture(scope="module")
def sentencepiece_lm(tmp_path_factory):
    """A random tiny Llama with a SentencePiece-style (Metaspace, Unigram) tokenizer, saved as a model folder."""
    from tokenizers import Tokenizer, decoders, models, normalizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("sp-llama")
    pieces = ["</s>", "<unk>", "▁", *(f"▁{w}" for w in WORDS), "▁Text", "▁Label", ":", ",", ".", "-"]
    pieces += [c for c in "abcdefghijklmnopqrstuvwxyzTL" if c not in pieces]
    vocab = [(p, 0.0 if p.startswith("▁") and len(p) > 1 else -5.0) for p in pieces]  # whole words win
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=1, byte_fallback=False))
    # Llama-2's and Mistral's layout: prepend "▁", spaces become "▁", no pre-tokenizer
    tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tokenizer.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="</s>", pad_token="</s>", unk_token="<unk>")
    fast.save_pretrained(str(folder))
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        eos_token_id=0,
        pad_token_id=0,
        bos_token_id=None,
    )
    LlamaForCausalLM(config).save_pretrained(str(folder))
    return CausalLMBackbone(folder)


def test_the_tokenizer_splits_a_label_alone_differently(sentencepiece_lm):
    tok = sentencepiece_lm.tokenizer
    alone = sentencepiece_lm.encode_continuation(" positive")
    in_context = tok("Label: positive", add_special_tokens=False)["input_ids"]
    assert tok.convert_ids_to_tokens(alone)[0] == "▁"  # the lone space piece a model never saw before a word
    assert alone[-1] == in_context[-1] and len(alone) == 2


def test_label_ids_are_the_answer_tokens_after_the_prompt(sentencepiece_lm):
    texts, labels = ["great film", "awful plot"], ["positive", "negative"]
    clf = make_method("zero-shot", backbone=sentencepiece_lm, prompt_search="off").fit(texts, labels)
    tok = sentencepiece_lm.tokenizer
    for name, ids in zip(clf.names, clf.label_ids, strict=True):
        assert tok.convert_ids_to_tokens(ids) == [f"▁{name}"]
    # the scores are the log-likelihood of the exact string prompt + " label", tokenized as one text
    prompt_text = clf.template.render("great film", clf.names)
    prompt = tok(prompt_text, add_special_tokens=False)["input_ids"]
    proba = clf.predict_proba(["great film"])[0]
    naive = []
    for name in clf.names:
        full = tok(prompt_text + " " + name, add_special_tokens=False)["input_ids"]
        assert full[: len(prompt)] == prompt
        naive.append(naive_log_likelihood(sentencepiece_lm.model, prompt, full[len(prompt) :]))
    expected = np.exp(np.array(naive) - max(naive))
    assert proba == pytest.approx(expected / expected.sum(), abs=1e-5)


def test_label_ids_follow_a_refit_with_other_labels(sentencepiece_lm):
    clf = make_method("zero-shot", backbone=sentencepiece_lm).fit(["a", "b"], ["positive", "negative"])
    assert len(clf.label_ids) == 2
    clf.fit(["a", "b", "c"], ["great", "awful", "neutral"])
    tok = sentencepiece_lm.tokenizer
    assert [tok.decode(ids).strip() for ids in clf.label_ids] == clf.names == ["awful", "great", "neutral"]
    assert clf.predict_proba(["a"]).shape == (1, 3)


@pytest.mark.parametrize("method", ["zero-shot", "icl"])
def test_contextual_calibration_divides_by_the_content_free_distribution(sentencepiece_lm, method):
    texts, labels = ["great film", "awful plot", "great movie", "awful film"], ["positive", "negative"] * 2
    plain = make_method(method, backbone=sentencepiece_lm, seed=0, prompt_search="off").fit(texts, labels)
    calibrated = make_method(method, backbone=sentencepiece_lm, seed=0, calibrate=True, prompt_search="off").fit(
        texts, labels
    )
    queries = ["great plot", "awful movie", "film"]
    raw = plain.predict_proba(queries)
    content_free = plain.predict_proba([calibrated.config.content_free])  # same demonstrations (random: fixed)
    expected = raw / content_free
    expected /= expected.sum(axis=1, keepdims=True)
    got = calibrated.predict_proba(queries)
    assert got == pytest.approx(expected, abs=1e-5)
    assert not np.allclose(got, raw, atol=1e-3)  # a random model is biased: calibration changes the numbers


def test_prompt_search_chooses_on_the_training_examples_and_records_the_choice(sentencepiece_lm, tmp_path):
    texts, labels = ["great film", "awful plot", "great movie", "awful film"], ["positive", "negative"] * 2
    clf = make_method("icl", backbone=sentencepiece_lm, seed=0).fit(texts, labels)
    table = clf.prompt_search_table
    assert {(r["template"], r["calibrate"]) for r in table} == {
        (t, c) for t in ("classify", "topic", "sentiment") for c in (False, True)
    }  # no chat template in this tokenizer: chat is not tried
    best = max(table, key=lambda r: (r["train_accuracy"], r["train_logprob"]))
    assert (clf.config.template, clf.config.calibrate, clf.config.prompt_search) == (
        best["template"], best["calibrate"], "off",
    )  # fmt: skip
    lora = make_method("lora", backbone=sentencepiece_lm, min_steps=1, steps_per_label=0, seed=0).fit(texts, labels)
    assert {r["calibrate"] for r in lora.prompt_search_table} == {False}  # trained methods keep calibration off


def test_icl_with_one_example_of_a_label_takes_the_prompt_the_frozen_model_reads_best(sentencepiece_lm):
    texts, labels = ["great film", "awful plot", "great movie"], ["positive", "negative", "positive"]
    icl = make_method("icl", backbone=sentencepiece_lm, seed=0).fit(texts, labels)  # 2 folds need 2 of each label
    zero = make_method("zero-shot", backbone=sentencepiece_lm, seed=0).fit(texts, labels)
    assert icl.prompt_search_table == zero.prompt_search_table and icl.prompt_chosen == zero.prompt_chosen
    assert icl.config.prompt_search == "off" and {r["calibrate"] for r in icl.prompt_search_table} == {False, True}


def test_short_descriptions_are_answers_and_long_ones_are_listed():
    from agileclf.backbones.prompts import description_use, label_texts
    from agileclf.data import LabelSet

    assert description_use(LabelSet.from_labels(["ABBR", "HUM"], {"ABBR": "abbreviation"})) == "answer"
    assert description_use(LabelSet.from_labels(["ABBR", "HUM"], {"HUM": "a person or a group of people"})) == "list"
    assert description_use(LabelSet.from_labels(["ABBR", "HUM"], {"ABBR": "thing", "HUM": "thing"})) == "list"
    assert description_use(LabelSet.from_labels(["ABBR", "HUM"])) == "off"
    described = LabelSet.from_labels(["ABBR", "HUM"], {"ABBR": "abbreviation", "HUM": "hum"})
    assert label_texts(described, "", "auto") == ({"ABBR": "abbreviation", "HUM": "hum"}, ["abbreviation", "hum"])
    # a description equal to the words adds nothing to the listing
    assert label_texts(described, "", "list") == ({"ABBR": "ABBR", "HUM": "HUM"}, ["ABBR (abbreviation)", "HUM"])
    assert label_texts(described, "", "off") == ({"ABBR": "ABBR", "HUM": "HUM"}, ["ABBR", "HUM"])


def test_label_descriptions_shape_the_prompt_and_survive_save_and_load(sentencepiece_lm, tmp_path):
    from agileclf.data import LabelSet
    from agileclf.methods.persistence import load_classifier

    texts, labels = ["great film", "awful plot", "great movie", "awful film"], ["great", "awful"] * 2
    described = LabelSet.from_labels(labels, {"great": "positive", "awful": "negative"})
    tok, query = sentencepiece_lm.tokenizer, "great plot"

    def fitted(use: str):
        clf = make_method("zero-shot", backbone=sentencepiece_lm, prompt_search="off", describe_labels=use)
        return clf.fit(texts, labels, label_set=described)

    answer, listed, off = fitted("answer"), fitted("list"), fitted("off")
    assert [tok.decode(ids).strip() for ids in answer.label_ids] == ["negative", "positive"]
    assert answer.listing == ["negative", "positive"]
    assert [tok.decode(ids).strip() for ids in listed.label_ids] == ["awful", "great"]
    assert listed.listing == ["awful (negative)", "great (positive)"]
    assert listed.template.render(query, listed.listing).startswith(
        "Classify the text into one of these labels: awful (negative), great (positive)."
    )
    assert off.listing == ["awful", "great"] and len({tuple(c.prompt_ids(query)) for c in (answer, listed, off)}) == 3
    assert not np.allclose(answer.predict_proba([query]), off.predict_proba([query]))

    for clf in (answer, listed):
        clf.save(tmp_path / clf.config.describe_labels)
        loaded = load_classifier(tmp_path / clf.config.describe_labels, backbone=sentencepiece_lm)
        assert loaded.prompt_ids(query) == clf.prompt_ids(query)
        assert loaded.predict_proba([query]) == pytest.approx(clf.predict_proba([query]), abs=1e-6)
    # an artifact saved before descriptions entered the prompt listed its label words alone
    meta_file = tmp_path / "list" / "agileclf.json"
    meta = json.loads(meta_file.read_text())
    del meta["causal_state"]["listing"]
    meta_file.write_text(json.dumps(meta))
    assert load_classifier(tmp_path / "list", backbone=sentencepiece_lm).prompt_ids(query) == off.prompt_ids(query)


def test_the_prompt_search_tries_the_label_descriptions_against_the_names(sentencepiece_lm, tmp_path):
    from agileclf.data import LabelSet

    texts, labels = ["great film", "awful plot", "great movie", "awful film"], ["great", "awful"] * 2
    described = LabelSet.from_labels(labels, {"great": "positive", "awful": "negative"})
    clf = make_method("zero-shot", backbone=sentencepiece_lm, seed=0).fit(texts, labels, label_set=described)
    assert {r["describe_labels"] for r in clf.prompt_search_table} == {"answer", "off"}
    best = max(clf.prompt_search_table, key=lambda r: (r["train_accuracy"], r["train_logprob"]))
    assert clf.config.describe_labels == best["describe_labels"]
    chosen = {k: best[k] for k in ("template", "chat_template", "calibrate", "describe_labels")}
    assert clf.fit_choices() == {"prompt": chosen}  # the bench's rows and agileclf.json record it
    clf.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "agileclf.json").read_text())["fitted"] == {"prompt": chosen}
    plain = make_method("zero-shot", backbone=sentencepiece_lm, seed=0).fit(texts, labels)
    assert "describe_labels" not in plain.prompt_search_table[0]  # no descriptions: nothing more to try
