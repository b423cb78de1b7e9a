"""The causal-LM JSON frame: prompt and target, and a parser that survives malformed generations."""

from __future__ import annotations

import json

import pytest

from agileclf.methods.multitask.json_output import (
    frame_prompt,
    frame_tags,
    frame_target,
    frames_from_generations,
    parse_frame_output,
    parse_rates,
)

LABELS = ["alarm_set", "play_music", "weather_query"]
SLOTS = ["time", "date", "artist_name"]


def test_target_round_trips_through_the_parser():
    target = frame_target("alarm_set", [{"slot": "time", "text": "nine am", "start": 14, "end": 21}])
    assert json.loads(target) == {"intent": "alarm_set", "slots": [{"slot": "time", "text": "nine am"}]}
    parsed = parse_frame_output(target, LABELS, SLOTS)
    assert (parsed.intent, parsed.slots, parsed.valid_json, parsed.repaired) == (
        "alarm_set",
        [("time", "nine am")],
        True,
        False,
    )


def test_prompt_lists_labels_slots_and_the_utterance():
    prompt = frame_prompt("wake me at nine", LABELS, SLOTS)
    assert "alarm_set, play_music, weather_query" in prompt and "artist_name" in prompt
    assert prompt.rstrip().endswith("JSON:") and "wake me at nine" in prompt


@pytest.mark.parametrize(
    ("raw", "intent", "slots", "valid", "repaired"),
    [
        ('Sure! ```json\n{"intent": "play_music", "slots": []}\n``` hope it helps', "play_music", [], True, False),
        ("{'intent': 'play_music', 'slots': [{'slot': 'artist_name', 'text': 'adele'}]}", "play_music",
         [("artist_name", "adele")], False, True),
        ('{"intent": "alarm_set", "slots": [{"slot": "time", "text": "nine am"},],}', "alarm_set",
         [("time", "nine am")], False, True),
        ('{"intent": "alarm_set", "slots": [{"slot": "time", "text": "nine', "alarm_set", [("time", "nine")],
         False, True),
        ('{"intent": "Weather Query", "slots": {"date": "today"}} {"intent": "x"}', "weather_query",
         [("date", "today")], True, False),
        ('{"intent": "alarm_set", "slots": None, "ok": True}', "alarm_set", [], False, True),
        ('{"intent": "alarm_set", "slots": [{"slot": "say \\"hi\\"", "text": "x"}]}', "alarm_set", [], True, False),
    ],
)  # fmt: skip
def test_malformed_outputs_are_read_or_flagged(raw, intent, slots, valid, repaired):
    parsed = parse_frame_output(raw, LABELS, SLOTS)
    assert (parsed.intent, parsed.slots, parsed.valid_json, parsed.repaired) == (intent, slots, valid, repaired)


def test_unknown_label_and_slot_types_are_counted_not_raised():
    parsed = parse_frame_output('{"intent": "book_flight", "slots": [{"slot": "city", "text": "rome"}]}', LABELS, SLOTS)
    assert parsed.intent is None and parsed.unknown_label and parsed.raw_intent == "book_flight"
    assert parsed.slots == [] and parsed.unknown_slots == 1


@pytest.mark.parametrize("raw", ["", "no json here", "}{", "{{{{", '{"intent": ]', "[1, 2]", "\x00\ufffd{"])
def test_garbage_never_crashes(raw):
    parsed = parse_frame_output(raw, LABELS, SLOTS)
    assert parsed.intent is None and not parsed.valid_json and parsed.error


def test_intent_is_salvaged_from_unparseable_text():
    parsed = parse_frame_output('intent: "alarm_set" slots: [[[', LABELS, SLOTS)
    assert parsed.intent == "alarm_set" and not parsed.valid_json and not parsed.repaired


