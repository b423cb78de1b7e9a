"""The synthesis loop with planted candidates: stopping rules, each filter, provenance, report counts, resume."""

from __future__ import annotations

import json

import pytest
from scripted import KeywordJudge, ScriptedGenerator, fresh_text, topic_words

from agileclf.data import read_examples
from agileclf.errors import ConfigError
from agileclf.synth import FilterSettings, GenerationSettings, synthesize
from agileclf.synth.pipeline import COUNTS, dropped_path, report_path

LABELS = ["blue", "gold", "green", "red"]


def rows_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def test_each_filter_removes_exactly_the_planted_texts(few_shot_file, tmp_path):
    real = read_examples(few_shot_file)
    blue_real = real.texts[real.labels.index("blue")]
    w = topic_words("blue")
    planted = {
        "blue": [
            blue_real,  # exact copy of a real example
            blue_real.upper() + "!",  # the same after normalisation
            f"{w[0]} {w[1]} {w[2]} {w[3]}",  # fresh: kept
            f"{w[0]} {w[1]} {w[2]} {w[3]} {w[0]}",  # near duplicate of the previous (same word set)
            " ".join(w * 3),  # 24 words: over 2 x the longest real example
            "",  # malformed
            "Few examples of texts having label blue are given.",  # prompt echo
            " ".join(topic_words("red")[:4]),  # reads as red: label-inconsistent
            f"{w[4]} {w[5]} {w[6]}",  # fresh: kept
        ]
    }
    gen = ScriptedGenerator(planted, fallback=fresh_text)
    result = synthesize(real, tmp_path / "syn.jsonl", 2, gen, KeywordJudge(LABELS), max_rounds=1, oversample=4.5)
    blue = result.counts["blue"]
    assert blue == {"generated": 9, "malformed": 2, "length": 1, "duplicate": 3, "label": 1, "surplus": 0, "kept": 2}
    kept = [r["text"] for r in rows_of(tmp_path / "syn.jsonl") if r["label"] == "blue"]
    assert kept == [f"{w[0]} {w[1]} {w[2]} {w[3]}", f"{w[4]} {w[5]} {w[6]}"]
    dropped = {r["text"]: r for r in rows_of(dropped_path(tmp_path / "syn.jsonl")) if r["label"] == "blue"}
    assert dropped[" ".join(topic_words("red")[:4])]["predicted"] == "red"
    assert dropped[" ".join(w * 3)]["filters"] == {
        "malformed": "pass", "length": "fail", "duplicate": "not-run", "label": "not-run"
    }  # fmt: skip


def test_switched_off_filters_let_their_texts_through(few_shot_file, tmp_path):
    real = read_examples(few_shot_file)
    w = topic_words("gold")
    planted = {"gold": [" ".join(w * 3), " ".join(w * 3), " ".join(topic_words("red")[:4])]}
    settings = FilterSettings(length=False, duplicate=False, label=False)
    result = synthesize(real, tmp_path / "s.jsonl", 3, ScriptedGenerator(planted, fresh_text), None, filters=settings,
                        max_rounds=1, oversample=1)  # fmt: skip
    assert result.counts["gold"]["kept"] == 3
    row = rows_of(tmp_path / "s.jsonl")[0]
    assert row["filters"] == {"malformed": "pass", "length": "off", "duplicate": "off", "label": "off"}


def test_stops_at_n_per_class_with_provenance_and_counts(few_shot_file, tmp_path):
    real = read_examples(few_shot_file)
    out = tmp_path / "syn.jsonl"
    gen = ScriptedGenerator({"red": [" ".join(topic_words("blue")[:4])] * 6}, fallback=fresh_text)
    result = synthesize(real, out, 5, gen, KeywordJudge(LABELS), max_rounds=10, seed=3)
    assert result.complete and result.stopped == "5 kept per class"
    kept = rows_of(out)
    assert sorted(r["label"] for r in kept) == sorted(LABELS * 5)
    ids = {label: {f"r{i}" for i, y in enumerate(real.labels) if y == label} for label in LABELS}
    for row in kept:
        assert row["source"] == "synthetic" and row["kept"] and row["dropped_by"] is None
        assert set(row["seed_ids"]) == ids[row["label"]] and len(row["seed_ids"]) == 4
        assert set(row["filters"].values()) == {"pass"}
    assert result.rounds == 2  # red lost its first round's candidates to the label filter
    everything = kept + rows_of(dropped_path(out))
    for label, counts in result.counts.items():
        mine = [r for r in everything if r["label"] == label]
        assert counts["generated"] == len(mine) == sum(counts[k] for k in COUNTS[1:])
        for key in COUNTS[1:-1]:
            assert counts[key] == sum(r["dropped_by"] == key for r in mine)
    assert json.loads(report_path(out).read_text())["counts"] == result.counts
    # the prompt is the papers' and shuffles the class's real examples by seed
    prompt = gen.prompts[0]
    assert prompt.startswith("Few examples of texts having label blue are given. Generate more examples")
    assert prompt.endswith("\nExample:") and prompt.count("Example: ") == 4


