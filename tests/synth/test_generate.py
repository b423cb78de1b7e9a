"""Sampling from the tiny in-process causal LM: batched, seeded, the loop stops at N; parsing of continuations."""

from __future__ import annotations

import json

import pytest

from agileclf.backbones import load_backbone
from agileclf.data import read_examples
from agileclf.errors import ConfigError, DataError
from agileclf.synth import FilterSettings, GenerationSettings, run, synthesize
from agileclf.synth.filters import is_malformed
from agileclf.synth.generate import CHAT_REQUEST, LMGenerator, first_text, generation_prompt


def test_first_text_takes_the_first_line_without_its_lead():
    assert first_text(" zorp blik\nExample: more") == "zorp blik"
    assert first_text("\n\nExample 3: pell grom") == "pell grom"
    assert first_text("2) kreb dulo") == "kreb dulo" and first_text("\n \n") == ""


def test_prompt_in_the_papers_style():
    settings = GenerationSettings(task="movie reviews", label_kind="sentiment")
    prompt = generation_prompt("positive", ["great  film", "loved it"], settings)
    assert prompt == (
        "Few examples of movie reviews having sentiment positive are given. Generate more examples of movie reviews"
        " having sentiment positive.\nExample: great film\nExample: loved it\nExample:"
    )


def test_lm_sampling_is_batched_and_seeded(tiny_writer):
    lm = load_backbone(str(tiny_writer))
    generator = LMGenerator(lm, GenerationSettings(max_new_tokens=12, batch_size=3))
    prompts = [generation_prompt("blue", ["zorp blik quan", "flem drav"], generator.settings)] * 7
    first, again, other = generator(prompts, seed=1), generator(prompts, seed=1), generator(prompts, seed=2)
    assert len(first) == 7 and first == again and first != other
    assert len(set(first)) > 1  # sampled, not greedy: the same prompt gives different texts


def test_loop_with_the_lm_stops_at_n(tiny_writer, few_shot_file, tmp_path):
    lm = load_backbone(str(tiny_writer))
    generator = LMGenerator(lm, GenerationSettings(max_new_tokens=12, batch_size=8))
    settings = FilterSettings(length=False, label=False, near_duplicate=1.0)
    result = synthesize(read_examples(few_shot_file), tmp_path / "s.jsonl", 3, generator, None, filters=settings)
    assert result.complete and all(c["kept"] == 3 for c in result.counts.values())
    assert len(read_examples(tmp_path / "s.jsonl")) == 12


def test_chat_prompts_prefill_the_assistant_turn_with_the_open_slot(tiny_writer):
    lm = load_backbone(str(tiny_writer))
    lm.tokenizer.chat_template = (
        "{% for m in messages %}<user>{{ m['content'] }}</user>\n{% endfor %}{% if add_generation_prompt %}"
        "<assistant>{% endif %}"
    )
    generator = LMGenerator(lm, GenerationSettings())
    ids = generator.prompt_ids(generation_prompt("blue", ["zorp blik quan"], generator.settings))
    text = lm.tokenizer.decode(ids)
    assert text.endswith(f"{CHAT_REQUEST}</user>\n<assistant>Example:")  # the model continues the example itself
    assert "Example: zorp blik quan\n" in text


def test_meta_text_about_the_task_is_malformed():
    meta = [  # kept by the label filter on SmolLM2 before this filter existed (they carry the sentiment)
        "You've managed to create 4 examples with the given sentiment positive examples. Let's continue the "
        "conversation.",
        "Just try again. Example of movie reviews with a positive sentiment towards a particular franchise.",
        "Here are more reviews:",
        "Sure! A heartfelt film.",
    ]
    assert all(is_malformed(t) for t in meta)
    real = ["a gorgeous , witty , seductive movie .", "the plot is nothing but boilerplate clichés ."]
    assert not any(is_malformed(t) for t in real)


def test_a_verbalizer_names_the_labels_in_the_prompts_and_for_the_judge(
    tiny_writer, few_shot_file, tmp_path, monkeypatch
):
    dataset = read_examples(few_shot_file)
    words = {label: f"kind {i}" for i, label in enumerate(dataset.classes)}
    verbalizer = tmp_path / "words.json"
    verbalizer.write_text(json.dumps(words))
    seen = {}

    def capture(dataset, out_path, per_class, generator, judge, *args, label_words=None, **kwargs):
        seen.update(judge_words=judge.words, label_words=label_words)

    monkeypatch.setattr(run, "synthesize", capture)
    lm = load_backbone(str(tiny_writer))
    run.synthesize_with_lm(dataset, lm, tmp_path / "s.jsonl", 2, judge_demos=1, verbalizer=str(verbalizer))
    assert seen == {"judge_words": words, "label_words": words}

    verbalizer.write_text(json.dumps({"no-such-label": "x"}))
    with pytest.raises(ConfigError, match="words.json: verbalizer names unknown labels: no-such-label"):
        run.synthesize_with_lm(dataset, lm, tmp_path / "t.jsonl", 2, verbalizer=str(verbalizer))


def test_label_descriptions_name_the_labels_in_the_prompts_and_reach_the_judge(
    tiny_writer, few_shot_file, tmp_path, monkeypatch
):
    dataset = read_examples(few_shot_file)
    first, second, *_ = dataset.classes
    seen = {}

    def capture(dataset, out_path, per_class, generator, judge, *args, label_words=None, **kwargs):
        seen.update(described=judge.labels.descriptions, label_words=label_words)

    monkeypatch.setattr(run, "synthesize", capture)
    lm = load_backbone(str(tiny_writer))
    short = {first: "sky colour", second: "sunny colour"}
    run.synthesize_with_lm(dataset, lm, tmp_path / "s.jsonl", 2, judge="zero-shot", descriptions=short)
    assert seen["described"] == short  # the judge's prompt search tries them (describe_labels=auto)
    assert seen["label_words"] == {**{c: c for c in dataset.classes}, **short}  # a few words: the label's words
    long = {first: "the colour of a clear sky at noon"}
    run.synthesize_with_lm(dataset, lm, tmp_path / "t.jsonl", 2, judge="zero-shot", descriptions=long)
    assert seen["label_words"][first] == f"{first} (the colour of a clear sky at noon)"  # longer: beside the name
    with pytest.raises(DataError, match="descriptions given for labels with no examples in .*: purple"):
        run.synthesize_with_lm(dataset, lm, tmp_path / "u.jsonl", 2, descriptions={"purple": "grape colour"})


def test_the_label_filter_takes_another_judge(tiny_writer, few_shot_file, tmp_path, monkeypatch):
    dataset = read_examples(few_shot_file)
    seen = {}

    def capture(dataset, out_path, per_class, generator, judge, *args, **kwargs):
        seen.update(name=judge.name, labels=judge.labels.names)

    monkeypatch.setattr(run, "synthesize", capture)
    lm = load_backbone(str(tiny_writer))
    run.synthesize_with_lm(dataset, lm, tmp_path / "s.jsonl", 2, judge="zero-shot")
    assert seen == {"name": "zero-shot", "labels": sorted(dataset.classes)}
    with pytest.raises(ConfigError, match="the judge is one of icl, zero-shot, lora, not 'gpt'"):
        run.synthesize_with_lm(dataset, lm, tmp_path / "t.jsonl", 2, judge="gpt")
