"""Slot markup parsing: words, BIO tags, character spans, and file:line errors on broken markup."""

from __future__ import annotations

import json

import pytest

from agileclf.data.slots import parent_of, parse_annotation, read_frames, spans_from_tags, split_words
from agileclf.errors import DataError


def test_multi_word_values_get_b_then_i_tags():
    example = parse_annotation("wake me up at [time : nine am] on [date : friday]")
    assert example.text == "wake me up at nine am on friday"
    assert example.words == ["wake", "me", "up", "at", "nine", "am", "on", "friday"]
    assert example.tags == ["O", "O", "O", "O", "B-time", "I-time", "O", "B-date"]
    assert [(s.slot, example.text[s.start : s.end]) for s in example.spans] == [("time", "nine am"), ("date", "friday")]


def test_spaces_inside_brackets_and_punctuation_in_values():
    example = parse_annotation("what's  [date :   today's  ]   weather, [place_name : st. louis]?")
    assert example.text == "what's  today's   weather, st. louis?"
    assert example.tags == ["O", "B-date", "O", "B-place_name", "I-place_name"]
    assert example.text[example.spans[1].start : example.spans[1].end] == "st. louis"


def test_value_glued_to_following_text_tags_the_whole_word():
    example = parse_annotation("[person : john]'s calendar")
    assert example.words == ["john's", "calendar"]
    assert example.tags == ["B-person", "O"]


def test_adjacent_slots_of_the_same_type_stay_separate():
    example = parse_annotation("[date : monday] [date : tuesday]")
    assert example.tags == ["B-date", "B-date"]
    assert [s["text"] for s in spans_from_tags(example.text, example.tags)] == ["monday", "tuesday"]


@pytest.mark.parametrize(
    ("markup", "message"),
    [
        ("set [time : nine am alarm", "never closed"),
        ("set time : nine am] alarm", r"unbalanced '\]'"),
        ("set [time : [nine] am]", r"nested '\['"),
        ("set [time nine am]", "no ':'"),
        ("set [ : nine am]", "empty slot name"),
        ("set [time : ] alarm", "empty value"),
        ("set [date time : today]", "contains whitespace"),
    ],
)
def test_broken_markup_is_a_clear_error(markup, message):
    with pytest.raises(DataError, match=message) as caught:
        parse_annotation(markup, "train.jsonl:7")
    assert str(caught.value).startswith("train.jsonl:7:")


def test_read_frames_names_file_and_line_of_broken_markup(write_file):
    rows = [
        {"text": "wake me at nine", "intent": "alarm_set", "annot_utt": "wake me at [time : nine]"},
        {"text": "play jazz", "intent": "play_music", "annot_utt": "play [genre : jazz"},
    ]
    path = write_file("broken.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(DataError, match=rf"{path}:2: '\[' at column 6 is never closed"):
        read_frames(path)


def test_read_frames_rejects_markup_that_spells_another_text(write_file):
    row = {"text": "play jazz", "intent": "play_music", "annot_utt": "play [genre : rock]"}
    path = write_file("mismatch.jsonl", json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"mismatch.jsonl:1: the slot markup reads 'play rock'"):
        read_frames(path)


def test_spans_from_tags_use_character_offsets_of_the_original_string():
    text = "  wake me   at nine  am "
    tags = ["O", "O", "O", "B-time", "I-time"]
    spans = spans_from_tags(text, tags)
    assert spans == [{"slot": "time", "text": "nine  am", "start": 15, "end": 23}]
    assert text[15:23] == "nine  am"
    assert [w for w, _, _ in split_words(text)] == text.split()


def test_stray_inside_tag_starts_a_span():
    assert spans_from_tags("a b c", ["O", "I-x", "I-x"]) == [{"slot": "x", "text": "b c", "start": 2, "end": 5}]


def test_parent_of_splits_at_the_first_separator():
    assert parent_of("comp.sys.mac.hardware", ".") == "comp"
    assert parent_of("alarm_set", "_") == "alarm"
    with pytest.raises(DataError, match="no parent"):
        parent_of("toplevel", ".")


def test_every_massive_dev_row_parses(shared_data):
    data = read_frames(shared_data / "massive_en" / "dev.jsonl")
    assert len(data) == 2033
    assert all(len(w) == len(t) for w, t in zip(data.words, data.tags, strict=True))
    assert sum(tag.startswith("B-") for row in data.tags for tag in row) > 1000