def test_stops_at_the_budget_or_round_limit_and_says_how_far(few_shot_file, tmp_path):
    real = read_examples(few_shot_file)
    same = {label: [" ".join(topic_words(label)[:3])] * 100 for label in LABELS}  # only the first is new
    result = synthesize(real, tmp_path / "a.jsonl", 4, ScriptedGenerator(same), KeywordJudge(LABELS), budget=12)
    assert not result.complete
    assert all(c["generated"] == 12 and c["kept"] == 1 and c["duplicate"] == 11 for c in result.counts.values())
    assert "budget of 12 candidates per class" in result.stopped and "blue 1/4" in result.stopped
    result = synthesize(real, tmp_path / "b.jsonl", 4, ScriptedGenerator(same), KeywordJudge(LABELS), max_rounds=2)
    assert result.rounds == 2 and "limit of 2 round(s)" in result.stopped


def test_resume_continues_without_duplicating(few_shot_file, tmp_path):
    real = read_examples(few_shot_file)
    out = tmp_path / "syn.jsonl"
    copies = {label: [real.texts[real.labels.index(label)]] * 2 for label in LABELS}  # dropped: 4 of 6 kept
    first = synthesize(real, out, 6, ScriptedGenerator(copies, fresh_text), None, filters=FilterSettings(label=False),
                       max_rounds=1, oversample=1.0)  # fmt: skip
    assert first.rounds == 1 and all(c["kept"] == 4 for c in first.counts.values())
    with pytest.raises(ConfigError, match="--resume"):
        synthesize(real, out, 6, ScriptedGenerator({}, fresh_text), None, filters=FilterSettings(label=False))
    # a fresh generator replays the same texts first: resume must see them as duplicates of the earlier round
    second = synthesize(real, out, 6, ScriptedGenerator({}, fresh_text), None, filters=FilterSettings(label=False),
                        resume=True, oversample=1.0)  # fmt: skip
    assert second.complete and second.rounds > 1
    kept = rows_of(out)
    assert len(kept) == 24 and len({r["text"] for r in kept}) == 24
    first_texts = {r["text"] for r in kept if r["round"] == 1}
    later = [r for r in kept + rows_of(dropped_path(out)) if r["round"] > 1]
    assert min(r["round"] for r in later) == 2
    replayed = [r for r in later if r["text"] in first_texts]
    assert replayed and {r["dropped_by"] for r in replayed} == {"duplicate"}
    assert second.counts["blue"]["generated"] == first.counts["blue"]["generated"] + sum(
        r["round"] > 1 and r["label"] == "blue" for r in kept + rows_of(dropped_path(out))
    )


def test_examples_per_prompt_draws_a_subset_by_seed(few_shot_file, tmp_path):
    real = read_examples(few_shot_file)
    gen = ScriptedGenerator({}, fresh_text)
    synthesize(real, tmp_path / "s.jsonl", 3, gen, None, GenerationSettings(examples_per_prompt=2),
               FilterSettings(label=False), max_rounds=1)  # fmt: skip
    rows = rows_of(tmp_path / "s.jsonl")
    assert all(len(r["seed_ids"]) == 2 for r in rows) and len({tuple(r["seed_ids"]) for r in rows}) > 1
    assert all(p.count("Example: ") == 2 for p in gen.prompts)


def test_label_filter_needs_a_judge(few_shot_file, tmp_path):
    with pytest.raises(ConfigError, match="judge"):
        synthesize(read_examples(few_shot_file), tmp_path / "x.jsonl", 2, ScriptedGenerator({}, fresh_text), None)
