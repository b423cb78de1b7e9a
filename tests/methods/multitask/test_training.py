"""Joint vs single-task training on a small MASSIVE slice, through the CLI, with save/load and span offsets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from agileclf.artifact import read_meta
from agileclf.cli import app
from agileclf.errors import ConfigError
from agileclf.evaluate.slots import frame_exact_match, slot_scores
from agileclf.methods.multitask.workflow import evaluate_task_file, read_task_data, train_task
from agileclf.methods.persistence import load_classifier

pytestmark = pytest.mark.slow
TRAIN = {"epochs": 3, "batch_size": 16, "head_lr": 3e-3}


@pytest.fixture(scope="module")
def models(massive_slice, minilm, one_thread, tmp_path_factory):
    """The joint model trained through `agileclf train`, the two single-task models through train_task."""
    folder = tmp_path_factory.mktemp("multitask_models")
    params = [arg for key, value in TRAIN.items() if key != "epochs" for arg in ("-p", f"{key}={value}")]
    epochs = str(TRAIN["epochs"])
    result = CliRunner().invoke(
        app,
        ["train", str(massive_slice["train"]), "-m", "multitask", "--task", "intent+slots", "--epochs", epochs,
         "--label-field", "intent", "-o", str(folder / "consolidated"), "-q", *params],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for task in ("intent", "slots"):
        train_task(massive_slice["train"], task, folder / task, backbone=minilm, params=TRAIN)
    return folder


def test_joint_model_matches_single_task_models(models, massive_slice):
    joint = evaluate_task_file(models / "consolidated", massive_slice["test"], "intent+slots")
    intent = evaluate_task_file(models / "intent", massive_slice["test"], "intent")
    slots = evaluate_task_file(models / "slots", massive_slice["test"], "slots")
    print({"joint": joint, "intent": intent, "slots": slots})
    assert joint["n"] == 60 and joint["model_calls_per_example"] == 1
    assert joint["accuracy"] >= 0.85 and intent["accuracy"] >= 0.85
    assert joint["accuracy"] >= intent["accuracy"] - 0.1
    assert joint["slot_f1"] >= 0.3 and slots["slot_f1"] >= 0.3
    assert joint["slot_f1"] >= slots["slot_f1"] - 0.15
    assert 0 < joint["frame_exact_match"] <= joint["accuracy"]


def test_cli_evaluate_json_reports_intent_slots_and_frame(models, massive_slice):
    result = CliRunner().invoke(
        app, ["evaluate", str(models / "consolidated"), str(massive_slice["test"]), "--task", "intent+slots",
              "--label-field", "intent", "--json", "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert {"accuracy", "slot_f1", "frame_exact_match", "ms_per_example"} <= set(metrics)


def test_predicted_spans_point_into_the_original_string(models):
    classifier = load_classifier(models / "consolidated")
    texts = ["  wake me up at   seven am  tomorrow", "what's the weather   in paris today?"]
    frames = classifier.predict_frames(texts)
    found = 0
    for text, frame in zip(texts, frames, strict=True):
        assert frame["label"] in classifier.labels.names and 0 < frame["probability"] <= 1
        for span in frame["slots"]:
            assert text[span["start"] : span["end"]] == span["text"]
            found += 1
    assert found >= 2, frames


def test_cli_predict_prints_slots_with_offsets(models):
    result = CliRunner().invoke(
        app,
        ["predict", str(models / "consolidated"), "--task", "intent+slots", "-q"],
        input="set an alarm for nine am\n",
    )
    assert result.exit_code == 0, result.output
    frame = json.loads(result.stdout.strip().splitlines()[-1])
    assert frame["text"] == "set an alarm for nine am" and frame["label"] == "alarm_set"
    assert all(frame["text"][s["start"] : s["end"]] == s["text"] for s in frame["slots"])


def test_saved_model_predicts_the_same_and_checks_its_task(models, massive_slice):
    test = read_task_data(massive_slice["test"], "intent+slots", "text", "intent", "annot_utt")
    joint = load_classifier(models / "consolidated")
    first, again = (
        joint.predict_outputs(test.texts[:20]),
        load_classifier(models / "consolidated").predict_outputs(test.texts[:20]),
    )
    np.testing.assert_allclose(first.proba, again.proba, atol=1e-6)
    assert first.tags == again.tags
    with pytest.raises(ConfigError, match="trained for task 'slots'"):
        evaluate_task_file(models / "slots", massive_slice["test"], "intent+slots")
    with pytest.raises(ConfigError, match="slots-only model has no sequence label"):
        load_classifier(models / "slots").predict_proba(["play jazz"])


def test_dual_frame_combines_both_models(models, massive_slice):
    test = read_task_data(massive_slice["test"], "intent+slots", "text", "intent", "annot_utt")
    intent = load_classifier(models / "intent").predict(test.texts)
    tags = load_classifier(models / "slots").predict_outputs(test.texts).tags
    assert 0 < frame_exact_match(test.labels, intent, test.tags, tags) <= 1
    assert slot_scores(test.tags, tags)["slot_f1"] > 0


def test_label_parent_reports_both_levels(massive_slice, minilm, one_thread, tmp_path):
    path, _, _ = train_task(
        massive_slice["train"], "label+parent", tmp_path / "hier", backbone=minilm,
        params={"epochs": 2, "batch_size": 16, "head_lr": 3e-3, "parent_sep": "_"},
    )  # fmt: skip
    metrics = evaluate_task_file(path, massive_slice["test"], "label+parent")
    print(metrics)
    assert metrics["parent_accuracy"] >= 0.5 and metrics["child_accuracy"] >= 0.5
    assert 0.5 <= metrics["consistency"] <= 1.0
    frame = load_classifier(path).predict_frames(["wake me up at six"])[0]
    assert set(frame) == {"label", "probability", "parent", "parent_probability"}


def test_bench_compares_dual_and_consolidated(models, massive_slice):
    from agileclf.bench.multitask import compare_dual_consolidated

    results = compare_dual_consolidated(massive_slice["train"], massive_slice["test"], models, single=3)
    dual, consolidated = results["dual"], results["consolidated"]
    assert (dual["model_calls"], consolidated["model_calls"]) == (2, 1)
    fit_s = {name: read_meta(models / name)["fit_s"] for name in ("consolidated", "intent", "slots")}
    assert dual["train_minutes"] == pytest.approx((fit_s["intent"] + fit_s["slots"]) / 60)
    assert consolidated["train_minutes"] == pytest.approx(fit_s["consolidated"] / 60)
    for row in (dual, consolidated):
        assert 0 < row["frame_exact_match"] <= row["accuracy"] and row["ms_per_utterance"] > 0
    report = (models / "report.md").read_text(encoding="utf-8")
    assert "| dual |" in report and "| consolidated |" in report and "paired bootstrap" in report
    difference = results["consolidated_minus_dual"]
    slot_f1 = difference["slot_f1"]
    assert slot_f1[0] == pytest.approx(100 * (consolidated["slot_f1"] - dual["slot_f1"]))
    assert slot_f1[1] <= slot_f1[0] <= slot_f1[2]
    assert difference["accuracy"][0] == pytest.approx(100 * (consolidated["accuracy"] - dual["accuracy"]))


def test_crf_and_layer_mix_learn_and_survive_save_and_load(massive_slice, minilm, one_thread, tmp_path):
    path, _, _ = train_task(
        massive_slice["train"], "slots", tmp_path / "crf", backbone=minilm,
        params={**TRAIN, "crf": True, "layer_mix": True},
    )  # fmt: skip
    slot_f1 = evaluate_task_file(path, massive_slice["test"], "slots")["slot_f1"]
    print("crf + layer mix slot F1:", slot_f1)
    assert slot_f1 > 0.5
    model, again = load_classifier(path), load_classifier(path)
    transitions = model.network.crf.transitions.detach()
    assert transitions.abs().max() > 0.01  # trained away from the zeros it starts at
    assert torch.equal(transitions, again.network.crf.transitions.detach())
    assert torch.equal(model.network.layer_weights.detach(), again.network.layer_weights.detach())
    texts = read_task_data(massive_slice["test"], "slots", "text", "intent", "annot_utt").texts[:20]
    assert model.predict_outputs(texts).tags == again.predict_outputs(texts).tags
