"""The causal-LM multitask model writes the whole frame as JSON: it learns a synthetic intent+slots task with
LoRA (trained through the CLI) and with full fine-tuning, never crashes on unreadable output, and saves only its
learned weights.

Measured when written (tiny 2-layer Llama, hidden 128, "pretrained" 400 updates on a dialect of the task; 12
training rows per intent, 40 held-out test rows, 4 intents, chance 25%; one torch thread):
    base model, no tuning (lr 0): intent accuracy 0.0, slot F1 0.02, frame exact match 0.0 (it answers in the
        dialect: valid JSON, wrong names)
    LoRA (rank 16, lr 1e-2, 120 updates):  intent accuracy 1.0, slot F1 0.945, frame exact match 0.875
    full fine-tuning (lr 1e-3, 100 updates): intent accuracy 1.0, slot F1 0.791, frame exact match 0.675
    untrained random model (max 24 new tokens): invalid_json_rate 1.0 (all unreadable), unknown_label_rate 0.0,
        scored intent accuracy 0.25 (chance), slot F1 0.0 -- parsed and counted, no exception
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

from agileclf.artifact import BACKBONE_DIR, WEIGHTS_FILE, read_meta
from agileclf.backbones import load_backbone
from agileclf.cli import app
from agileclf.errors import BackboneError, ConfigError
from agileclf.evaluate.slots import evaluate_frames
from agileclf.methods import make_method
from agileclf.methods.multitask.causal import MultitaskCausalLM
from agileclf.methods.multitask.workflow import read_task_data
from agileclf.methods.persistence import load_classifier

pytestmark = pytest.mark.slow
LORA = {"adapter": "lora", "lr": 1e-2, "min_steps": 120, "holdout_min_per_class": 1000}
FULL = {"adapter": "full", "lr": 1e-3, "min_steps": 100, "holdout_min_per_class": 1000}
UNTUNED = {"adapter": "lora", "lr": 0.0, "min_steps": 1, "holdout_min_per_class": 1000}


def frames(path):
    return read_task_data(path, "intent+slots", "text", "intent", "annot_utt")


def cli(*args, **kwargs):
    result = CliRunner().invoke(app, [*map(str, args), "-q"], **kwargs)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def lora_dir(frame_lm, frame_files, tmp_path_factory, one_thread):
    """The LoRA model, trained end to end through `agileclf train --task intent+slots --backbone LM_DIR`."""
    out = tmp_path_factory.mktemp("causal-frames") / "lora"
    params = [arg for key, value in LORA.items() for arg in ("-p", f"{key}={value}")]
    cli("train", frame_files["train"], "-m", "multitask", "--task", "intent+slots", "--backbone", frame_lm,
        "--label-field", "intent", "-o", out, *params)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def full(frame_lm, frame_files, one_thread):
    data = frames(frame_files["train"])
    return make_method("multitask", backbone=load_backbone(frame_lm), **FULL).fit(
        data.texts, data.labels, tags=data.tags
    )


def test_lora_through_the_cli_learns_the_frames(lora_dir, frame_files):
    result = cli("evaluate", lora_dir, frame_files["test"], "--task", "intent+slots", "--label-field", "intent",
                 "--json")  # fmt: skip
    metrics = json.loads(result.stdout)
    print("lora", metrics)
    assert metrics["n"] == 40 and metrics["model_calls_per_example"] == 2
    assert metrics["accuracy"] >= 0.8 and metrics["slot_f1"] >= 0.6 and metrics["frame_exact_match"] >= 0.5
    assert metrics["invalid_json_rate"] <= 0.1 and metrics["unknown_label_rate"] <= 0.2


def test_full_fine_tuning_learns_the_frames_and_the_base_alone_does_not(full, frame_lm, frame_files, one_thread):
    test = frames(frame_files["test"])
    tuned = evaluate_frames(full, test.texts, test.labels, test.tags)
    train = frames(frame_files["train"])
    base = make_method("multitask", backbone=load_backbone(frame_lm), **UNTUNED)
    untuned = evaluate_frames(base.fit(train.texts, train.labels, tags=train.tags), test.texts, test.labels, test.tags)
    print({name: {k: v for k, v in m.items() if not k.startswith("predicted")} for name, m in
           (("full", tuned), ("untuned", untuned))})  # fmt: skip
    assert tuned["accuracy"] >= 0.8 and tuned["slot_f1"] >= 0.5 and tuned["frame_exact_match"] >= 0.4
    assert untuned["accuracy"] <= 0.3 and untuned["frame_exact_match"] <= 0.1
    assert untuned["invalid_json_rate"] <= 0.1  # the base writes the format, with the dialect's names


def test_untrained_model_writes_garbage_that_is_parsed_and_counted(frame_base, frame_files, one_thread):
    train, test = frames(frame_files["train"]), frames(frame_files["test"])
    model = make_method("multitask", backbone=load_backbone(frame_base), max_new_tokens=24, **UNTUNED)
    model.fit(train.texts, train.labels, tags=train.tags)
    metrics = evaluate_frames(model, test.texts, test.labels, test.tags)
    print("untrained", {k: v for k, v in metrics.items() if not k.startswith("predicted")})
    assert metrics["invalid_json_rate"] >= 0.9 and 0.0 <= metrics["unknown_label_rate"] <= 1.0
    assert metrics["unreadable_rate"] + metrics["repaired_rate"] == pytest.approx(metrics["invalid_json_rate"])
    tags = metrics["predicted_tags"]
    assert len(tags) == 40 and all(len(t) == len(w) for t, w in zip(tags, test.words, strict=True))
    proba = model.predict_proba(test.texts[:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    frame = model.predict_frames(["book a taxi to oslo"])[0]
    assert frame["label"] in model.labels.names and isinstance(frame["slots"], list)


def test_intent_scoring_continuations_are_the_trained_tokens(full):
    for label, ids in zip(full.labels.names, full.intent_ids, strict=True):
        target = full._target_ids(f'{{"intent": "{label}", "slots": [{{"slot": "time", "text": "six"}}]}}')
        assert target[: len(ids)] == ids, label


@pytest.mark.parametrize("which", ["lora", "full"])
def test_save_load_keeps_only_learned_weights_and_gives_identical_outputs(which, lora_dir, full, frame_files,
                                                                          tmp_path):  # fmt: skip
    texts = frames(frame_files["test"]).texts[:8]
    if which == "full":
        full.save(tmp_path / "full")
        path, before = tmp_path / "full", full
    else:
        path, before = lora_dir, load_classifier(lora_dir)
    again = load_classifier(path)
    assert isinstance(again, MultitaskCausalLM) and not (path / BACKBONE_DIR).exists()
    assert read_meta(path)["backbone"]["stored"] is False
    names = set(load_file(str(path / WEIGHTS_FILE)))
    assert all("lora_" in n for n in names) if which == "lora" else "lm_head.weight" not in names  # tied: once
    np.testing.assert_array_equal(again.predict_proba(texts), before.predict_proba(texts))
    assert again.generate_frames(texts) == before.generate_frames(texts)


def test_cli_predict_gives_intent_probability_and_slot_offsets(lora_dir):
    result = cli("predict", lora_dir, "--task", "intent+slots", input="book a taxi to  new york at noon\n")
    frame = json.loads(result.stdout.strip().splitlines()[-1])
    assert frame["label"] == "taxi_book" and 0 < frame["probability"] <= 1
    # The spans and their offsets are what this CLI test checks (slot F1 is measured in the tests above): under
    # the locked versions (transformers 5.24) the tiny model tags "new york" as a time, not a place.
    assert {s["text"] for s in frame["slots"]} == {"new york", "noon"}
    assert all(s["slot"] in ("place", "time") for s in frame["slots"])
    assert all(frame["text"][s["start"] : s["end"]] == s["text"] for s in frame["slots"])


def test_loading_against_another_base_model_is_a_clear_error(lora_dir, frame_base, tmp_path):
    from causal_synthetic import build_untrained

    other = build_untrained(tmp_path / "other", hidden=32)
    with pytest.raises(BackboneError, match="different model"):
        load_classifier(lora_dir, backbone=other)


def test_label_parent_derives_the_parent_from_the_label(frame_lm, frame_files, one_thread):
    train, test = frames(frame_files["train"]), frames(frame_files["test"])
    model = make_method("multitask", backbone=load_backbone(frame_lm), task="label+parent", parent_sep="_", **UNTUNED)
    metrics = evaluate_frames(model.fit(train.texts, train.labels), test.texts[:8], test.labels[:8])
    assert model.parent_set.names == ["alarm", "play", "taxi", "weather"]
    assert metrics["consistency"] == 1.0 and "parent_accuracy" in metrics


def test_validation_keeps_the_mean_of_accuracy_slot_f1_and_frame_match(frame_lm, frame_files, one_thread):
    """With lr 0 the untuned base answers in its pretraining dialect; validating on dialect rows gives it a
    non-trivial score, which must be the mean of the three metrics on the max_valid sample."""
    from frames_synthetic import frame_rows, in_dialect

    from agileclf.data.sampling import sample_rows
    from agileclf.data.slots import parse_annotation

    train = frames(frame_files["train"])
    rows = [in_dialect(row) for row in frame_rows(2, seed=5)]
    valid = (
        [r["text"] for r in rows],
        [r["intent"] for r in rows],
        [parse_annotation(r["annot_utt"]).tags for r in rows],
    )
    model = make_method("multitask", backbone=load_backbone(frame_lm), max_valid=5, **{**UNTUNED, "min_steps": 2})
    model.fit(train.texts, train.labels, valid=valid, tags=train.tags)
    kept = sample_rows(len(rows), 5, seed=0)  # max_valid: a seeded sample of the validation rows
    metrics = evaluate_frames(model, *([part[i] for i in kept] for part in valid))  # lr 0: the weights it saw
    expected = np.mean([metrics["accuracy"], metrics["slot_f1"], metrics["frame_exact_match"]])
    print("dialect validation", expected)
    assert expected >= 0.5 and model.validation_score == pytest.approx(expected)


def test_slot_only_task_is_refused_for_a_causal_lm(frame_lm):
    with pytest.raises(ConfigError, match="task must be one of"):
        make_method("multitask", backbone=frame_lm, task="slots")