def test_whole_slots_are_salvaged_from_a_frame_with_one_broken_slot():
    raw = '{"intent": "alarm_set", "slots": [{"slot": "date", "text": "today"}, {"slot": "time", "seven am"}]}'
    parsed = parse_frame_output(raw, LABELS, SLOTS)
    assert parsed.intent == "alarm_set" and parsed.slots == [("date", "today")] and not parsed.repaired


def test_the_prompt_reads_runs_of_spaces_as_one():
    assert frame_prompt("wake  me at\tnine ", LABELS, SLOTS) == frame_prompt("wake me at nine", LABELS, SLOTS)


def test_rates_over_a_batch():
    outputs = ['{"intent": "alarm_set"}', "{'intent': 'play_music'}", "nonsense", '{"intent": "fly"}']
    rates = parse_rates([parse_frame_output(o, LABELS, SLOTS) for o in outputs])
    assert rates == {
        "n": 4,
        "invalid_json_rate": 0.5,
        "repaired_rate": 0.25,
        "unreadable_rate": 0.25,
        "unknown_label_rate": 0.25,
        "unknown_slots": 0,
    }


def test_frame_tags_locate_values_in_the_utterance():
    tags = frame_tags("Wake me at nine am on friday", [("time", "nine am"), ("date", "Friday"), ("date", "never")])
    assert tags == ["O", "O", "O", "B-time", "I-time", "O", "B-date"]


def test_frame_tags_find_a_value_across_a_run_of_spaces():
    # the prompt shows "nine  am" as "nine am", so that is how the model writes the value back
    tags = frame_tags("wake me at nine  am on\tfriday", [("time", "nine am"), ("date", "on friday"), ("x", " ")])
    assert tags == ["O", "O", "O", "B-time", "I-time", "B-date", "I-date"]


def test_generations_of_a_tiny_in_process_model_never_crash(minilm):
    """A random 1-layer GPT-2 writes garbage; every generation is parsed and counted."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = minilm.tokenizer
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_layer=1, n_head=2, n_embd=32, n_positions=512))
    prompt = tokenizer(frame_prompt("wake me at nine", LABELS, SLOTS), return_tensors="pt")["input_ids"]
    generated = model.generate(
        prompt.repeat(6, 1),
        do_sample=True,
        max_new_tokens=24,
        pad_token_id=0,
        attention_mask=torch.ones_like(prompt).repeat(6, 1),
    )
    texts = ["{" + tokenizer.decode(row[prompt.shape[1] :]) for row in generated]
    parsed = [parse_frame_output(text, LABELS, SLOTS) for text in texts]
    rates = parse_rates(parsed)
    assert rates["n"] == 6 and 0.0 <= rates["invalid_json_rate"] <= 1.0
    assert all(p.intent is None or p.intent in LABELS for p in parsed)


def test_generations_become_labels_tags_and_rates_for_the_slot_metrics():
    from agileclf.evaluate.slots import frame_exact_match, slot_scores

    texts = ["wake me at nine am", "play adele", "weather today"]
    outputs = [
        '{"intent": "alarm_set", "slots": [{"slot": "time", "text": "nine am"}]}',
        "{'intent': 'play_music', 'slots': [{'slot': 'artist_name', 'text': 'adele'}]",
        "I think it is about the weather",
    ]
    labels, tags, rates = frames_from_generations(texts, outputs, LABELS, SLOTS)
    assert labels == ["alarm_set", "play_music", None]
    assert tags == [["O", "O", "O", "B-time", "I-time"], ["O", "B-artist_name"], ["O", "O"]]
    assert rates["invalid_json_rate"] == pytest.approx(2 / 3) and rates["unreadable_rate"] == pytest.approx(1 / 3)
    true_tags = [["O", "O", "O", "B-time", "I-time"], ["O", "B-artist_name"], ["O", "B-date"]]
    gold = ["alarm_set", "play_music", "weather_query"]
    assert slot_scores(true_tags, tags)["slot_f1"] == pytest.approx(0.8)  # P 2/2, R 2/3
    assert frame_exact_match(gold, labels, true_tags, tags) == pytest.approx(2 / 3)
